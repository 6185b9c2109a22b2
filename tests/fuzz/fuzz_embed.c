/*
 * Fuzz the OpenAI embeddings response parser.  The first byte picks the
 * number of inputs (1..4) and the dimension (1..8); the rest is the
 * body.  On success every row must be finite and of unit length; on
 * failure there must be a reason.  The error-message extractor gets the
 * same body and must leave printable ASCII.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "indexd/embed_json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	float	 out[4 * 8];
	char	 err[256], msg[64];
	size_t	 n, dim;
	double	 s;

	if (size < 1)
		return 0;
	n = (data[0] & 3) + 1;
	dim = ((data[0] >> 2) & 7) + 1;
	err[0] = '\0';
	if (embed_json_response((const char *)data + 1, size - 1, n, dim, out,
	    err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++) {
			s = 0;
			for (size_t k = 0; k < dim; k++) {
				if (!isfinite(out[i * dim + k]))
					abort();
				s += (double)out[i * dim + k] * out[i * dim + k];
			}
			if (fabs(s - 1.0) > 1e-3)
				abort();
		}
	} else if (err[0] == '\0')
		abort();
	embed_json_error((const char *)data + 1, size - 1, msg, sizeof(msg));
	for (size_t i = 0; msg[i] != '\0'; i++)
		if (msg[i] < 0x20 || msg[i] > 0x7e)
			abort();
	return 0;
}

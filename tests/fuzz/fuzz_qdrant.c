/*
 * Fuzz the parsers of Qdrant's answers (indexd/qdrant_json.c): the
 * envelope, a query's points, a collection's vector size, Retry-After.
 * Whatever the input, a query yields at most k hits with positive chunk
 * ids, or -1 with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "indexd/qdrant_json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define K	8

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhit	 h[K];
	char		 err[256], *s;
	long		 n;
	json_t		*r;

	err[0] = '\0';
	if (qj_envelope((const char *)data, size, &r, err, sizeof(err)) == 0)
		json_decref(r);
	else if (err[0] == '\0')
		abort();
	n = qj_parse_query((const char *)data, size, h, K, err, sizeof(err));
	if (n > K || n < -1)
		abort();
	for (long i = 0; i < n; i++)
		if (h[i].chunk_id <= 0)
			abort();
	if (qj_parse_vector_size((const char *)data, size, err,
	    sizeof(err)) < -1)
		abort();
	/* Retry-After wants a C string */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = qj_retry_after(s);
	if (n < -1 || n > 86400)
		abort();
	free(s);
	return 0;
}

/*
 * Fuzz html_to_text() (fetcher/html.c) on arbitrary bytes.  Checked for
 * every input: a result (the input is under the cap), valid UTF-8
 * without NUL of the length it claims, a title that is valid UTF-8 and
 * fits, and the same output for the same input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "fetcher/html.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 title[64], title2[64], *in, *out, *again;
	size_t	 outlen, len2;

	if (size > HTML_MAX_INPUT)
		return 0;
	/* an exact-size copy, so any read past the end is caught */
	if ((in = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	out = html_to_text(in, size, &outlen, title, sizeof(title));
	if (out == NULL || strlen(out) != outlen || !utf8_valid(out, outlen) ||
	    strlen(title) >= sizeof(title) ||
	    !utf8_valid(title, strlen(title)))
		abort();
	again = html_to_text(in, size, &len2, title2, sizeof(title2));
	if (again == NULL || len2 != outlen || memcmp(out, again, len2) != 0 ||
	    strcmp(title, title2) != 0)
		abort();
	free(again);
	free(out);
	free(in);
	return 0;
}

/*
 * Fuzz the front's reading of a source body (POST .../sources, PUT
 * .../credentials): front_source_split() takes the credential out,
 * front_source_forward() writes what goes to indexd.  What must hold: a
 * body is refused or split; what is forwarded is JSON without the
 * credential and without a client-chosen id; the credential, when there
 * is one, is valid compact JSON of at most the allowed size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ballastd/front.h"
#include "common/grant.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t	*rest, *fwd, *c;
	char	*cred, *text, err[256], org[GRANT_IDLEN], owner[GRANT_IDLEN];
	size_t	 credlen, len;

	if (size > 64 * 1024)
		return 0;
	for (int only = 0; only <= 1; only++) {
		if (front_source_split(data, size, only, &rest, &cred, &credlen,
		    err, sizeof(err)) == -1) {
			if (rest != NULL || cred != NULL || err[0] == '\0')
				abort();
			continue;
		}
		if (json_object_get(rest, "credentials") != NULL)
			abort();
		if (cred != NULL) {
			if (credlen != strlen(cred) ||
			    credlen > FRONT_SOURCE_MAX_CRED ||
			    (c = json_loads(cred, JSON_DECODE_ANY, NULL)) ==
			    NULL)
				abort();
			json_decref(c);
			free(cred);
		}
		text = front_source_forward(rest, "00000000-0000-4000-8000-"
		    "000000000000", "c2VhbGVk", &len);
		if (text == NULL || (fwd = json_loads(text, 0, NULL)) == NULL ||
		    strcmp(json_string_value(json_object_get(fwd, "id")),
		    "00000000-0000-4000-8000-000000000000") != 0 ||
		    json_object_get(fwd, "credentials") != NULL)
			abort();
		json_decref(fwd);
		free(text);
		json_decref(rest);
	}
	/* the same bytes as a grant: read or refused, never overflowing */
	if (size < 4096) {
		char	*g = calloc(1, size + 1);

		if (g == NULL)
			return 0;
		memcpy(g, data, size);
		(void)front_source_grant(g, org, owner);
		free(g);
	}
	return 0;
}

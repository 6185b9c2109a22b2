/*
 * Fuzz the keyring file parser.  On error nothing is returned and the
 * message names the file; on success the keyring is within its limits and,
 * because the format is canonical, formatting it again gives back exactly
 * the input bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyd/keyring.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct keyring *kr, const uint8_t *data, size_t size)
{
	static char	 out[KEYRING_MAX_FILE + 1];
	size_t		 len, i;

	if (kr->nkeys < 1 || kr->nkeys > KEYRING_MAX_KEYS || kr->sign_id == 0)
		abort();
	for (i = 1; i < kr->nkeys; i++)
		if (kr->keys[i].id <= kr->keys[i - 1].id)
			abort();
	if (keyring_newest(kr) != &kr->keys[kr->nkeys - 1])
		abort();
	if (keyring_format(kr, out, sizeof(out), &len) == -1)
		abort();
	if (len != size || memcmp(out, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyring	*kr = NULL;
	char		 err[256];

	err[0] = '\0';
	if (keyring_parse((const char *)data, size, "fuzz", &kr, err,
	    sizeof(err)) == -1) {
		if (kr != NULL || strncmp(err, "fuzz", 4) != 0)
			abort();
		return 0;
	}
	if (kr == NULL)
		abort();
	check(kr, data, size);
	keyring_free(kr);
	return 0;
}

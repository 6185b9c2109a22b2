/*
 * Fuzz the JWT side of keyd/jwt.c and the base64 decoders it rests on:
 *
 * - b64url_decode and b64_decode accept only canonical text: whatever they
 *   accept encodes back to the same bytes;
 * - jwt_verify_eddsa on arbitrary input: success only with a NUL-terminated
 *   payload of the stated length (the corpus holds real tokens signed with
 *   the fixed seed below, so the success path is reached);
 * - jwt_claims_check on arbitrary input: what it accepts signs and verifies
 *   back to the same claims.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyd/crypto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_NOW	1700000000	/* the corpus claims are issued then */

static uint8_t	 seed[ED25519_SEEDLEN];
static uint8_t	 pub[ED25519_PUBLEN];

static void
check_b64(const uint8_t *data, size_t size)
{
	static uint8_t	 dec[JWT_MAX_TOKEN];
	static char	 enc[2 * JWT_MAX_TOKEN];
	size_t		 n;

	if (size > JWT_MAX_TOKEN)
		return;
	if (b64url_decode((const char *)data, size, dec, sizeof(dec), &n) == 0) {
		if (b64url_encode(dec, n, enc, sizeof(enc)) == -1 ||
		    strlen(enc) != size || memcmp(enc, data, size) != 0)
			abort();
	}
	if (b64_decode((const char *)data, size, dec, sizeof(dec), &n) == 0) {
		if (b64_encode(dec, n, enc, sizeof(enc)) == -1 ||
		    strlen(enc) != size || memcmp(enc, data, size) != 0)
			abort();
	}
}

static void
check_verify(const uint8_t *data, size_t size)
{
	char	*claims = NULL;
	size_t	 len = 0;

	if (jwt_verify_eddsa(pub, (const char *)data, size, &claims,
	    &len) == -1) {
		if (claims != NULL || len != 0)
			abort();
		return;
	}
	if (claims == NULL || claims[len] != '\0' || len > JWT_MAX_CLAIMS)
		abort();
	free(claims);
}

static void
check_claims(const uint8_t *data, size_t size)
{
	char	 err[256], *tok, *back;
	size_t	 blen;

	if (jwt_claims_check((const char *)data, size, FUZZ_NOW, err,
	    sizeof(err)) == -1)
		return;
	if (jwt_sign_eddsa(seed, 1, (const char *)data, size, &tok) == -1)
		abort();
	if (jwt_verify_eddsa(pub, tok, strlen(tok), &back, &blen) == -1 ||
	    blen != size || memcmp(back, data, size) != 0)
		abort();
	free(back);
	free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (pub[0] == 0 && pub[1] == 0) {
		memset(seed, 0x42, sizeof(seed));
		if (ed25519_public_key(seed, pub) == -1)
			abort();
	}
	check_b64(data, size);
	check_verify(data, size);
	check_claims(data, size);
	return 0;
}

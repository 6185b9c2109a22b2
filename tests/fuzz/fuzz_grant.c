/*
 * Fuzz the grant parser behind the MAC (common/grant.c).  The front
 * cannot forge a MAC, so arbitrary grant JSON only reaches the parser
 * if authd signed it; this target signs the input itself with a fixed
 * key so the parser is exercised anyway.  The input is
 *
 *   <request id> '\n' <grant JSON>
 *
 * (no newline: the whole input is the JSON and the request id is "r").
 * Checked:
 *
 * - with a right MAC: success only for a grant whose rid is the request
 *   id, whose strings are NUL-terminated within their fields
 *   and whose collections are as many as claimed; failure leaves
 *   nothing to free and says why;
 * - with a MAC of one flipped bit or a wrong length: always refused;
 * - grant_sign of an accepted grant verifies again to the same grant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/grant.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAXGRANT	(64 * 1024)

static const uint8_t	 fkey[32] = {
	0x62, 0x61, 0x6c, 0x6c, 0x61, 0x73, 0x74, 0x2d,
	0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x67, 0x72, 0x61,
	0x6e, 0x74, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30,
	0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38
};

static int
terminated(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

static void
check_grant(const struct grant *g, const char *rid)
{
	if (!terminated(g->rid, sizeof(g->rid)) ||
	    !terminated(g->action, sizeof(g->action)) ||
	    !terminated(g->user, sizeof(g->user)) ||
	    !terminated(g->org, sizeof(g->org)) ||
	    !terminated(g->key, sizeof(g->key)) ||
	    !terminated(g->owner, sizeof(g->owner)))
		abort();
	if (strcmp(g->rid, rid) != 0 || g->rid[0] == '\0' ||
	    g->action[0] == '\0' || g->user[0] == '\0' ||
	    g->ncollections > GRANT_MAX_COLLECTIONS ||
	    (g->ncollections > 0 && g->collections == NULL))
		abort();
	for (size_t i = 0; i < g->ncollections; i++) {
		if (!terminated(g->collections[i], GRANT_IDLEN) ||
		    grant_has_collection(g, g->collections[i]) != 1)
			abort();
	}
}

/* Sign the accepted grant again and verify that it comes back intact. */
static void
check_resign(struct grant *g)
{
	struct grant	 back;
	char		*json, err[128];
	uint8_t		 mac[32];

	if (grant_sign(fkey, g, &json, mac) == -1)
		abort();
	if (grant_verify(fkey, json, mac, sizeof(mac), g->rid, &back, err,
	    sizeof(err)) == -1)
		abort();
	if (strcmp(back.action, g->action) != 0 ||
	    strcmp(back.user, g->user) != 0 ||
	    strcmp(back.org, g->org) != 0 ||
	    strcmp(back.key, g->key) != 0 ||
	    strcmp(back.owner, g->owner) != 0 ||
	    back.ncollections != g->ncollections)
		abort();
	for (size_t i = 0; i < g->ncollections; i++)
		if (strcmp(back.collections[i], g->collections[i]) != 0)
			abort();
	grant_free(&back);
	free(json);
}

static void
check_badmac(const char *json, const char *rid, const uint8_t mac[32])
{
	struct grant	 g;
	uint8_t		 bad[33];
	char		 err[128];

	memcpy(bad, mac, 32);
	bad[31] ^= 0x01;
	if (grant_verify(fkey, json, bad, 32, rid, &g, err,
	    sizeof(err)) != -1)
		abort();
	bad[31] ^= 0x01;
	bad[32] = 0;
	if (grant_verify(fkey, json, bad, 33, rid, &g, err,
	    sizeof(err)) != -1 ||
	    grant_verify(fkey, json, bad, 31, rid, &g, err,
	    sizeof(err)) != -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grant	 g;
	char		*buf, *json, *nl, err[128];
	const char	*rid = "r";
	uint8_t		 mac[32];
	unsigned int	 maclen = 0;

	if (size > FUZZ_MAXGRANT || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	json = buf;
	if ((nl = memchr(buf, '\n', size)) != NULL) {
		*nl = '\0';
		rid = buf;
		json = nl + 1;
	}
	/* The MAC covers the JSON up to its first NUL, as grant_verify's. */
	if (HMAC(EVP_sha256(), fkey, sizeof(fkey), (const uint8_t *)json,
	    strlen(json), mac, &maclen) == NULL || maclen != sizeof(mac))
		abort();
	err[0] = '\0';
	if (grant_verify(fkey, json, mac, sizeof(mac), rid, &g, err,
	    sizeof(err)) == 0) {
		check_grant(&g, rid);
		check_resign(&g);
		grant_free(&g);
	} else if (err[0] == '\0' || g.collections != NULL)
		abort();
	check_badmac(json, rid, mac);
	free(buf);
	return 0;
}

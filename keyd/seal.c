/*
 * Sealed secrets: AES-256-GCM under the newest master key (or a per-user
 * key derived from it), bound to the secret's owner through the AAD.  The
 * layout and the AAD encoding are documented in crypto.h.  Any failure to
 * open is SEAL_EBADMSG and nothing more, so a caller cannot learn which
 * check failed.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "keyd/crypto.h"
#include "keyd/keyring.h"

#define AAD_LABEL	"ballast-seal-v1"
#define USERKEY_LABEL	"ballast-user-key-v1"
#define AAD_MAX		(sizeof(AAD_LABEL) - 1 + 1 + 4 + \
			 3 * (4 + SEAL_MAX_FIELD) + 1)
#define INFO_MAX	(sizeof(USERKEY_LABEL) - 1 + SEAL_MAX_FIELD)

static int
field_ok(const char *s, size_t min)
{
	size_t	 len;

	if (s == NULL)
		return 0;
	len = strnlen(s, SEAL_MAX_FIELD + 1);
	return len >= min && len <= SEAL_MAX_FIELD;
}

static int
ctx_check(const struct seal_ctx *c)
{
	if (c == NULL || !field_ok(c->org, 1) || !field_ok(c->source, 1))
		return -1;
	if (c->user == NULL)
		/* A salt without a user is a caller mix-up: refuse it. */
		return c->user_salt == NULL && c->user_salt_len == 0 ? 0 : -1;
	if (!field_ok(c->user, 0))
		return -1;
	if (c->user_salt == NULL || c->user_salt_len != SEAL_USER_SALTLEN)
		return -1;
	return 0;
}

static size_t
put_field(uint8_t *p, const char *s)
{
	size_t	 len = strlen(s);

	put_be32(p, (uint32_t)len);
	memcpy(p + 4, s, len);
	return 4 + len;
}

/* The AAD of crypto.h into aad[AAD_MAX]; ctx already checked. */
static size_t
aad_build(const struct seal_ctx *c, const uint8_t hdr[5], uint8_t *aad)
{
	size_t	 n = sizeof(AAD_LABEL) - 1;

	memcpy(aad, AAD_LABEL, n);
	memcpy(aad + n, hdr, 5);
	n += 5;
	n += put_field(aad + n, c->org);
	n += put_field(aad + n, c->source);
	if (c->user == NULL)
		aad[n++] = 0;
	else {
		aad[n++] = 1;
		n += put_field(aad + n, c->user);
	}
	return n;
}

/* The AES key for this context: the master key, or the user's key. */
static int
derive_key(const struct keyring_key *k, const struct seal_ctx *c,
    uint8_t out[AES256GCM_KEYLEN])
{
	uint8_t	 info[INFO_MAX];
	size_t	 llen = sizeof(USERKEY_LABEL) - 1, ulen;

	if (c->user == NULL) {
		memcpy(out, k->key, AES256GCM_KEYLEN);
		return 0;
	}
	ulen = strlen(c->user);
	memcpy(info, USERKEY_LABEL, llen);
	memcpy(info + llen, c->user, ulen);
	return hkdf_sha256(c->user_salt, c->user_salt_len, k->key,
	    sizeof(k->key), info, llen + ulen, out, AES256GCM_KEYLEN);
}

int
seal(const struct keyring *kr, const struct seal_ctx *c, const uint8_t *pt,
    size_t ptlen, uint8_t **out, size_t *outlen)
{
	const struct keyring_key *k;
	uint8_t			 key[AES256GCM_KEYLEN], aad[AAD_MAX], *buf;
	size_t			 aadlen;
	int			 ret = SEAL_EINTERNAL;

	*out = NULL;
	*outlen = 0;
	if (ctx_check(c) == -1 || ptlen > SEAL_MAX_PLAINTEXT ||
	    (pt == NULL && ptlen > 0))
		return SEAL_EINVAL;
	if ((k = keyring_newest(kr)) == NULL)
		return SEAL_EINTERNAL;
	if ((buf = malloc(SEAL_OVERHEAD + ptlen)) == NULL)
		return SEAL_EINTERNAL;
	buf[0] = SEAL_VERSION;
	put_be32(buf + 1, k->id);
	/* Random 96-bit nonces: rotate well before 2^32 seals per key. */
	arc4random_buf(buf + 5, AES256GCM_NONCELEN);
	aadlen = aad_build(c, buf, aad);
	if (derive_key(k, c, key) == 0 &&
	    aes256gcm_encrypt(key, buf + 5, aad, aadlen, pt, ptlen,
	    buf + SEAL_HDRLEN, buf + SEAL_HDRLEN + ptlen) == 0) {
		*out = buf;
		*outlen = SEAL_OVERHEAD + ptlen;
		ret = SEAL_OK;
	} else
		freezero(buf, SEAL_OVERHEAD + ptlen);
	explicit_bzero(key, sizeof(key));
	return ret;
}

int
seal_open(const struct keyring *kr, const struct seal_ctx *c,
    const uint8_t *sealed, size_t sealedlen, uint8_t **pt, size_t *ptlen)
{
	const struct keyring_key *k;
	uint8_t			 key[AES256GCM_KEYLEN], aad[AAD_MAX], *buf;
	size_t			 aadlen, ctlen;
	int			 ret = SEAL_EBADMSG;

	*pt = NULL;
	*ptlen = 0;
	if (ctx_check(c) == -1)
		return SEAL_EINVAL;
	if (sealed == NULL || sealedlen < SEAL_OVERHEAD ||
	    sealedlen > SEAL_MAX_SEALED || sealed[0] != SEAL_VERSION)
		return SEAL_EBADMSG;
	if ((k = keyring_find(kr, get_be32(sealed + 1))) == NULL)
		return SEAL_EBADMSG;
	ctlen = sealedlen - SEAL_OVERHEAD;
	if ((buf = malloc(ctlen > 0 ? ctlen : 1)) == NULL)
		return SEAL_EINTERNAL;
	aadlen = aad_build(c, sealed, aad);
	if (derive_key(k, c, key) == -1)
		ret = SEAL_EINTERNAL;
	else if (aes256gcm_decrypt(key, sealed + 5, aad, aadlen,
	    sealed + SEAL_HDRLEN, ctlen, sealed + SEAL_HDRLEN + ctlen,
	    buf) == 0) {
		*pt = buf;
		*ptlen = ctlen;
		ret = SEAL_OK;
	}
	if (ret != SEAL_OK)
		freezero(buf, ctlen > 0 ? ctlen : 1);
	explicit_bzero(key, sizeof(key));
	return ret;
}

int
seal_rewrap(const struct keyring *kr, const struct seal_ctx *c,
    const uint8_t *sealed, size_t sealedlen, uint8_t **out, size_t *outlen)
{
	uint8_t	*pt;
	size_t	 ptlen;
	int	 ret;

	*out = NULL;
	*outlen = 0;
	if ((ret = seal_open(kr, c, sealed, sealedlen, &pt, &ptlen)) !=
	    SEAL_OK)
		return ret;
	ret = seal(kr, c, pt, ptlen, out, outlen);
	freezero(pt, ptlen > 0 ? ptlen : 1);
	return ret;
}

int
seal_key_id(const uint8_t *sealed, size_t sealedlen, uint32_t *id)
{
	if (sealed == NULL || sealedlen < SEAL_OVERHEAD ||
	    sealedlen > SEAL_MAX_SEALED || sealed[0] != SEAL_VERSION)
		return SEAL_EBADMSG;
	*id = get_be32(sealed + 1);
	return SEAL_OK;
}

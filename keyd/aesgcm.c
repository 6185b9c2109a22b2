/*
 * AES-256-GCM with a 96-bit nonce and a 128-bit tag through OpenSSL EVP.
 * seal.c builds on these two; the NIST known-answer tests call them.
 */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "keyd/crypto.h"

/*
 * The cipher, fetched once: EVP_aes_256_gcm() makes OpenSSL 3 look the
 * implementation up by name on every init, which was a fifth of a seal's
 * instructions (tests/bench/README.md).  Kept for the process's life.
 */
static const EVP_CIPHER *
gcm_cipher(void)
{
	static EVP_CIPHER	*fetched;

	if (fetched == NULL)
		fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	return fetched != NULL ? fetched : EVP_aes_256_gcm();
}

/*
 * One context per direction, kept between operations with the key of the
 * last one set (seal.c passes the same master key, or the same user's key,
 * again and again).  Setting a context up was most of a 256-byte seal's
 * instructions: allocating the provider's context, the cipher and IV
 * length through OSSL_PARAMs, the AES key schedule and GHASH table.  Now
 * an operation with the key of the last one only sets the nonce; another
 * key re-keys the same context.
 *
 * What stays in memory between operations: the schedule of the last key
 * and a copy of that key (to compare).  keyd holds the keyring itself for
 * its whole life, and a user's key is derived from it, so this holds
 * nothing keyd could not compute anyway; aes256gcm_forget() (called by
 * keyring_free) frees both, OpenSSL cleansing the context.  A context
 * that saw any failure is freed rather than reused.  Single-threaded:
 * keyd is one event loop.
 */
struct gcm_cache {
	EVP_CIPHER_CTX	*ctx;
	uint8_t		 key[AES256GCM_KEYLEN];
	int		 keyed;
};

static struct gcm_cache	 gcm_enc, gcm_dec;

static void
gcm_drop(struct gcm_cache *gc)
{
	EVP_CIPHER_CTX_free(gc->ctx);
	explicit_bzero(gc, sizeof(*gc));
}

void
aes256gcm_forget(void)
{
	gcm_drop(&gcm_enc);
	gcm_drop(&gcm_dec);
}

static EVP_CIPHER_CTX *
gcm_init(const uint8_t *key, const uint8_t *nonce, int enc)
{
	struct gcm_cache	*gc = enc ? &gcm_enc : &gcm_dec;
	int			 same;

	if (gc->ctx == NULL) {
		if ((gc->ctx = EVP_CIPHER_CTX_new()) == NULL)
			return NULL;
		/* Set the cipher first, then the IV length, once. */
		if (EVP_CipherInit_ex(gc->ctx, gcm_cipher(), NULL, NULL, NULL,
		    enc) != 1 ||
		    EVP_CIPHER_CTX_ctrl(gc->ctx, EVP_CTRL_GCM_SET_IVLEN,
		    AES256GCM_NONCELEN, NULL) != 1) {
			gcm_drop(gc);
			return NULL;
		}
	}
	/* Constant time: the comparison says nothing about either key. */
	same = gc->keyed && CRYPTO_memcmp(gc->key, key, sizeof(gc->key)) == 0;
	/* A new nonce restarts GCM (counter, GHASH, lengths) on either path. */
	if (EVP_CipherInit_ex(gc->ctx, NULL, NULL, same ? NULL : key, nonce,
	    enc) != 1) {
		gcm_drop(gc);
		return NULL;
	}
	if (!same) {
		memcpy(gc->key, key, sizeof(gc->key));
		gc->keyed = 1;
	}
	return gc->ctx;
}

/* Feed AAD, then the text; out receives exactly len bytes. */
static int
gcm_update(EVP_CIPHER_CTX *ctx, const uint8_t *aad, size_t aadlen,
    const uint8_t *in, size_t len, uint8_t *out)
{
	int	 n;

	if (aadlen > INT_MAX || len > INT_MAX)
		return -1;
	if (aadlen > 0 &&
	    EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		return -1;
	if (len > 0) {
		if (EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 ||
		    (size_t)n != len)
			return -1;
	}
	return 0;
}

int
aes256gcm_encrypt(const uint8_t key[AES256GCM_KEYLEN],
    const uint8_t nonce[AES256GCM_NONCELEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *ct,
    uint8_t tag[AES256GCM_TAGLEN])
{
	EVP_CIPHER_CTX	*ctx;
	uint8_t		 last[16];
	int		 n, ret = -1;

	if ((ctx = gcm_init(key, nonce, 1)) == NULL)
		return -1;
	if (gcm_update(ctx, aad, aadlen, pt, ptlen, ct) == -1)
		goto out;
	/* GCM is a stream mode: Final produces no bytes. */
	if (EVP_CipherFinal_ex(ctx, last, &n) != 1 || n != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AES256GCM_TAGLEN,
	    tag) != 1)
		goto out;
	ret = 0;
 out:
	if (ret == -1)
		gcm_drop(&gcm_enc);
	return ret;
}

int
aes256gcm_decrypt(const uint8_t key[AES256GCM_KEYLEN],
    const uint8_t nonce[AES256GCM_NONCELEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *ct, size_t ctlen,
    const uint8_t tag[AES256GCM_TAGLEN], uint8_t *pt)
{
	EVP_CIPHER_CTX	*ctx;
	uint8_t		 last[16], t[AES256GCM_TAGLEN];
	int		 n, ret = -1;

	if ((ctx = gcm_init(key, nonce, 0)) == NULL)
		return -1;
	memcpy(t, tag, sizeof(t));
	if (gcm_update(ctx, aad, aadlen, ct, ctlen, pt) == -1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AES256GCM_TAGLEN,
	    t) != 1)
		goto out;
	/* Final compares the tag (in constant time) and fails on mismatch. */
	if (EVP_CipherFinal_ex(ctx, last, &n) != 1 || n != 0)
		goto out;
	ret = 0;
 out:
	if (ret == -1)
		gcm_drop(&gcm_dec);
	/* Never hand out plaintext that did not authenticate. */
	if (ret == -1 && ctlen > 0)
		explicit_bzero(pt, ctlen);
	return ret;
}

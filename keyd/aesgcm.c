/*
 * AES-256-GCM with a 96-bit nonce and a 128-bit tag through OpenSSL EVP.
 * seal.c builds on these two; the NIST known-answer tests call them.
 */
#include <limits.h>
#include <string.h>

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

static EVP_CIPHER_CTX *
gcm_init(const uint8_t *key, const uint8_t *nonce, int enc)
{
	EVP_CIPHER_CTX	*ctx;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	/* Set the cipher first, then the IV length, then key and IV. */
	if (EVP_CipherInit_ex(ctx, gcm_cipher(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
	    AES256GCM_NONCELEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
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
	EVP_CIPHER_CTX_free(ctx);
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
	EVP_CIPHER_CTX_free(ctx);
	/* Never hand out plaintext that did not authenticate. */
	if (ret == -1 && ctlen > 0)
		explicit_bzero(pt, ctlen);
	return ret;
}

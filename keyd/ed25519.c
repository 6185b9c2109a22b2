/*
 * Ed25519 (RFC 8032, pure EdDSA) from a raw 32-byte seed through OpenSSL
 * EVP_PKEY and one-shot EVP_DigestSign/EVP_DigestVerify.
 */
#include <string.h>

#include <openssl/evp.h>

#include "keyd/crypto.h"

int
ed25519_public_key(const uint8_t seed[ED25519_SEEDLEN],
    uint8_t pub[ED25519_PUBLEN])
{
	EVP_PKEY	*pkey;
	size_t		 len = ED25519_PUBLEN;
	int		 ret = -1;

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    ED25519_SEEDLEN);
	if (pkey == NULL)
		return -1;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 &&
	    len == ED25519_PUBLEN)
		ret = 0;
	EVP_PKEY_free(pkey);
	return ret;
}

int
ed25519_sign(const uint8_t seed[ED25519_SEEDLEN], const uint8_t *msg,
    size_t msglen, uint8_t sig[ED25519_SIGLEN])
{
	EVP_PKEY	*pkey;
	EVP_MD_CTX	*md;
	size_t		 siglen = ED25519_SIGLEN;
	int		 ret = -1;

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    ED25519_SEEDLEN);
	if (pkey == NULL)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* Pure Ed25519 takes no digest: NULL md, one-shot only. */
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, msg, msglen) == 1 &&
	    siglen == ED25519_SIGLEN)
		ret = 0;
	EVP_MD_CTX_free(md);
 out:
	EVP_PKEY_free(pkey);	/* cleanses the private key */
	if (ret == -1)
		explicit_bzero(sig, ED25519_SIGLEN);
	return ret;
}

int
ed25519_verify(const uint8_t pub[ED25519_PUBLEN], const uint8_t *msg,
    size_t msglen, const uint8_t sig[ED25519_SIGLEN])
{
	EVP_PKEY	*pkey;
	EVP_MD_CTX	*md;
	int		 ret = -1;

	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    ED25519_PUBLEN);
	if (pkey == NULL)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* Exactly 1 is valid; 0 is a bad signature, < 0 an error. */
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestVerify(md, sig, ED25519_SIGLEN, msg, msglen) == 1)
		ret = 0;
	EVP_MD_CTX_free(md);
 out:
	EVP_PKEY_free(pkey);
	return ret;
}

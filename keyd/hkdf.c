/*
 * HKDF-SHA256 (RFC 5869) through OpenSSL's EVP_KDF "HKDF", extract and
 * expand in one call.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "keyd/crypto.h"

/*
 * The implementation, fetched once (by name, a lookup through the
 * provider's tables on every fetch) and kept for the process's life, as
 * aesgcm.c does with the cipher.  It holds no key.
 */
static EVP_KDF *
hkdf_kdf(void)
{
	static EVP_KDF	*fetched;

	if (fetched == NULL)
		fetched = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	return fetched;
}

int
hkdf_sha256(const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
    size_t ikmlen, const uint8_t *info, size_t infolen, uint8_t *out,
    size_t outlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5], *p = params;
	int		 ret = -1;

	if (outlen == 0 || outlen > HKDF_SHA256_MAXOUT || ikmlen == 0)
		return -1;
	if ((kdf = hkdf_kdf()) == NULL)
		return -1;
	if ((kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		return -1;

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)ikm, ikmlen);
	/*
	 * Absent salt: HMAC pads the key with zeros, so this is the RFC's
	 * "string of HashLen zeros".  Absent info is the empty string.
	 */
	if (saltlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, saltlen);
	if (infolen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, infolen);
	*p = OSSL_PARAM_construct_end();

	if (EVP_KDF_derive(kctx, out, outlen, params) == 1)
		ret = 0;
	else
		explicit_bzero(out, outlen);
	/* Frees (and cleanses) OpenSSL's copies of key, salt and info. */
	EVP_KDF_CTX_free(kctx);
	return ret;
}

/*
 * keyd's cryptographic core.  Every primitive is OpenSSL 3 EVP; nothing
 * here is hand-written cryptography.  Base64 is not cryptography and is
 * ours, because the keyring file and JWTs need strict, canonical decoders.
 *
 *   aesgcm.c	AES-256-GCM with a 96-bit nonce (the layer NIST vectors test)
 *   hkdf.c	HKDF-SHA256 (RFC 5869)
 *   ed25519.c	Ed25519 (RFC 8032) from a 32-byte seed
 *   b64.c	base64 (RFC 4648 section 4, padded) and base64url (section 5,
 *		unpadded), both strict
 *   seal.c	sealed secrets: version | key id | nonce | ciphertext | tag
 *   jwt.c	compact JWS with alg EdDSA, and the claims keyd agrees to sign
 *
 * Functions return 0 on success and -1 on failure unless they say
 * otherwise.  No function here logs or puts secret bytes in an error.
 */
#ifndef BALLAST_KEYD_CRYPTO_H
#define BALLAST_KEYD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

struct keyring;

/* AES-256-GCM. */
#define AES256GCM_KEYLEN	32
#define AES256GCM_NONCELEN	12
#define AES256GCM_TAGLEN	16

/* ct receives ptlen bytes; ct == pt is allowed.  ptlen, aadlen <= INT_MAX. */
int	aes256gcm_encrypt(const uint8_t key[AES256GCM_KEYLEN],
	    const uint8_t nonce[AES256GCM_NONCELEN], const uint8_t *aad,
	    size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *ct,
	    uint8_t tag[AES256GCM_TAGLEN]);
/* pt receives ctlen bytes, wiped again when the tag does not verify. */
int	aes256gcm_decrypt(const uint8_t key[AES256GCM_KEYLEN],
	    const uint8_t nonce[AES256GCM_NONCELEN], const uint8_t *aad,
	    size_t aadlen, const uint8_t *ct, size_t ctlen,
	    const uint8_t tag[AES256GCM_TAGLEN], uint8_t *pt);
/*
 * The two functions above keep their OpenSSL context, keyed with the last
 * key used, between calls (not thread-safe; keyd is one thread).  This
 * frees both and wipes the key copy; keyring_free() calls it.
 */
void	aes256gcm_forget(void);

/* HKDF-SHA256; an empty salt means the RFC's string of HashLen zeros. */
#define HKDF_SHA256_MAXOUT	(255 * 32)
int	hkdf_sha256(const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
	    size_t ikmlen, const uint8_t *info, size_t infolen, uint8_t *out,
	    size_t outlen);

/* Ed25519. */
#define ED25519_SEEDLEN		32
#define ED25519_PUBLEN		32
#define ED25519_SIGLEN		64

int	ed25519_public_key(const uint8_t seed[ED25519_SEEDLEN],
	    uint8_t pub[ED25519_PUBLEN]);
int	ed25519_sign(const uint8_t seed[ED25519_SEEDLEN], const uint8_t *msg,
	    size_t msglen, uint8_t sig[ED25519_SIGLEN]);
/* 0 only when sig is a valid signature of msg under pub. */
int	ed25519_verify(const uint8_t pub[ED25519_PUBLEN], const uint8_t *msg,
	    size_t msglen, const uint8_t sig[ED25519_SIGLEN]);

/*
 * Base64.  Encoders write a NUL-terminated string and fail when outsz is
 * too small.  Decoders accept exactly the encoder's output: no whitespace,
 * no characters of the other alphabet, padding only (and always) in
 * b64_decode, zero trailing bits; they fail when the result would not fit
 * in outsz.  The *_len macros give the encoded length without the NUL.
 */
#define B64_ENCLEN(n)		((((n) + 2) / 3) * 4)
#define B64URL_ENCLEN(n)	(((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

int	b64_encode(const uint8_t *in, size_t len, char *out, size_t outsz);
int	b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz,
	    size_t *outlen);
int	b64url_encode(const uint8_t *in, size_t len, char *out, size_t outsz);
int	b64url_decode(const char *in, size_t len, uint8_t *out, size_t outsz,
	    size_t *outlen);

/*
 * Sealed secrets (DESIGN.md section 2).
 *
 *   sealed = 0x01 | key id (uint32 big-endian) | 12-byte random nonce |
 *            AES-256-GCM ciphertext | 16-byte tag
 *
 * The additional authenticated data binds the header and the owner:
 *
 *   "ballast-seal-v1" | version | key id |
 *   u32be(len org) | org | u32be(len source) | source |
 *   0x00                             (not personal)
 *   0x01 | u32be(len user) | user    (personal)
 *
 * Every field is length-prefixed, so ("ab","c") and ("a","bc") differ, and
 * a NULL user differs from "".  A personal secret (user != NULL) is sealed
 * with HKDF-SHA256(salt = user_salt, ikm = master key of that id,
 * info = "ballast-user-key-v1" | user), so deleting the user's salt makes
 * everything sealed for that user unreadable.
 *
 * The newest key of the keyring seals; seal_open() uses the key the header
 * names.  Plaintexts are at most SEAL_MAX_PLAINTEXT bytes.
 */
#define SEAL_VERSION		1
#define SEAL_HDRLEN		(1 + 4 + AES256GCM_NONCELEN)
#define SEAL_OVERHEAD		(SEAL_HDRLEN + AES256GCM_TAGLEN)
#define SEAL_MAX_PLAINTEXT	(1024u * 1024)
#define SEAL_MAX_SEALED		(SEAL_MAX_PLAINTEXT + SEAL_OVERHEAD)
#define SEAL_MAX_FIELD		1024	/* org, source, user: bytes */
#define SEAL_USER_SALTLEN	32

#define SEAL_OK			0
/*
 * Cannot be opened: malformed, unknown version or key id, truncated, or the
 * tag does not verify under this context.  Deliberately one code.
 */
#define SEAL_EBADMSG		(-1)
/* Bad arguments: missing or oversized org/source/user, a personal context
 * without a SEAL_USER_SALTLEN salt, a salt without a user, too large. */
#define SEAL_EINVAL		(-2)
/* An OpenSSL or memory failure. */
#define SEAL_EINTERNAL		(-3)

struct seal_ctx {
	const char	*org;		/* required, 1..SEAL_MAX_FIELD bytes */
	const char	*source;	/* required, 1..SEAL_MAX_FIELD bytes */
	const char	*user;		/* NULL unless personal; may be "" */
	const uint8_t	*user_salt;	/* personal only */
	size_t		 user_salt_len;	/* SEAL_USER_SALTLEN */
};

/* *out is malloc()ed, SEAL_OVERHEAD + ptlen bytes; free() it. */
int	seal(const struct keyring *, const struct seal_ctx *,
	    const uint8_t *pt, size_t ptlen, uint8_t **out, size_t *outlen);
/*
 * *pt is malloc()ed (at least 1 byte, even for an empty secret) and holds
 * a secret: freezero(*pt, *ptlen) it.  On failure *pt is NULL.
 */
int	seal_open(const struct keyring *, const struct seal_ctx *,
	    const uint8_t *sealed, size_t sealedlen, uint8_t **pt,
	    size_t *ptlen);
/* open + seal under the newest key, inside; the plaintext never leaves. */
int	seal_rewrap(const struct keyring *, const struct seal_ctx *,
	    const uint8_t *sealed, size_t sealedlen, uint8_t **out,
	    size_t *outlen);
/* The key id a sealed value names (no key needed), for `key status`. */
int	seal_key_id(const uint8_t *sealed, size_t sealedlen, uint32_t *id);

/*
 * JWTs: compact JWS, alg EdDSA (RFC 8037).  keyd signs with the keyring's
 * sign key; authd verifies with its public key.
 *
 * The claims keyd agrees to sign (jwt_claims_check):
 *   a JSON object of at most JWT_MAX_CLAIMS bytes, no duplicate keys, with
 *   exactly these members:
 *     iss, aud, sub, sid	required strings
 *     org, jti			optional strings
 *     iat, exp			required integers
 *     nbf			optional integer
 *   strings 1..JWT_MAX_CLAIM_STR bytes (aud is one string, not an array);
 *   1 <= exp - iat <= JWT_MAX_LIFETIME (access tokens are short-lived);
 *   |iat - now| <= JWT_MAX_SKEW; iat <= nbf < exp when nbf is present.
 */
#define JWT_MAX_CLAIMS		4096
#define JWT_MAX_CLAIM_STR	256
#define JWT_MAX_LIFETIME	3600
#define JWT_MAX_SKEW		60
#define JWT_MAX_HEADER		1024
#define JWT_MAX_TOKEN		(B64URL_ENCLEN(JWT_MAX_HEADER) + 1 + \
				 B64URL_ENCLEN(JWT_MAX_CLAIMS) + 1 + \
				 B64URL_ENCLEN(ED25519_SIGLEN))

/* 0 when claims are acceptable; else -1 and a reason in err. */
int	jwt_claims_check(const char *claims, size_t len, int64_t now,
	    char *err, size_t errlen);
/*
 * Header {"alg":"EdDSA","typ":"JWT","kid":"<kid>"} . claims . signature;
 * *token is a malloc()ed NUL-terminated string.  Signs claims as given:
 * call jwt_claims_check() first.
 */
int	jwt_sign_eddsa(const uint8_t seed[ED25519_SEEDLEN], uint32_t kid,
	    const char *claims, size_t claimslen, char **token);
/*
 * 0 when token is header.payload.signature with a header whose alg is
 * "EdDSA" (members alg, typ "JWT", kid only) and a valid signature under
 * pub.  *claims is the decoded payload, malloc()ed and NUL-terminated; the
 * caller checks its claims (exp, aud, iss, sid).
 */
int	jwt_verify_eddsa(const uint8_t pub[ED25519_PUBLEN], const char *token,
	    size_t len, char **claims, size_t *claimslen);

#endif

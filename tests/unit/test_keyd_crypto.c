/*
 * keyd's cryptographic core: known answers from the standards (NIST CAVP
 * AES-GCM, RFC 5869, RFC 8032, RFC 8037), strict base64, sealing with
 * every way a sealed value can be wrong, key rotation and rewrap, and the
 * JWTs keyd signs and authd verifies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keyd/crypto.h"
#include "keyd/keyring.h"

/* Hex to bytes; the test data is trusted, so a bad digit is a test bug. */
static size_t
unhex(const char *hex, uint8_t *out, size_t outsz)
{
	size_t	 len = strlen(hex), i;
	unsigned int b;

	assert_true(len % 2 == 0 && len / 2 <= outsz);
	for (i = 0; i < len / 2; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return len / 2;
}

/* ---- AES-256-GCM: NIST CAVP gcmEncryptExtIV256.rsp, IVlen 96, Taglen 128 */

struct gcm_kat {
	const char	*what, *key, *iv, *pt, *aad, *ct, *tag;
};

static const struct gcm_kat gcm_kats[] = {
	{ "PTlen=0 AADlen=0 Count=0",
	  "b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4",
	  "516c33929df5a3284ff463d7", "", "", "",
	  "bdc1ac884d332457a1d2664f168c76f0" },
	{ "PTlen=0 AADlen=128 Count=0",
	  "78dc4e0aaf52d935c3c01eea57428f00ca1fd475f5da86a49c8dd73d68c8e223",
	  "d79cf22d504cc793c3fb6c8a", "",
	  "b96baa8c1c75a671bfb2d08d06be5f36", "",
	  "3e5d486aa2e30b22e040b85723a06e76" },
	{ "PTlen=128 AADlen=128 Count=0",
	  "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
	  "ac93a1a6145299bde902f21a", "2d71bcfa914e4ac045b2aa60955fad24",
	  "1e0889016f67601c8ebea4943bc23ad6",
	  "8995ae2e6df3dbf96fac7b7137bae67f",
	  "eca5aa77d51d4a0a14d9c51e1da474ab" },
	{ "PTlen=128 AADlen=128 Count=1",
	  "7da3bccaffb3464178ca7c722379836db50ce0bfb47640b9572163865332e486",
	  "c04fd2e701c3dc62b68738b3", "fd671cab1ee21f0df6bb610bf94f0e69",
	  "fec0311013202e4ffdc4204926ae0ddf",
	  "6be61b17b7f7d494a7cdf270562f37ba",
	  "5e702a38323fe1160b780d17adad3e96" },
};

static void
test_gcm_nist(void **state)
{
	uint8_t	 key[32], iv[12], pt[64], aad[64], ct[64], tag[16];
	uint8_t	 out[64], otag[16], back[64];
	size_t	 i, klen, ivlen, ptlen, aadlen, ctlen;

	for (i = 0; i < sizeof(gcm_kats) / sizeof(gcm_kats[0]); i++) {
		const struct gcm_kat *v = &gcm_kats[i];

		klen = unhex(v->key, key, sizeof(key));
		ivlen = unhex(v->iv, iv, sizeof(iv));
		ptlen = unhex(v->pt, pt, sizeof(pt));
		aadlen = unhex(v->aad, aad, sizeof(aad));
		ctlen = unhex(v->ct, ct, sizeof(ct));
		unhex(v->tag, tag, sizeof(tag));
		assert_int_equal(klen, 32);
		assert_int_equal(ivlen, 12);
		assert_int_equal(ctlen, ptlen);

		assert_int_equal(aes256gcm_encrypt(key, iv, aad, aadlen, pt,
		    ptlen, out, otag), 0);
		if (ptlen > 0)
			assert_memory_equal(out, ct, ptlen);
		assert_memory_equal(otag, tag, 16);

		memset(back, 0xaa, sizeof(back));
		assert_int_equal(aes256gcm_decrypt(key, iv, aad, aadlen, ct,
		    ctlen, tag, back), 0);
		if (ptlen > 0)
			assert_memory_equal(back, pt, ptlen);

		/* A wrong tag fails and leaves no plaintext behind. */
		tag[15] ^= 1;
		memset(back, 0xaa, sizeof(back));
		assert_int_equal(aes256gcm_decrypt(key, iv, aad, aadlen, ct,
		    ctlen, tag, back), -1);
		for (size_t j = 0; j < ctlen; j++)
			assert_int_equal(back[j], 0);
		tag[15] ^= 1;
		/* So does different AAD. */
		if (aadlen > 0) {
			aad[0] ^= 0x80;
			assert_int_equal(aes256gcm_decrypt(key, iv, aad,
			    aadlen, ct, ctlen, tag, back), -1);
		}
	}
}

/*
 * aesgcm.c keeps one context per direction keyed with the last key: the
 * same key again only sets the nonce, another key re-keys, a failure or
 * aes256gcm_forget() frees it.  Every path must still give the vectors.
 */
static void
gcm_kat_once(const struct gcm_kat *v, int badtag)
{
	uint8_t	 key[32], iv[12], pt[64], aad[64], ct[64], tag[16];
	uint8_t	 out[64], otag[16], back[64];
	size_t	 ptlen, aadlen;

	unhex(v->key, key, sizeof(key));
	unhex(v->iv, iv, sizeof(iv));
	ptlen = unhex(v->pt, pt, sizeof(pt));
	aadlen = unhex(v->aad, aad, sizeof(aad));
	unhex(v->ct, ct, sizeof(ct));
	unhex(v->tag, tag, sizeof(tag));
	assert_int_equal(aes256gcm_encrypt(key, iv, aad, aadlen, pt, ptlen,
	    out, otag), 0);
	assert_memory_equal(out, ct, ptlen);
	assert_memory_equal(otag, tag, 16);
	if (badtag) {
		tag[0] ^= 1;
		assert_int_equal(aes256gcm_decrypt(key, iv, aad, aadlen, ct,
		    ptlen, tag, back), -1);
		tag[0] ^= 1;
	}
	memset(back, 0xaa, sizeof(back));
	assert_int_equal(aes256gcm_decrypt(key, iv, aad, aadlen, ct, ptlen,
	    tag, back), 0);
	assert_memory_equal(back, pt, ptlen);
}

static void
test_gcm_kept_context(void **state)
{
	/* Vectors 2 and 3 (with plaintext), in an order that takes each path. */
	static const struct {
		int	 kat, badtag, forget;
	} seq[] = {
		{ 2, 0, 0 }, { 2, 0, 0 },	/* new context, then same key */
		{ 3, 0, 0 }, { 3, 0, 0 },	/* re-key, then same key */
		{ 2, 1, 0 }, { 2, 0, 0 },	/* failure frees, then anew */
		{ 3, 0, 1 }, { 3, 0, 0 },	/* forgotten, then anew */
		{ 1, 0, 0 }, { 2, 0, 0 },	/* empty plaintext between */
	};

	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		if (seq[i].forget)
			aes256gcm_forget();
		gcm_kat_once(&gcm_kats[seq[i].kat], seq[i].badtag);
	}
	aes256gcm_forget();
	aes256gcm_forget();	/* twice is harmless */
}

/* ---- HKDF-SHA256: RFC 5869 appendix A, test cases 1-3 */

static void
test_hkdf_rfc5869(void **state)
{
	uint8_t	 ikm[80], salt[80], info[80], okm[82], want[82];
	size_t	 i;

	/* A.1 */
	memset(ikm, 0x0b, 22);
	unhex("000102030405060708090a0b0c", salt, sizeof(salt));
	unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof(info));
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5"
	    "bf34007208d5b887185865", want, sizeof(want));
	assert_int_equal(hkdf_sha256(salt, 13, ikm, 22, info, 10, okm, 42), 0);
	assert_memory_equal(okm, want, 42);

	/* A.2 */
	for (i = 0; i < 80; i++) {
		ikm[i] = (uint8_t)i;
		salt[i] = (uint8_t)(0x60 + i);
		info[i] = (uint8_t)(0xb0 + i);
	}
	unhex("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa9"
	    "7c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3"
	    "db71cc30c58179ec3e87c14c01d5c1f3434f1d87", want, sizeof(want));
	assert_int_equal(hkdf_sha256(salt, 80, ikm, 80, info, 80, okm, 82), 0);
	assert_memory_equal(okm, want, 82);

	/* A.3: zero-length salt and info */
	memset(ikm, 0x0b, 22);
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d"
	    "2d9d201395faa4b61a96c8", want, sizeof(want));
	assert_int_equal(hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm, 42), 0);
	assert_memory_equal(okm, want, 42);

	/* Out of range lengths are refused. */
	assert_int_equal(hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm, 0), -1);
	assert_int_equal(hkdf_sha256(NULL, 0, ikm, 0, NULL, 0, okm, 42), -1);
}

/* ---- Ed25519: RFC 8032 section 7.1, TEST 1-3 */

struct ed_kat {
	const char	*sk, *pk, *msg, *sig;
};

static const struct ed_kat ed_kats[] = {
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	  "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	  "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

static void
test_ed25519_rfc8032(void **state)
{
	uint8_t	 sk[32], pk[32], msg[8], sig[64], out[64], pub[32];
	size_t	 i, mlen;

	for (i = 0; i < sizeof(ed_kats) / sizeof(ed_kats[0]); i++) {
		unhex(ed_kats[i].sk, sk, sizeof(sk));
		unhex(ed_kats[i].pk, pk, sizeof(pk));
		mlen = unhex(ed_kats[i].msg, msg, sizeof(msg));
		unhex(ed_kats[i].sig, sig, sizeof(sig));

		assert_int_equal(ed25519_public_key(sk, pub), 0);
		assert_memory_equal(pub, pk, 32);
		assert_int_equal(ed25519_sign(sk, msg, mlen, out), 0);
		assert_memory_equal(out, sig, 64);
		assert_int_equal(ed25519_verify(pk, msg, mlen, sig), 0);

		out[i] ^= 0x01;
		assert_int_equal(ed25519_verify(pk, msg, mlen, out), -1);
		/* The same signature over a longer message fails. */
		msg[mlen] = 0;
		assert_int_equal(ed25519_verify(pk, msg, mlen + 1, sig), -1);
	}
	/* TEST 1's signature under TEST 2's key fails. */
	unhex(ed_kats[0].sig, sig, sizeof(sig));
	unhex(ed_kats[1].pk, pk, sizeof(pk));
	assert_int_equal(ed25519_verify(pk, NULL, 0, sig), -1);
}

/* ---- RFC 8037 appendix A.1, A.4, A.5 */

#define RFC8037_D	"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define RFC8037_X	"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define RFC8037_INPUT	"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define RFC8037_SIG	"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iy" \
			"lGjg5BhVsPt9g7sVvpAr_MuM0KAg"

static void
test_jws_rfc8037(void **state)
{
	uint8_t	 d[32], x[32], pub[32], sig[64];
	char	 sigb64[B64URL_ENCLEN(64) + 1], *claims;
	size_t	 n, clen;
	const char *tok = RFC8037_INPUT "." RFC8037_SIG;

	assert_int_equal(b64url_decode(RFC8037_D, strlen(RFC8037_D), d,
	    sizeof(d), &n), 0);
	assert_int_equal(n, 32);
	assert_int_equal(b64url_decode(RFC8037_X, strlen(RFC8037_X), x,
	    sizeof(x), &n), 0);
	assert_int_equal(n, 32);
	/* A.1: x is the public key of d. */
	assert_int_equal(ed25519_public_key(d, pub), 0);
	assert_memory_equal(pub, x, 32);

	/* A.4: signing the input gives exactly the published signature. */
	assert_int_equal(ed25519_sign(d, (const uint8_t *)RFC8037_INPUT,
	    strlen(RFC8037_INPUT), sig), 0);
	assert_int_equal(b64url_encode(sig, sizeof(sig), sigb64,
	    sizeof(sigb64)), 0);
	assert_string_equal(sigb64, RFC8037_SIG);

	/* A.5: the JWS verifies; its payload is not JWT claims, only bytes. */
	assert_int_equal(jwt_verify_eddsa(x, tok, strlen(tok), &claims,
	    &clen), 0);
	assert_string_equal(claims, "Example of Ed25519 signing");
	assert_int_equal(clen, strlen("Example of Ed25519 signing"));
	free(claims);
}

/* ---- base64 and base64url (RFC 4648 section 10 vectors) */

static void
test_b64(void **state)
{
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba",
	    "foobar" };
	static const char *std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
	    "Zm9vYmE=", "Zm9vYmFy" };
	static const char *url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg",
	    "Zm9vYmE", "Zm9vYmFy" };
	static const char *bad_std[] = { "Zg", "Zg=", "Zh==", "Zm9=", "Z===",
	    "====", "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm-v", "Zm_v", "Zm9v=",
	    "Z=9v", "Zg=A" };
	static const char *bad_url[] = { "Z", "Zg==", "Zg=", "Zh", "Zm9",
	    "Zm+v", "Zm/v", "Zm9v ", "Zm9vY", "Zm\0v" };
	uint8_t	 bin[256], out[16];
	char	 enc[16];
	size_t	 i, n;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t plen = strlen(plain[i]);

		assert_int_equal(b64_encode((const uint8_t *)plain[i], plen,
		    enc, sizeof(enc)), 0);
		assert_string_equal(enc, std[i]);
		assert_int_equal(strlen(enc), B64_ENCLEN(plen));
		assert_int_equal(b64url_encode((const uint8_t *)plain[i], plen,
		    enc, sizeof(enc)), 0);
		assert_string_equal(enc, url[i]);
		assert_int_equal(strlen(enc), B64URL_ENCLEN(plen));
		assert_int_equal(b64_decode(std[i], strlen(std[i]), out,
		    sizeof(out), &n), 0);
		assert_int_equal(n, plen);
		assert_memory_equal(out, plain[i], plen);
		assert_int_equal(b64url_decode(url[i], strlen(url[i]), out,
		    sizeof(out), &n), 0);
		assert_int_equal(n, plen);
		assert_memory_equal(out, plain[i], plen);
	}
	for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++)
		assert_int_equal(b64_decode(bad_std[i], strlen(bad_std[i]),
		    out, sizeof(out), &n), -1);
	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++)
		assert_int_equal(b64url_decode(bad_url[i],
		    i == 9 ? 4 : strlen(bad_url[i]), out, sizeof(out), &n), -1);

	/* Outputs that do not fit are refused, not truncated. */
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	assert_int_equal(b64_encode((const uint8_t *)"foo", 3, enc, 4), -1);
	assert_int_equal(b64url_encode((const uint8_t *)"fo", 2, enc, 3), -1);

	/* Every byte value survives both alphabets. */
	for (i = 0; i < 256; i++)
		bin[i] = (uint8_t)i;
	for (n = 0; n <= 256; n += 37) {
		char	 e[400];
		uint8_t	 d[256];
		size_t	 dl;

		assert_int_equal(b64url_encode(bin, n, e, sizeof(e)), 0);
		assert_int_equal(b64url_decode(e, strlen(e), d, sizeof(d),
		    &dl), 0);
		assert_int_equal(dl, n);
		assert_memory_equal(d, bin, n);
		assert_int_equal(b64_encode(bin, n, e, sizeof(e)), 0);
		assert_int_equal(b64_decode(e, strlen(e), d, sizeof(d),
		    &dl), 0);
		assert_int_equal(dl, n);
		assert_memory_equal(d, bin, n);
	}
}

/* ---- sealing */

static const uint8_t salt_a[SEAL_USER_SALTLEN] = { 1, 2, 3 };
static const uint8_t salt_b[SEAL_USER_SALTLEN] = { 1, 2, 4 };

static const struct seal_ctx ctx_org = { "org-1", "src-1", NULL, NULL, 0 };
static const struct seal_ctx ctx_alice = { "org-1", "src-1", "alice",
    salt_a, SEAL_USER_SALTLEN };

static struct keyring *
test_keyring(void)
{
	struct keyring	*kr;

	assert_non_null(kr = keyring_generate());
	return kr;
}

/* Seal pt, open it again under the same context, compare. */
static void
roundtrip(const struct keyring *kr, const struct seal_ctx *c,
    const uint8_t *pt, size_t len)
{
	uint8_t	*s, *back;
	size_t	 slen, blen;
	uint32_t id;

	assert_int_equal(seal(kr, c, pt, len, &s, &slen), SEAL_OK);
	assert_int_equal(slen, len + SEAL_OVERHEAD);
	assert_int_equal(s[0], SEAL_VERSION);
	assert_int_equal(seal_key_id(s, slen, &id), SEAL_OK);
	assert_int_equal(id, keyring_newest(kr)->id);
	assert_int_equal(seal_open(kr, c, s, slen, &back, &blen), SEAL_OK);
	assert_non_null(back);
	assert_int_equal(blen, len);
	if (len > 0) {
		assert_memory_equal(back, pt, len);
		/*
		 * It really is encrypted: a ciphertext of 16 bytes or more
		 * equals its plaintext with probability 2^-128; a shorter
		 * one may by chance (1 in 256 for one byte), so short
		 * secrets are not checked this way.
		 */
		if (len >= 16)
			assert_memory_not_equal(s + SEAL_HDRLEN, pt,
			    len < 64 ? len : 64);
	}
	freezero(back, blen);
	free(s);
}

static void
test_seal_roundtrip(void **state)
{
	struct keyring	*kr = test_keyring();
	uint8_t		*big, one = 0x5a, *s, *s2;
	size_t		 slen, s2len;

	roundtrip(kr, &ctx_org, NULL, 0);
	roundtrip(kr, &ctx_org, &one, 1);
	roundtrip(kr, &ctx_alice, &one, 1);
	assert_non_null(big = malloc(SEAL_MAX_PLAINTEXT + 1));
	arc4random_buf(big, SEAL_MAX_PLAINTEXT + 1);
	roundtrip(kr, &ctx_org, big, SEAL_MAX_PLAINTEXT);
	roundtrip(kr, &ctx_alice, big, SEAL_MAX_PLAINTEXT);
	/* One byte over the limit is refused. */
	assert_int_equal(seal(kr, &ctx_org, big, SEAL_MAX_PLAINTEXT + 1, &s,
	    &slen), SEAL_EINVAL);
	assert_null(s);
	free(big);

	/* Two seals of the same secret differ (random nonce). */
	assert_int_equal(seal(kr, &ctx_org, &one, 1, &s, &slen), SEAL_OK);
	assert_int_equal(seal(kr, &ctx_org, &one, 1, &s2, &s2len), SEAL_OK);
	assert_memory_not_equal(s, s2, slen);
	free(s);
	free(s2);
	keyring_free(kr);
}

static void
expect_badmsg(const struct keyring *kr, const struct seal_ctx *c,
    const uint8_t *s, size_t slen)
{
	uint8_t	*pt = (uint8_t *)"x";
	size_t	 ptlen = 99;

	assert_int_equal(seal_open(kr, c, s, slen, &pt, &ptlen), SEAL_EBADMSG);
	assert_null(pt);
	assert_int_equal(ptlen, 0);
}

static void
test_seal_tamper(void **state)
{
	struct keyring	*kr = test_keyring();
	struct seal_ctx	 c;
	uint8_t		 pt[64 - SEAL_OVERHEAD], *s, *back, *longer;
	size_t		 slen, blen, i;
	int		 bit;

	arc4random_buf(pt, sizeof(pt));
	assert_int_equal(seal(kr, &ctx_org, pt, sizeof(pt), &s, &slen),
	    SEAL_OK);
	assert_int_equal(slen, 64);

	/* Wrong org, wrong source, a user where there was none. */
	c = ctx_org;
	c.org = "org-2";
	expect_badmsg(kr, &c, s, slen);
	c = ctx_org;
	c.source = "src-2";
	expect_badmsg(kr, &c, s, slen);
	expect_badmsg(kr, &ctx_alice, s, slen);
	/* Field boundaries are part of the context. */
	c = ctx_org;
	c.org = "org-1s";
	c.source = "rc-1";
	expect_badmsg(kr, &c, s, slen);

	/* Every single bit flipped, header included. */
	for (i = 0; i < slen; i++)
		for (bit = 0; bit < 8; bit++) {
			s[i] ^= 1u << bit;
			expect_badmsg(kr, &ctx_org, s, slen);
			s[i] ^= 1u << bit;
		}
	/* Every truncation, and one byte too many. */
	for (i = 0; i < slen; i++)
		expect_badmsg(kr, &ctx_org, s, i);
	assert_non_null(longer = malloc(slen + 1));
	memcpy(longer, s, slen);
	longer[slen] = 0;
	expect_badmsg(kr, &ctx_org, longer, slen + 1);
	free(longer);
	expect_badmsg(kr, &ctx_org, NULL, 0);

	/* A key id the keyring does not have; a version it does not know. */
	s[1] = 0; s[2] = 0; s[3] = 0; s[4] = 2;
	expect_badmsg(kr, &ctx_org, s, slen);
	s[4] = 1;
	s[0] = 2;
	expect_badmsg(kr, &ctx_org, s, slen);
	assert_int_equal(seal_key_id(s, slen, &(uint32_t){0}), SEAL_EBADMSG);
	s[0] = 1;

	/* Untouched, it still opens. */
	assert_int_equal(seal_open(kr, &ctx_org, s, slen, &back, &blen),
	    SEAL_OK);
	assert_memory_equal(back, pt, sizeof(pt));
	freezero(back, blen);
	free(s);
	keyring_free(kr);
}

static void
test_seal_personal(void **state)
{
	struct keyring	*kr = test_keyring();
	struct seal_ctx	 c;
	uint8_t		*s, *s2, *pt, secret[] = "refresh-token";
	size_t		 slen, s2len, ptlen;
	char		 longuser[SEAL_MAX_FIELD + 2];

	assert_int_equal(seal(kr, &ctx_alice, secret, sizeof(secret), &s,
	    &slen), SEAL_OK);

	/* Another user's salt, or the same salt under another user. */
	c = ctx_alice;
	c.user_salt = salt_b;
	expect_badmsg(kr, &c, s, slen);
	c = ctx_alice;
	c.user = "bob";
	expect_badmsg(kr, &c, s, slen);
	/* An empty user name is a user, and not alice. */
	c.user = "";
	expect_badmsg(kr, &c, s, slen);
	/* Not as a non-personal secret. */
	expect_badmsg(kr, &ctx_org, s, slen);
	/* No salt at all: refused before any decryption. */
	c = ctx_alice;
	c.user_salt = NULL;
	c.user_salt_len = 0;
	assert_int_equal(seal_open(kr, &c, s, slen, &pt, &ptlen), SEAL_EINVAL);
	assert_null(pt);
	assert_int_equal(seal(kr, &c, secret, 1, &s2, &s2len), SEAL_EINVAL);
	/* A short salt too. */
	c.user_salt = salt_a;
	c.user_salt_len = 16;
	assert_int_equal(seal_open(kr, &c, s, slen, &pt, &ptlen), SEAL_EINVAL);

	/* A non-personal secret does not open as alice's. */
	assert_int_equal(seal(kr, &ctx_org, secret, sizeof(secret), &s2,
	    &s2len), SEAL_OK);
	expect_badmsg(kr, &ctx_alice, s2, s2len);
	free(s2);

	/* The user "" is personal and distinct from no user. */
	c = ctx_alice;
	c.user = "";
	roundtrip(kr, &c, secret, sizeof(secret));

	/* Field limits: the longest user works, one more byte does not. */
	memset(longuser, 'u', sizeof(longuser) - 1);
	longuser[SEAL_MAX_FIELD] = '\0';
	c.user = longuser;
	roundtrip(kr, &c, secret, sizeof(secret));
	longuser[SEAL_MAX_FIELD] = 'u';
	longuser[SEAL_MAX_FIELD + 1] = '\0';
	assert_int_equal(seal(kr, &c, secret, 1, &s2, &s2len), SEAL_EINVAL);
	free(s);
	keyring_free(kr);
}

static void
test_seal_bad_ctx(void **state)
{
	struct keyring	*kr = test_keyring();
	struct seal_ctx	 c;
	uint8_t		*s, b = 1;
	size_t		 slen;

	c = ctx_org;
	c.org = NULL;
	assert_int_equal(seal(kr, &c, &b, 1, &s, &slen), SEAL_EINVAL);
	c = ctx_org;
	c.org = "";
	assert_int_equal(seal(kr, &c, &b, 1, &s, &slen), SEAL_EINVAL);
	c = ctx_org;
	c.source = NULL;
	assert_int_equal(seal(kr, &c, &b, 1, &s, &slen), SEAL_EINVAL);
	/* A salt without a user is a mix-up, not a personal secret. */
	c = ctx_org;
	c.user_salt = salt_a;
	c.user_salt_len = SEAL_USER_SALTLEN;
	assert_int_equal(seal(kr, &c, &b, 1, &s, &slen), SEAL_EINVAL);
	assert_int_equal(seal(kr, NULL, &b, 1, &s, &slen), SEAL_EINVAL);
	assert_int_equal(seal(kr, &ctx_org, NULL, 1, &s, &slen), SEAL_EINVAL);
	keyring_free(kr);
}

/* ---- rotation */

static void
test_rotation(void **state)
{
	struct keyring	*kr = test_keyring();
	uint8_t		 secret[] = "db-password", *s1, *s2, *s3, *pt;
	uint8_t		*p1, *p2;
	size_t		 s1len, s2len, s3len, ptlen, p1len, p2len;
	uint32_t	 id;

	assert_int_equal(seal(kr, &ctx_org, secret, sizeof(secret), &s1,
	    &s1len), SEAL_OK);
	assert_int_equal(seal(kr, &ctx_alice, secret, sizeof(secret), &p1,
	    &p1len), SEAL_OK);
	assert_int_equal(seal_key_id(s1, s1len, &id), SEAL_OK);
	assert_int_equal(id, 1);

	assert_int_equal(keyring_add_key(kr, &id), 0);
	assert_int_equal(id, 2);
	assert_int_equal(keyring_newest(kr)->id, 2);
	/* Old ciphertexts still open. */
	assert_int_equal(seal_open(kr, &ctx_org, s1, s1len, &pt, &ptlen),
	    SEAL_OK);
	assert_memory_equal(pt, secret, sizeof(secret));
	freezero(pt, ptlen);
	/* New seals use key 2. */
	assert_int_equal(seal(kr, &ctx_org, secret, sizeof(secret), &s2,
	    &s2len), SEAL_OK);
	assert_int_equal(seal_key_id(s2, s2len, &id), SEAL_OK);
	assert_int_equal(id, 2);
	/* Rewrap moves to key 2, keeps the context binding. */
	assert_int_equal(seal_rewrap(kr, &ctx_org, s1, s1len, &s3, &s3len),
	    SEAL_OK);
	assert_int_equal(seal_key_id(s3, s3len, &id), SEAL_OK);
	assert_int_equal(id, 2);
	assert_int_equal(seal_rewrap(kr, &ctx_alice, p1, p1len, &p2, &p2len),
	    SEAL_OK);
	assert_int_equal(seal_key_id(p2, p2len, &id), SEAL_OK);
	assert_int_equal(id, 2);
	/* Rewrap under the wrong context fails like open. */
	assert_int_equal(seal_rewrap(kr, &ctx_alice, s1, s1len, &pt, &ptlen),
	    SEAL_EBADMSG);
	assert_null(pt);

	/* Retire 1: the newest refuses, the old one goes. */
	assert_int_equal(keyring_retire(kr, 2), -1);
	assert_int_equal(keyring_retire(kr, 1), 0);
	assert_null(keyring_find(kr, 1));
	assert_int_equal(kr->nkeys, 1);
	/* Everything rewrapped still opens ... */
	assert_int_equal(seal_open(kr, &ctx_org, s3, s3len, &pt, &ptlen),
	    SEAL_OK);
	assert_memory_equal(pt, secret, sizeof(secret));
	freezero(pt, ptlen);
	assert_int_equal(seal_open(kr, &ctx_org, s2, s2len, &pt, &ptlen),
	    SEAL_OK);
	freezero(pt, ptlen);
	assert_int_equal(seal_open(kr, &ctx_alice, p2, p2len, &pt, &ptlen),
	    SEAL_OK);
	freezero(pt, ptlen);
	/* ... and what was not rewrapped does not. */
	expect_badmsg(kr, &ctx_org, s1, s1len);
	expect_badmsg(kr, &ctx_alice, p1, p1len);
	assert_int_equal(seal_rewrap(kr, &ctx_org, s1, s1len, &pt, &ptlen),
	    SEAL_EBADMSG);

	free(s1);
	free(s2);
	free(s3);
	free(p1);
	free(p2);
	keyring_free(kr);
}

/* ---- JWT */

#define NOW	1700000000LL

static char *
claims_at(long long iat, long long exp)
{
	char	*s;

	assert_true(asprintf(&s, "{\"iss\":\"ballast\",\"aud\":\"ballast-api\","
	    "\"sub\":\"user-1\",\"sid\":\"sess-1\",\"org\":\"org-1\","
	    "\"iat\":%lld,\"exp\":%lld}", iat, exp) > 0);
	return s;
}

/* header.payload.sig from raw JSON parts, signed with seed. */
static char *
forge(const uint8_t seed[32], const char *hdr, const char *payload)
{
	char	*buf;
	size_t	 hl = strlen(hdr), pl = strlen(payload), off, need;
	uint8_t	 sig[64];

	need = B64URL_ENCLEN(hl) + B64URL_ENCLEN(pl) + B64URL_ENCLEN(64) + 3;
	assert_non_null(buf = malloc(need));
	assert_int_equal(b64url_encode((const uint8_t *)hdr, hl, buf, need), 0);
	off = strlen(buf);
	buf[off++] = '.';
	assert_int_equal(b64url_encode((const uint8_t *)payload, pl, buf + off,
	    need - off), 0);
	off = strlen(buf);
	assert_int_equal(ed25519_sign(seed, (uint8_t *)buf, off, sig), 0);
	buf[off++] = '.';
	assert_int_equal(b64url_encode(sig, 64, buf + off, need - off), 0);
	return buf;
}

static void
expect_reject(const uint8_t pub[32], const char *tok)
{
	char	*claims = (char *)"x";
	size_t	 clen = 5;

	assert_int_equal(jwt_verify_eddsa(pub, tok, strlen(tok), &claims,
	    &clen), -1);
	assert_null(claims);
	assert_int_equal(clen, 0);
}

static void
test_jwt_roundtrip(void **state)
{
	uint8_t	 seed[32], pub[32], other[32], opub[32];
	char	*claims, *tok, *got, err[128], hdr[128], *dot;
	size_t	 glen, hlen;

	arc4random_buf(seed, sizeof(seed));
	assert_int_equal(ed25519_public_key(seed, pub), 0);
	claims = claims_at(NOW, NOW + 900);
	assert_int_equal(jwt_claims_check(claims, strlen(claims), NOW, err,
	    sizeof(err)), 0);
	assert_int_equal(jwt_sign_eddsa(seed, 7, claims, strlen(claims),
	    &tok), 0);
	assert_true(strlen(tok) < JWT_MAX_TOKEN);
	assert_int_equal(jwt_verify_eddsa(pub, tok, strlen(tok), &got, &glen),
	    0);
	assert_string_equal(got, claims);
	assert_int_equal(glen, strlen(claims));
	free(got);

	/* The header is exactly the fixed one, with the kid. */
	dot = strchr(tok, '.');
	assert_non_null(dot);
	assert_int_equal(b64url_decode(tok, dot - tok, (uint8_t *)hdr,
	    sizeof(hdr) - 1, &hlen), 0);
	hdr[hlen] = '\0';
	assert_string_equal(hdr, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"7\"}");

	/* Another key does not verify it. */
	arc4random_buf(other, sizeof(other));
	assert_int_equal(ed25519_public_key(other, opub), 0);
	expect_reject(opub, tok);
	free(tok);
	free(claims);
}

static void
test_jwt_verify_rejects(void **state)
{
	uint8_t	 seed[32], pub[32];
	char	*claims, *tok, *t, *dot;
	size_t	 len, i;
	int	 bit;

	arc4random_buf(seed, sizeof(seed));
	assert_int_equal(ed25519_public_key(seed, pub), 0);
	claims = claims_at(NOW, NOW + 900);

	/* alg none, even carrying a valid signature; and with none at all. */
	t = forge(seed, "{\"alg\":\"none\",\"typ\":\"JWT\"}", claims);
	expect_reject(pub, t);
	*(strrchr(t, '.') + 1) = '\0';
	expect_reject(pub, t);
	free(t);
	/* HS256 (the public key as an HMAC secret is the classic attack). */
	t = forge(seed, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims);
	expect_reject(pub, t);
	free(t);
	/* Other header shapes. */
	t = forge(seed, "{\"typ\":\"JWT\"}", claims);
	expect_reject(pub, t);
	free(t);
	t = forge(seed, "{\"alg\":\"EdDSA\",\"crit\":[\"exp\"]}", claims);
	expect_reject(pub, t);
	free(t);
	t = forge(seed, "{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}", claims);
	expect_reject(pub, t);
	free(t);
	t = forge(seed, "{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\"}", claims);
	expect_reject(pub, t);
	free(t);
	t = forge(seed, "[\"EdDSA\"]", claims);
	expect_reject(pub, t);
	free(t);
	/* The accepted minimal header, as a control. */
	t = forge(seed, "{\"alg\":\"EdDSA\"}", claims);
	assert_int_equal(jwt_verify_eddsa(pub, t, strlen(t), &dot, &len), 0);
	free(dot);
	free(t);

	assert_int_equal(jwt_sign_eddsa(seed, 1, claims, strlen(claims), &tok),
	    0);
	len = strlen(tok);
	/* Every bit of the signature flipped (in its decoded bytes). */
	for (i = 0; i < 64; i++)
		for (bit = 0; bit < 8; bit++) {
			uint8_t	 sig[64];
			size_t	 n;
			char	*s = strrchr(tok, '.') + 1;

			assert_int_equal(b64url_decode(s, strlen(s), sig,
			    sizeof(sig), &n), 0);
			sig[i] ^= 1u << bit;
			assert_int_equal(b64url_encode(sig, 64, s, 87), 0);
			expect_reject(pub, tok);
			sig[i] ^= 1u << bit;
			assert_int_equal(b64url_encode(sig, 64, s, 87), 0);
		}
	assert_int_equal(jwt_verify_eddsa(pub, tok, len, &t, &i), 0);
	free(t);

	/* A modified payload: another sub, same signature. */
	{
		char	*evil = strdup(claims), *sigpart;
		char	*t2 = forge(seed, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\","
		    "\"kid\":\"1\"}", claims);

		memcpy(strstr(evil, "user-1"), "user-2", 6);
		free(t2);
		t2 = forge(seed, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\","
		    "\"kid\":\"1\"}", evil);
		/* Graft the genuine signature onto the modified payload. */
		sigpart = strrchr(tok, '.');
		memcpy(strrchr(t2, '.'), sigpart, strlen(sigpart) + 1);
		expect_reject(pub, t2);
		free(t2);
		free(evil);
	}

	/* Structure: too few or too many parts, trailing junk, NUL. */
	t = strdup(tok);
	*strrchr(t, '.') = '\0';
	expect_reject(pub, t);
	free(t);
	assert_true(asprintf(&t, "%s.", tok) > 0);
	expect_reject(pub, t);
	free(t);
	assert_true(asprintf(&t, "%sA", tok) > 0);
	expect_reject(pub, t);
	free(t);
	assert_true(asprintf(&t, "%s==", tok) > 0);
	expect_reject(pub, t);
	free(t);
	assert_int_equal(jwt_verify_eddsa(pub, tok, len - 1, &t, &i), -1);
	free(tok);
	free(claims);
}

static void
expect_claims_bad(const char *claims, const char *why)
{
	char	 err[256] = "";

	assert_int_equal(jwt_claims_check(claims, strlen(claims), NOW, err,
	    sizeof(err)), -1);
	if (strstr(err, why) == NULL)
		fail_msg("claims %s: error \"%s\" lacks \"%s\"", claims, err,
		    why);
}

static void
test_jwt_claims_check(void **state)
{
	char	 err[256], *c, big[JWT_MAX_CLAIMS + 64];
	const char *full = "{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"s\","
	    "\"sid\":\"x\",\"org\":\"o\",\"jti\":\"j\",\"iat\":1700000000,"
	    "\"nbf\":1700000000,\"exp\":1700003600}";
	const char *minimal = "{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"s\","
	    "\"sid\":\"x\",\"iat\":1700000000,\"exp\":1700000001}";

	assert_int_equal(jwt_claims_check(full, strlen(full), NOW, err,
	    sizeof(err)), 0);
	assert_int_equal(jwt_claims_check(minimal, strlen(minimal), NOW, err,
	    sizeof(err)), 0);
	/* iat within the skew either way. */
	c = claims_at(NOW + 60, NOW + 60 + 3600);
	assert_int_equal(jwt_claims_check(c, strlen(c), NOW, err,
	    sizeof(err)), 0);
	free(c);
	c = claims_at(NOW - 60, NOW);
	assert_int_equal(jwt_claims_check(c, strlen(c), NOW, err,
	    sizeof(err)), 0);
	free(c);

	/* Lifetimes. */
	c = claims_at(NOW, NOW + 3601);
	expect_claims_bad(c, "exp - iat");
	free(c);
	c = claims_at(NOW, NOW);
	expect_claims_bad(c, "exp - iat");
	free(c);
	c = claims_at(NOW, NOW - 10);
	expect_claims_bad(c, "exp - iat");
	free(c);
	c = claims_at(NOW - 61, NOW + 100);
	expect_claims_bad(c, "iat");
	free(c);
	c = claims_at(NOW + 61, NOW + 100);
	expect_claims_bad(c, "iat");
	free(c);
	c = claims_at(NOW, 9223372036854775807LL);
	expect_claims_bad(c, "exp - iat");
	free(c);

	/* Unknown, missing, duplicate members. */
	expect_claims_bad("{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"s\","
	    "\"sid\":\"x\",\"iat\":1700000000,\"exp\":1700000001,"
	    "\"role\":\"owner\"}", "unknown claim \"role\"");
	expect_claims_bad("{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"s\","
	    "\"iat\":1700000000,\"exp\":1700000001}", "sid is missing");
	expect_claims_bad("{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"s\","
	    "\"sub\":\"t\",\"sid\":\"x\",\"iat\":1700000000,"
	    "\"exp\":1700000001}", "not JSON");
	/* Types. */
	expect_claims_bad("{\"iss\":\"i\",\"aud\":[\"a\"],\"sub\":\"s\","
	    "\"sid\":\"x\",\"iat\":1700000000,\"exp\":1700000001}",
	    "aud is not a string");
	expect_claims_bad("{\"iss\":\"i\",\"aud\":\"a\",\"sub\":42,"
	    "\"sid\":\"x\",\"iat\":1700000000,\"exp\":1700000001}",
	    "sub is not a string");
	expect_claims_bad("{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"s\","
	    "\"sid\":\"x\",\"iat\":\"1700000000\",\"exp\":1700000001}",
	    "iat is not an integer");
	expect_claims_bad("{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"s\","
	    "\"sid\":\"x\",\"iat\":1700000000.0,\"exp\":1700000001}",
	    "iat is not an integer");
	expect_claims_bad("{\"iss\":\"\",\"aud\":\"a\",\"sub\":\"s\","
	    "\"sid\":\"x\",\"iat\":1700000000,\"exp\":1700000001}",
	    "iss is empty");
	expect_claims_bad("{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"s\","
	    "\"sid\":\"x\",\"iat\":1700000000,\"nbf\":1700000001,"
	    "\"exp\":1700000001}", "nbf");
	/* Not an object, not JSON, trailing data. */
	expect_claims_bad("[1,2]", "not a JSON object");
	expect_claims_bad("\"sub\"", "not JSON");
	expect_claims_bad("", "not JSON");
	expect_claims_bad("{} {}", "not JSON");
	/* Too large, even when well-formed. */
	memset(big, ' ', sizeof(big));
	memcpy(big, minimal, strlen(minimal));
	big[sizeof(big) - 1] = '\0';
	expect_claims_bad(big, "larger than");
	/* Signing refuses oversized claims too. */
	assert_int_equal(jwt_sign_eddsa((const uint8_t *)big, 1, big,
	    strlen(big), &c), -1);
	assert_null(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_nist),
		cmocka_unit_test(test_gcm_kept_context),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_ed25519_rfc8032),
		cmocka_unit_test(test_jws_rfc8037),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_seal_roundtrip),
		cmocka_unit_test(test_seal_tamper),
		cmocka_unit_test(test_seal_personal),
		cmocka_unit_test(test_seal_bad_ctx),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_jwt_roundtrip),
		cmocka_unit_test(test_jwt_verify_rejects),
		cmocka_unit_test(test_jwt_claims_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

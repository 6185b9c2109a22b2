/*
 * JWTs as compact JWS with alg EdDSA (RFC 7515, RFC 8037): keyd signs the
 * claims it has checked; authd verifies with the public key and accepts
 * nothing but EdDSA.  The header keyd writes is fixed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keyd/crypto.h"

#define SIG_B64LEN	B64URL_ENCLEN(ED25519_SIGLEN)	/* 86 */

enum claim_type { CLAIM_STR, CLAIM_INT };

static const struct claim_spec {
	const char	*name;
	enum claim_type	 type;
	int		 required;
} claim_specs[] = {
	{ "iss",	CLAIM_STR,	1 },
	{ "aud",	CLAIM_STR,	1 },
	{ "sub",	CLAIM_STR,	1 },
	{ "sid",	CLAIM_STR,	1 },
	{ "org",	CLAIM_STR,	0 },
	{ "jti",	CLAIM_STR,	0 },
	{ "iat",	CLAIM_INT,	1 },
	{ "nbf",	CLAIM_INT,	0 },
	{ "exp",	CLAIM_INT,	1 },
};
#define NCLAIMS	(sizeof(claim_specs) / sizeof(claim_specs[0]))

static int __attribute__((format(printf, 3, 4)))
cerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Types and sizes of every member; fills seen[] by claim_specs index. */
static int
claims_members(json_t *obj, int seen[NCLAIMS], char *err, size_t errlen)
{
	const char	*name;
	json_t		*v;
	size_t		 i, len;

	json_object_foreach(obj, name, v) {
		for (i = 0; i < NCLAIMS; i++)
			if (strcmp(name, claim_specs[i].name) == 0)
				break;
		if (i == NCLAIMS)
			return cerr(err, errlen, "unknown claim \"%.32s\"",
			    name);
		seen[i] = 1;
		if (claim_specs[i].type == CLAIM_INT) {
			if (!json_is_integer(v))
				return cerr(err, errlen, "claim %s is not an "
				    "integer", name);
			continue;
		}
		if (!json_is_string(v))
			return cerr(err, errlen, "claim %s is not a string",
			    name);
		len = json_string_length(v);
		if (len == 0 || len > JWT_MAX_CLAIM_STR)
			return cerr(err, errlen, "claim %s is empty or longer "
			    "than %d bytes", name, JWT_MAX_CLAIM_STR);
	}
	for (i = 0; i < NCLAIMS; i++)
		if (claim_specs[i].required && !seen[i])
			return cerr(err, errlen, "claim %s is missing",
			    claim_specs[i].name);
	return 0;
}

static int
claims_times(json_t *obj, int64_t now, char *err, size_t errlen)
{
	json_int_t	 iat, exp, nbf;
	json_t		*v;

	/* Bound now first so that no sum below can overflow. */
	if (now < 0 || now > ((int64_t)1 << 62))
		return cerr(err, errlen, "clock out of range");
	iat = json_integer_value(json_object_get(obj, "iat"));
	exp = json_integer_value(json_object_get(obj, "exp"));
	if (iat < now - JWT_MAX_SKEW || iat > now + JWT_MAX_SKEW)
		return cerr(err, errlen, "iat is more than %d s from now",
		    JWT_MAX_SKEW);
	if (exp < iat + 1 || exp > iat + JWT_MAX_LIFETIME)
		return cerr(err, errlen, "exp - iat is not within 1..%d s",
		    JWT_MAX_LIFETIME);
	if ((v = json_object_get(obj, "nbf")) != NULL) {
		nbf = json_integer_value(v);
		if (nbf < iat || nbf >= exp)
			return cerr(err, errlen, "nbf is not within iat..exp");
	}
	return 0;
}

int
jwt_claims_check(const char *claims, size_t len, int64_t now, char *err,
    size_t errlen)
{
	json_t		*obj;
	json_error_t	 jerr;
	int		 seen[NCLAIMS] = { 0 }, ret = -1;

	if (claims == NULL || len > JWT_MAX_CLAIMS)
		return cerr(err, errlen, "claims larger than %d bytes",
		    JWT_MAX_CLAIMS);
	/* Duplicate members could be read differently by a verifier. */
	obj = json_loadb(claims, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return cerr(err, errlen, "claims are not JSON: %s",
		    jerr.text);
	if (!json_is_object(obj))
		cerr(err, errlen, "claims are not a JSON object");
	else if (claims_members(obj, seen, err, errlen) == 0 &&
	    claims_times(obj, now, err, errlen) == 0)
		ret = 0;
	json_decref(obj);
	return ret;
}

int
jwt_sign_eddsa(const uint8_t seed[ED25519_SEEDLEN], uint32_t kid,
    const char *claims, size_t claimslen, char **token)
{
	char	 hdr[80];
	uint8_t	 sig[ED25519_SIGLEN];
	char	*buf;
	size_t	 hlen, need, off;
	int	 n;

	*token = NULL;
	if (claims == NULL || claimslen > JWT_MAX_CLAIMS)
		return -1;
	n = snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%u\"}", kid);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -1;
	hlen = n;
	need = B64URL_ENCLEN(hlen) + 1 + B64URL_ENCLEN(claimslen) + 1 +
	    SIG_B64LEN + 1;
	if ((buf = malloc(need)) == NULL)
		return -1;
	off = B64URL_ENCLEN(hlen);
	if (b64url_encode((const uint8_t *)hdr, hlen, buf, need) == -1)
		goto fail;
	buf[off++] = '.';
	if (b64url_encode((const uint8_t *)claims, claimslen, buf + off,
	    need - off) == -1)
		goto fail;
	off += B64URL_ENCLEN(claimslen);
	if (ed25519_sign(seed, (const uint8_t *)buf, off, sig) == -1)
		goto fail;
	buf[off++] = '.';
	if (b64url_encode(sig, sizeof(sig), buf + off, need - off) == -1)
		goto fail;
	*token = buf;
	return 0;
 fail:
	free(buf);
	return -1;
}

/* The protected header: alg "EdDSA" required, typ "JWT" and kid allowed. */
static int
header_ok(const char *b64, size_t len)
{
	uint8_t		 raw[JWT_MAX_HEADER];
	size_t		 rawlen;
	json_t		*obj, *v;
	const char	*name;
	int		 ok = 1, alg = 0;

	if (b64url_decode(b64, len, raw, sizeof(raw), &rawlen) == -1)
		return 0;
	obj = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES,
	    NULL);
	if (obj == NULL)
		return 0;
	if (!json_is_object(obj))
		ok = 0;
	json_object_foreach(obj, name, v) {
		if (strcmp(name, "alg") == 0) {
			alg = json_is_string(v) &&
			    strcmp(json_string_value(v), "EdDSA") == 0;
			ok &= alg;
		} else if (strcmp(name, "typ") == 0)
			ok &= json_is_string(v) &&
			    strcmp(json_string_value(v), "JWT") == 0;
		else if (strcmp(name, "kid") == 0)
			ok &= json_is_string(v);
		else
			ok = 0;		/* crit, jku, x5u, ...: refuse */
	}
	json_decref(obj);
	return ok && alg;
}

int
jwt_verify_eddsa(const uint8_t pub[ED25519_PUBLEN], const char *token,
    size_t len, char **claims, size_t *claimslen)
{
	const char	*d1, *d2;
	uint8_t		 sig[ED25519_SIGLEN];
	size_t		 siglen, plen, outlen;
	char		*out;

	*claims = NULL;
	*claimslen = 0;
	if (token == NULL || len > JWT_MAX_TOKEN ||
	    memchr(token, '\0', len) != NULL)
		return -1;
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', token + len - (d1 + 1))) == NULL ||
	    memchr(d2 + 1, '.', token + len - (d2 + 1)) != NULL)
		return -1;
	if (!header_ok(token, d1 - token))
		return -1;
	if (token + len - (d2 + 1) != SIG_B64LEN ||
	    b64url_decode(d2 + 1, SIG_B64LEN, sig, sizeof(sig),
	    &siglen) == -1 || siglen != sizeof(sig))
		return -1;
	/* The signing input is header.payload exactly as received. */
	if (ed25519_verify(pub, (const uint8_t *)token, d2 - token, sig) == -1)
		return -1;
	plen = d2 - (d1 + 1);
	if (plen > B64URL_ENCLEN(JWT_MAX_CLAIMS))
		return -1;
	if ((out = malloc(plen / 4 * 3 + 3)) == NULL)
		return -1;
	if (b64url_decode(d1 + 1, plen, (uint8_t *)out, plen / 4 * 3 + 2,
	    &outlen) == -1) {
		free(out);
		return -1;
	}
	out[outlen] = '\0';
	*claims = out;
	*claimslen = outlen;
	return 0;
}

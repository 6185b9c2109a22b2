/*
 * Strict parsers for what callers send authd.  Everything is checked by
 * position and alphabet; nothing is trimmed, folded or guessed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "authd/check.h"
#include "keyd/crypto.h"

int
uuid_valid(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < UUID_LEN; i++) {
		if (s[i] == '\0')
			return 0;
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return s[i] == '\0';
}

static int
id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
apikey_id_valid(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < APIKEY_IDLEN; i++)
		if (!id_char(s[i]))
			return 0;
	return s[i] == '\0';
}

int
apikey_parse(const char *tok, char id[APIKEY_IDLEN + 1],
    uint8_t secret[APIKEY_SECRETLEN])
{
	const char	*p;
	size_t		 outlen;

	if (tok == NULL || strnlen(tok, APIKEY_LEN + 1) != APIKEY_LEN ||
	    strncmp(tok, APIKEY_PREFIX, 5) != 0)
		return -1;
	p = tok + 5;
	for (size_t i = 0; i < APIKEY_IDLEN; i++)
		if (!id_char(p[i]))
			return -1;
	if (p[APIKEY_IDLEN] != '_')
		return -1;
	if (b64url_decode(p + APIKEY_IDLEN + 1, APIKEY_SECRET_B64, secret,
	    APIKEY_SECRETLEN, &outlen) == -1 || outlen != APIKEY_SECRETLEN) {
		explicit_bzero(secret, APIKEY_SECRETLEN);
		return -1;
	}
	memcpy(id, p, APIKEY_IDLEN);
	id[APIKEY_IDLEN] = '\0';
	return 0;
}

int
refresh_parse(const char *tok, uint8_t raw[REFRESH_RAWLEN])
{
	size_t	 outlen;

	if (tok == NULL || strnlen(tok, REFRESH_LEN + 1) != REFRESH_LEN ||
	    strncmp(tok, REFRESH_PREFIX, 5) != 0)
		return -1;
	if (b64url_decode(tok + 5, REFRESH_LEN - 5, raw, REFRESH_RAWLEN,
	    &outlen) == -1 || outlen != REFRESH_RAWLEN) {
		explicit_bzero(raw, REFRESH_RAWLEN);
		return -1;
	}
	return 0;
}

static int
claims_fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -1;
}

static int
claims_keys_ok(json_t *o)
{
	static const char *const known[] = {
		"iss", "aud", "sub", "sid", "org", "jti", "iat", "exp", "nbf"
	};
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, k, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return 0;
		if ((strcmp(k, "org") == 0 || strcmp(k, "jti") == 0) &&
		    !json_is_string(v))
			return 0;
	}
	return 1;
}

static int
claims_str(json_t *o, const char *k, const char *want)
{
	json_t	*v = json_object_get(o, k);

	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

/* Seconds since 1970 up to about the year 36800. */
#define CLAIMS_TIME_MAX	((int64_t)1 << 40)

static int
claims_time_ok(json_t *v)
{
	return json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= CLAIMS_TIME_MAX;
}

static int
claims_check_obj(json_t *o, int64_t now, char *sub, char *sid, char *err,
    size_t errlen)
{
	json_t	*exp, *iat, *nbf, *jsub, *jsid;

	if (!json_is_object(o) || !claims_keys_ok(o))
		return claims_fail(err, errlen, "unexpected claims");
	if (!claims_str(o, "iss", "ballast"))
		return claims_fail(err, errlen, "wrong issuer");
	if (!claims_str(o, "aud", "ballast-api"))
		return claims_fail(err, errlen, "wrong audience");
	exp = json_object_get(o, "exp");
	iat = json_object_get(o, "iat");
	nbf = json_object_get(o, "nbf");
	if (!json_is_integer(exp) || !json_is_integer(iat) ||
	    (nbf != NULL && !json_is_integer(nbf)))
		return claims_fail(err, errlen, "exp, iat or nbf missing");
	/*
	 * Times are bounded before any arithmetic: a token's numbers are
	 * outside input, and exp + skew must not overflow.
	 */
	if (!claims_time_ok(exp) || !claims_time_ok(iat) ||
	    (nbf != NULL && !claims_time_ok(nbf)) ||
	    now < 0 || now > CLAIMS_TIME_MAX)
		return claims_fail(err, errlen, "implausible time");
	if (json_integer_value(exp) + CLAIMS_SKEW <= now)
		return claims_fail(err, errlen, "expired");
	if (json_integer_value(iat) > now + CLAIMS_SKEW ||
	    (nbf != NULL && json_integer_value(nbf) > now + CLAIMS_SKEW))
		return claims_fail(err, errlen, "not valid yet");
	jsub = json_object_get(o, "sub");
	jsid = json_object_get(o, "sid");
	if (!json_is_string(jsub) || !uuid_valid(json_string_value(jsub)) ||
	    !json_is_string(jsid) || !uuid_valid(json_string_value(jsid)))
		return claims_fail(err, errlen, "sub or sid missing");
	memcpy(sub, json_string_value(jsub), UUID_LEN + 1);
	memcpy(sid, json_string_value(jsid), UUID_LEN + 1);
	return 0;
}

int
claims_check(const char *json, size_t len, int64_t now,
    char sub[UUID_LEN + 1], char sid[UUID_LEN + 1], char *err, size_t errlen)
{
	json_t		*o;
	json_error_t	 jerr;
	int		 rv;

	if (len > JWT_MAX_CLAIMS)
		return claims_fail(err, errlen, "claims too large");
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return claims_fail(err, errlen, "claims are not JSON");
	rv = claims_check_obj(o, now, sub, sid, err, errlen);
	json_decref(o);
	return rv;
}

static int
digits(const char *s, size_t n, int *out)
{
	int	 v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
rfc3339_parse(const char *s, time_t *out)
{
	struct tm	 tm, check;
	int		 y, mo, d, h, mi, sec;
	size_t		 n, i;
	time_t		 t;

	n = strnlen(s, 64);
	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[n - 1] != 'Z')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return -1;
	if (n > 20) {
		/* ".digits" only */
		if (s[19] != '.' || n == 21 || n > 30)
			return -1;
		for (i = 20; i < n - 1; i++)
			if (s[i] < '0' || s[i] > '9')
				return -1;
	}
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1 || gmtime_r(&t, &check) == NULL)
		return -1;
	/* timegm normalises 31 February; we do not. */
	if (check.tm_mday != d || check.tm_mon != mo - 1)
		return -1;
	*out = t;
	return 0;
}

int
email_normalize(const char *in, char *out, size_t outlen)
{
	const char	*at;
	size_t		 n;

	n = strnlen(in, EMAIL_MAX + 1);
	if (n < 3 || n > EMAIL_MAX || n >= outlen)
		return -1;
	at = strchr(in, '@');
	if (at == NULL || at == in || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)in[i];

		if (isspace(c) || iscntrl(c))
			return -1;
		out[i] = c < 0x80 ? (char)tolower(c) : (char)c;
	}
	out[n] = '\0';
	return 0;
}

/*
 * EVP_sha256() has OpenSSL look the implementation up by name in every
 * EVP_Digest (a few percent of authd's CPU per API-key request, when the
 * key's hash is checked against the cached row): fetched once, kept.
 */
static const EVP_MD *
sha256_md(void)
{
	static EVP_MD	*fetched;

	if (fetched == NULL)
		fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
	return fetched != NULL ? fetched : EVP_sha256();
}

int
sha256(const void *in, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int	 olen = 0;

	if (EVP_Digest(in, len, out, &olen, sha256_md(), NULL) != 1 ||
	    olen != SHA256_LEN)
		return -1;
	return 0;
}

void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char	 hx[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *s, uint8_t *out, size_t outlen)
{
	int	 hi, lo;

	if (strnlen(s, 2 * outlen + 1) != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
text_len_ok(const char *s, size_t min, size_t max)
{
	size_t	 n = 0;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n >= min && n <= max;
}

/*
 * authd's parsers and checks of untrusted strings: UUIDs, API keys,
 * refresh tokens, JWT claims, times, e-mail addresses.  Pure functions
 * (no database, no clock of their own) so unit tests and fuzzers can run
 * them alone.
 */
#ifndef BALLAST_AUTHD_CHECK_H
#define BALLAST_AUTHD_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define UUID_LEN		36
#define APIKEY_PREFIX		"blst_"
#define APIKEY_IDLEN		16
#define APIKEY_SECRETLEN	32	/* bytes */
#define APIKEY_SECRET_B64	43	/* base64url characters */
/* "blst_" id "_" secret */
#define APIKEY_LEN		(5 + APIKEY_IDLEN + 1 + APIKEY_SECRET_B64)
#define REFRESH_PREFIX		"blsr_"
#define REFRESH_RAWLEN		32
#define REFRESH_LEN		(5 + 43)
#define SHA256_LEN		32
#define CLAIMS_SKEW		30	/* seconds of clock skew we forgive */
#define EMAIL_MAX		254

/* 1 for the canonical 8-4-4-4-12 lower- or upper-case hex form. */
int	uuid_valid(const char *);
/* 1 when s is an API key id: 16 characters of [a-z0-9]. */
int	apikey_id_valid(const char *);

/*
 * "blst_<16 [a-z0-9]>_<43 base64url>", nothing more or less; the secret
 * must decode to exactly 32 bytes.  0 and id (NUL-terminated) and secret,
 * or -1 with nothing useful written.
 */
int	apikey_parse(const char *tok, char id[APIKEY_IDLEN + 1],
	    uint8_t secret[APIKEY_SECRETLEN]);
/* "blsr_<43 base64url>" decoding to 32 bytes. */
int	refresh_parse(const char *tok, uint8_t raw[REFRESH_RAWLEN]);

/*
 * An access token's verified payload: iss "ballast", aud "ballast-api",
 * sub and sid UUIDs, exp and iat integers, exp + CLAIMS_SKEW > now,
 * iat (and nbf when present) <= now + CLAIMS_SKEW; jti and org optional
 * strings, nothing else.  0 and sub and sid, or -1 and a reason in err.
 */
int	claims_check(const char *json, size_t len, int64_t now,
	    char sub[UUID_LEN + 1], char sid[UUID_LEN + 1], char *err,
	    size_t errlen);

/* "YYYY-MM-DDTHH:MM:SSZ" (UTC, an optional ".fraction" ignored). */
int	rfc3339_parse(const char *, time_t *);

/*
 * An e-mail address as authd stores it: lower-cased, 3..254 bytes, one
 * '@' with something on both sides, no space or control characters.
 */
int	email_normalize(const char *in, char *out, size_t outlen);

/* 1 when s has min..max characters (UTF-8 code points). */
int	text_len_ok(const char *s, size_t min, size_t max);

int	sha256(const void *, size_t, uint8_t out[SHA256_LEN]);
/* out holds 2 * len + 1. */
void	hex_encode(const uint8_t *, size_t len, char *out);
/* exactly outlen bytes from 2 * outlen hex digits; 0 or -1. */
int	hex_decode(const char *, uint8_t *out, size_t outlen);

#endif

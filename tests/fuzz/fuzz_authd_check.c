/*
 * Fuzz authd's parsers of untrusted strings (authd/check.c).  The input
 * is taken as one NUL-terminated string (bytes after an embedded NUL are
 * what the C callers would never see) and each parser's acceptance is
 * checked against what it promises:
 *
 * - uuid_valid, apikey_id_valid: accepted strings have the exact shape;
 * - apikey_parse, refresh_parse: accepted tokens have the exact length and
 *   prefix, and the decoded secret encodes back to the token's text;
 * - rfc3339_parse: the time it returns prints back as the input's
 *   date and time;
 * - claims_check on the raw bytes: what it accepts names UUIDs as sub
 *   and sid; what it refuses says why;
 * - email_normalize: the result has the input's length, one '@', and
 *   normalising it again changes nothing;
 * - hex_decode: what it accepts encodes back to the lower-cased input.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authd/check.h"
#include "keyd/crypto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_NOW	1700000000	/* the corpus claims are issued then */
#define FUZZ_MAXSTR	4096		/* longer strings teach nothing new */

static void
check_uuid(const char *s)
{
	size_t	 i;

	if (uuid_valid(s)) {
		if (strlen(s) != UUID_LEN)
			abort();
		for (i = 0; i < UUID_LEN; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23) {
				if (s[i] != '-')
					abort();
			} else if (!isxdigit((unsigned char)s[i]))
				abort();
		}
	}
	if (apikey_id_valid(s)) {
		if (strlen(s) != APIKEY_IDLEN)
			abort();
		for (i = 0; i < APIKEY_IDLEN; i++)
			if (!islower((unsigned char)s[i]) &&
			    !isdigit((unsigned char)s[i]))
				abort();
	}
}

static void
check_tokens(const char *s)
{
	char	 id[APIKEY_IDLEN + 1], enc[64];
	uint8_t	 secret[APIKEY_SECRETLEN], raw[REFRESH_RAWLEN];

	if (apikey_parse(s, id, secret) == 0) {
		if (strlen(s) != APIKEY_LEN ||
		    strncmp(s, APIKEY_PREFIX, 5) != 0 ||
		    !apikey_id_valid(id) ||
		    memcmp(id, s + 5, APIKEY_IDLEN) != 0 ||
		    s[5 + APIKEY_IDLEN] != '_' ||
		    b64url_encode(secret, sizeof(secret), enc,
		    sizeof(enc)) == -1 ||
		    strcmp(enc, s + 5 + APIKEY_IDLEN + 1) != 0)
			abort();
	}
	if (refresh_parse(s, raw) == 0) {
		if (strlen(s) != REFRESH_LEN ||
		    strncmp(s, REFRESH_PREFIX, 5) != 0 ||
		    b64url_encode(raw, sizeof(raw), enc, sizeof(enc)) == -1 ||
		    strcmp(enc, s + 5) != 0)
			abort();
	}
}

static void
check_time(const char *s)
{
	struct tm	 tm;
	time_t		 t;
	char		 back[32];

	if (rfc3339_parse(s, &t) == -1)
		return;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%S", &tm) != 19 ||
	    strncmp(back, s, 19) != 0 || s[strlen(s) - 1] != 'Z')
		abort();
}

static void
check_claims(const uint8_t *data, size_t size)
{
	char	 sub[UUID_LEN + 1], sid[UUID_LEN + 1], err[128];

	err[0] = '\0';
	if (claims_check((const char *)data, size, FUZZ_NOW, sub, sid, err,
	    sizeof(err)) == 0) {
		if (!uuid_valid(sub) || !uuid_valid(sid))
			abort();
	} else if (err[0] == '\0')
		abort();
}

static void
check_email(const char *s)
{
	char	 out[EMAIL_MAX + 1], again[EMAIL_MAX + 1];
	char	*at;

	if (email_normalize(s, out, sizeof(out)) == -1)
		return;
	if (strlen(out) != strlen(s) || (at = strchr(out, '@')) == NULL ||
	    at == out || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		abort();
	if (email_normalize(out, again, sizeof(again)) == -1 ||
	    strcmp(out, again) != 0)
		abort();
}

static void
check_hex(const char *s)
{
	static uint8_t	 bin[FUZZ_MAXSTR / 2];
	static char	 back[FUZZ_MAXSTR + 1];
	size_t		 n = strlen(s);

	if (n % 2 != 0 || hex_decode(s, bin, n / 2) == -1)
		return;
	hex_encode(bin, n / 2, back);
	for (size_t i = 0; i < n; i++)
		if (back[i] != tolower((unsigned char)s[i]))
			abort();
	(void)text_len_ok(s, 1, 10);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size > FUZZ_MAXSTR)
		return 0;
	check_claims(data, size);
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_uuid(s);
	check_tokens(s);
	check_time(s);
	check_email(s);
	check_hex(s);
	free(s);
	return 0;
}

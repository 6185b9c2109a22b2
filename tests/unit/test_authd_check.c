/*
 * authd's parsers of untrusted strings: UUIDs, API keys, refresh tokens,
 * access-token claims, times, e-mail addresses; and the login rate limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "authd/authd.h"
#include "authd/check.h"
#include "keyd/crypto.h"

#define U1	"0f8e2c1a-7b3d-4e5f-9a0b-1c2d3e4f5a6b"
#define U2	"11111111-2222-3333-4444-555555555555"
/* 43 base64url characters of 32 bytes (the last one has zero low bits). */
#define SECRET	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static void
test_uuid(void **state)
{
	assert_true(uuid_valid(U1));
	assert_true(uuid_valid("0F8E2C1A-7B3D-4E5F-9A0B-1C2D3E4F5A6B"));
	assert_false(uuid_valid(""));
	assert_false(uuid_valid(NULL));
	assert_false(uuid_valid(U1 "0"));				/* long */
	assert_false(uuid_valid("0f8e2c1a-7b3d-4e5f-9a0b-1c2d3e4f5a6"));
	assert_false(uuid_valid("0f8e2c1a07b3d-4e5f-9a0b-1c2d3e4f5a6b"));
	assert_false(uuid_valid("0f8e2c1a-7b3d-4e5f-9a0b-1c2d3e4f5a6g"));
	assert_false(uuid_valid("0f8e2c1a-7b3d-4e5f-9a0b1-c2d3e4f5a6b"));
	assert_false(uuid_valid("{f8e2c1a-7b3d-4e5f-9a0b-1c2d3e4f5a6b"));
	assert_false(uuid_valid("'; DROP TABLE users; --xxxxxxxxxxxxxxx"));
}

static void
test_apikey_parse(void **state)
{
	char	 id[APIKEY_IDLEN + 1];
	uint8_t	 sec[APIKEY_SECRETLEN];

	assert_int_equal(apikey_parse("blst_abcdefgh23456789_" SECRET, id,
	    sec), 0);
	assert_string_equal(id, "abcdefgh23456789");
	for (int i = 0; i < 32; i++)
		assert_int_equal(sec[i], i);
	/* A secret may hold '_' and '-': positions, not separators, count. */
	assert_int_equal(apikey_parse("blst_abcdefgh23456789_"
	    "_-ECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", id, sec), 0);

	static const char *const bad[] = {
		"",
		"blst_",
		"blst_abcdefgh23456789",
		"blst_abcdefgh23456789_",
		"blst_abcdefgh23456789_" SECRET "A",		/* long */
		"blst_abcdefgh23456789_" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh",
		"BLST_abcdefgh23456789_" SECRET,
		"blsr_abcdefgh23456789_" SECRET,
		"blst_ABCDEFGH23456789_" SECRET,		/* upper id */
		"blst_abcdefgh2345678_A" SECRET,		/* short id */
		"blst_abcdefgh23456789-" SECRET,
		"blst_abcdefgh2345678!_" SECRET,
		"blst_abcdefgh23456789_" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9",
		"blst_abcdefgh23456789_" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+",
		"blst_abcdefgh23456789_" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH=",
		" blst_abcdefgh23456789_" SECRET,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (apikey_parse(bad[i], id, sec) != -1)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(apikey_parse(NULL, id, sec), -1);
	/* What key_secret_new() makes parses back to the same bytes. */
	{
		uint8_t	 raw[APIKEY_SECRETLEN];
		char	 key[APIKEY_LEN + 1] = "blst_zzzzzzzzzzzzzzzz_";

		for (int i = 0; i < 32; i++)
			raw[i] = (uint8_t)(0xff - i);
		assert_int_equal(b64url_encode(raw, sizeof(raw), key + 22,
		    sizeof(key) - 22), 0);
		assert_int_equal(apikey_parse(key, id, sec), 0);
		assert_memory_equal(raw, sec, sizeof(raw));
	}
	assert_true(apikey_id_valid("abcdefgh23456789"));
	assert_false(apikey_id_valid("abcdefgh2345678"));
	assert_false(apikey_id_valid("abcdefgh23456789a"));
	assert_false(apikey_id_valid("abcdefgh2345678_"));
}

static void
test_refresh_parse(void **state)
{
	uint8_t	 raw[REFRESH_RAWLEN];

	assert_int_equal(refresh_parse("blsr_" SECRET, raw), 0);
	assert_int_equal(raw[31], 31);
	assert_int_equal(refresh_parse("blst_" SECRET, raw), -1);
	assert_int_equal(refresh_parse("blsr_" SECRET "A", raw), -1);
	assert_int_equal(refresh_parse("blsr_", raw), -1);
	assert_int_equal(refresh_parse("blsr_AAECAwQFBgcICQoLDA0ODxAREhMU"
	    "FRYXGBkaGxwdHh9", raw), -1);		/* trailing bits */
}

static int
claims(const char *json, int64_t now, char *err, size_t errlen)
{
	char	 sub[UUID_LEN + 1], sid[UUID_LEN + 1];
	int	 rv;

	rv = claims_check(json, strlen(json), now, sub, sid, err, errlen);
	if (rv == 0) {
		assert_string_equal(sub, U1);
		assert_string_equal(sid, U2);
	}
	return rv;
}

/* Claims with one member replaced (or dropped with val NULL). */
static void
claims_with(char *buf, size_t len, const char *key, const char *val,
    int64_t now)
{
	const char	*keys[] = { "iss", "aud", "sub", "sid", "iat", "exp",
	    "jti" };
	char		 vals[7][64];
	size_t		 off;

	snprintf(vals[0], 64, "\"ballast\"");
	snprintf(vals[1], 64, "\"ballast-api\"");
	snprintf(vals[2], 64, "\"%s\"", U1);
	snprintf(vals[3], 64, "\"%s\"", U2);
	snprintf(vals[4], 64, "%lld", (long long)now);
	snprintf(vals[5], 64, "%lld", (long long)now + 900);
	snprintf(vals[6], 64, "\"j\"");
	off = (size_t)snprintf(buf, len, "{");
	for (size_t i = 0; i < 7; i++) {
		const char *v = vals[i];

		if (key != NULL && strcmp(key, keys[i]) == 0) {
			if (val == NULL)
				continue;
			v = val;
		}
		off += (size_t)snprintf(buf + off, len - off, "%s\"%s\":%s",
		    off > 1 ? "," : "", keys[i], v);
	}
	if (key != NULL && val != NULL && strcmp(key, "nbf") == 0)
		off += (size_t)snprintf(buf + off, len - off, ",\"nbf\":%s",
		    val);
	if (key != NULL && val != NULL && strcmp(key, "extra") == 0)
		off += (size_t)snprintf(buf + off, len - off,
		    ",\"extra\":%s", val);
	snprintf(buf + off, len - off, "}");
}

static void
test_claims(void **state)
{
	const int64_t	 now = 1900000000;
	char		 buf[1024], err[128], v[64];

	claims_with(buf, sizeof(buf), NULL, NULL, now);
	assert_int_equal(claims(buf, now, err, sizeof(err)), 0);

	/* Missing required claims. */
	static const char *const req[] = { "iss", "aud", "sub", "sid",
	    "iat", "exp" };
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		claims_with(buf, sizeof(buf), req[i], NULL, now);
		if (claims(buf, now, err, sizeof(err)) != -1)
			fail_msg("accepted claims without %s", req[i]);
	}
	/* Wrong values and types. */
	static const char *const wrong[][2] = {
		{ "iss", "\"ballast2\"" }, { "iss", "\"\"" },
		{ "aud", "\"ballast\"" }, { "aud", "[\"ballast-api\"]" },
		{ "sub", "\"not-a-uuid\"" }, { "sub", "42" },
		{ "sid", "null" }, { "exp", "\"1900000900\"" },
		{ "iat", "1.5" }, { "jti", "7" }, { "extra", "1" },
		{ "nbf", "\"x\"" },
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		claims_with(buf, sizeof(buf), wrong[i][0], wrong[i][1], now);
		if (claims(buf, now, err, sizeof(err)) != -1)
			fail_msg("accepted %s = %s", wrong[i][0], wrong[i][1]);
	}
	/* exp: in the future, with 30 s of skew forgiven. */
	snprintf(v, sizeof(v), "%lld", (long long)now - 29);
	claims_with(buf, sizeof(buf), "exp", v, now);
	assert_int_equal(claims(buf, now, err, sizeof(err)), 0);
	snprintf(v, sizeof(v), "%lld", (long long)now - 30);
	claims_with(buf, sizeof(buf), "exp", v, now);
	assert_int_equal(claims(buf, now, err, sizeof(err)), -1);
	assert_string_equal(err, "expired");
	/* iat and nbf: not in the future beyond the skew. */
	snprintf(v, sizeof(v), "%lld", (long long)now + 30);
	claims_with(buf, sizeof(buf), "iat", v, now);
	assert_int_equal(claims(buf, now, err, sizeof(err)), 0);
	snprintf(v, sizeof(v), "%lld", (long long)now + 31);
	claims_with(buf, sizeof(buf), "iat", v, now);
	assert_int_equal(claims(buf, now, err, sizeof(err)), -1);
	claims_with(buf, sizeof(buf), "nbf", v, now);
	assert_int_equal(claims(buf, now, err, sizeof(err)), -1);
	snprintf(v, sizeof(v), "%lld", (long long)now);
	claims_with(buf, sizeof(buf), "nbf", v, now);
	assert_int_equal(claims(buf, now, err, sizeof(err)), 0);
	/* Not JSON, not an object, duplicates. */
	assert_int_equal(claims("", now, err, sizeof(err)), -1);
	assert_int_equal(claims("[]", now, err, sizeof(err)), -1);
	claims_with(buf, sizeof(buf), NULL, NULL, now);
	buf[strlen(buf) - 1] = '\0';
	strlcat(buf, ",\"iss\":\"ballast\"}", sizeof(buf));
	assert_int_equal(claims(buf, now, err, sizeof(err)), -1);
}

static void
test_rfc3339(void **state)
{
	time_t	 t;

	assert_int_equal(rfc3339_parse("2030-01-31T12:00:00Z", &t), 0);
	assert_int_equal((long long)t, 1896091200LL);
	assert_int_equal(rfc3339_parse("2030-01-31T12:00:00.250Z", &t), 0);
	assert_int_equal(rfc3339_parse("2030-02-31T12:00:00Z", &t), -1);
	assert_int_equal(rfc3339_parse("2030-01-31 12:00:00Z", &t), -1);
	assert_int_equal(rfc3339_parse("2030-01-31T12:00:00", &t), -1);
	assert_int_equal(rfc3339_parse("2030-01-31T12:00:00+01:00", &t), -1);
	assert_int_equal(rfc3339_parse("2030-01-31T24:00:00Z", &t), -1);
	assert_int_equal(rfc3339_parse("2030-01-31T12:00:00.Z", &t), -1);
	assert_int_equal(rfc3339_parse("tomorrow", &t), -1);
}

static void
test_email(void **state)
{
	char	 out[EMAIL_MAX + 1], longer[300];

	assert_int_equal(email_normalize("Alice@Example.ORG", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "alice@example.org");
	assert_int_equal(email_normalize("a@b", out, sizeof(out)), 0);
	assert_int_equal(email_normalize("ab", out, sizeof(out)), -1);
	assert_int_equal(email_normalize("@b.c", out, sizeof(out)), -1);
	assert_int_equal(email_normalize("a@", out, sizeof(out)), -1);
	assert_int_equal(email_normalize("a@b@c", out, sizeof(out)), -1);
	assert_int_equal(email_normalize("a b@c", out, sizeof(out)), -1);
	assert_int_equal(email_normalize("a\n@c", out, sizeof(out)), -1);
	memset(longer, 'a', sizeof(longer));
	longer[100] = '@';
	longer[255] = '\0';
	assert_int_equal(email_normalize(longer, out, sizeof(out)), -1);
	longer[254] = '\0';
	assert_int_equal(email_normalize(longer, out, sizeof(out)), 0);
}

static void
test_text_len(void **state)
{
	assert_true(text_len_ok("x", 1, 1));
	assert_false(text_len_ok("", 1, 200));
	/* Characters, not bytes: two of them in four bytes. */
	assert_true(text_len_ok("\xc3\xa9\xc3\xa9", 1, 2));
	assert_false(text_len_ok("abc", 1, 2));
	assert_false(text_len_ok(NULL, 0, 2));
}

static void
test_hex_sha256(void **state)
{
	uint8_t	 h[SHA256_LEN], back[SHA256_LEN];
	char	 hex[2 * SHA256_LEN + 1];

	assert_int_equal(sha256("abc", 3, h), 0);
	hex_encode(h, sizeof(h), hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(hex_decode(hex, back, sizeof(back)), 0);
	assert_memory_equal(h, back, sizeof(h));
	assert_int_equal(hex_decode("0g", back, 1), -1);
	assert_int_equal(hex_decode("000", back, 1), -1);
}

static void
test_ratelimit(void **state)
{
	ratelimit_setup(3, 60);
	assert_int_equal(ratelimit_check("a:x@y", 1000), 0);
	ratelimit_fail("a:x@y", 1000);
	ratelimit_fail("a:x@y", 1001);
	assert_int_equal(ratelimit_check("a:x@y", 1002), 0);
	ratelimit_fail("a:x@y", 1002);
	/* Three failures in the window: wait for the rest of it. */
	assert_int_equal(ratelimit_check("a:x@y", 1010), 50);
	assert_int_equal(ratelimit_check("a:other@y", 1010), 0);
	/* The window ends. */
	assert_int_equal(ratelimit_check("a:x@y", 1060), 0);
	ratelimit_fail("a:x@y", 1060);
	assert_int_equal(ratelimit_check("a:x@y", 1061), 0);
	/* A success clears the account. */
	ratelimit_fail("a:x@y", 1061);
	ratelimit_fail("a:x@y", 1061);
	assert_true(ratelimit_check("a:x@y", 1062) > 0);
	ratelimit_clear("a:x@y");
	assert_int_equal(ratelimit_check("a:x@y", 1062), 0);
}

/*
 * Keys are found through a salted hash, in a small neighbourhood: a
 * flood of other keys neither makes a refused key pass while the table
 * has room, nor (when it overflows) refuses a key that never failed.
 */
static void
test_ratelimit_crowd(void **state)
{
	char	 key[64];

	ratelimit_setup(3, 60);
	for (int i = 0; i < 3; i++)
		ratelimit_fail("a:victim@y", 2000);
	assert_int_equal(ratelimit_check("a:victim@y", 2001), 59);
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "a:crowd%d@y", i);
		ratelimit_fail(key, 2001);
	}
	assert_int_equal(ratelimit_check("a:victim@y", 2002), 58);
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "a:flood%d@y", i);
		ratelimit_fail(key, 2002);
		ratelimit_fail(key, 2002);
		ratelimit_fail(key, 2002);
	}
	assert_int_equal(ratelimit_check("a:never@y", 2003), 0);
	/* The newest of the flood is remembered and refused. */
	assert_true(ratelimit_check("a:flood19999@y", 2003) > 0);
}

static void
test_search_rate(void **state)
{
	ratelimit_search_setup(3, 10);
	/* Three searches pass; the fourth waits for the window's rest. */
	assert_int_equal(ratelimit_search("k:one", 500), 0);
	assert_int_equal(ratelimit_search("k:one", 501), 0);
	assert_int_equal(ratelimit_search("k:one", 502), 0);
	assert_int_equal(ratelimit_search("k:one", 504), 6);
	/* A refusal is not counted: the wait does not grow. */
	assert_int_equal(ratelimit_search("k:one", 505), 5);
	/* Another principal, and the login table, are untouched. */
	assert_int_equal(ratelimit_search("u:two", 505), 0);
	assert_int_equal(ratelimit_check("k:one", 505), 0);
	/* A new window. */
	assert_int_equal(ratelimit_search("k:one", 510), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_apikey_parse),
		cmocka_unit_test(test_refresh_parse),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_text_len),
		cmocka_unit_test(test_hex_sha256),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_ratelimit_crowd),
		cmocka_unit_test(test_search_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

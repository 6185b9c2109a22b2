/* Grants: authd signs, indexd verifies; nothing else opens or widens one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/grant.h"

static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static char *
make(struct grant *g, uint8_t mac[32])
{
	static char	 cols[2][GRANT_IDLEN] = {
		"11111111-1111-1111-1111-111111111111",
		"22222222-2222-2222-2222-222222222222",
	};
	char		*json;

	memset(g, 0, sizeof(*g));
	strlcpy(g->rid, "00112233aabbccdd", sizeof(g->rid));
	strlcpy(g->action, "read", sizeof(g->action));
	strlcpy(g->user, "33333333-3333-3333-3333-333333333333",
	    sizeof(g->user));
	strlcpy(g->owner, g->user, sizeof(g->owner));
	g->collections = cols;
	g->ncollections = 2;
	assert_int_equal(grant_sign(key, g, &json, mac), 0);
	return json;
}

static void
test_round_trip(void **state)
{
	struct grant	 g, out;
	uint8_t		 mac[32];
	char		*json = make(&g, mac), err[128];

	assert_int_equal(grant_verify(key, json, mac, 32, "00112233aabbccdd",
	    &out, err, sizeof(err)), 0);
	assert_string_equal(out.user, g.user);
	assert_string_equal(out.owner, g.owner);
	assert_string_equal(out.action, "read");
	assert_int_equal(out.ncollections, 2);
	assert_true(grant_has_collection(&out,
	    "22222222-2222-2222-2222-222222222222"));
	assert_false(grant_has_collection(&out,
	    "44444444-4444-4444-4444-444444444444"));
	grant_free(&out);
	free(json);
}

/* Sign an arbitrary grant text the way authd does. */
static void
sign_text(const char *json, uint8_t mac[32])
{
	unsigned int	 len = 0;

	assert_non_null(HMAC(EVP_sha256(), key, 32,
	    (const unsigned char *)json, strlen(json), mac, &len));
	assert_int_equal(len, 32);
}

static void
test_refused(void **state)
{
	struct grant	 g, out;
	uint8_t		 mac[32], other[32] = { 9 };
	char		*json = make(&g, mac), err[128], *wide;
	size_t		 n;

	/* another request's id */
	assert_int_equal(grant_verify(key, json, mac, 32, "ffffffffffffffff",
	    &out, err, sizeof(err)), -1);
	/* another key */
	assert_int_equal(grant_verify(other, json, mac, 32,
	    "00112233aabbccdd", &out, err, sizeof(err)), -1);
	/* a short MAC */
	assert_int_equal(grant_verify(key, json, mac, 31, "00112233aabbccdd",
	    &out, err, sizeof(err)), -1);
	/* widened by the carrier: one more collection, the same MAC */
	n = strlen(json) + 64;
	wide = malloc(n);
	assert_non_null(wide);
	snprintf(wide, n, "%.*s\"44444444-4444-4444-4444-444444444444\",%s",
	    (int)(strstr(json, "[\"") + 1 - json), json,
	    strstr(json, "[\"") + 1);
	assert_int_equal(grant_verify(key, wide, mac, 32, "00112233aabbccdd",
	    &out, err, sizeof(err)), -1);
	assert_string_equal(err, "grant: bad signature");
	free(wide);
	free(json);
}

static void
test_expired_and_malformed(void **state)
{
	struct grant	 out;
	uint8_t		 mac[32];
	char		 buf[1024], err[128];
	const char	*fmt = "{\"v\":1,\"rid\":\"r\",\"exp\":%lld,\"action\":"
	    "\"read\",\"user\":\"u\",\"org\":\"\",\"key\":\"\",\"owner\":\"\","
	    "\"collections\":[]}";

	snprintf(buf, sizeof(buf), fmt, (long long)grant_now_ms() + 5000);
	sign_text(buf, mac);
	assert_int_equal(grant_verify(key, buf, mac, 32, "r", &out, err,
	    sizeof(err)), 0);
	grant_free(&out);

	snprintf(buf, sizeof(buf), fmt, (long long)grant_now_ms() - 1);
	sign_text(buf, mac);
	assert_int_equal(grant_verify(key, buf, mac, 32, "r", &out, err,
	    sizeof(err)), -1);

	/* Signed but not a grant: extra member, wrong type, duplicate key. */
	strlcpy(buf, "{\"v\":1,\"x\":1}", sizeof(buf));
	sign_text(buf, mac);
	assert_int_equal(grant_verify(key, buf, mac, 32, "r", &out, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "grant: malformed");
	strlcpy(buf, "{\"v\":1,\"v\":1}", sizeof(buf));
	sign_text(buf, mac);
	assert_int_equal(grant_verify(key, buf, mac, 32, "r", &out, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_expired_and_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

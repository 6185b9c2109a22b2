/*
 * front_source.c's pure parts: the client body split into the credential
 * and the rest, the body indexd gets, the grant's org and owner, and the
 * source ids the front makes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ballastd/front.h"
#include "common/grant.h"

static int
split(const char *body, int cred_only, json_t **rest, char **cred,
    size_t *credlen, char *err, size_t errlen)
{
	return front_source_split((const uint8_t *)body, strlen(body),
	    cred_only, rest, cred, credlen, err, errlen);
}

static void
split_refused(const char *body, int cred_only, const char *want)
{
	json_t	*rest = (json_t *)1;
	char	*cred = (char *)1, err[128] = "";
	size_t	 credlen = 7;

	assert_int_equal(split(body, cred_only, &rest, &cred, &credlen, err,
	    sizeof(err)), -1);
	assert_null(rest);
	assert_null(cred);
	assert_int_equal(credlen, 0);
	if (strstr(err, want) == NULL)
		print_error("%s: %s\n", body, err);
	assert_non_null(strstr(err, want));
	/* The message never quotes the body. */
	assert_null(strstr(err, "s3cret"));
}

static void
test_split_string_credential(void **state)
{
	json_t	*rest;
	char	*cred, err[128];
	size_t	 credlen;

	(void)state;
	assert_int_equal(split("{\"type\":\"imap\",\"name\":\"Mail\","
	    "\"config\":{\"host\":\"mx\"},\"credentials\":\"s3cret\","
	    "\"personal\":true}", 0, &rest, &cred, &credlen, err,
	    sizeof(err)), 0);
	/* The compact JSON text, quotes included. */
	assert_string_equal(cred, "\"s3cret\"");
	assert_int_equal(credlen, 8);
	assert_null(json_object_get(rest, "credentials"));
	assert_int_equal(json_object_size(rest), 4);
	assert_string_equal(json_string_value(json_object_get(rest, "type")),
	    "imap");
	assert_true(json_is_true(json_object_get(rest, "personal")));
	freezero(cred, credlen);
	json_decref(rest);
}

static void
test_split_object_credential(void **state)
{
	json_t	*rest;
	char	*cred, err[128];
	size_t	 credlen;

	(void)state;
	assert_int_equal(split("{ \"credentials\" : { \"user\" : \"a\", "
	    "\"password\" : \"p\\u00e9\" } }", 1, &rest, &cred, &credlen,
	    err, sizeof(err)), 0);
	assert_string_equal(cred, "{\"user\":\"a\",\"password\":\"p\xc3\xa9\"}");
	assert_int_equal(json_object_size(rest), 0);
	freezero(cred, credlen);
	json_decref(rest);
}

static void
test_split_without_credential(void **state)
{
	json_t	*rest;
	char	*cred, err[128];
	size_t	 credlen;

	(void)state;
	assert_int_equal(split("{\"type\":\"files\",\"name\":\"F\"}", 0, &rest,
	    &cred, &credlen, err, sizeof(err)), 0);
	assert_null(cred);
	assert_int_equal(credlen, 0);
	assert_int_equal(json_object_size(rest), 2);
	json_decref(rest);
}

static void
test_split_refuses(void **state)
{
	char	 big[FRONT_SOURCE_MAX_CRED + 64];
	size_t	 n;

	(void)state;
	split_refused("{\"name\":", 0, "not valid JSON");
	split_refused("[\"s3cret\"]", 0, "JSON object");
	split_refused("\"s3cret\"", 0, "JSON object");
	split_refused("{\"id\":\"x\",\"credentials\":\"s3cret\"}", 0,
	    "cannot be set");
	split_refused("{\"sealed_credentials\":\"AAAA\"}", 0,
	    "cannot be set");
	split_refused("{\"credentials\":\"a\",\"credentials\":\"s3cret\"}", 0,
	    "not valid JSON");
	split_refused("{\"credentials\":5}", 0, "string or an object");
	split_refused("{\"credentials\":null}", 0, "string or an object");
	split_refused("{\"credentials\":[\"s3cret\"]}", 0,
	    "string or an object");
	/* PUT .../credentials: exactly one member. */
	split_refused("{}", 1, "{\"credentials\": ...}");
	split_refused("{\"credentials\":\"s3cret\",\"name\":\"x\"}", 1,
	    "{\"credentials\": ...}");
	split_refused("{\"credentials\":\"s\\u0000cret\"}", 0,
	    "not valid JSON");
	/* 16 KiB of compact text at most, quotes included. */
	n = (size_t)snprintf(big, sizeof(big), "{\"credentials\":\"");
	memset(big + n, 'a', FRONT_SOURCE_MAX_CRED - 1);
	strlcpy(big + n + FRONT_SOURCE_MAX_CRED - 1, "\"}", sizeof(big) - n -
	    FRONT_SOURCE_MAX_CRED + 1);
	split_refused(big, 0, "too large");
}

static void
test_split_limit_exact(void **state)
{
	char	 big[FRONT_SOURCE_MAX_CRED + 64];
	json_t	*rest;
	char	*cred, err[128];
	size_t	 n, credlen;

	(void)state;
	n = (size_t)snprintf(big, sizeof(big), "{\"credentials\":\"");
	memset(big + n, 'a', FRONT_SOURCE_MAX_CRED - 2);
	strlcpy(big + n + FRONT_SOURCE_MAX_CRED - 2, "\"}", sizeof(big) - n -
	    FRONT_SOURCE_MAX_CRED + 2);
	assert_int_equal(split(big, 1, &rest, &cred, &credlen, err,
	    sizeof(err)), 0);
	assert_int_equal(credlen, FRONT_SOURCE_MAX_CRED);
	freezero(cred, credlen);
	json_decref(rest);
}

static void
test_forward(void **state)
{
	json_t	*rest, *o;
	char	*cred, *text, err[128];
	size_t	 credlen, len;

	(void)state;
	assert_int_equal(split("{\"type\":\"http\",\"name\":\"W\",\"credentials\":"
	    "{\"token\":\"s3cret\"},\"schedule_seconds\":60}", 0, &rest, &cred,
	    &credlen, err, sizeof(err)), 0);
	freezero(cred, credlen);
	text = front_source_forward(rest, "0f8fad5b-d9cb-469f-a165-70867728950e",
	    "AQID", &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_null(strstr(text, "s3cret"));
	o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 5);
	assert_string_equal(json_string_value(json_object_get(o, "id")),
	    "0f8fad5b-d9cb-469f-a165-70867728950e");
	assert_string_equal(json_string_value(json_object_get(o,
	    "sealed_credentials")), "AQID");
	assert_int_equal(json_integer_value(json_object_get(o,
	    "schedule_seconds")), 60);
	assert_null(json_object_get(o, "credentials"));
	json_decref(o);
	free(text);
	/* rest is left as it was; no id and no sealed bytes: neither. */
	assert_int_equal(json_object_size(rest), 3);
	text = front_source_forward(rest, NULL, NULL, &len);
	assert_string_equal(text, "{\"type\":\"http\",\"name\":\"W\","
	    "\"schedule_seconds\":60}");
	free(text);
	json_decref(rest);
	/* PUT .../credentials: the sealed bytes alone. */
	rest = json_object();
	text = front_source_forward(rest, NULL, "AQID", &len);
	assert_string_equal(text, "{\"sealed_credentials\":\"AQID\"}");
	free(text);
	json_decref(rest);
}

static void
test_grant(void **state)
{
	char	 org[GRANT_IDLEN], owner[GRANT_IDLEN];

	(void)state;
	assert_int_equal(front_source_grant("{\"v\":1,\"rid\":\"r\",\"exp\":1,"
	    "\"action\":\"write\",\"user\":\"u\",\"org\":\"o-1\",\"key\":\"\","
	    "\"owner\":\"w-2\",\"collections\":[\"c\"]}", org, owner), 0);
	assert_string_equal(org, "o-1");
	assert_string_equal(owner, "w-2");
	assert_int_equal(front_source_grant("{\"org\":\"\",\"owner\":\"\"}",
	    org, owner), 0);
	assert_string_equal(org, "");
	assert_string_equal(owner, "");
	assert_int_equal(front_source_grant("{\"org\":\"o\"}", org, owner), -1);
	assert_int_equal(front_source_grant("{\"org\":1,\"owner\":\"\"}", org,
	    owner), -1);
	assert_int_equal(front_source_grant("not json", org, owner), -1);
	assert_int_equal(front_source_grant("{\"org\":\"0123456789012345678901"
	    "234567890123456789\",\"owner\":\"\"}", org, owner), -1);
}

static void
test_uuid(void **state)
{
	char	 a[FRONT_UUID_LEN + 1], b[FRONT_UUID_LEN + 1];

	(void)state;
	front_source_uuid(a);
	front_source_uuid(b);
	assert_int_equal(strlen(a), FRONT_UUID_LEN);
	assert_true(front_source_uuid_valid(a));
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4');		/* version 4 */
	assert_non_null(strchr("89ab", a[19]));	/* variant 10 */
	assert_true(front_source_uuid_valid(
	    "0f8fad5b-d9cb-469f-a165-70867728950e"));
	assert_false(front_source_uuid_valid(
	    "0F8FAD5B-D9CB-469F-A165-70867728950E"));
	assert_false(front_source_uuid_valid(
	    "0f8fad5b-d9cb-469f-a165-70867728950"));
	assert_false(front_source_uuid_valid(
	    "0f8fad5b-d9cb-469f-a165-70867728950e0"));
	assert_false(front_source_uuid_valid(
	    "0f8fad5bxd9cb-469f-a165-70867728950e"));
	assert_false(front_source_uuid_valid(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_string_credential),
		cmocka_unit_test(test_split_object_credential),
		cmocka_unit_test(test_split_without_credential),
		cmocka_unit_test(test_split_refuses),
		cmocka_unit_test(test_split_limit_exact),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_grant),
		cmocka_unit_test(test_uuid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

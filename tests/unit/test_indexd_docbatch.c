/* The push batch parser: every error class, defaults, content hash. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/docbatch.h"

/* Parse s; expect failure with an error starting with want. */
static void
refuse(const char *s, const char *want)
{
	struct docbatch	 b;
	char		 err[256];

	err[0] = '\0';
	if (docbatch_parse(s, strlen(s), &b, err, sizeof(err)) != -1)
		fail_msg("accepted: %s", s);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("for %s\n  got \"%s\"\n  want \"%s...\"", s, err, want);
	assert_null(b.docs);
	assert_int_equal(b.n, 0);
}

static void
test_good(void **state)
{
	const char	*s = "{\"documents\":[{\"external_id\":\"a1\","
	    "\"title\":\"T\",\"text\":\"body text\",\"url\":\"https://x/y\","
	    "\"source\":\"crm.v2\",\"metadata\":{\"z\":1,\"a\":[true]},"
	    "\"updated_at\":\"2024-02-29T23:59:60.5+01:00\"},"
	    "{\"external_id\":\"b\",\"text\":\"\"}]}";
	struct docbatch	 b;
	char		 err[256];

	assert_int_equal(docbatch_parse(s, strlen(s), &b, err, sizeof(err)),
	    0);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.docs[0].external_id, "a1");
	assert_string_equal(b.docs[0].title, "T");
	assert_string_equal(b.docs[0].text, "body text");
	assert_int_equal(b.docs[0].text_len, 9);
	assert_string_equal(b.docs[0].source, "crm.v2");
	assert_string_equal(b.docs[0].metadata, "{\"a\":[true],\"z\":1}");
	assert_string_equal(b.docs[0].updated_at,
	    "2024-02-29T23:59:60.5+01:00");
	/* Defaults. */
	assert_string_equal(b.docs[1].title, "");
	assert_string_equal(b.docs[1].url, "");
	assert_string_equal(b.docs[1].source, "");
	assert_string_equal(b.docs[1].metadata, "{}");
	assert_null(b.docs[1].updated_at);
	docbatch_free(&b);
}

static void
test_body_errors(void **state)
{
	refuse("", "body: invalid JSON");
	refuse("{\"documents\":[]", "body: invalid JSON");
	refuse("[1]", "body: not an object");
	refuse("{}", "documents: missing");
	refuse("{\"documents\":[],\"x\":1}", "body: unknown field");
	refuse("{\"documents\":{}}", "documents: not an array");
	refuse("{\"documents\":[]}", "documents: empty");
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\"}],"
	    "\"documents\":[]}", "body: invalid JSON");	/* duplicate key */
}

static void
test_too_many(void **state)
{
	size_t	 cap = 64 + (DOCBATCH_MAX_DOCS + 1) * 40, len;
	char	*s = xcalloc(1, cap);

	len = strlcpy(s, "{\"documents\":[", cap);
	for (int i = 0; i <= DOCBATCH_MAX_DOCS; i++)
		len += snprintf(s + len, cap - len,
		    "%s{\"external_id\":\"%d\",\"text\":\"x\"}", i ? "," : "", i);
	strlcat(s, "]}", cap);
	refuse(s, "documents: too many");
	free(s);
}

static void
test_doc_errors(void **state)
{
	refuse("{\"documents\":[1]}", "documents[0]: not an object");
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\"},"
	    "{\"text\":\"\"}]}", "documents[1].external_id: missing");
	refuse("{\"documents\":[{\"external_id\":\"a\"}]}",
	    "documents[0].text: missing");
	refuse("{\"documents\":[{\"external_id\":\"\",\"text\":\"\"}]}",
	    "documents[0].external_id: empty");
	refuse("{\"documents\":[{\"external_id\":7,\"text\":\"\"}]}",
	    "documents[0].external_id: not a string");
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\","
	    "\"colour\":1}]}", "documents[0]: unknown field \"colour\"");
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"a\\u0000b\"}"
	    "]}", "body: invalid JSON");	/* jansson refuses \u0000 */
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\","
	    "\"metadata\":[]}]}", "documents[0].metadata: not an object");
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\","
	    "\"source\":\"a b\"}]}", "documents[0].source: only letters");
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\","
	    "\"source\":\"\"}]}", "documents[0].source: empty");
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\","
	    "\"title\":null}]}", "documents[0].title: not a string");
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\\xff\"}]}",
	    "body: invalid JSON");
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\xff\"}]}",
	    "body: invalid JSON");	/* not UTF-8 */
}

static void
long_field(const char *field, size_t n, const char *want)
{
	char	*s = xcalloc(1, n + 128);
	size_t	 len;

	/* The other required field, then the long one. */
	len = snprintf(s, n + 128, "{\"documents\":[{%s,\"%s\":\"",
	    strcmp(field, "text") == 0 ? "\"external_id\":\"a\"" :
	    strcmp(field, "external_id") == 0 ? "\"text\":\"\"" :
	    "\"external_id\":\"a\",\"text\":\"\"", field);
	memset(s + len, 'x', n);
	strlcat(s + len + n, "\"}]}", 128);
	refuse(s, want);
	free(s);
}

static void
test_lengths(void **state)
{
	long_field("title", DOC_MAX_TITLE + 1, "documents[0].title: too long");
	long_field("url", DOC_MAX_URL + 1, "documents[0].url: too long");
	long_field("source", DOC_MAX_SOURCE + 1,
	    "documents[0].source: too long");
	long_field("text", DOC_MAX_TEXT + 1, "documents[0].text: too long");
	long_field("external_id", DOC_MAX_EXTERNAL_ID + 1,
	    "documents[0].external_id: too long");
}

static void
test_metadata_too_long(void **state)
{
	size_t	 n = DOC_MAX_METADATA + 10;
	char	*s = xcalloc(1, n + 200);
	size_t	 len;

	len = snprintf(s, n + 200, "{\"documents\":[{\"external_id\":\"a\","
	    "\"text\":\"\",\"metadata\":{\"k\":\"");
	memset(s + len, 'x', n);
	strlcat(s + len + n, "\"}}]}", 200);
	refuse(s, "documents[0].metadata: too long");
	free(s);
}

static void
test_too_large(void **state)
{
	struct docbatch	 b;
	char		 err[128];

	/* Refused on length alone, before reading the bytes. */
	assert_int_equal(docbatch_parse("{}", DOCBATCH_MAX_BYTES + 1, &b,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "body: too large (at most 33554432 bytes)");
}

static void
test_dates(void **state)
{
	const char *good[] = { "2024-01-01T00:00:00Z", "1999-12-31t23:59:59z",
	    "2024-06-30 12:00:00.123456-07:30", "2016-12-31T23:59:60Z" };
	const char *bad[] = { "2024-01-01", "2024-01-01T00:00:00",
	    "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z",
	    "2024-01-01T24:00:00Z", "2024-01-01T00:00:00.Z",
	    "2024-01-01T00:00:00+0100", "2024-01-01T00:00:00Zjunk",
	    "20x4-01-01T00:00:00Z", "" };

	for (size_t i = 0; i < nitems(good); i++)
		assert_true(rfc3339_valid(good[i]));
	for (size_t i = 0; i < nitems(bad); i++)
		if (rfc3339_valid(bad[i]))
			fail_msg("accepted %s", bad[i]);
	refuse("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\","
	    "\"updated_at\":\"yesterday\"}]}",
	    "documents[0].updated_at: not an RFC 3339");
}

static void
hash_of(const char *s, uint8_t out[32])
{
	struct docbatch	 b;
	char		 err[256];

	assert_int_equal(docbatch_parse(s, strlen(s), &b, err, sizeof(err)),
	    0);
	memcpy(out, b.docs[0].hash, 32);
	docbatch_free(&b);
}

static void
test_hash(void **state)
{
	uint8_t	 a[32], b[32], c[32], d[32], e[32];

	hash_of("{\"documents\":[{\"external_id\":\"a\",\"text\":\"t\","
	    "\"metadata\":{\"x\":1,\"y\":2}}]}", a);
	/* Key order, external id, source and dates do not matter. */
	hash_of("{\"documents\":[{\"metadata\":{\"y\":2,\"x\":1},"
	    "\"text\":\"t\",\"external_id\":\"b\",\"source\":\"s\","
	    "\"updated_at\":\"2024-01-01T00:00:00Z\"}]}", b);
	assert_memory_equal(a, b, 32);
	/* Moving bytes between fields does. */
	hash_of("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\","
	    "\"title\":\"t\",\"metadata\":{\"x\":1,\"y\":2}}]}", c);
	assert_memory_not_equal(a, c, 32);
	hash_of("{\"documents\":[{\"external_id\":\"a\",\"text\":\"t\","
	    "\"metadata\":{\"x\":1,\"y\":3}}]}", d);
	assert_memory_not_equal(a, d, 32);
	/* Known answer: SHA-256 of four empty parts (32 zero bytes). */
	hash_of("{\"documents\":[{\"external_id\":\"a\",\"text\":\"\","
	    "\"metadata\":{}}]}", e);
	{
		struct doc	 z = { .title = "", .url = "", .text = "",
		    .metadata = "{}" };
		uint8_t		 h[32];
		docbatch_hash(&z, h);
		assert_memory_equal(h, e, 32);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_body_errors),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_doc_errors),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_metadata_too_long),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

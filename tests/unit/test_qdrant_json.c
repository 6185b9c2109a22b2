/* indexd/qdrant_json.c: Qdrant request bodies and response parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "indexd/qdrant_json.h"

#define C1	"11111111-1111-4111-8111-111111111111"
#define C2	"22222222-2222-4222-8222-222222222222"
#define OWNER	"33333333-3333-4333-8333-333333333333"
#define DOC	"44444444-4444-4444-8444-444444444444"

static json_t *
parse(char *s)
{
	json_t	*o;

	assert_non_null(s);
	o = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(o);
	return o;
}

static void
test_point_id(void **state)
{
	char	 a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN];
	uint8_t	 raw[16];

	qj_point_id(DOC, 7, a);
	qj_point_id(DOC, 7, b);
	qj_point_id(DOC, 8, c);
	assert_string_equal(a, b);		/* deterministic */
	assert_string_not_equal(a, c);
	assert_int_equal(uuid_parse(a, raw), 0);
	assert_int_equal(raw[6] >> 4, 5);	/* version 5 layout */
	assert_int_equal(raw[8] & 0xc0, 0x80);	/* RFC 4122 variant */
	/* "1" + "23" and "12" + "3" are different points */
	qj_point_id("1", 23, a);
	qj_point_id("12", 3, b);
	assert_string_not_equal(a, b);
}

static void
test_scope_filter(void **state)
{
	struct scope	 sc;
	json_t		*f, *must, *own;

	memset(&sc, 0, sizeof(sc));
	assert_null(qj_scope_filter(&sc));	/* no collection: no query */
	assert_null(qj_scope_filter(NULL));
	assert_null(qj_query_body((float[]){ 1, 0 }, 2, &sc, 5));
	assert_int_equal(scope_add_collection(&sc, C1), 0);
	assert_int_equal(scope_add_collection(&sc, C2), 0);
	f = qj_scope_filter(&sc);
	must = json_object_get(f, "must");
	assert_int_equal(json_array_size(must), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(must, 0), "key")), "collection_id");
	assert_int_equal(json_array_size(json_object_get(json_object_get(
	    json_array_get(must, 0), "match"), "any")), 2);
	/* no owner: only shared points */
	own = json_array_get(must, 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    own, "is_empty"), "key")), "owner_user");
	json_decref(f);
	/* an owner: shared or that owner's */
	assert_int_equal(scope_set_owner(&sc, OWNER), 0);
	f = qj_scope_filter(&sc);
	own = json_array_get(json_object_get(f, "must"), 1);
	assert_int_equal(json_array_size(json_object_get(own, "should")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(own, "should"), 1), "match"),
	    "value")), OWNER);
	json_decref(f);
	scope_free(&sc);
}

static void
test_query_body(void **state)
{
	struct scope	 sc;
	json_t		*o;

	memset(&sc, 0, sizeof(sc));
	assert_int_equal(scope_add_collection(&sc, C1), 0);
	o = parse(qj_query_body((float[]){ 0.5f, -0.25f, 0.125f }, 3, &sc, 7));
	assert_int_equal(json_array_size(json_object_get(o, "query")), 3);
	assert_true(json_real_value(json_array_get(json_object_get(o, "query"),
	    1)) == -0.25);
	assert_int_equal(json_integer_value(json_object_get(o, "limit")), 7);
	assert_non_null(json_object_get(json_object_get(o, "filter"), "must"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(o,
	    "with_payload"), 0)), "chunk_id");
	json_decref(o);
	assert_null(qj_query_body((float[]){ 1 }, 1, &sc, 0));
	scope_free(&sc);
}

static void
test_upsert_body(void **state)
{
	float		 v[4] = { 1, 0, 0, 1 };
	struct qj_point	 p[2] = {
		{ DOC, 10, C1, NULL, "wiki", v },
		{ DOC, 11, C1, OWNER, NULL, v + 2 },
	};
	json_t		*o, *pl;
	char		 id[UUID_STR_LEN];

	o = parse(qj_upsert_body(p, 2, 2));
	assert_int_equal(json_array_size(json_object_get(o, "points")), 2);
	qj_point_id(DOC, 10, id);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(o, "points"), 0), "id")), id);
	pl = json_object_get(json_array_get(json_object_get(o, "points"), 0),
	    "payload");
	assert_int_equal(json_object_size(pl), 5);	/* no text, ever */
	assert_true(json_is_null(json_object_get(pl, "owner_user")));
	assert_string_equal(json_string_value(json_object_get(pl, "source")),
	    "wiki");
	assert_int_equal(json_integer_value(json_object_get(pl, "chunk_id")),
	    10);
	pl = json_object_get(json_array_get(json_object_get(o, "points"), 1),
	    "payload");
	assert_string_equal(json_string_value(json_object_get(pl,
	    "owner_user")), OWNER);
	assert_string_equal(json_string_value(json_object_get(pl, "source")),
	    "");
	json_decref(o);
	assert_null(qj_upsert_body(p, 0, 2));
}

static void
test_other_bodies(void **state)
{
	json_t	*o;
	char	 ids[1][UUID_STR_LEN];

	o = parse(qj_delete_chunks_body((int64_t[]){ 3, 4 }, 2));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(o, "filter"), "must"), 0), "key")),
	    "chunk_id");
	json_decref(o);
	assert_null(qj_delete_chunks_body(NULL, 0));
	qj_point_id(DOC, 1, ids[0]);
	o = parse(qj_delete_points_body(ids, 1));
	assert_string_equal(json_string_value(json_array_get(json_object_get(o,
	    "points"), 0)), ids[0]);
	json_decref(o);
	o = parse(qj_create_body(384));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "vectors"), "size")), 384);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o,
	    "vectors"), "distance")), "Cosine");
	json_decref(o);
	o = parse(qj_index_body("collection_id", "keyword", 1));
	assert_true(json_is_true(json_object_get(json_object_get(o,
	    "field_schema"), "is_tenant")));
	json_decref(o);
	o = parse(qj_index_body("chunk_id", "integer", 0));
	assert_string_equal(json_string_value(json_object_get(o,
	    "field_schema")), "integer");
	json_decref(o);
}

static void
test_envelope(void **state)
{
	char	 err[256];
	json_t	*r;
	const char *ok = "{\"result\":true,\"status\":\"ok\",\"time\":0.1}";
	const char *bad = "{\"status\":{\"error\":\"Not found: Collection "
	    "`x` doesn't exist!\"},\"time\":0.1}";

	assert_int_equal(qj_envelope(ok, strlen(ok), &r, err, sizeof(err)), 0);
	assert_true(json_is_true(json_object_get(r, "result")));
	json_decref(r);
	assert_int_equal(qj_envelope(bad, strlen(bad), NULL, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "doesn't exist"));
	assert_int_equal(qj_envelope("Invalid API key or JWT", 22, NULL, err,
	    sizeof(err)), -1);
	assert_int_equal(qj_envelope("[]", 2, NULL, err, sizeof(err)), -1);
	/* found by fuzzing: an empty message still says something */
	assert_int_equal(qj_envelope("{\"status\":{\"error\":\"\"}}", 23,
	    NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "error without a message");
	assert_int_equal(qj_envelope("{\"status\":\"ok\",\"status\":\"ok\"}",
	    29, NULL, err, sizeof(err)), -1);	/* duplicate keys */
}

static void
test_parse_query(void **state)
{
	struct vhit	 h[2];
	char		 err[256];
	const char	*good = "{\"result\":{\"points\":[{\"id\":\"x\",\"version\""
	    ":1,\"score\":0.9,\"payload\":{\"chunk_id\":12}},{\"id\":2,\"score\""
	    ":0.5,\"payload\":{\"chunk_id\":13}},{\"id\":3,\"score\":0.1,"
	    "\"payload\":{\"chunk_id\":14}}]},\"status\":\"ok\",\"time\":0}";
	const char	*nochunk = "{\"result\":{\"points\":[{\"id\":1,\"score\":"
	    "1,\"payload\":null}]},\"status\":\"ok\"}";
	const char	*neg = "{\"result\":{\"points\":[{\"score\":1,"
	    "\"payload\":{\"chunk_id\":-1}}]},\"status\":\"ok\"}";

	assert_int_equal(qj_parse_query(good, strlen(good), h, 2, err,
	    sizeof(err)), 2);		/* at most k */
	assert_int_equal(h[0].chunk_id, 12);
	assert_true(h[0].score > 0.89f && h[0].score < 0.91f);
	assert_int_equal(h[1].chunk_id, 13);
	assert_int_equal(qj_parse_query(nochunk, strlen(nochunk), h, 2, err,
	    sizeof(err)), -1);
	assert_int_equal(qj_parse_query(neg, strlen(neg), h, 2, err,
	    sizeof(err)), -1);
	assert_int_equal(qj_parse_query("{\"result\":[],\"status\":\"ok\"}", 27,
	    h, 2, err, sizeof(err)), -1);
}

static void
test_vector_size(void **state)
{
	char		 err[256];
	const char	*one = "{\"result\":{\"config\":{\"params\":{\"vectors\":"
	    "{\"size\":384,\"distance\":\"Cosine\"}}}},\"status\":\"ok\"}";
	const char	*named = "{\"result\":{\"config\":{\"params\":{\"vectors\":"
	    "{\"dense\":{\"size\":384}}}}},\"status\":\"ok\"}";
	const char	*none = "{\"result\":{},\"status\":\"ok\"}";

	assert_int_equal(qj_parse_vector_size(one, strlen(one), err,
	    sizeof(err)), 384);
	assert_int_equal(qj_parse_vector_size(named, strlen(named), err,
	    sizeof(err)), 0);
	assert_int_equal(qj_parse_vector_size(none, strlen(none), err,
	    sizeof(err)), -1);
}

static void
test_retry_after(void **state)
{
	assert_int_equal(qj_retry_after(" 3\r\n"), 3);
	assert_int_equal(qj_retry_after("0"), 0);
	assert_int_equal(qj_retry_after("-1"), -1);
	assert_int_equal(qj_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
	assert_int_equal(qj_retry_after("99999999"), -1);
	assert_int_equal(qj_retry_after(""), -1);
	assert_int_equal(qj_retry_after(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_point_id),
		cmocka_unit_test(test_scope_filter),
		cmocka_unit_test(test_query_body),
		cmocka_unit_test(test_upsert_body),
		cmocka_unit_test(test_other_bodies),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_parse_query),
		cmocka_unit_test(test_vector_size),
		cmocka_unit_test(test_retry_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

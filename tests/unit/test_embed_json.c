/* The OpenAI embeddings JSON (indexd/embed_json.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "indexd/embed.h"
#include "indexd/embed_json.h"

static int
parse(const char *body, size_t n, size_t dim, float *out, char *err)
{
	return embed_json_response(body, strlen(body), n, dim, out, err, 256);
}

static void
test_request_shape(void **state)
{
	const char	*texts[2] = { "caf\xc3\xa9 \"au\" lait", "second" };
	size_t		 lens[2] = { strlen(texts[0]), 3 }, len;
	char		*s = embed_json_request("m-1", texts, lens, 2, &len);
	json_t		*o, *in;

	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	o = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 3);
	assert_string_equal(json_string_value(json_object_get(o, "model")),
	    "m-1");
	assert_string_equal(json_string_value(json_object_get(o,
	    "encoding_format")), "float");
	in = json_object_get(o, "input");
	assert_int_equal(json_array_size(in), 2);
	assert_string_equal(json_string_value(json_array_get(in, 0)),
	    texts[0]);
	/* the length counts, not the NUL */
	assert_string_equal(json_string_value(json_array_get(in, 1)), "sec");
	json_decref(o);
	free(s);
}

static void
test_request_refuses_bad_utf8(void **state)
{
	const char	*texts[1] = { "bad \xff byte" };
	size_t		 lens[1] = { strlen(texts[0]) }, len;

	assert_null(embed_json_request("m", texts, lens, 1, &len));
}

static void
test_response_matched_by_index_and_normalised(void **state)
{
	float	 out[6];
	char	 err[256];

	assert_int_equal(parse("{\"object\":\"list\",\"data\":["
	    "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0,3,4]},"
	    "{\"object\":\"embedding\",\"index\":0,\"embedding\":[2,0,0]}],"
	    "\"model\":\"m\",\"usage\":{\"prompt_tokens\":2}}", 2, 3, out,
	    err), 0);
	assert_float_equal(out[0], 1.0, 1e-6);
	assert_float_equal(out[1], 0.0, 1e-6);
	assert_float_equal(out[3], 0.0, 1e-6);
	assert_float_equal(out[4], 0.6, 1e-6);
	assert_float_equal(out[5], 0.8, 1e-6);
}

static void
test_response_wrong_dimension(void **state)
{
	float	 out[4];
	char	 err[256];

	assert_int_equal(parse("{\"data\":[{\"index\":0,\"embedding\":"
	    "[1,2,3]}]}", 1, 4, out, err), -1);
	assert_non_null(strstr(err, "3 dimensions"));
	assert_non_null(strstr(err, "says 4"));
}

static void
test_response_refusals(void **state)
{
	static const struct {
		const char	*body;
		const char	*why;
	} bad[] = {
		{ "[]", "not a JSON object" },
		{ "{\"data\":[]}", "0 embeddings for 2" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]}]}",
		    "1 embeddings for 2" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},{\"index\":0,"
		    "\"embedding\":[1,1]}]}", "twice" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},{\"index\":2,"
		    "\"embedding\":[1,1]}]}", "out of range" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},{\"index\":-1,"
		    "\"embedding\":[1,1]}]}", "out of range" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},{\"index\":\"1\","
		    "\"embedding\":[1,1]}]}", "integer" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},{\"index\":1,"
		    "\"embedding\":[1,\"1\"]}]}", "finite number" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},{\"index\":1,"
		    "\"embedding\":[1,null]}]}", "finite number" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},{\"index\":1,"
		    "\"embedding\":[1e300,1]}]}", "finite number" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},{\"index\":1,"
		    "\"embedding\":[0,0.0]}]}", "zero vector" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},{\"index\":1,"
		    "\"embedding\":\"AAAAAAAAAAA=\"}]}", "no \"embedding\" array" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1,1]},7]}",
		    "not an object" },
		/* duplicate keys and NaN are not JSON we take */
		{ "{\"data\":[],\"data\":[]}", "not a JSON object" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[NaN,1]},{\"index\":1,"
		    "\"embedding\":[1,1]}]}", "not a JSON object" },
	};
	float	 out[4];
	char	 err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(bad[i].body, 2, 2, out, err) != -1 ||
		    strstr(err, bad[i].why) == NULL)
			fail_msg("%s: \"%s\", wanted \"%s\"", bad[i].body, err,
			    bad[i].why);
	}
}

static void
test_response_size_cap(void **state)
{
	size_t	 cap = embed_json_max_response(1, 2), len = cap + 1;
	char	*body = malloc(len + 1), err[256];
	float	 out[2];
	const char *ok = "{\"data\":[{\"index\":0,\"embedding\":[1,1]}]}";

	assert_non_null(body);
	/* valid JSON padded with spaces past the cap */
	memset(body, ' ', len);
	memcpy(body, ok, strlen(ok));
	body[len] = '\0';
	assert_int_equal(embed_json_response(body, len, 1, 2, out, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "too large"));
	assert_int_equal(embed_json_response(body, cap, 1, 2, out, err,
	    sizeof(err)), 0);
	free(body);
	/* no overflow for absurd sizes: the fixed ceiling */
	assert_true(embed_json_max_response(SIZE_MAX / 2, 16384) <=
	    (size_t)256 * 1024 * 1024);
	assert_true(embed_json_max_response(64, 768) >= 64 * 768 * 20);
}

static void
test_error_message(void **state)
{
	char	 msg[32];
	const char *b1 = "{\"error\":{\"message\":\"Incorrect API key\","
	    "\"type\":\"invalid_request_error\"}}";
	const char *b2 = "{\"error\":\"model \\\"x\\\" not found\\n\"}";

	embed_json_error(b1, strlen(b1), msg, sizeof(msg));
	assert_string_equal(msg, "Incorrect API key");
	embed_json_error(b2, strlen(b2), msg, sizeof(msg));
	assert_string_equal(msg, "model \"x\" not found?");
	embed_json_error("oops", 4, msg, sizeof(msg));
	assert_string_equal(msg, "");
	b1 = "{\"error\":{\"message\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaa\"}}";
	embed_json_error(b1, strlen(b1), msg, sizeof(msg));
	assert_int_equal(strlen(msg), sizeof(msg) - 1);
}

static void
test_embedder_id(void **state)
{
	char	 id[EMBED_ID_MAX], id2[EMBED_ID_MAX];

	embed_openai_id("nomic-embed-text", 768, id);
	assert_string_equal(id, "openai:nomic-embed-text:768");
	embed_openai_id("text-embedding-3-small", 1536, id);
	assert_true(strlen(id) < EMBED_ID_MAX);
	assert_true(strncmp(id, "openai:#", 8) == 0);
	assert_non_null(strstr(id, ":1536"));
	embed_openai_id("text-embedding-3-large", 1536, id2);
	assert_string_not_equal(id, id2);
	embed_openai_id("text-embedding-3-small", 512, id2);
	assert_string_not_equal(id, id2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_request_refuses_bad_utf8),
		cmocka_unit_test(test_response_matched_by_index_and_normalised),
		cmocka_unit_test(test_response_wrong_dimension),
		cmocka_unit_test(test_response_refusals),
		cmocka_unit_test(test_response_size_cap),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_embedder_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fetcher/gjson.c: Google API response parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fetcher/gjson.h"

#define S(x)	x, strlen(x)

static void
test_token(void **st)
{
	struct gtoken	 t;

	assert_int_equal(gjson_token(S("{\"access_token\":\"a\",\"expires_in\""
	    ":10,\"refresh_token\":\"r\"}"), &t), 0);
	assert_string_equal(t.access_token, "a");
	assert_string_equal(t.refresh_token, "r");
	assert_int_equal(t.expires_in, 10);
	gjson_token_free(&t);
	assert_int_equal(gjson_token(S("{\"access_token\":\"a\"}"), &t), 0);
	assert_null(t.refresh_token);
	assert_int_equal(t.expires_in, 3600);
	gjson_token_free(&t);
	assert_int_equal(gjson_token(S("{\"expires_in\":10}"), &t), -1);
	assert_int_equal(gjson_token(S("{\"access_token\":\"a\",\"expires_in\""
	    ":-1}"), &t), -1);
	assert_int_equal(gjson_token(S("{\"access_token\":\"a\\u0001\"}"), &t),
	    -1);
}

static void
test_error(void **st)
{
	char	 c[64];

	gjson_error(S("{\"error\":\"invalid_grant\",\"error_description\":"
	    "\"x\"}"), c, sizeof(c));
	assert_string_equal(c, "invalid_grant");
	gjson_error(S("{\"error\":{\"code\":401,\"message\":\"m\",\"status\":"
	    "\"UNAUTHENTICATED\"}}"), c, sizeof(c));
	assert_string_equal(c, "UNAUTHENTICATED");
	gjson_error(S("{\"error\":\"has space\"}"), c, sizeof(c));
	assert_string_equal(c, "");
	gjson_error(S("not json"), c, sizeof(c));
	assert_string_equal(c, "");
}

static void
test_b64url(void **st)
{
	uint8_t	*b;
	size_t	 n;

	b = gjson_b64url(S("SGVsbG8_-w"), &n);
	assert_non_null(b);
	assert_int_equal(n, 7);
	assert_memory_equal(b, "Hello?\xfb", 7);
	free(b);
	assert_null(gjson_b64url(S("a*bc"), &n));
	assert_null(gjson_b64url(S("abcde"), &n));
}

static void
test_history_and_changes(void **st)
{
	struct ghistory	 h;
	struct gchanges	 c;
	json_t		*o;

	o = gjson_load(S("{\"historyId\":\"9\",\"history\":[{\"messagesAdded\":"
	    "[{\"message\":{\"id\":\"a\"}}],\"messagesDeleted\":[{\"message\":"
	    "{\"id\":\"b\"}}]}],\"nextPageToken\":\"p\"}"));
	assert_int_equal(gjson_history(o, &h), 0);
	assert_string_equal(h.history_id, "9");
	assert_int_equal(h.changed.nids, 1);
	assert_string_equal(h.changed.ids[0], "a");
	assert_string_equal(h.deleted.ids[0], "b");
	assert_string_equal(h.changed.next, "p");
	gjson_history_free(&h);
	json_decref(o);
	o = gjson_load(S("{\"changes\":[{\"fileId\":\"f\",\"removed\":true},"
	    "{\"fileId\":\"g\",\"file\":{\"trashed\":false}}],"
	    "\"newStartPageToken\":\"7\"}"));
	assert_int_equal(gjson_changes(o, &c), 0);
	assert_string_equal(c.removed.ids[0], "f");
	assert_string_equal(c.changed.ids[0], "g");
	assert_string_equal(c.new_start, "7");
	gjson_changes_free(&c);
	json_decref(o);
	/* neither nextPageToken nor newStartPageToken: malformed */
	o = gjson_load(S("{\"changes\":[]}"));
	assert_int_equal(gjson_changes(o, &c), -1);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_history_and_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The HTTP request-head parser: valid heads, every error class with its
 * status, incremental safety, size limits, header lookup, keep-alive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ballastd/front.h"
#include "ballastd/http.h"

#define BIG	65536

static struct http_request	req;

static enum http_parse_result
parse(const char *s)
{
	return http_parse_head(s, strlen(s), BIG, &req);
}

static void
assert_slice(const struct http_slice *s, const char *want)
{
	assert_non_null(s);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->p, want, s->len);
}

static void
expect_status(const char *head, enum http_parse_result r, int status)
{
	enum http_parse_result	 got = parse(head);

	if (got != r)
		fail_msg("head %s: got result %d, want %d", head, got, r);
	assert_int_equal(http_parse_status(got), status);
}

static void
test_get(void **state)
{
	const char	*h = "GET /v1/search?q=x&n=2 HTTP/1.1\r\n"
			    "Host: example.org\r\n"
			    "User-Agent:  test/1.0 \t\r\n"
			    "Accept: */*\r\n\r\nTRAILING";

	assert_int_equal(parse(h), HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_GET);
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.head_len, strlen(h) - strlen("TRAILING"));
	assert_slice(&req.target, "/v1/search?q=x&n=2");
	assert_slice(&req.path, "/v1/search");
	assert_slice(&req.query, "q=x&n=2");
	assert_int_equal(req.has_query, 1);
	assert_int_equal(req.nheaders, 3);
	assert_slice(http_header_get(&req, "user-agent"), "test/1.0");
	assert_int_equal(req.has_length, 0);
	assert_int_equal(req.content_length, 0);
	assert_int_equal(req.keepalive, 1);
	assert_string_equal(http_method_name(req.method), "GET");
}

static void
test_post(void **state)
{
	const char	*h = "POST /v1/documents HTTP/1.1\r\n"
			    "Host: x\r\nContent-Length: 1234\r\n"
			    "Content-Type: application/json\r\n"
			    "Expect: 100-continue\r\n\r\n";

	assert_int_equal(parse(h), HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_POST);
	assert_int_equal(req.has_length, 1);
	assert_int_equal(req.content_length, 1234);
	assert_int_equal(req.expect_continue, 1);
	assert_int_equal(req.head_len, strlen(h));
}

static void
test_query_split(void **state)
{
	assert_int_equal(parse("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"),
	    HTTP_PARSE_OK);
	assert_slice(&req.path, "/a");
	assert_int_equal(req.has_query, 0);
	assert_int_equal(req.query.len, 0);

	assert_int_equal(parse("GET /a? HTTP/1.1\r\nHost: x\r\n\r\n"),
	    HTTP_PARSE_OK);
	assert_slice(&req.path, "/a");
	assert_int_equal(req.has_query, 1);
	assert_int_equal(req.query.len, 0);

	assert_int_equal(parse("GET /?a=1?b HTTP/1.1\r\nHost: x\r\n\r\n"),
	    HTTP_PARSE_OK);
	assert_slice(&req.path, "/");
	assert_slice(&req.query, "a=1?b");
}

static void
test_header_lookup(void **state)
{
	assert_int_equal(parse("GET / HTTP/1.1\r\nHOST: h\r\n"
	    "X-Thing: one\r\nx-thing: two\r\nEmpty:\r\n\r\n"), HTTP_PARSE_OK);
	assert_slice(http_header_get(&req, "host"), "h");
	assert_slice(http_header_get(&req, "Host"), "h");
	assert_slice(http_header_get(&req, "X-THING"), "one");
	assert_slice(http_header_get(&req, "empty"), "");
	assert_null(http_header_get(&req, "x-thin"));
	assert_null(http_header_get(&req, "x-things"));
	assert_null(http_header_get(&req, "missing"));
}

static void
test_keepalive(void **state)
{
	static const struct {
		const char	*head;
		int		 keep;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n", 1 },
		{ "GET / HTTP/1.0\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1 },
		{ "GET / HTTP/1.0\r\nConnection: x , keep-alive \r\n\r\n", 1 },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
		    "Connection: close\r\n\r\n", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].head), HTTP_PARSE_OK);
		if (req.keepalive != cases[i].keep)
			fail_msg("case %zu: keepalive %d", i, req.keepalive);
	}
}

static void
test_http10_no_host(void **state)
{
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n"), HTTP_PARSE_OK);
	assert_int_equal(req.minor, 0);
}

static void
test_errors_400(void **state)
{
	static const char *const bad[] = {
		"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",		/* double SP */
		"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",		/* trailing SP */
		"GET /\r\nHost: x\r\n\r\n",			/* HTTP/0.9 */
		"GET\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",	/* leading CRLF */
		"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",	/* absolute */
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",	/* asterisk */
		"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",	/* raw UTF-8 */
		"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",		/* not a token */
		"GET / http/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\n",			/* bare LF */
		"GET / HTTP/1.1\r\nHost: x\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",	/* bare CR */
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",		/* SP before : */
		"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",	/* obs-fold */
		"GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n",
		"GET / HTTP/1.1\r\n: novalue\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nNoColon\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nBad\x01: x\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n",	/* control */
		"GET / HTTP/1.1\r\nHost: x\x7f\r\n\r\n",
		"GETTTTTTTTTTTTTTTTTTTT / HTTP/1.1\r\nHost: x\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum http_parse_result r = parse(bad[i]);

		if (r != HTTP_PARSE_BAD_REQUEST)
			fail_msg("case %zu: result %d", i, r);
		assert_int_equal(http_parse_status(r), 400);
		assert_string_equal(http_parse_code(r), "bad_request");
	}
	/* A NUL anywhere. */
	assert_int_equal(http_parse_head("GET /\0 HTTP/1.1\r\n\r\n", 20, BIG,
	    &req), HTTP_PARSE_BAD_REQUEST);
}

static void
test_errors_length(void **state)
{
	static const char *const bad[] = {
		"Content-Length: 1\r\nContent-Length: 1\r\n",
		"Content-Length: 1\r\ncontent-length: 2\r\n",
		"Content-Length: +1\r\n",
		"Content-Length: -1\r\n",
		"Content-Length: 1 2\r\n",
		"Content-Length: 1,1\r\n",
		"Content-Length: 0x10\r\n",
		"Content-Length: \r\n",
		"Content-Length: 9007199254740993\r\n",		/* 2^53 + 1 */
		"Content-Length: 99999999999999999999\r\n",
	};
	char	 head[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(head, sizeof(head),
		    "POST / HTTP/1.1\r\nHost: x\r\n%s\r\n", bad[i]);
		expect_status(head, HTTP_PARSE_BAD_LENGTH, 400);
	}
	/* Surrounding whitespace is not part of the value. */
	expect_status("POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length:  9007199254740992 \r\n\r\n", HTTP_PARSE_OK, 200);
	assert_int_equal(req.content_length, UINT64_C(9007199254740992));
	expect_status("POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 0000\r\n\r\n", HTTP_PARSE_OK, 200);
	assert_int_equal(req.content_length, 0);
	assert_int_equal(req.has_length, 1);
}

static void
test_errors_other(void **state)
{
	expect_status("GET / HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD_HOST, 400);
	expect_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	    HTTP_PARSE_BAD_HOST, 400);
	expect_status("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
	    HTTP_PARSE_BAD_HOST, 400);
	expect_status("POST / HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_PARSE_LENGTH_REQUIRED, 411);
	expect_status("PUT / HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_PARSE_LENGTH_REQUIRED, 411);
	expect_status("PATCH / HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_PARSE_LENGTH_REQUIRED, 411);
	expect_status("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_PARSE_OK,
	    200);
	expect_status("POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", HTTP_PARSE_TE_UNSUPPORTED, 501);
	expect_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
	    "transfer-encoding: identity\r\n\r\n", HTTP_PARSE_TE_UNSUPPORTED,
	    501);
	assert_non_null(strstr(http_parse_message(HTTP_PARSE_TE_UNSUPPORTED),
	    "chunked"));
	expect_status("BREW / HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_PARSE_METHOD_UNSUPPORTED, 501);
	expect_status("get / HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_PARSE_METHOD_UNSUPPORTED, 501);
	expect_status("CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_PARSE_METHOD_UNSUPPORTED, 501);
	expect_status("GET / HTTP/2.0\r\nHost: x\r\n\r\n",
	    HTTP_PARSE_BAD_VERSION, 505);
	expect_status("GET / HTTP/1.2\r\nHost: x\r\n\r\n",
	    HTTP_PARSE_BAD_VERSION, 505);
	expect_status("GET / HTTP/0.9\r\nHost: x\r\n\r\n",
	    HTTP_PARSE_BAD_VERSION, 505);
	assert_string_equal(http_parse_code(HTTP_PARSE_BAD_VERSION),
	    "http_version_not_supported");
}

static void
test_target_length(void **state)
{
	static const char tail[] = " HTTP/1.1\r\nHost: x\r\n\r\n";
	char	*h;
	size_t	 n;

	h = malloc(HTTP_MAX_TARGET + 64);
	assert_non_null(h);
	memcpy(h, "GET ", 4);
	memset(h + 4, 'a', HTTP_MAX_TARGET);
	h[4] = '/';
	n = 4 + HTTP_MAX_TARGET;
	memcpy(h + n, tail, sizeof(tail));
	expect_status(h, HTTP_PARSE_OK, 200);
	assert_int_equal(req.path.len, HTTP_MAX_TARGET);

	memset(h + 4, 'a', HTTP_MAX_TARGET + 1);
	h[4] = '/';
	n = 4 + HTTP_MAX_TARGET + 1;
	memcpy(h + n, tail, sizeof(tail));
	expect_status(h, HTTP_PARSE_URI_TOO_LONG, 414);
	free(h);
}

/* A head of exactly max bytes passes; one byte more is 431. */
static void
test_max_size(void **state)
{
	const char	*h = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
	size_t		 n = strlen(h);

	assert_int_equal(http_parse_head(h, n, n, &req), HTTP_PARSE_OK);
	assert_int_equal(req.head_len, n);
	assert_int_equal(http_parse_head(h, n, n - 1, &req),
	    HTTP_PARSE_HEAD_TOO_LARGE);
	assert_int_equal(http_parse_status(HTTP_PARSE_HEAD_TOO_LARGE), 431);
	/* Partial head, still under the limit: wait for more. */
	assert_int_equal(http_parse_head(h, n - 1, n, &req),
	    HTTP_PARSE_INCOMPLETE);
	/* Partial head that already fills the limit: cannot ever fit. */
	assert_int_equal(http_parse_head(h, n - 1, n - 1, &req),
	    HTTP_PARSE_HEAD_TOO_LARGE);
	/* Bytes after a head that fits do not count against it. */
	{
		char	 buf[128];

		snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n", h);
		assert_int_equal(http_parse_head(buf, strlen(buf), n, &req),
		    HTTP_PARSE_OK);
		assert_int_equal(req.head_len, n);
	}
	/* An endless header line is 431 once it reaches the limit. */
	{
		char	 buf[4096];

		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
		memset(buf + strlen(buf), 'a', 3000);
		buf[sizeof(buf) - 1] = '\0';
		assert_int_equal(http_parse_head(buf, 3010, 1024, &req),
		    HTTP_PARSE_HEAD_TOO_LARGE);
		assert_int_equal(http_parse_head(buf, 1000, 1024, &req),
		    HTTP_PARSE_INCOMPLETE);
	}
}

static char *
many_headers(int n)
{
	size_t	 cap = 64 + (size_t)n * 32, off;
	char	*h = malloc(cap);

	assert_non_null(h);
	off = (size_t)snprintf(h, cap, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 1; i < n; i++)
		off += (size_t)snprintf(h + off, cap - off, "X-H%d: %d\r\n", i,
		    i);
	snprintf(h + off, cap - off, "\r\n");
	return h;
}

static void
test_header_count(void **state)
{
	char	*h;

	h = many_headers(HTTP_MAX_HEADERS);
	assert_int_equal(parse(h), HTTP_PARSE_OK);
	assert_int_equal(req.nheaders, HTTP_MAX_HEADERS);
	assert_slice(http_header_get(&req, "x-h99"), "99");
	free(h);
	h = many_headers(HTTP_MAX_HEADERS + 1);
	assert_int_equal(parse(h), HTTP_PARSE_TOO_MANY_HEADERS);
	assert_int_equal(http_parse_status(HTTP_PARSE_TOO_MANY_HEADERS), 431);
	free(h);
}

/* Every prefix of a valid head is INCOMPLETE; the whole is OK. */
static void
test_incremental(void **state)
{
	static const char *const heads[] = {
		"GET /v1/x?y=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"POST /p HTTP/1.0\r\nContent-Length: 5\r\nX:\r\n\r\n",
	};

	for (size_t k = 0; k < sizeof(heads) / sizeof(heads[0]); k++) {
		size_t	 n = strlen(heads[k]);
		char	*copy = malloc(n);

		assert_non_null(copy);
		memcpy(copy, heads[k], n);	/* no NUL after it */
		for (size_t i = 0; i < n; i++) {
			enum http_parse_result r;

			r = http_parse_head(copy, i, BIG, &req);
			if (r != HTTP_PARSE_INCOMPLETE)
				fail_msg("head %zu prefix %zu: %d", k, i, r);
		}
		assert_int_equal(http_parse_head(copy, n, BIG, &req),
		    HTTP_PARSE_OK);
		assert_int_equal(req.head_len, n);
		free(copy);
	}
	/* An error stays an error whatever follows. */
	assert_int_equal(parse("GET / HTTP/1.1\n"), HTTP_PARSE_BAD_REQUEST);
	assert_int_equal(parse("GET / HTTP/3.0\r\n"), HTTP_PARSE_BAD_VERSION);
}

static void
test_status_text(void **state)
{
	assert_string_equal(http_status_text(404), "Not Found");
	assert_string_equal(http_status_text(431),
	    "Request Header Fields Too Large");
	assert_string_equal(http_status_text(299), "Unknown");
}

/* The router's path patterns (front_routes.c): "*" is one segment. */
static void
test_route_match(void **state)
{
	struct http_slice	 params[FRONT_MAX_PARAMS], path;
	size_t			 n;

#define PATH(s)	(path.p = (s), path.len = strlen(s), &path)
	assert_true(front_route_match("/healthz", PATH("/healthz"), params, &n));
	assert_int_equal(n, 0);
	assert_false(front_route_match("/healthz", PATH("/healthz/"), params,
	    &n));
	assert_false(front_route_match("/healthz", PATH("/health"), params,
	    &n));
	assert_false(front_route_match("/healthz", PATH("/"), params, &n));
	assert_true(front_route_match("/v1/c/*/search", PATH("/v1/c/42/search"),
	    params, &n));
	assert_int_equal(n, 1);
	assert_slice(&params[0], "42");
	assert_false(front_route_match("/v1/c/*/search", PATH("/v1/c//search"),
	    params, &n));
	assert_false(front_route_match("/v1/c/*/search",
	    PATH("/v1/c/4/2/search"), params, &n));
	assert_true(front_route_match("/v1/*/*", PATH("/v1/a/bc"), params, &n));
	assert_int_equal(n, 2);
	assert_slice(&params[1], "bc");
	assert_false(front_route_match("/v1/*", PATH("/v1/"), params, &n));
#undef PATH
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_post),
		cmocka_unit_test(test_query_split),
		cmocka_unit_test(test_header_lookup),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_http10_no_host),
		cmocka_unit_test(test_errors_400),
		cmocka_unit_test(test_errors_length),
		cmocka_unit_test(test_errors_other),
		cmocka_unit_test(test_target_length),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_header_count),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_status_text),
		cmocka_unit_test(test_route_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

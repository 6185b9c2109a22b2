/*
 * Strict HTTP/1.1 request-head parser; see http.h for what it accepts.
 * Pure: no allocation, no global state, no I/O, so it can be fuzzed and
 * unit-tested on its own.
 */
#include <stdlib.h>
#include <string.h>

#include "ballastd/http.h"

static const char *const http_methods[HTTP_METHOD_MAX] = {
	[HTTP_GET] = "GET",
	[HTTP_HEAD] = "HEAD",
	[HTTP_POST] = "POST",
	[HTTP_PUT] = "PUT",
	[HTTP_PATCH] = "PATCH",
	[HTTP_DELETE] = "DELETE",
	[HTTP_OPTIONS] = "OPTIONS",
};

static const struct {
	int		 status;
	const char	*code;
	const char	*message;
} http_results[HTTP_PARSE_MAX] = {
	[HTTP_PARSE_OK] = { 200, "ok", "ok" },
	[HTTP_PARSE_INCOMPLETE] = { 400, "bad_request",
	    "the request head is incomplete" },
	[HTTP_PARSE_BAD_REQUEST] = { 400, "bad_request",
	    "the request is not valid HTTP/1.1" },
	[HTTP_PARSE_BAD_LENGTH] = { 400, "bad_request",
	    "Content-Length must appear once, as plain decimal digits" },
	[HTTP_PARSE_BAD_HOST] = { 400, "bad_request",
	    "an HTTP/1.1 request needs exactly one Host header" },
	[HTTP_PARSE_HEAD_TOO_LARGE] = { 431, "headers_too_large",
	    "the request line and headers are too large" },
	[HTTP_PARSE_TOO_MANY_HEADERS] = { 431, "headers_too_large",
	    "the request has too many headers" },
	[HTTP_PARSE_URI_TOO_LONG] = { 414, "uri_too_long",
	    "the request target is too long" },
	[HTTP_PARSE_LENGTH_REQUIRED] = { 411, "length_required",
	    "this method needs a Content-Length header" },
	[HTTP_PARSE_METHOD_UNSUPPORTED] = { 501, "not_implemented",
	    "the request method is not supported" },
	[HTTP_PARSE_TE_UNSUPPORTED] = { 501, "not_implemented",
	    "Transfer-Encoding is not supported (no chunked request bodies); "
	    "send Content-Length" },
	[HTTP_PARSE_BAD_VERSION] = { 505, "http_version_not_supported",
	    "only HTTP/1.1 and HTTP/1.0 are supported" },
};

static int
http_tolower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* RFC 9110 tchar. */
static int
http_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP or HTAB: everything but controls and DEL. */
static int
http_is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
http_slice_eq(const struct http_slice *s, const char *lit)
{
	size_t	 n = strlen(lit);

	return s->len == n && memcmp(s->p, lit, n) == 0;
}

int
http_slice_caseeq(const struct http_slice *s, const char *lit)
{
	size_t	 n = strlen(lit);

	if (s->len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (http_tolower((unsigned char)s->p[i]) !=
		    http_tolower((unsigned char)lit[i]))
			return 0;
	return 1;
}

/*
 * Find the line starting at off.  Returns OK with *linelen (without the
 * CRLF) and *next (after it), INCOMPLETE, or BAD_REQUEST for a bare CR,
 * a bare LF or a NUL.
 */
static enum http_parse_result
http_line(const char *buf, size_t len, size_t off, size_t *linelen,
    size_t *next)
{
	for (size_t i = off; i < len; i++) {
		if (buf[i] == '\n' || buf[i] == '\0')
			return HTTP_PARSE_BAD_REQUEST;
		if (buf[i] != '\r')
			continue;
		if (i + 1 == len)
			return HTTP_PARSE_INCOMPLETE;
		if (buf[i + 1] != '\n')
			return HTTP_PARSE_BAD_REQUEST;
		*linelen = i - off;
		*next = i + 2;
		return HTTP_PARSE_OK;
	}
	return HTTP_PARSE_INCOMPLETE;
}

static enum http_parse_result
http_version(const char *p, size_t n, int *minor)
{
	if (n == 8 && memcmp(p, "HTTP/1.", 7) == 0 &&
	    (p[7] == '1' || p[7] == '0')) {
		*minor = p[7] - '0';
		return HTTP_PARSE_OK;
	}
	/* Well-formed but another version: 505; anything else: 400. */
	if (n == 8 && memcmp(p, "HTTP/", 5) == 0 &&
	    p[5] >= '0' && p[5] <= '9' && p[6] == '.' &&
	    p[7] >= '0' && p[7] <= '9')
		return HTTP_PARSE_BAD_VERSION;
	return HTTP_PARSE_BAD_REQUEST;
}

static enum http_parse_result
http_target(const char *p, size_t n, struct http_request *out)
{
	const char	*q;

	if (n > HTTP_MAX_TARGET)
		return HTTP_PARSE_URI_TOO_LONG;
	if (n == 0 || p[0] != '/')
		return HTTP_PARSE_BAD_REQUEST;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 ||
		    (unsigned char)p[i] >= 0x7f || p[i] == '#')
			return HTTP_PARSE_BAD_REQUEST;
	out->target.p = p;
	out->target.len = n;
	out->path = out->target;
	if ((q = memchr(p, '?', n)) != NULL) {
		out->path.len = (size_t)(q - p);
		out->query.p = q + 1;
		out->query.len = n - out->path.len - 1;
		out->has_query = 1;
	}
	return HTTP_PARSE_OK;
}

static enum http_parse_result
http_request_line(const char *p, size_t n, struct http_request *out)
{
	struct http_slice	 m;
	const char		*sp1, *sp2;
	enum http_parse_result	 r;
	int			 i;

	if ((sp1 = memchr(p, ' ', n)) == NULL)
		return HTTP_PARSE_BAD_REQUEST;
	m.p = p;
	m.len = (size_t)(sp1 - p);
	if (m.len == 0 || m.len > HTTP_MAX_METHOD)
		return HTTP_PARSE_BAD_REQUEST;
	for (size_t k = 0; k < m.len; k++)
		if (!http_is_tchar((unsigned char)m.p[k]))
			return HTTP_PARSE_BAD_REQUEST;
	sp1++;
	if ((sp2 = memchr(sp1, ' ', n - (size_t)(sp1 - p))) == NULL)
		return HTTP_PARSE_BAD_REQUEST;
	if ((r = http_target(sp1, (size_t)(sp2 - sp1), out)) != HTTP_PARSE_OK)
		return r;
	sp2++;
	if ((r = http_version(sp2, n - (size_t)(sp2 - p), &out->minor)) !=
	    HTTP_PARSE_OK)
		return r;
	/* Methods are case-sensitive (RFC 9110 9.1). */
	for (i = 0; i < HTTP_METHOD_MAX; i++)
		if (http_slice_eq(&m, http_methods[i]))
			break;
	if (i == HTTP_METHOD_MAX)
		return HTTP_PARSE_METHOD_UNSUPPORTED;
	out->method = (enum http_method)i;
	return HTTP_PARSE_OK;
}

static enum http_parse_result
http_header_line(const char *p, size_t n, struct http_header *h)
{
	const char	*colon, *v, *end;

	/* A leading SP/HTAB is obs-fold (or junk): refused. */
	if ((colon = memchr(p, ':', n)) == NULL || colon == p)
		return HTTP_PARSE_BAD_REQUEST;
	for (const char *c = p; c < colon; c++)
		if (!http_is_tchar((unsigned char)*c))
			return HTTP_PARSE_BAD_REQUEST;
	v = colon + 1;
	end = p + n;
	for (const char *c = v; c < end; c++)
		if (!http_is_value_char((unsigned char)*c))
			return HTTP_PARSE_BAD_REQUEST;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	h->name.p = p;
	h->name.len = (size_t)(colon - p);
	h->value.p = v;
	h->value.len = (size_t)(end - v);
	return HTTP_PARSE_OK;
}

static enum http_parse_result
http_content_length(const struct http_slice *v, uint64_t *out)
{
	char		 num[17];
	const char	*errstr;
	long long	 n;

	if (v->len == 0 || v->len >= sizeof(num))
		return HTTP_PARSE_BAD_LENGTH;
	for (size_t i = 0; i < v->len; i++)
		if (v->p[i] < '0' || v->p[i] > '9')
			return HTTP_PARSE_BAD_LENGTH;
	memcpy(num, v->p, v->len);
	num[v->len] = '\0';
	n = strtonum(num, 0, (long long)HTTP_MAX_CONTENT_LENGTH, &errstr);
	if (errstr != NULL)
		return HTTP_PARSE_BAD_LENGTH;
	*out = (uint64_t)n;
	return HTTP_PARSE_OK;
}

/* Look for the tokens "close" and "keep-alive" in a Connection value. */
static void
http_connection(const struct http_slice *v, int *conn_close, int *keep)
{
	const char	*p = v->p, *end = v->p + v->len;

	while (p < end) {
		struct http_slice	 tok;
		const char		*comma;

		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		tok.p = p;
		tok.len = (size_t)(comma - p);
		while (tok.len > 0 && (*tok.p == ' ' || *tok.p == '\t')) {
			tok.p++;
			tok.len--;
		}
		while (tok.len > 0 && (tok.p[tok.len - 1] == ' ' ||
		    tok.p[tok.len - 1] == '\t'))
			tok.len--;
		if (http_slice_caseeq(&tok, "close"))
			*conn_close = 1;
		else if (http_slice_caseeq(&tok, "keep-alive"))
			*keep = 1;
		p = comma + 1;
	}
}

/* The rules that need every header at once. */
static enum http_parse_result
http_semantics(struct http_request *out)
{
	enum http_parse_result	 r;
	int			 hosts = 0, conn_close = 0, keep = 0;

	for (size_t i = 0; i < out->nheaders; i++) {
		const struct http_header *h = &out->headers[i];

		if (http_slice_caseeq(&h->name, "transfer-encoding"))
			return HTTP_PARSE_TE_UNSUPPORTED;
		if (http_slice_caseeq(&h->name, "content-length")) {
			if (out->has_length)
				return HTTP_PARSE_BAD_LENGTH;
			r = http_content_length(&h->value, &out->content_length);
			if (r != HTTP_PARSE_OK)
				return r;
			out->has_length = 1;
		} else if (http_slice_caseeq(&h->name, "host"))
			hosts++;
		else if (http_slice_caseeq(&h->name, "connection"))
			http_connection(&h->value, &conn_close, &keep);
		else if (http_slice_caseeq(&h->name, "expect") &&
		    http_slice_caseeq(&h->value, "100-continue"))
			out->expect_continue = 1;
	}
	if (hosts > 1 || (out->minor == 1 && hosts == 0))
		return HTTP_PARSE_BAD_HOST;
	if (!out->has_length && (out->method == HTTP_POST ||
	    out->method == HTTP_PUT || out->method == HTTP_PATCH))
		return HTTP_PARSE_LENGTH_REQUIRED;
	out->keepalive = out->minor == 1 ? !conn_close : (keep && !conn_close);
	return HTTP_PARSE_OK;
}

static enum http_parse_result
http_parse_lines(const char *buf, size_t len, struct http_request *out)
{
	enum http_parse_result	 r;
	size_t			 off = 0, n, next;

	if ((r = http_line(buf, len, off, &n, &next)) != HTTP_PARSE_OK)
		return r;
	if ((r = http_request_line(buf, n, out)) != HTTP_PARSE_OK)
		return r;
	for (off = next;; off = next) {
		if ((r = http_line(buf, len, off, &n, &next)) != HTTP_PARSE_OK)
			return r;
		if (n == 0)
			break;
		if (out->nheaders == HTTP_MAX_HEADERS)
			return HTTP_PARSE_TOO_MANY_HEADERS;
		r = http_header_line(buf + off, n, &out->headers[out->nheaders]);
		if (r != HTTP_PARSE_OK)
			return r;
		out->nheaders++;
	}
	out->head_len = next;
	return http_semantics(out);
}

enum http_parse_result
http_parse_head(const char *buf, size_t len, size_t max_head,
    struct http_request *out)
{
	enum http_parse_result	 r;

	memset(out, 0, sizeof(*out));
	/* Never look past max_head: the head must fit, CRLFCRLF included. */
	r = http_parse_lines(buf, len < max_head ? len : max_head, out);
	if (r == HTTP_PARSE_INCOMPLETE && len >= max_head)
		r = HTTP_PARSE_HEAD_TOO_LARGE;
	return r;
}

int
http_parse_status(enum http_parse_result r)
{
	if ((unsigned)r >= HTTP_PARSE_MAX)
		return 400;
	return http_results[r].status;
}

const char *
http_parse_code(enum http_parse_result r)
{
	if ((unsigned)r >= HTTP_PARSE_MAX)
		return "bad_request";
	return http_results[r].code;
}

const char *
http_parse_message(enum http_parse_result r)
{
	if ((unsigned)r >= HTTP_PARSE_MAX)
		return "bad request";
	return http_results[r].message;
}

const struct http_slice *
http_header_get(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (http_slice_caseeq(&req->headers[i].name, name))
			return &req->headers[i].value;
	return NULL;
}

const char *
http_method_name(enum http_method m)
{
	if ((unsigned)m >= HTTP_METHOD_MAX)
		return "-";
	return http_methods[m];
}

const char *
http_status_text(int status)
{
	static const struct {
		int		 status;
		const char	*text;
	} texts[] = {
		{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" },
		{ 202, "Accepted" }, { 204, "No Content" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" }, { 408, "Request Timeout" },
		{ 409, "Conflict" }, { 410, "Gone" },
		{ 411, "Length Required" }, { 413, "Content Too Large" },
		{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" }, { 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].status == status)
			return texts[i].text;
	return "Unknown";
}

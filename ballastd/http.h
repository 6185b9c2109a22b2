/*
 * A small, strict HTTP/1.1 request-head parser (RFC 9112), pure and
 * allocation free: it reads a buffer and fills a struct whose slices
 * point into that buffer.  Call it again with more bytes until it stops
 * answering HTTP_PARSE_INCOMPLETE; it never remembers anything between
 * calls, so any split of the input gives the same final answer.
 *
 * What it accepts, and why it is stricter than the RFC allows:
 *   - request line "METHOD SP origin-form SP HTTP/1.1" (or HTTP/1.0),
 *     single spaces, no leading empty lines;
 *   - lines end with CRLF.  A bare LF or a bare CR is a 400: RFC 9112
 *     section 2.2 lets a server accept a bare LF, but a proxy in front
 *     of us that reads the line differently could be made to see other
 *     requests than we do (request smuggling); no client we serve needs it;
 *   - the target is origin-form only ("/path?query"), printable ASCII,
 *     no '#', at most HTTP_MAX_TARGET bytes (longer: 414);
 *   - field names are tokens directly followed by ':' (no whitespace
 *     before the colon, no obs-fold), values are VCHAR/obs-text/SP/HTAB,
 *     at most HTTP_MAX_HEADERS fields (more: 431);
 *   - Content-Length is 1 to 16 plain digits, at most 2^53, and appears
 *     at most once; any Transfer-Encoding is refused (501: we do not take
 *     chunked request bodies); POST, PUT and PATCH need a Content-Length
 *     (411); HTTP/1.1 needs exactly one Host.
 * The whole head (request line to the empty line, inclusive) must fit in
 * max_head bytes, else 431.
 */
#ifndef BALLAST_HTTP_H
#define BALLAST_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS	100
#define HTTP_MAX_TARGET		(8 * 1024)
#define HTTP_MAX_METHOD		16
#define HTTP_MAX_CONTENT_LENGTH	(UINT64_C(1) << 53)

enum http_parse_result {
	HTTP_PARSE_OK = 0,
	HTTP_PARSE_INCOMPLETE,
	HTTP_PARSE_BAD_REQUEST,		/* 400 malformed */
	HTTP_PARSE_BAD_LENGTH,		/* 400 bad or duplicate Content-Length */
	HTTP_PARSE_BAD_HOST,		/* 400 Host missing (1.1) or repeated */
	HTTP_PARSE_HEAD_TOO_LARGE,	/* 431 */
	HTTP_PARSE_TOO_MANY_HEADERS,	/* 431 */
	HTTP_PARSE_URI_TOO_LONG,	/* 414 */
	HTTP_PARSE_LENGTH_REQUIRED,	/* 411 */
	HTTP_PARSE_METHOD_UNSUPPORTED,	/* 501 */
	HTTP_PARSE_TE_UNSUPPORTED,	/* 501 */
	HTTP_PARSE_BAD_VERSION,		/* 505 */
	HTTP_PARSE_MAX
};

enum http_method {
	HTTP_GET = 0,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_METHOD_MAX
};

/* A piece of the parsed buffer; not NUL-terminated. */
struct http_slice {
	const char	*p;
	size_t		 len;
};

struct http_header {
	struct http_slice	 name;
	struct http_slice	 value;		/* without surrounding whitespace */
};

struct http_request {
	enum http_method	 method;
	int			 minor;		/* HTTP/1.<minor>: 0 or 1 */
	struct http_slice	 target;	/* path and query as sent */
	struct http_slice	 path;		/* before '?' */
	struct http_slice	 query;		/* after '?', without it */
	int			 has_query;	/* a '?' was present */
	struct http_header	 headers[HTTP_MAX_HEADERS];
	size_t			 nheaders;
	int			 has_length;	/* Content-Length was sent */
	uint64_t		 content_length; /* 0 without one */
	int			 keepalive;	/* version + Connection */
	int			 expect_continue; /* "Expect: 100-continue" */
	size_t			 head_len;	/* bytes consumed, CRLFCRLF included */
};

/*
 * Parse the head at the start of buf[0..len).  HTTP_PARSE_OK fills *out
 * (out->head_len is the number of bytes the head took); INCOMPLETE asks
 * for more bytes; anything else is final (see http_parse_status()).  On
 * anything but OK, *out holds nothing useful.
 */
enum http_parse_result http_parse_head(const char *buf, size_t len,
	    size_t max_head, struct http_request *out);

/* The HTTP status, error code (snake_case) and message for a result. */
int		 http_parse_status(enum http_parse_result);
const char	*http_parse_code(enum http_parse_result);
const char	*http_parse_message(enum http_parse_result);

/* The value of the first field called name (any case), or NULL. */
const struct http_slice *http_header_get(const struct http_request *,
	    const char *name);
/* 1 when the slice equals s, ignoring ASCII case. */
int		 http_slice_caseeq(const struct http_slice *, const char *s);

const char	*http_method_name(enum http_method);
/* Reason phrase for a status we send ("Not Found"); "Unknown" otherwise. */
const char	*http_status_text(int status);

#endif

/*
 * Fuzz the HTTP request-head parser with several head limits, and check
 * what must always hold: slices stay inside the input, a complete head
 * fits the limit, and every shorter prefix of an accepted head is only
 * "incomplete" (incremental safety).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ballastd/http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_slice(const struct http_slice *s, const char *buf, size_t len)
{
	if (s->len == 0)
		return;
	if (s->p < buf || s->p + s->len > buf + len)
		abort();
}

static void
check_ok(const char *buf, size_t len, size_t max, struct http_request *req)
{
	struct http_request	 again;

	if (req->head_len > len || req->head_len > max || req->head_len < 4)
		abort();
	check_slice(&req->target, buf, req->head_len);
	check_slice(&req->path, buf, req->head_len);
	check_slice(&req->query, buf, req->head_len);
	if (req->nheaders > HTTP_MAX_HEADERS ||
	    req->content_length > HTTP_MAX_CONTENT_LENGTH)
		abort();
	for (size_t i = 0; i < req->nheaders; i++) {
		check_slice(&req->headers[i].name, buf, req->head_len);
		check_slice(&req->headers[i].value, buf, req->head_len);
		if (req->headers[i].name.len == 0)
			abort();
	}
	if (http_header_get(req, "host") == NULL && req->minor == 1)
		abort();
	/* Cut anywhere before its end, the head is merely incomplete. */
	if (http_parse_head(buf, req->head_len - 1, max, &again) !=
	    HTTP_PARSE_INCOMPLETE)
		abort();
	if (http_parse_head(buf, req->head_len / 2, max, &again) !=
	    HTTP_PARSE_INCOMPLETE)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 limits[] = { 16, 512, 8192, 65536 };
	static struct http_request req;
	const char		*buf;
	char			*copy;

	/* A private copy so that ASan sees any read past the end. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	buf = copy;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		enum http_parse_result	 r;

		r = http_parse_head(buf, size, limits[i], &req);
		if (r == HTTP_PARSE_OK)
			check_ok(buf, size, limits[i], &req);
		else if (r == HTTP_PARSE_INCOMPLETE && size >= limits[i])
			abort();
		if (http_parse_status(r) < 200 || http_parse_code(r) == NULL ||
		    http_parse_message(r) == NULL)
			abort();
	}
	free(copy);
	return 0;
}

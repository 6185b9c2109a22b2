/*
 * GET /, GET /assets/<file>: the web console's files (web/), compiled in
 * by scripts/embed-web.  A path is looked up as sent, byte for byte, in
 * the table of files: nothing is decoded or joined to a directory, so
 * "..", "%2e%2e" or any other spelling names no file and is a 404.
 * Every answer carries the console's Content-Security-Policy and framing
 * and referrer rules (FRONT_CONSOLE_HEADERS).
 */
#include <stdio.h>
#include <string.h>

#include "ballastd/front.h"
#include "ballastd/front_static.h"

const struct front_static_file *
front_static_find(const char *path, size_t len)
{
	for (size_t i = 0; i < front_static_nfiles; i++) {
		const struct front_static_file *f = &front_static_files[i];

		if (strlen(f->path) == len && memcmp(f->path, path, len) == 0)
			return f;
	}
	return NULL;
}

void
front_static(struct front_req *req)
{
	const struct front_static_file	*f;
	char				 hdrs[1024];
	int				 n;

	f = front_static_find(req->http.path.p, req->http.path.len);
	if (f == NULL) {
		front_respond(req, 404, front_json_error("not_found",
		    "no such file"), FRONT_CONSOLE_HEADERS);
		return;
	}
	n = snprintf(hdrs, sizeof(hdrs), "Content-Type: %s\r\n%s", f->type,
	    FRONT_CONSOLE_HEADERS);
	if (n < 0 || (size_t)n >= sizeof(hdrs)) {
		front_error(req, 500, "internal_error", "internal error");
		return;
	}
	front_respond_text(req, 200, hdrs, (const char *)f->data, f->len);
}

/*
 * Fuzz the console's refresh-cookie reader (front_session_cookie): any
 * Cookie header, inside a real request head.  What it returns must be
 * nothing or a token of the allowed characters only, never longer than
 * the header it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ballastd/front.h"
#include "ballastd/front_static.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 pre[] = "GET /v1/auth/refresh HTTP/1.1\r\n"
	    "Host: h\r\nCookie: ";
	static struct front_req	 req;
	char			*buf, *tok;
	size_t			 len;

	if (size > 8192 || memchr(data, '\r', size) || memchr(data, '\n', size))
		return 0;
	len = sizeof(pre) - 1 + size + 4;
	if ((buf = malloc(len)) == NULL)
		return 0;
	memcpy(buf, pre, sizeof(pre) - 1);
	memcpy(buf + sizeof(pre) - 1, data, size);
	memcpy(buf + sizeof(pre) - 1 + size, "\r\n\r\n", 4);
	memset(&req, 0, sizeof(req));
	if (http_parse_head(buf, len, 16384, &req.http) == HTTP_PARSE_OK &&
	    (tok = front_session_cookie(&req)) != NULL) {
		size_t	 n = strlen(tok);

		if (n == 0 || n > size)
			abort();
		for (size_t i = 0; i < n; i++)
			if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
			    "QRSTUVWXYZ0123456789-_", tok[i]) == NULL)
				abort();
		free(tok);
	}
	free(buf);
	return 0;
}

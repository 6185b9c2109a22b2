/*
 * JSON for the front: response and error bodies.
 * Everything is built with jansson, so whatever ends up in a string is
 * escaped; error messages are fixed texts, never bytes of the request.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ballastd/front.h"
#include "common/log.h"
#include "common/util.h"

/* Compact text of a JSON value, with its length; NULL on failure. */
char *
front_json_dump(json_t *v, size_t *len)
{
	char	*s;

	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		return NULL;
	*len = strlen(s);
	return s;
}

json_t *
front_json_error(const char *code, const char *message)
{
	return json_pack("{s:{s:s,s:s}}", "error", "code", code,
	    "message", message);
}

/* IMF-fixdate for the Date header: "Sun, 06 Nov 1994 08:49:37 GMT". */
void
front_date(char *buf, size_t len)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	static time_t	 last = -1;
	static char	 text[32];
	struct tm	 tm;
	time_t		 now = time(NULL);

	/* Formatted once a second: every response of that second shares it. */
	if (now != last) {
		/* Not strftime: the names must not depend on the locale. */
		if (gmtime_r(&now, &tm) == NULL ||
		    (size_t)snprintf(text, sizeof(text),
		    "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		    tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec) >= sizeof(text))
			strlcpy(text, "Thu, 01 Jan 1970 00:00:00 GMT",
			    sizeof(text));
		last = now;
	}
	strlcpy(buf, text, len);
}

/* The one way a request is answered: once, with its asks cancelled. */
void
front_respond_text(struct front_req *req, int status, const char *hdrs,
    const char *text, size_t len)
{
	if (req->responded) {
		log_warnx("%s: request %s answered twice", __func__, req->id);
		return;
	}
	req->responded = 1;
	/* Whatever the handler still waited for is moot now. */
	front_pending_cancel(req);
	front_conn_respond(req, status, hdrs, text, len);
}

void
front_respond(struct front_req *req, int status, json_t *body,
    const char *hdrs)
{
	char	*text;
	size_t	 len;

	if (req->responded) {
		log_warnx("%s: request %s answered twice", __func__, req->id);
		json_decref(body);
		return;
	}
	if (body == NULL || (text = front_json_dump(body, &len)) == NULL) {
		log_warnx("%s: cannot encode the response of request %s",
		    __func__, req->id);
		json_decref(body);
		body = front_json_error("internal_error",
		    "the response could not be built");
		status = 500;
		if (body == NULL || (text = front_json_dump(body, &len)) ==
		    NULL)
			fatalx("%s: out of memory", __func__);
	}
	json_decref(body);
	front_respond_text(req, status, hdrs, text, len);
	free(text);
}

void
front_error(struct front_req *req, int status, const char *code,
    const char *message)
{
	front_respond(req, status, front_json_error(code, message), NULL);
}

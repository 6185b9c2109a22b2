/*
 * JSON for the front: response and error bodies, and the access-log line.
 * Everything is built with jansson, so whatever ends up in a string is
 * escaped; error messages are fixed texts, never bytes of the request.
 */
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ballastd/front.h"
#include "ballastd/front_metrics.h"
#include "common/log.h"
#include "common/util.h"

#define ACCESS_WARN_EVERY_MS	60000	/* a failing access log: one warning */

/* The access-log file the parent opened (access log setting), or -1. */
static struct {
	int		 fd;
	uint64_t	 failed;	/* lines not written, in all */
	uint64_t	 failed_warned;	/* of those, already in a warning */
	uint64_t	 warned_ms;	/* monotonic, of the last warning */
	int		 torn;		/* a short write left half a line */
} access_file = { -1, 0, 0, 0, 0 };

/*
 * The parent opened the file again (start, reload, SIGUSR1 after a
 * rotation).  Every line is written whole as it happens, so there is never
 * a pending one: the old file is complete when we close it.
 */
void
front_access_log_fd(int fd)
{
	if (access_file.fd != -1)
		close(access_file.fd);
	access_file.fd = fd;
	if (fd != -1)
		log_debug("%s: writing the access log to fd %d", __func__, fd);
}

/*
 * One write(2) per line with O_APPEND: a line is never interleaved with
 * another.  A failure (disk full) loses the line, is counted, and is
 * reported at most once a minute; it never blocks or stops the front.
 */
static void
front_access_write(char *text, size_t len)
{
	struct iovec	 iov[2];
	ssize_t		 n, want;
	uint64_t	 now;
	int		 saved, torn = access_file.torn;

	/*
	 * After a short write (disk full) the file ends in half a line: the
	 * next line starts with a newline of its own, in the same write, so
	 * that it stays whole.
	 */
	iov[0].iov_base = (void *)"\n";
	iov[0].iov_len = 1;
	iov[1].iov_base = text;
	iov[1].iov_len = len + 1;
	want = (ssize_t)len + 1 + torn;
	text[len] = '\n';	/* the caller left room for it */
	do
		n = writev(access_file.fd, iov + !torn, 1 + torn);
	while (n == -1 && errno == EINTR);
	text[len] = '\0';
	if (n == want) {
		access_file.torn = 0;
		return;
	}
	/* some bytes went: half a line, unless only the leading newline */
	if (n > 0)
		access_file.torn = n > torn;
	saved = n == -1 ? errno : EIO;
	access_file.failed++;
	now = now_ms();
	if (access_file.warned_ms != 0 &&
	    now - access_file.warned_ms < ACCESS_WARN_EVERY_MS)
		return;
	access_file.warned_ms = now;
	log_warnx("front_access_log: %llu access line%s lost (%s)",
	    (unsigned long long)(access_file.failed -
	    access_file.failed_warned), access_file.failed -
	    access_file.failed_warned == 1 ? "" : "s", n == -1 ?
	    strerror(saved) : "short write");
	access_file.failed_warned = access_file.failed;
}

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
	struct tm	 tm;
	time_t		 now = time(NULL);

	/* Not strftime: the names must not depend on the locale. */
	if (gmtime_r(&now, &tm) == NULL || (size_t)snprintf(buf, len,
	    "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
	    tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec) >= len)
		strlcpy(buf, "Thu, 01 Jan 1970 00:00:00 GMT", len);
}

/* RFC 3339 UTC with milliseconds. */
static void
front_rfc3339(int64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL || (size_t)snprintf(buf, len,
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(ms % 1000)) >= len)
		strlcpy(buf, "1970-01-01T00:00:00.000Z", len);
}

/*
 * One line per request: when, which request, from where, what was asked
 * (method and path, never the query, headers or body: they may carry
 * tokens), how it ended and how long it took.
 */
void
front_access_log(const struct front_req *req)
{
	json_t		*line;
	char		 when[32], path[256], *text;
	const char	*method = "-";
	size_t		 len;

	front_metrics_request(req);
	front_rfc3339(req->start_wall_ms, when, sizeof(when));
	strlcpy(path, "-", sizeof(path));
	if (req->parsed) {
		size_t	 n = req->http.path.len;

		/* Long paths are cut: the line must stay under log.c's cap. */
		if (n >= sizeof(path))
			n = sizeof(path) - 1;
		memcpy(path, req->http.path.p, n);
		path[n] = '\0';
		method = http_method_name(req->http.method);
	}
	line = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:I}",
	    "time", when, "request_id", req->id, "client", req->client,
	    "method", method, "path", path, "status", req->status,
	    "bytes", (json_int_t)req->resp_bytes,
	    "duration_ms", (json_int_t)(now_ms() - req->start_ms));
	if (line == NULL || (text = front_json_dump(line, &len)) == NULL) {
		log_warnx("%s: cannot build the access-log line", __func__);
		json_decref(line);
		return;
	}
	if (access_file.fd == -1)
		log_access("%s", text);
	else {
		char	*buf;

		/* room for the newline, so the line goes in one write */
		if ((buf = malloc(len + 2)) == NULL)
			log_warnx("%s: out of memory", __func__);
		else {
			memcpy(buf, text, len + 1);
			front_access_write(buf, len);
			free(buf);
		}
	}
	free(text);
	json_decref(line);
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

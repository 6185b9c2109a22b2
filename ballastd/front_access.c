/*
 * The access log: one JSON object per answered request, to the file the
 * parent opened (access log setting) or to the daemon's log.
 *
 * It runs once per request, so it is kept cheap: the line is formatted
 * into a buffer on the stack, with jansson escaping the two fields that
 * come from outside (the path and the client address); the other fields
 * are ours (hex id, method name, numbers, a timestamp).  The lines of one
 * event-loop turn are written together, with one write(2), by a
 * zero-delay timer: under load a turn answers many requests at once.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "ballastd/front.h"
#include "ballastd/front_metrics.h"
#include "common/log.h"
#include "common/util.h"

#define ACCESS_WARN_EVERY_MS	60000	/* a failing access log: one warning */
/*
 * Lines waiting for the end of the turn.  A write of at most PIPE_BUF
 * bytes to a pipe is never interleaved with another process's, so a batch
 * stays under it whichever way stderr goes.
 */
#define ACCESS_BATCH		4096
#define ACCESS_LINE_MAX		2048	/* log.c's cap; the path is cut to fit */
#define ACCESS_PATH_MAX		255

static struct {
	int		 fd;		/* the access log file, or -1 */
	uint64_t	 failed;	/* lines not written, in all */
	uint64_t	 failed_warned;	/* of those, already in a warning */
	uint64_t	 warned_ms;	/* monotonic, of the last warning */
	int		 torn;		/* a short write left half a line */
	struct event	*flush_ev;	/* zero-delay: the end of this turn */
	char		 buf[ACCESS_BATCH];
	size_t		 len;		/* whole lines, each ending in \n */
	size_t		 nlines;
} alog = { .fd = -1 };

static void	access_flush_cb(int, short, void *);
static void	access_exit_flush(void);

void
front_access_init(struct event_base *base)
{
	alog.flush_ev = evtimer_new(base, access_flush_cb, NULL);
	if (alog.flush_ev == NULL)
		fatalx("%s: evtimer_new", __func__);
	/* exit() and fatal(): the lines of the last turn are not lost */
	atexit(access_exit_flush);
}

static void
access_warn_lost(int saved, int short_write)
{
	uint64_t	 now = now_ms();
	uint64_t	 lost = alog.failed - alog.failed_warned;

	if (alog.warned_ms != 0 &&
	    now - alog.warned_ms < ACCESS_WARN_EVERY_MS)
		return;
	alog.warned_ms = now;
	log_warnx("front_access_log: %llu access line%s lost (%s)",
	    (unsigned long long)lost, lost == 1 ? "" : "s",
	    short_write ? "short write" : strerror(saved));
	alog.failed_warned = alog.failed;
}

/*
 * The batch to the file, with O_APPEND: whole lines in one write(2), so a
 * line is never interleaved with another.  A failure (disk full) loses the
 * batch, is counted, and is reported at most once a minute; it never
 * blocks or stops the front.
 */
static void
access_write_file(void)
{
	struct iovec	 iov[2];
	ssize_t		 n, want;
	int		 torn = alog.torn;

	/*
	 * After a short write the file ends in half a line: this batch starts
	 * with a newline of its own, in the same write, so that it is whole.
	 */
	iov[0].iov_base = (void *)"\n";
	iov[0].iov_len = 1;
	iov[1].iov_base = alog.buf;
	iov[1].iov_len = alog.len;
	want = (ssize_t)alog.len + torn;
	do
		n = writev(alog.fd, iov + !torn, 1 + torn);
	while (n == -1 && errno == EINTR);
	if (n == want) {
		alog.torn = 0;
		return;
	}
	/* some bytes went: half a line, unless only the leading newline */
	if (n > 0)
		alog.torn = n > torn;
	alog.failed += alog.nlines;
	access_warn_lost(n == -1 ? errno : EIO, n != -1);
}

/* Everything waiting, to the file or the daemon's log. */
static void
access_write(void)
{
	if (alog.len == 0)
		return;
	if (alog.fd != -1)
		access_write_file();
	else
		log_access_lines(alog.buf, alog.len);
	alog.len = 0;
	alog.nlines = 0;
}

static void
access_flush(void)
{
	access_write();
	if (alog.flush_ev != NULL)
		evtimer_del(alog.flush_ev);
}

static void
access_flush_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	access_write();
}

/* At exit the event base may be gone: the lines only. */
static void
access_exit_flush(void)
{
	access_write();
}

/*
 * The parent opened the file again (start, reload, SIGUSR1 after a
 * rotation).  What is waiting goes to the old file first, so it is
 * complete when we close it.
 */
void
front_access_log_fd(int fd)
{
	struct stat	 st;

	access_flush();
	if (alog.fd != -1)
		close(alog.fd);
	alog.fd = fd;
	/*
	 * The same file opened again may still end in half a line; a new
	 * (rotated) one is empty and needs no leading newline.
	 */
	if (fd != -1 && fstat(fd, &st) == 0 && st.st_size == 0)
		alog.torn = 0;
	if (fd != -1)
		log_debug("%s: writing the access log to fd %d", __func__, fd);
}

/* RFC 3339 UTC with milliseconds. */
static void
access_rfc3339(int64_t ms, char *buf, size_t len)
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
 * A JSON string of the bytes (ASCII only, escaped by jansson) into buf;
 * "-" quoted if they are not UTF-8 or do not fit.
 */
static void
access_quote(const char *s, size_t n, char *buf, size_t len)
{
	json_t	*v;
	size_t	 got = 0;

	if ((v = json_stringn(s, n)) != NULL)
		got = json_dumpb(v, buf, len - 1, JSON_ENCODE_ANY |
		    JSON_ENSURE_ASCII);
	json_decref(v);
	if (got == 0 || got >= len)
		got = strlcpy(buf, "\"-\"", len);
	buf[got] = '\0';
}

/*
 * One line per request: when, which request, from where, what was asked
 * (method and path, never the query, headers or body: they may carry
 * tokens), how it ended and how long it took.
 */
void
front_access_log(const struct front_req *req)
{
	/* a path byte is at most six when escaped (\u00xx) */
	char		 when[32], path[ACCESS_PATH_MAX * 6 + 3], client[200];
	char		 line[ACCESS_LINE_MAX];
	const char	*method = "-";
	int		 n;

	front_metrics_request(req);
	if (alog.fd == -1 && log_getlevel() < LOG_LEVEL_INFO)
		return;
	access_rfc3339(req->start_wall_ms, when, sizeof(when));
	strlcpy(path, "\"-\"", sizeof(path));
	if (req->parsed) {
		size_t	 plen = req->http.path.len;

		/* Long paths are cut: the line must stay under log.c's cap. */
		if (plen > ACCESS_PATH_MAX)
			plen = ACCESS_PATH_MAX;
		access_quote(req->http.path.p, plen, path, sizeof(path));
		method = http_method_name(req->http.method);
	}
	access_quote(req->client, strnlen(req->client, sizeof(req->client)),
	    client, sizeof(client));
	n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"request_id\":"
	    "\"%s\",\"client\":%s,\"method\":\"%s\",\"path\":%s,\"status\":%d,"
	    "\"bytes\":%zu,\"duration_ms\":%llu}\n", when, req->id, client,
	    method, path, req->status, req->resp_bytes,
	    (unsigned long long)(now_ms() - req->start_ms));
	if (n < 0 || (size_t)n >= sizeof(line)) {
		log_warnx("%s: cannot build the access-log line", __func__);
		return;
	}
	if (alog.len + (size_t)n > sizeof(alog.buf))
		access_flush();
	memcpy(alog.buf + alog.len, line, (size_t)n);
	alog.len += (size_t)n;
	alog.nlines++;
	if (alog.flush_ev == NULL)
		access_flush();	/* not started yet: at once */
	else if (!evtimer_pending(alog.flush_ev, NULL)) {
		struct timeval	 now = { 0, 0 };

		evtimer_add(alog.flush_ev, &now);
	}
}

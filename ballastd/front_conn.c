/*
 * One client connection: TLS (bufferevent_openssl), then requests one at
 * a time.  States and their single deadline timer:
 *
 *   HEAD   reading a request head.  Deadline: header_timeout after the
 *          connection's start (so it covers the TLS handshake) or, on a
 *          kept-alive connection, after the first byte of the request.
 *          It is a total deadline, not reset by reads: a client dripping
 *          one byte a second is cut off.  On expiry: 408 if any byte of
 *          the request arrived, else a silent close.
 *   BODY   reading Content-Length bytes; body_timeout after the head.
 *          408 on expiry.
 *   BUSY   the handler has the request (maybe waiting for a peer; the
 *          pending table has its own timers).  Nothing more is read.
 *   WRITE  the response is being written; idle_timeout to flush it.
 *   IDLE   kept alive between requests; closed after idle_timeout.
 *   LINGER after a response with "Connection: close": input is read and
 *          thrown away for a moment, so that a client still sending a
 *          body it was refused (413) reads our answer instead of a reset.
 *
 * Every error is answered and the connection closed.  Pipelined requests
 * wait in the input buffer (bounded by its high watermark) until the
 * previous response is written.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>	/* ev_read: conn_read_pending() */
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ballastd/front.h"
#include "common/log.h"
#include "common/util.h"

#define CONN_LINGER_SECS	2	/* seconds */

enum conn_state {
	CONN_HEAD,
	CONN_BODY,
	CONN_BUSY,
	CONN_WRITE,
	CONN_IDLE,
	CONN_LINGER
};

struct front_conn {
	struct bufferevent	*bev;
	struct event		*timer;
	struct front_limits	 lim;
	enum conn_state		 state;
	char			 client[64];
	struct front_req	*req;		/* the current request, or NULL */
	size_t			 scanned;	/* head bytes looked at */
	int			 close;		/* close after this response */
	int			 handshaken;
};

static void	conn_process(struct front_conn *);

static void
conn_arm(struct front_conn *conn, uint64_t seconds)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = 0;
	evtimer_add(conn->timer, &tv);
}

static void	conn_req_free(struct front_conn *);

static void
conn_free(struct front_conn *conn)
{
	SSL	*ssl;

	if (conn->req != NULL && conn->req->parsed && !conn->req->responded)
		log_debug("%s: %s left before the answer", __func__,
		    conn->client);
	/* Cancels the request's asks: a late reply will find nothing. */
	conn_req_free(conn);
	if (conn->handshaken &&
	    (ssl = bufferevent_openssl_get_ssl(conn->bev)) != NULL) {
		/* close_notify, best effort: the socket is non-blocking. */
		SSL_shutdown(ssl);
	}
	bufferevent_free(conn->bev);
	event_free(conn->timer);
	front_conn_closed(conn->client);
	free(conn);
}

static struct front_req *
conn_req_new(struct front_conn *conn)
{
	struct front_req	*req;
	struct timespec		 ts;
	uint8_t			 rnd[8];

	req = xcalloc(1, sizeof(*req));
	req->conn = conn;
	TAILQ_INIT(&req->pending);
	arc4random_buf(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++) {
		req->id[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
		req->id[2 * i + 1] = "0123456789abcdef"[rnd[i] & 0xf];
	}
	req->id[2 * sizeof(rnd)] = '\0';
	strlcpy(req->client, conn->client, sizeof(req->client));
	req->start_ms = now_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	req->start_wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	conn->scanned = 0;
	return req;
}

static void
conn_req_free(struct front_conn *conn)
{
	struct front_req	*req = conn->req;

	if (req == NULL)
		return;
	front_pending_cancel(req);
	if (req->hstate_free != NULL)
		req->hstate_free(req->hstate);
	free(req->head);
	freezero(req->body, req->bodylen);
	free(req);
	conn->req = NULL;
}

/* An error before a handler ran: answer it and close. */
static void
conn_fail(struct front_conn *conn, int status, const char *code,
    const char *message)
{
	if (conn->req == NULL)
		conn->req = conn_req_new(conn);
	conn->close = 1;
	front_error(conn->req, status, code, message);
}

static void
conn_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct front_conn	*conn = arg;

	switch (conn->state) {
	case CONN_HEAD:
		if (conn->req != NULL) {
			conn_fail(conn, 408, "request_timeout",
			    "the request head took too long");
			return;
		}
		log_debug("%s: %s: no request in time", __func__, conn->client);
		break;
	case CONN_BODY:
		conn_fail(conn, 408, "request_timeout",
		    "the request body took too long");
		return;
	case CONN_WRITE:
		log_debug("%s: %s does not read its response", __func__,
		    conn->client);
		break;
	default:
		break;
	}
	conn_free(conn);
}

/* Hand the complete request to the router; read nothing meanwhile. */
static void
conn_dispatch(struct front_conn *conn)
{
	conn->state = CONN_BUSY;
	evtimer_del(conn->timer);
	if (!conn->req->http.keepalive)
		conn->close = 1;
	front_route(conn->req);
	/* A handler must answer now or wait for an ask; else it is a bug. */
	if (conn->state == CONN_BUSY && conn->req->npending == 0) {
		log_warnx("%s: handler for request %s neither answered nor "
		    "waits", __func__, conn->req->id);
		front_error(conn->req, 500, "internal_error",
		    "the request could not be handled");
	}
}

static void
conn_read_body(struct front_conn *conn)
{
	struct evbuffer		*in = bufferevent_get_input(conn->bev);
	struct front_req	*req = conn->req;
	int			 n;

	n = evbuffer_remove(in, req->body + req->bodygot,
	    req->bodylen - req->bodygot);
	if (n > 0)
		req->bodygot += (size_t)n;
	if (req->bodygot == req->bodylen)
		conn_dispatch(conn);
}

/* The head is complete in p[0..req->http.head_len): keep a copy. */
static void
conn_head_done(struct front_conn *conn, const char *p)
{
	struct front_req	*req = conn->req;
	struct evbuffer		*in = bufferevent_get_input(conn->bev);
	size_t			 n = req->http.head_len;

	req->head = xcalloc(1, n);
	memcpy(req->head, p, n);
	req->headlen = n;
	evbuffer_drain(in, n);
	/* Same bytes, same answer; now the slices point into our copy. */
	if (http_parse_head(req->head, n, n, &req->http) != HTTP_PARSE_OK)
		fatalx("%s: head parses differently the second time", __func__);
	req->parsed = 1;
	if (req->http.content_length > conn->lim.max_body_size) {
		conn_fail(conn, 413, "payload_too_large",
		    "the request body is too large");
		return;
	}
	if (req->http.content_length == 0) {
		conn_dispatch(conn);
		return;
	}
	req->bodylen = (size_t)req->http.content_length;
	req->body = xcalloc(1, req->bodylen);
	conn->state = CONN_BODY;
	conn_arm(conn, conn->lim.body_timeout);
	if (req->http.expect_continue)
		bufferevent_write(conn->bev, "HTTP/1.1 100 Continue\r\n\r\n",
		    25);
	conn_read_body(conn);
}

static void
conn_read_head(struct front_conn *conn)
{
	struct evbuffer		*in = bufferevent_get_input(conn->bev);
	struct front_req	*req;
	enum http_parse_result	 r;
	size_t			 len = evbuffer_get_length(in), max;
	const char		*p;

	if (len == 0)
		return;
	if (conn->req == NULL)
		conn->req = conn_req_new(conn);
	req = conn->req;
	max = (size_t)conn->lim.max_header_size;
	if (len > max)
		len = max;
	if ((p = (const char *)evbuffer_pullup(in, (ssize_t)len)) == NULL)
		fatalx("%s: evbuffer_pullup", __func__);
	/*
	 * Parse again only once a new line is complete (or the limit is
	 * reached): a head takes at most HTTP_MAX_HEADERS + 2 parses, however
	 * the client slices it.
	 */
	if (len < max && memchr(p + conn->scanned, '\n',
	    len - conn->scanned) == NULL) {
		conn->scanned = len;
		return;
	}
	conn->scanned = len;
	r = http_parse_head(p, len, max, &req->http);
	if (r == HTTP_PARSE_INCOMPLETE)
		return;
	if (r != HTTP_PARSE_OK) {
		conn_fail(conn, http_parse_status(r), http_parse_code(r),
		    http_parse_message(r));
		return;
	}
	conn_head_done(conn, p);
}

/*
 * Bytes the client sent may sit decrypted inside OpenSSL: a TLS record
 * holds up to 16 KB, and libevent reads only up to our high watermark
 * from it.  When reading resumes (we drained the input), libevent only
 * waits for the socket, which may never become readable again if the
 * client sent everything at once (pipelined requests): the rest of the
 * record would wait there until the head deadline.  Run libevent's read
 * event ourselves; it reads nothing while the input is still full.
 */
static void
conn_read_pending(struct front_conn *conn)
{
	SSL	*ssl;

	if (conn->handshaken &&
	    (ssl = bufferevent_openssl_get_ssl(conn->bev)) != NULL &&
	    SSL_pending(ssl) > 0)
		event_active(&conn->bev->ev_read, EV_READ, 1);
}

static void
conn_process_input(struct front_conn *conn, struct evbuffer *in)
{
	switch (conn->state) {
	case CONN_IDLE:
		if (evbuffer_get_length(in) == 0)
			return;
		/* First byte of the next request: its head deadline starts. */
		conn->state = CONN_HEAD;
		conn_arm(conn, conn->lim.header_timeout);
		/* FALLTHROUGH */
	case CONN_HEAD:
		conn_read_head(conn);
		break;
	case CONN_BODY:
		conn_read_body(conn);
		break;
	case CONN_LINGER:
		evbuffer_drain(in, evbuffer_get_length(in));
		break;
	default:
		/* BUSY or WRITE: the next request waits its turn. */
		break;
	}
}

static void
conn_process(struct front_conn *conn)
{
	struct evbuffer	*in = bufferevent_get_input(conn->bev);

	conn_process_input(conn, in);
	if (conn->state != CONN_BUSY && conn->state != CONN_WRITE)
		conn_read_pending(conn);
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	conn_process(arg);
}

/* The output buffer is empty: the response is on its way. */
static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct front_conn	*conn = arg;

	if (conn->state != CONN_WRITE)
		return;		/* a 100 Continue went out */
	conn_req_free(conn);
	if (conn->close) {
		conn->state = CONN_LINGER;
		conn_arm(conn, CONN_LINGER_SECS);
		if (conn->handshaken)
			SSL_shutdown(bufferevent_openssl_get_ssl(bev));
		conn->handshaken = 0;
		conn_process(conn);
		return;
	}
	conn->state = CONN_IDLE;
	conn_arm(conn, conn->lim.idle_timeout);
	conn_process(conn);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct front_conn	*conn = arg;
	unsigned long		 e;
	char			 buf[128];

	if (what & BEV_EVENT_CONNECTED) {
		conn->handshaken = 1;
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		while ((e = bufferevent_get_openssl_error(bev)) != 0) {
			ERR_error_string_n(e, buf, sizeof(buf));
			log_debug("%s: %s: %s", __func__, conn->client, buf);
		}
	}
	conn_free(conn);
}

void
front_conn_accept(int fd, const char *client)
{
	struct front_conn	*conn;
	const struct ballast_conf *cf = &front->c->conf;
	SSL			*ssl;
	int			 one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn = xcalloc(1, sizeof(*conn));
	strlcpy(conn->client, client, sizeof(conn->client));
	conn->lim.max_header_size = cf->max_header_size;
	conn->lim.max_body_size = cf->max_body_size;
	conn->lim.header_timeout = cf->header_timeout;
	conn->lim.body_timeout = cf->body_timeout;
	conn->lim.idle_timeout = cf->idle_timeout;
	conn->lim.ipc_timeout = cf->ipc_timeout;
	conn->state = CONN_HEAD;
	if ((ssl = SSL_new(front->ssl_ctx)) == NULL)
		fatalx("%s: SSL_new", __func__);
	conn->bev = bufferevent_openssl_socket_new(front->c->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (conn->bev == NULL)
		fatalx("%s: bufferevent_openssl_socket_new", __func__);
	if ((conn->timer = evtimer_new(front->c->base, conn_timeout, conn)) ==
	    NULL)
		fatalx("%s: evtimer_new", __func__);
	/* Never buffer much more than a head: pipelining cannot flood us. */
	bufferevent_setwatermark(conn->bev, EV_READ, 0,
	    (size_t)conn->lim.max_header_size);
	bufferevent_setcb(conn->bev, conn_readcb, conn_writecb, conn_eventcb,
	    conn);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
	conn_arm(conn, conn->lim.header_timeout);
}

/*
 * Most responses are small and the socket has room: they are written at
 * once with one SSL_write, in this loop turn.  bufferevent_openssl would
 * queue them, arm EPOLLOUT, write on the next turn and disarm it: two
 * epoll_ctl calls and a turn of latency per request.  The write callback
 * still runs (deferred, this turn), so the connection moves on as usual.
 * Libevent writes at most this much with one SSL_write, which matters for
 * the retry below.
 */
#define CONN_WRITE_NOW_MAX	16384

/*
 * Write resp (the whole response) now if nothing is queued before it.
 * Returns 0 if resp was taken care of: written, or handed to the
 * bufferevent after SSL_write would block or failed.  OpenSSL wants a
 * blocked write retried with the same bytes: they go to the output buffer
 * as one piece of the same length, which is what libevent's own
 * SSL_write will be given.  A failure is left for libevent to meet again
 * and report through the event callback, as for any write.
 */
static int
conn_write_now(struct front_conn *conn, struct evbuffer *resp)
{
	struct evbuffer	*out = bufferevent_get_output(conn->bev);
	size_t		 len = evbuffer_get_length(resp);
	unsigned char	*p;
	SSL		*ssl;
	int		 r;

	if (!conn->handshaken || len == 0 || len > CONN_WRITE_NOW_MAX ||
	    evbuffer_get_length(out) != 0 ||
	    (ssl = bufferevent_openssl_get_ssl(conn->bev)) == NULL ||
	    (p = evbuffer_pullup(resp, -1)) == NULL)
		return -1;
	ERR_clear_error();
	r = SSL_write(ssl, p, (int)len);
	/* libevent reads the thread's error queue: leave it empty */
	ERR_clear_error();
	if (r == (int)len) {
		evbuffer_drain(resp, len);
		bufferevent_trigger(conn->bev, EV_WRITE,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
		return 0;
	}
	evbuffer_add_buffer(out, resp);
	return 0;
}

/* Serialise status line, headers and body, and send them. */
void
front_conn_respond(struct front_req *req, int status, const char *hdrs,
    const char *body, size_t bodylen)
{
	static struct evbuffer	*resp;
	struct front_conn	*conn = req->conn;
	char			 date[64];
	const char		*ctype = "";
	size_t			 sendlen = bodylen;

	if (conn == NULL || conn->req != req || conn->state == CONN_WRITE)
		fatalx("%s: response for a request not being served",
		    __func__);
	if (resp == NULL && (resp = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new", __func__);
	/* nothing of an earlier response that failed to move on */
	evbuffer_drain(resp, evbuffer_get_length(resp));
	if (req->parsed && req->http.method == HTTP_HEAD)
		sendlen = 0;
	req->resp_bytes = sendlen;
	req->status = status;
	evtimer_del(conn->timer);
	conn->state = CONN_WRITE;
	conn_arm(conn, conn->lim.idle_timeout);
	front_access_log(req);
	front_date(date, sizeof(date));
	/* JSON unless the handler names its type first (the console's files). */
	if (hdrs == NULL || strncasecmp(hdrs, "Content-Type:", 13) != 0)
		ctype = "Content-Type: application/json\r\n";
	evbuffer_add_printf(resp, "HTTP/1.1 %d %s\r\n"
	    "Date: %s\r\n"
	    "%s"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Strict-Transport-Security: max-age=31536000\r\n"
	    "X-Request-Id: %s\r\n"
	    "%s%s\r\n",
	    status, http_status_text(status), date, ctype, bodylen, req->id,
	    hdrs != NULL ? hdrs : "", conn->close ? "Connection: close\r\n" :
	    "");
	evbuffer_add(resp, body, sendlen);
	/* Last: once the bytes are queued, the write callback may free req. */
	if (conn_write_now(conn, resp) == -1)
		evbuffer_add_buffer(bufferevent_get_output(conn->bev), resp);
}

/* The deadline for a handler's asks. */
unsigned
front_req_ipc_timeout(const struct front_req *req)
{
	if (req->conn == NULL)
		return 1;
	return (unsigned)req->conn->lim.ipc_timeout;
}

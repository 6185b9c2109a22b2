/*
 * GET /metrics in the Prometheus text format (version 0.0.4) on its own
 * listener, plain HTTP, meant for loopback: the scraper is a local agent
 * and the numbers carry no secret, but nothing of the API is served here
 * and nothing of this is served on the API's port.
 *
 * One request per connection, answered with Connection: close.  The head
 * is read with the API's parser (http.c), at most METRICS_MAX_HEAD bytes
 * within METRICS_TIMEOUT seconds; anything that is not a clean HTTP/1.x
 * head (a TLS ClientHello, say) gets its 4xx/5xx and the connection ends.
 *
 * Series are keyed by the route pattern, never the raw path, so their
 * number is bounded by the route table times the methods and statuses we
 * send; METRICS_MAX_SERIES caps it anyway (excess is dropped, logged once).
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ballastd/front.h"
#include "ballastd/front_metrics.h"
#include "common/log.h"
#include "common/util.h"

#define METRICS_MAX_HEAD	8192
#define METRICS_TIMEOUT		5	/* seconds to send the head */
#define METRICS_PEER_WAIT	2	/* seconds the parent and indexd may take */
#define METRICS_MAX_CONNS	16
#define METRICS_MAX_SERIES	1024
#define METRICS_NO_ROUTE	"none"	/* 400s, 404s: nothing matched */

/* Seconds; the last bucket is +Inf. */
static const double	 buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10
};
#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

struct histogram {
	uint64_t	 le[NBUCKETS];	/* not cumulative: one bucket each */
	uint64_t	 count;
	double		 sum;
};

struct req_series {
	const char	*route;		/* a route pattern: static storage */
	const char	*method;	/* http_method_name(): static */
	int		 status;
	uint64_t	 n;
};

struct dur_series {
	const char		*route;
	struct histogram	 h;
};

/* The peers asked for their lines, in the order their text is served. */
static const enum proc_id	 metrics_peers[] = {
	PROC_PARENT, PROC_AUTHD, PROC_INDEXD
};
#define NPEERS	nitems(metrics_peers)

struct metrics_conn {
	TAILQ_ENTRY(metrics_conn)	 entry;
	struct bufferevent		*bev;
	struct event			*wait;	/* for the peers' lines */
	uint64_t			 ask[NPEERS];	/* REQ ids; 0: none out */
	char				*text[NPEERS];	/* their answers */
};

static struct req_series	*reqs;
static size_t			 nreqs;
static struct dur_series	*durs;
static size_t			 ndurs;
static struct histogram		 rtt[PROC_MAX];
static int			 series_full_warned;
static TAILQ_HEAD(, metrics_conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static size_t			 nconns;

uint64_t
front_metrics_now_us(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
hist_observe(struct histogram *h, double v)
{
	size_t	 i;

	for (i = 0; i < NBUCKETS; i++)
		if (v <= buckets[i]) {
			h->le[i]++;
			break;
		}
	h->count++;
	h->sum += v;
}

static int
series_room(size_t n)
{
	if (n < METRICS_MAX_SERIES)
		return 1;
	if (!series_full_warned) {
		log_warnx("%s: %d series, dropping new ones", __func__,
		    METRICS_MAX_SERIES);
		series_full_warned = 1;
	}
	return 0;
}

void
front_metrics_request(const struct front_req *req)
{
	const char	*route = METRICS_NO_ROUTE, *method = "none";
	size_t		 i;

	if (req->route != NULL)
		route = req->route->pattern;
	if (req->parsed)
		method = http_method_name(req->http.method);
	for (i = 0; i < nreqs; i++)
		if (reqs[i].status == req->status &&
		    strcmp(reqs[i].route, route) == 0 &&
		    strcmp(reqs[i].method, method) == 0)
			break;
	if (i == nreqs && series_room(nreqs)) {
		reqs = xreallocarray(reqs, nreqs + 1, sizeof(*reqs));
		reqs[nreqs].route = route;
		reqs[nreqs].method = method;
		reqs[nreqs].status = req->status;
		reqs[nreqs++].n = 0;
	}
	if (i < nreqs)
		reqs[i].n++;

	for (i = 0; i < ndurs; i++)
		if (strcmp(durs[i].route, route) == 0)
			break;
	if (i == ndurs && series_room(ndurs)) {
		durs = xreallocarray(durs, ndurs + 1, sizeof(*durs));
		memset(&durs[ndurs], 0, sizeof(durs[ndurs]));
		durs[ndurs++].route = route;
	}
	if (i < ndurs)
		hist_observe(&durs[i].h,
		    (double)(now_ms() - req->start_ms) / 1000.0);
}

void
front_metrics_ipc(enum proc_id peer, uint64_t usec)
{
	if (peer > PROC_PARENT && peer < PROC_MAX)
		hist_observe(&rtt[peer], (double)usec / 1e6);
}

/* A label value; patterns and names never need it, but be exact. */
static void
put_label(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void
put_help(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* name_bucket{label="value",le=...}, name_sum, name_count. */
static void
put_hist(struct evbuffer *b, const char *name, const char *label,
    const char *value, const struct histogram *h)
{
	uint64_t	 cum = 0;

	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += h->le[i];
		evbuffer_add_printf(b, "%s_bucket{%s=\"", name, label);
		put_label(b, value);
		evbuffer_add_printf(b, "\",le=\"%g\"} %llu\n", buckets[i],
		    (unsigned long long)cum);
	}
	evbuffer_add_printf(b, "%s_bucket{%s=\"", name, label);
	put_label(b, value);
	evbuffer_add_printf(b, "\",le=\"+Inf\"} %llu\n",
	    (unsigned long long)h->count);
	evbuffer_add_printf(b, "%s_sum{%s=\"", name, label);
	put_label(b, value);
	evbuffer_add_printf(b, "\"} %.6f\n", h->sum);
	evbuffer_add_printf(b, "%s_count{%s=\"", name, label);
	put_label(b, value);
	evbuffer_add_printf(b, "\"} %llu\n", (unsigned long long)h->count);
}

static void
metrics_text(struct evbuffer *b)
{
	static const enum proc_id peers[] = {
		PROC_KEYD, PROC_AUTHD, PROC_INDEXD
	};

	put_help(b, "ballast_http_requests_total", "counter",
	    "HTTP requests answered, by route pattern, method and status.");
	for (size_t i = 0; i < nreqs; i++) {
		evbuffer_add_printf(b, "ballast_http_requests_total{route=\"");
		put_label(b, reqs[i].route);
		evbuffer_add_printf(b, "\",method=\"%s\",status=\"%d\"} %llu\n",
		    reqs[i].method, reqs[i].status,
		    (unsigned long long)reqs[i].n);
	}
	put_help(b, "ballast_http_request_duration_seconds", "histogram",
	    "Time from a request's first byte to its queued response.");
	for (size_t i = 0; i < ndurs; i++)
		put_hist(b, "ballast_http_request_duration_seconds", "route",
		    durs[i].route, &durs[i].h);
	put_help(b, "ballast_ipc_round_trip_seconds", "histogram",
	    "Time from the front's ask to a peer's reply.");
	for (size_t i = 0; i < nitems(peers); i++)
		put_hist(b, "ballast_ipc_round_trip_seconds", "peer",
		    proc_name(peers[i]), &rtt[peers[i]]);
	put_help(b, "ballast_ipc_protocol_violations_total", "counter",
	    "IPC messages the front refused as malformed or not allowed.");
	evbuffer_add_printf(b, "ballast_ipc_protocol_violations_total"
	    "{process=\"front\"} %llu\n",
	    (unsigned long long)ipc_violations());
	put_help(b, "ballast_connections_open", "gauge",
	    "Client connections open on the API listener.");
	evbuffer_add_printf(b, "ballast_connections_open %llu\n",
	    (unsigned long long)front->nconns);
}

static void
mconn_free(struct metrics_conn *mc)
{
	TAILQ_REMOVE(&conns, mc, entry);
	nconns--;
	if (mc->wait != NULL)
		event_free(mc->wait);
	for (size_t i = 0; i < NPEERS; i++)
		free(mc->text[i]);
	bufferevent_free(mc->bev);
	free(mc);
}

static void
mconn_written(struct bufferevent *bev, void *arg)
{
	struct metrics_conn	*mc = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		mconn_free(mc);
}

static void
mconn_event(struct bufferevent *bev, short what, void *arg)
{
	mconn_free(arg);
}

static void
mconn_respond(struct metrics_conn *mc, int status, struct evbuffer *body)
{
	struct evbuffer	*out = bufferevent_get_output(mc->bev);
	size_t		 len = body != NULL ? evbuffer_get_length(body) : 0;

	memset(mc->ask, 0, sizeof(mc->ask));
	if (mc->wait != NULL)
		evtimer_del(mc->wait);
	bufferevent_disable(mc->bev, EV_READ);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n", status, http_status_text(status),
	    status == 200 ? "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8", len);
	if (body != NULL)
		evbuffer_add_buffer(out, body);
	bufferevent_setcb(mc->bev, NULL, mconn_written, mconn_event, mc);
	bufferevent_enable(mc->bev, EV_WRITE);
}

/*
 * The front's lines, then each peer's that answered.  A peer that did
 * not (down, or too slow) adds nothing: ballast_child_up, from the
 * parent, says which are down.  Each family comes from one process, so
 * the merged text has every HELP and TYPE once.
 */
static void
mconn_finish(struct metrics_conn *mc)
{
	struct evbuffer	*body;

	if ((body = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new", __func__);
	metrics_text(body);
	for (size_t i = 0; i < NPEERS; i++)
		if (mc->text[i] != NULL)
			evbuffer_add(body, mc->text[i], strlen(mc->text[i]));
	mconn_respond(mc, 200, body);
	evbuffer_free(body);
}

static void
mconn_late(evutil_socket_t fd, short ev, void *arg)
{
	struct metrics_conn	*mc = arg;

	for (size_t i = 0; i < NPEERS; i++)
		if (mc->ask[i] != 0)
			log_warnx("%s: %s did not answer; serving /metrics "
			    "without its lines", __func__,
			    proc_name(metrics_peers[i]));
	mconn_finish(mc);
}

/* A peer's IMSG_METRICS_REP: keep its text; answer once all are in. */
static void
mconn_reply(enum proc_id peer, struct ipc_msg *msg)
{
	struct metrics_conn	*mc;
	const struct imsg_metrics *m = msg->body;
	size_t			 i, out;

	for (i = 0; i < NPEERS; i++)
		if (metrics_peers[i] == peer)
			break;
	if (i == NPEERS)
		return;
	TAILQ_FOREACH(mc, &conns, entry)
		if (mc->ask[i] != 0 && mc->ask[i] == msg->id)
			break;
	if (mc == NULL)
		return;	/* the scraper left, or the peer was too late */
	mc->ask[i] = 0;
	mc->text[i] = xstrdup(m->text);
	for (out = 0, i = 0; i < NPEERS; i++)
		out += mc->ask[i] != 0;
	if (out == 0)
		mconn_finish(mc);
}

void
front_metrics_parent(struct child *c, struct ipc_chan *chan,
    struct ipc_msg *msg)
{
	if (msg->type != IMSG_METRICS_REP) {
		log_warnx("%s: unexpected %s from the parent", __func__,
		    ipc_type_name(msg->type));
		return;
	}
	mconn_reply(PROC_PARENT, msg);
}

/* authd's and indexd's channels: metrics answers here, the rest as usual. */
void
front_metrics_peer(struct child *c, struct ipc_chan *chan,
    struct ipc_msg *msg)
{
	if (msg->type == IMSG_METRICS_REP)
		mconn_reply(ipc_chan_peer(chan), msg);
	else
		front_pending_dispatch(c, chan, msg);
}

static int
mconn_ask(struct metrics_conn *mc, size_t i)
{
	struct imsg_empty	 e = { 0 };
	enum proc_id		 peer = metrics_peers[i];
	uint64_t		 id = ipc_next_id();
	int			 rv;

	if (peer == PROC_PARENT)
		rv = front->c->parent == NULL ? -1 :
		    ipc_send(front->c->parent, IMSG_METRICS_REQ, id, &e, -1);
	else
		rv = child_send(front->c, peer, IMSG_METRICS_REQ, id, &e, -1);
	mc->ask[i] = rv == 0 ? id : 0;
	return rv == 0;
}

static void
mconn_request(struct metrics_conn *mc, const struct http_request *http)
{
	struct timeval		 tv = { METRICS_PEER_WAIT, 0 };
	size_t			 asked = 0;

	if (http->method != HTTP_GET || http->path.len != 8 ||
	    memcmp(http->path.p, "/metrics", 8) != 0) {
		mconn_respond(mc, 404, NULL);
		return;
	}
	bufferevent_disable(mc->bev, EV_READ);
	for (size_t i = 0; i < NPEERS; i++)
		asked += mconn_ask(mc, i);
	if (asked == 0) {
		mconn_finish(mc);
		return;
	}
	if ((mc->wait = evtimer_new(front->c->base, mconn_late, mc)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evtimer_add(mc->wait, &tv);
}

static void
mconn_read(struct bufferevent *bev, void *arg)
{
	struct metrics_conn	*mc = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct http_request	 http;
	enum http_parse_result	 r;
	size_t			 len = evbuffer_get_length(in);
	const char		*buf;

	if (len > METRICS_MAX_HEAD)
		len = METRICS_MAX_HEAD;
	if ((buf = (const char *)evbuffer_pullup(in, (ssize_t)len)) == NULL)
		fatalx("%s: evbuffer_pullup", __func__);
	r = http_parse_head(buf, len, METRICS_MAX_HEAD, &http);
	if (r == HTTP_PARSE_INCOMPLETE) {
		if (len >= METRICS_MAX_HEAD)
			mconn_respond(mc, 431, NULL);
		return;
	}
	if (r != HTTP_PARSE_OK) {
		mconn_respond(mc, http_parse_status(r), NULL);
		return;
	}
	mconn_request(mc, &http);
}

static void
metrics_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct metrics_conn	*mc;
	struct timeval		 tv = { METRICS_TIMEOUT, 0 };

	if (nconns >= METRICS_MAX_CONNS) {
		evutil_closesocket(fd);
		return;
	}
	mc = xcalloc(1, sizeof(*mc));
	if ((mc->bev = bufferevent_socket_new(front->c->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("%s: bufferevent_socket_new", __func__);
		evutil_closesocket(fd);
		free(mc);
		return;
	}
	TAILQ_INSERT_TAIL(&conns, mc, entry);
	nconns++;
	bufferevent_setcb(mc->bev, mconn_read, NULL, mconn_event, mc);
	bufferevent_set_timeouts(mc->bev, &tv, &tv);
	bufferevent_enable(mc->bev, EV_READ);
}

static struct evconnlistener	*metrics_lev;
static struct event		*metrics_resume_ev;

static void
metrics_resume(evutil_socket_t fd, short ev, void *arg)
{
	evconnlistener_enable(metrics_lev);
}

/* Out of descriptors, say: pause a second rather than spin. */
static void
metrics_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval	 tv = { 1, 0 };
	int		 e = EVUTIL_SOCKET_ERROR();

	if (e == ECONNABORTED || e == EINTR)
		return;
	log_warnx("%s: accept: %s; pausing", __func__, strerror(e));
	evconnlistener_disable(lev);
	evtimer_add(metrics_resume_ev, &tv);
}

void
front_metrics_start(struct child *c)
{
	struct evconnlistener	*lev;

	if (c->fd_metrics_listen == -1)
		return;
	if (fd_nonblock(c->fd_metrics_listen) == -1)
		fatal("%s: fd_nonblock", __func__);
	lev = evconnlistener_new(c->base, metrics_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
	    c->fd_metrics_listen);
	if (lev == NULL)
		fatalx("%s: evconnlistener_new", __func__);
	c->fd_metrics_listen = -1;	/* the listener owns it */
	metrics_lev = lev;
	if ((metrics_resume_ev = evtimer_new(c->base, metrics_resume,
	    NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evconnlistener_set_error_cb(lev, metrics_accept_error);
	log_info("front: serving /metrics");
}

/*
 * Requests waiting for a peer.  Every ask is one entry, found three ways:
 * by request id (the reply echoes it: a hash of ids), by peer (a peer
 * going down fails all of its asks) and by HTTP request (an answered or
 * abandoned request cancels all of its asks).  Each entry has its own
 * timer.  An entry is removed before its callback runs, so a callback may
 * ask again, respond, or cancel freely; a reply that finds no entry (late,
 * or for a client that left) is ignored.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "ballastd/front.h"
#include "ballastd/front_metrics.h"
#include "common/log.h"
#include "common/util.h"

struct front_pending {
	LIST_ENTRY(front_pending)	 byid;
	TAILQ_ENTRY(front_pending)	 bypeer;
	TAILQ_ENTRY(front_pending)	 byreq;
	uint64_t			 id;
	enum proc_id			 peer;
	struct front_req		*req;
	front_reply_cb			 cb;
	void				*arg;
	struct event			*timer;
	uint64_t			 sent_us;	/* for the metrics */
};

#define PENDING_BUCKETS	1024	/* ids are sequential: id % n spreads */

LIST_HEAD(pending_bucket, front_pending);
TAILQ_HEAD(pending_list, front_pending);

static struct pending_bucket	 pending_ids[PENDING_BUCKETS];
static struct pending_list	 pending_peers[PROC_MAX];
static int			 pending_init;

static struct pending_bucket *
pending_bucket(uint64_t id)
{
	return &pending_ids[id % PENDING_BUCKETS];
}

static struct front_pending *
pending_find(uint64_t id)
{
	struct front_pending	*p;

	LIST_FOREACH(p, pending_bucket(id), byid)
		if (p->id == id)
			return p;
	return NULL;
}

/* Unlink from every index and free; the request keeps living. */
static void
pending_remove(struct front_pending *p)
{
	LIST_REMOVE(p, byid);
	TAILQ_REMOVE(&pending_peers[p->peer], p, bypeer);
	TAILQ_REMOVE(&p->req->pending, p, byreq);
	p->req->npending--;
	event_free(p->timer);
	free(p);
}

/* Remove, then tell the request's owner. */
static void
pending_finish(struct front_pending *p, enum front_reply what,
    struct ipc_msg *msg)
{
	struct front_req	*req = p->req;
	enum proc_id		 peer = p->peer;
	front_reply_cb		 cb = p->cb;
	void			*arg = p->arg;

	pending_remove(p);
	cb(req, peer, what, msg, arg);
	/* Responses are written from the event loop: req is still here. */
	if (!req->responded && req->npending == 0) {
		log_warnx("%s: request %s was left without an answer",
		    __func__, req->id);
		front_error(req, 500, "internal_error",
		    "the request could not be handled");
	}
}

static void
pending_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct front_pending	*p = arg;

	log_debug("%s: %s did not answer request %llu in time", __func__,
	    proc_name(p->peer), (unsigned long long)p->id);
	pending_finish(p, FRONT_TIMEOUT, NULL);
}

int
front_ask(struct front_req *req, enum proc_id peer, enum ipc_type type,
    const void *body, int fd, unsigned timeout, front_reply_cb cb, void *arg)
{
	struct front_pending	*p;
	struct timeval		 tv;

	if (!pending_init) {
		for (size_t i = 0; i < PROC_MAX; i++)
			TAILQ_INIT(&pending_peers[i]);
		for (size_t i = 0; i < PENDING_BUCKETS; i++)
			LIST_INIT(&pending_ids[i]);
		pending_init = 1;
	}
	if (peer <= PROC_PARENT || peer >= PROC_MAX)
		fatalx("%s: bad peer %d", __func__, peer);
	p = xcalloc(1, sizeof(*p));
	p->id = ipc_next_id();
	if (child_send(front->c, peer, type, p->id, body, fd) == -1) {
		free(p);
		return -1;
	}
	p->sent_us = front_metrics_now_us();
	p->peer = peer;
	p->req = req;
	p->cb = cb;
	p->arg = arg;
	if ((p->timer = evtimer_new(front->c->base, pending_timeout, p)) ==
	    NULL)
		fatalx("%s: evtimer_new", __func__);
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	evtimer_add(p->timer, &tv);
	if (pending_find(p->id) != NULL)
		fatalx("%s: request id %llu reused", __func__,
		    (unsigned long long)p->id);
	LIST_INSERT_HEAD(pending_bucket(p->id), p, byid);
	TAILQ_INSERT_TAIL(&pending_peers[peer], p, bypeer);
	TAILQ_INSERT_TAIL(&req->pending, p, byreq);
	req->npending++;
	return 0;
}

void
front_pending_cancel(struct front_req *req)
{
	struct front_pending	*p;

	while ((p = TAILQ_FIRST(&req->pending)) != NULL)
		pending_remove(p);
}

void
front_pending_peer_down(enum proc_id peer)
{
	struct front_pending	*p;

	if (!pending_init || peer >= PROC_MAX)
		return;
	/* FIRST again each time: a callback may remove other entries. */
	while ((p = TAILQ_FIRST(&pending_peers[peer])) != NULL)
		pending_finish(p, FRONT_DOWN, NULL);
}

void
front_pending_dispatch(struct child *c, struct ipc_chan *chan,
    struct ipc_msg *msg)
{
	struct front_pending	*p = NULL;
	enum proc_id		 peer = ipc_chan_peer(chan);

	if (pending_init)
		p = pending_find(msg->id);
	if (p == NULL || p->peer != peer) {
		/* Late (timed out), or for a client that left. */
		log_debug("%s: %s %llu from %s matches no request", __func__,
		    ipc_type_name(msg->type), (unsigned long long)msg->id,
		    proc_name(peer));
		return;
	}
	front_metrics_ipc(peer, front_metrics_now_us() - p->sent_us);
	pending_finish(p, FRONT_REPLY, msg);
}

void
front_reply_failed(struct front_req *req, enum proc_id peer,
    enum front_reply what)
{
	if (what == FRONT_TIMEOUT)
		front_error(req, 504, "gateway_timeout",
		    "an internal service did not answer in time");
	else
		front_error(req, 503, "unavailable",
		    "an internal service is unavailable; try again later");
}

/*
 * The life of a child process; see child.h for the sequence.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/child.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"

static void	child_parent_dispatch(struct ipc_chan *, struct ipc_msg *, void *);
static void	child_parent_error(struct ipc_chan *, const char *, void *);
static void	child_peer_dispatch(struct ipc_chan *, struct ipc_msg *, void *);
static void	child_peer_error(struct ipc_chan *, const char *, void *);

static void
child_usage(const char *name)
{
	log_warnx("usage: %s [-dv]", name);
	exit(2);
}

static void
child_take_fd(struct child *c, struct ipc_msg *msg)
{
	const struct imsg_fd	*f = msg->body;
	int			*slot = NULL;

	if (strcmp(f->what, "keyring") == 0)
		slot = &c->fd_keyring;
	else if (strcmp(f->what, "tls-cert") == 0)
		slot = &c->fd_tls_cert;
	else if (strcmp(f->what, "tls-key") == 0)
		slot = &c->fd_tls_key;
	else if (strcmp(f->what, "tls-client-ca") == 0)
		slot = &c->fd_tls_client_ca;
	else if (strcmp(f->what, "listen") == 0)
		slot = &c->fd_listen;
	else if (strcmp(f->what, "metrics-listen") == 0)
		slot = &c->fd_metrics_listen;
	if (slot == NULL || *slot != -1)
		fatalx("%s: unexpected resource '%s' from parent", __func__,
		    f->what);
	*slot = msg->fd;
	msg->fd = -1;
}

static void
child_take_secret(struct child *c, struct ipc_msg *msg)
{
	const struct imsg_secret	*s = msg->body;

	if (strcmp(s->what, "decision-key") != 0 ||
	    s->data.len != sizeof(c->decision_key))
		fatalx("%s: unexpected secret from parent", __func__);
	memcpy(c->decision_key, s->data.data, sizeof(c->decision_key));
	c->has_decision_key = 1;
}

/* Read configuration and resources from the parent until IMSG_CONF_END. */
static void
child_read_boot(struct child *c)
{
	struct ipc_msg	 msg;
	char		 err[256];
	int		 have_conf = 0;

	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.fd = -1;
		if (ipc_recv_blocking(PROC_PARENT_FD, c->self, PROC_PARENT,
		    &msg) == -1)
			fatal("%s: reading start-up data from parent", __func__);
		switch (msg.type) {
		case IMSG_CONF:
			if (conf_parse_text("parent", ((struct imsg_conf *)
			    msg.body)->text, strlen(((struct imsg_conf *)
			    msg.body)->text), &c->conf, err, sizeof(err)) == -1)
				fatalx("%s: config from parent: %s", __func__,
				    err);
			have_conf = 1;
			break;
		case IMSG_FD:
			child_take_fd(c, &msg);
			break;
		case IMSG_SECRET:
			child_take_secret(c, &msg);
			break;
		case IMSG_CONF_END:
			ipc_msg_clear(&msg);
			if (!have_conf)
				fatalx("%s: parent sent no config", __func__);
			return;
		default:
			fatalx("%s: unexpected %s during start-up", __func__,
			    ipc_type_name(msg.type));
		}
		ipc_msg_clear(&msg);
	}
}

/*
 * Large blocks are mapped on their own and unmapped when freed.  glibc
 * otherwise raises its mmap threshold to the size of the largest block
 * freed so far, so that after one Argon2id check (19 MB, authd) every
 * later one comes from the heap and stays resident for good: authd idled
 * at 31 MB instead of 9 (issue 12).  Fixing the threshold turns that
 * adjustment off; the trim threshold keeps the heap's top from growing
 * past it unreturned.
 */
static void
child_malloc_tune(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 512 * 1024);
}

void
child_boot(struct child *c, enum proc_id self, int argc, char **argv)
{
	int	 ch, verbose = 0;

	memset(c, 0, sizeof(*c));
	c->self = self;
	child_malloc_tune();
	c->fd_keyring = c->fd_tls_cert = c->fd_tls_key = c->fd_listen = -1;
	c->fd_tls_client_ca = -1;
	c->fd_metrics_listen = -1;
	conf_defaults(&c->conf);

	optind = 1;
	while ((ch = getopt(argc, argv, "dvP:")) != -1) {
		switch (ch) {
		case 'd':
			c->foreground = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'P':
			break;
		default:
			child_usage(proc_name(self));
		}
	}
	log_init(c->foreground, LOG_LEVEL_INFO + verbose, proc_name(self));
	/* The parent shows the way; a signal from the terminal is for it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (fd_cloexec(PROC_PARENT_FD, 1) == -1)
		fatal("%s: fd %d is not the parent channel", __func__,
		    PROC_PARENT_FD);
	child_read_boot(c);
	if (verbose == 0)
		log_setlevel(c->conf.log_level);
	if ((c->base = event_base_new()) == NULL)
		fatalx("%s: event_base_new", __func__);
}

static void
child_answer_ping(struct child *c, struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct imsg_pong	 pong;

	memset(&pong, 0, sizeof(pong));
	pong.pid = (uint64_t)getpid();
	pong.state = (char *)(c->health != NULL ? c->health(c) : "ok");
	if (ipc_send(chan, IMSG_PONG, msg->id, &pong, -1) == -1)
		log_warnx("%s: cannot answer %s", __func__,
		    proc_name(ipc_chan_peer(chan)));
}

static void
child_set_peer(struct child *c, enum proc_id peer, int fd)
{
	if (c->peer[peer] != NULL) {
		ipc_chan_free(c->peer[peer]);
		c->peer[peer] = NULL;
		if (c->peer_change != NULL)
			c->peer_change(c, peer, 0);
	}
	if (fd_nonblock(fd) == -1)
		fatal("%s: fd_nonblock", __func__);
	c->peer[peer] = ipc_chan_new(c->base, fd, c->self, peer,
	    child_peer_dispatch, child_peer_error, c);
	if (c->peer[peer] == NULL)
		fatalx("%s: channel to %s", __func__, proc_name(peer));
	log_debug("%s: channel to %s up", __func__, proc_name(peer));
	if (c->peer_change != NULL)
		c->peer_change(c, peer, 1);
}

static void
child_reload(struct child *c, const char *text)
{
	struct ballast_conf	 next, old;
	char			 err[256];

	if (conf_parse_text("reload", text, strlen(text), &next, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: keeping the old configuration: %s", __func__,
		    err);
		return;
	}
	old = c->conf;
	c->conf = next;
	log_setlevel(next.log_level);
	if (c->reload != NULL)
		c->reload(c, &old);
	log_info("%s: configuration reloaded", __func__);
}

static void
child_parent_dispatch(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct child		*c = arg;
	struct imsg_channel	*ch;

	switch (msg->type) {
	case IMSG_CHANNEL:
		ch = msg->body;
		if (!proc_peers(c->self, (enum proc_id)ch->peer))
			fatalx("%s: parent offered a channel to %s",
			    __func__, proc_name((enum proc_id)ch->peer));
		child_set_peer(c, (enum proc_id)ch->peer, msg->fd);
		msg->fd = -1;
		break;
	case IMSG_RELOAD:
		child_reload(c, ((struct imsg_conf *)msg->body)->text);
		break;
	case IMSG_PING:
		child_answer_ping(c, chan, msg);
		break;
	case IMSG_FD:
		if (c->fd_received == NULL) {
			log_warnx("%s: unexpected resource '%s' from parent",
			    __func__, ((struct imsg_fd *)msg->body)->what);
			break;
		}
		c->fd_received(c, ((struct imsg_fd *)msg->body)->what,
		    msg->fd);
		msg->fd = -1;
		break;
	default:
		if (c->dispatch[PROC_PARENT] != NULL)
			c->dispatch[PROC_PARENT](c, chan, msg);
		else
			log_warnx("%s: unexpected %s from parent", __func__,
			    ipc_type_name(msg->type));
		break;
	}
}

static void
child_parent_error(struct ipc_chan *chan, const char *why, void *arg)
{
	/* Without a parent nobody supervises us: leave. */
	log_info("parent channel %s; exiting", why);
	exit(0);
}

static void
child_peer_dispatch(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct child	*c = arg;
	enum proc_id	 peer = ipc_chan_peer(chan);

	if (msg->type == IMSG_PING) {
		child_answer_ping(c, chan, msg);
		return;
	}
	if (c->dispatch[peer] == NULL) {
		log_warnx("%s: %s from %s not handled", __func__,
		    ipc_type_name(msg->type), proc_name(peer));
		return;
	}
	c->dispatch[peer](c, chan, msg);
}

static void
child_peer_error(struct ipc_chan *chan, const char *why, void *arg)
{
	struct child	*c = arg;
	enum proc_id	 peer = ipc_chan_peer(chan);

	log_info("channel to %s %s", proc_name(peer), why);
	if (c->peer[peer] == chan)
		c->peer[peer] = NULL;
	ipc_chan_free(chan);
	if (c->peer_change != NULL)
		c->peer_change(c, peer, 0);
}

int
child_send(struct child *c, enum proc_id peer, enum ipc_type type,
    uint64_t id, const void *body, int fd)
{
	if (peer >= PROC_MAX || c->peer[peer] == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return ipc_send(c->peer[peer], type, id, body, fd);
}

static void
child_sigterm(evutil_socket_t sig, short ev, void *arg)
{
	struct child	*c = arg;

	log_debug("%s: stopping", __func__);
	event_base_loopexit(c->base, NULL);
}

void
child_serve(struct child *c)
{
	struct imsg_ready	 ready;
	struct event		*ev_term;

	if (fd_nonblock(PROC_PARENT_FD) == -1)
		fatal("%s: fd_nonblock", __func__);
	c->parent = ipc_chan_new(c->base, PROC_PARENT_FD, c->self, PROC_PARENT,
	    child_parent_dispatch, child_parent_error, c);
	if (c->parent == NULL)
		fatalx("%s: parent channel", __func__);
	ev_term = evsignal_new(c->base, SIGTERM, child_sigterm, c);
	if (ev_term == NULL || evsignal_add(ev_term, NULL) == -1)
		fatalx("%s: signal event", __func__);

	memset(&ready, 0, sizeof(ready));
	ready.pid = (uint64_t)getpid();
	ready.uid = (uint64_t)getuid();
	ready.gid = (uint64_t)getgid();
	if (ipc_send(c->parent, IMSG_READY, 0, &ready, -1) == -1)
		fatalx("%s: cannot report ready", __func__);
	log_debug("%s: ready, uid %u", __func__, (unsigned)getuid());

	event_base_dispatch(c->base);
	exit(0);
}

/*
 * The control socket: ballastctl speaks the suite's IPC protocol to the
 * parent over a root-only Unix socket.  Only root (or the user running a
 * development suite) may connect; the socket's mode says so and the peer's
 * credentials are checked again on accept.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ballastd/parent.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"

#define CONTROL_MAX_CLIENTS	8

static struct ipc_chan	*clients[CONTROL_MAX_CLIENTS];

static void
control_drop(struct ipc_chan *chan)
{
	for (size_t i = 0; i < nitems(clients); i++)
		if (clients[i] == chan)
			clients[i] = NULL;
	parent_admin_forget(chan);
	ipc_chan_free(chan);
}

static void
control_result(struct ipc_chan *chan, uint64_t id, int ok, const char *m)
{
	struct imsg_ctl_result	 r = { .ok = ok, .message = (char *)m };

	(void)ipc_send(chan, IMSG_CTL_RESULT, id, &r, -1);
}

static const char *
control_state_name(enum child_state s)
{
	switch (s) {
	case CHILD_RUNNING:
		return "running";
	case CHILD_STARTING:
		return "starting";
	default:
		return "restarting";
	}
}

static void
control_status(struct parent *p, struct ipc_chan *chan, uint64_t id)
{
	static const enum proc_id order[] = {
		PROC_FRONT, PROC_KEYD, PROC_AUTHD, PROC_INDEXD
	};
	struct imsg_ctl_proc	 cp;
	time_t			 now = time(NULL);

	memset(&cp, 0, sizeof(cp));
	cp.name = "parent";
	cp.state = "running";
	cp.pid = (uint64_t)getpid();
	cp.uid = (uint64_t)geteuid();
	cp.uptime = (uint64_t)(now - p->started);
	(void)ipc_send(chan, IMSG_CTL_PROC, id, &cp, -1);
	for (size_t i = 0; i < nitems(order); i++) {
		const struct child_proc	*c = &p->child[order[i]];

		cp.name = (char *)proc_name(order[i]);
		cp.state = (char *)control_state_name(c->state);
		cp.pid = (uint64_t)(c->pid > 0 ? c->pid : 0);
		cp.uid = c->uid;
		cp.uptime = c->state == CHILD_RUNNING ?
		    (uint64_t)(now - c->started) : 0;
		cp.restarts = c->restarts;
		(void)ipc_send(chan, IMSG_CTL_PROC, id, &cp, -1);
	}
	control_result(chan, id, 1, "ok");
}

static void
control_dispatch(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct parent	*p = arg;
	char		 m[600];
	int		 ok;

	switch (msg->type) {
	case IMSG_CTL_STATUS:
		control_status(p, chan, msg->id);
		break;
	case IMSG_CTL_RELOAD:
		ok = parent_reload(p, m, sizeof(m)) == 0;
		control_result(chan, msg->id, ok, m);
		break;
	case IMSG_CTL_STOP:
		control_result(chan, msg->id, 1, "stopping");
		parent_stop(p);
		break;
	case IMSG_CTL_ADMIN:
		parent_admin_forward(p, chan, msg->id, msg->body);
		break;
	default:
		control_result(chan, msg->id, 0, "unsupported request");
		break;
	}
}

static void
control_error(struct ipc_chan *chan, const char *why, void *arg)
{
	log_debug("%s: control client %s", __func__, why);
	control_drop(chan);
}

static int
control_peer_allowed(int fd)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return 0;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void
control_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct parent	*p = arg;
	size_t		 i;
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("%s: accept", __func__);
		return;
	}
	if (!control_peer_allowed(fd)) {
		log_warnx("%s: refused a control client of another user",
		    __func__);
		close(fd);
		return;
	}
	for (i = 0; i < nitems(clients) && clients[i] != NULL; i++)
		;
	if (i == nitems(clients)) {
		log_warnx("%s: too many control clients", __func__);
		close(fd);
		return;
	}
	clients[i] = ipc_chan_new(p->base, fd, PROC_PARENT, PROC_CTL,
	    control_dispatch, control_error, p);
	if (clients[i] == NULL)
		close(fd);
}

void
control_init(struct parent *p)
{
	struct event	*ev;

	if (fd_nonblock(p->control_fd) == -1)
		fatal("%s: fd_nonblock", __func__);
	ev = event_new(p->base, p->control_fd, EV_READ | EV_PERSIST,
	    control_accept, p);
	if (ev == NULL || event_add(ev, NULL) == -1)
		fatalx("%s: event", __func__);
}

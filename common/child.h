/*
 * What every child process (front, keyd, authd, indexd) shares:
 *
 *   child_boot()   as root: log_init, read the configuration and the
 *                  resource fds the parent sends on fd 3 (blocking; the
 *                  parent is the only peer so far), make the event base.
 *   ...            the daemon prepares (reads its keyring, connects to
 *                  PostgreSQL, loads its certificate), then priv_drop()
 *                  and sandbox_pledge().
 *   child_serve()  report READY to the parent and run the event loop:
 *                  channels to other children arrive as IMSG_CHANNEL,
 *                  IMSG_RELOAD swaps the configuration, IMSG_PING on any
 *                  channel is answered with the daemon's health; every
 *                  other message goes to the daemon's dispatch for that
 *                  peer.  EOF from the parent ends the process.
 */
#ifndef BALLAST_CHILD_H
#define BALLAST_CHILD_H

#include <stdint.h>

#include "common/conf.h"
#include "common/ipc.h"
#include "common/proc.h"

struct event_base;
struct child;

typedef void (*child_dispatch_cb)(struct child *, struct ipc_chan *,
    struct ipc_msg *);

struct child {
	enum proc_id		 self;
	struct event_base	*base;
	struct ballast_conf	 conf;
	int			 foreground;

	/* resource fds sent by the parent at start-up, -1 when absent */
	int			 fd_keyring;
	int			 fd_tls_cert;
	int			 fd_tls_key;
	int			 fd_tls_client_ca;	/* optional */
	int			 fd_listen;
	int			 fd_metrics_listen;	/* front, optional */

	/* authd and indexd: the key of authd's grants (IMSG_SECRET) */
	uint8_t			 decision_key[32];
	int			 has_decision_key;

	struct ipc_chan		*parent;
	struct ipc_chan		*peer[PROC_MAX];

	/* set by the daemon before child_serve() */
	/*
	 * Per peer; NULL refuses.  dispatch[PROC_PARENT] gets what the
	 * common code does not handle itself.
	 */
	child_dispatch_cb	 dispatch[PROC_MAX];
	void			(*peer_change)(struct child *, enum proc_id, int up);
	void			(*reload)(struct child *,
				    const struct ballast_conf *old);
	/* a resource fd the parent sends after start-up (keyring reload) */
	void			(*fd_received)(struct child *, const char *what,
				    int fd);
	/* "ok", or a short reason the process is not healthy */
	const char		*(*health)(struct child *);
	void			*arg;
};

/* Parses -d (foreground, stderr logging) and -v from argv. */
void	child_boot(struct child *, enum proc_id self, int argc, char **argv);
/* Does not return. */
__attribute__((noreturn)) void child_serve(struct child *);
/* Send to a peer if the channel is up; -1 otherwise. */
int	child_send(struct child *, enum proc_id peer, enum ipc_type,
	    uint64_t id, const void *body, int fd);

#endif

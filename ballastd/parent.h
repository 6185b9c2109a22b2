/*
 * The parent: root, tiny.  Reads the configuration, binds the listener and
 * the control socket, spawns and supervises the children, reloads on
 * SIGHUP, stops on SIGTERM.  It parses nothing from the network.
 */
#ifndef BALLAST_PARENT_H
#define BALLAST_PARENT_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/conf.h"
#include "common/proc.h"

struct event;
struct event_base;
struct ipc_chan;

enum child_state {
	CHILD_DOWN = 0,		/* not running, restart scheduled */
	CHILD_STARTING,		/* exec'd, no READY yet */
	CHILD_RUNNING
};

struct parent;

struct child_proc {
	struct parent		*parent;
	enum proc_id		 id;
	enum child_state	 state;
	pid_t			 pid;
	uint64_t		 uid;
	struct ipc_chan		*chan;
	time_t			 started;	/* wall clock, for uptime */
	uint64_t		 started_ms;	/* monotonic, for backoff */
	unsigned		 restarts;
	unsigned		 backoff_ms;
	struct event		*restart_ev;
};

struct parent {
	struct event_base	*base;
	struct ballast_conf	 conf;
	const char		*conffile;
	char			 self_exe[4096];	/* re-exec'd as the front */
	int			 foreground;
	int			 verbose;
	int			 listen_fd;
	int			 control_fd;
	int			 metrics_fd;	/* "metrics on": -1 when not set */
	int			 stopping;
	int			 announced;		/* systemd told READY */
	time_t			 started;
	struct child_proc	 child[PROC_MAX];	/* front..indexd used */
	/*
	 * The key authd signs its grants with and indexd checks them with;
	 * made at start, the same for every restart of either.
	 */
	uint8_t			 decision_key[32];
	struct event		*stop_ev;
};

__attribute__((noreturn)) void parent_main(struct parent *);
int	parent_reload(struct parent *, char *msg, size_t msglen);
void	parent_stop(struct parent *);

/* parent.c */
__attribute__((noreturn)) void parent_exec_child(struct parent *,
	    enum proc_id, int fd);

/* parent_fetch.c: fetchers for indexd, ballastctl's indexd requests */
#define PARENT_MAX_FETCHERS	64
struct imsg_fetch_spawn;
struct imsg_fetch_kill;
struct imsg_ctl_admin;
struct imsg_ctl_result;
void	parent_fetch_spawn(struct parent *, struct child_proc *indexd,
	    uint64_t id, const struct imsg_fetch_spawn *);
void	parent_fetch_kill(struct parent *, const struct imsg_fetch_kill *);
void	parent_fetch_kill_all(struct parent *, const char *why);
/* 1 when pid was a fetcher (now forgotten) */
int	parent_fetch_reaped(pid_t, int status);
size_t	parent_fetch_running(void);
void	parent_admin_forward(struct parent *, struct ipc_chan *client,
	    uint64_t client_id, const struct imsg_ctl_admin *);
void	parent_admin_reply(struct parent *, uint64_t id,
	    const struct imsg_ctl_result *);
void	parent_admin_fail_all(struct parent *);
void	parent_admin_forget(struct ipc_chan *client);

/* parent_listen.c */
int	listen_tcp(const char *addr, uint16_t port);
int	listen_control(const char *path);

/* control.c */
void	control_init(struct parent *);

/* sd_notify.c: "READY=1" etc. when NOTIFY_SOCKET is set; 0 otherwise. */
int	sd_notify_send(const char *state);

#endif

/*
 * The parent's life: spawn the children, hand each its configuration and
 * resources, wire the channels between them, restart what dies (with
 * backoff) while the rest keeps running, reload, stop.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ballastd/parent.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"

#define BACKOFF_MIN_MS	250
#define BACKOFF_MAX_MS	30000
#define STABLE_MS	30000	/* a child up this long restarts quickly */
#define STOP_GRACE_S	5

static const enum proc_id children[] = {
	PROC_KEYD, PROC_AUTHD, PROC_INDEXD, PROC_FRONT
};

static void	parent_dispatch(struct ipc_chan *, struct ipc_msg *, void *);
static void	parent_chan_error(struct ipc_chan *, const char *, void *);
static void	parent_spawn(struct parent *, enum proc_id);

static struct child_proc *
parent_child_by_chan(struct parent *p, struct ipc_chan *chan)
{
	for (size_t i = 0; i < nitems(children); i++)
		if (p->child[children[i]].chan == chan)
			return &p->child[children[i]];
	return NULL;
}

/* The program a child runs: the front is ballastd itself (-P front). */
static void
parent_child_path(struct parent *p, enum proc_id id, char *buf, size_t len)
{
	int	 n;

	if (id == PROC_FRONT)
		n = snprintf(buf, len, "%s", p->self_exe);
	else
		n = snprintf(buf, len, "%s/%s", p->conf.libexec_dir,
		    proc_name(id));
	if (n < 0 || (size_t)n >= len)
		fatalx("%s: path too long", __func__);
}

/*
 * The environment of a child is empty but for the sanitizer's options
 * and the sandbox's debugging switch: nothing of ours leaks into
 * /proc/PID/environ.  And one setting of our own: GnuTLS, which libpq
 * and libcurl load through libldap but Ballast never uses (both speak
 * TLS with OpenSSL), is not initialised by its library constructor,
 * which would read the system trust store through p11-kit in every
 * child (~2 MB resident each, issue 12).
 */
static char **
parent_child_env(void)
{
	static const char *const keep[] = {
		"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
		"BALLAST_SANDBOX_LOG", "BALLAST_LSAN", "TZ"
	};
	static char	 gnutls[] = "GNUTLS_NO_IMPLICIT_INIT=1";
	static char	*kept[nitems(keep)];
	static char	*env[nitems(keep) + 2];
	size_t		 n = 0;

	for (size_t i = 0; i < nitems(keep); i++) {
		const char	*v = getenv(keep[i]);
		size_t		 len;

		free(kept[i]);
		kept[i] = NULL;
		if (v == NULL)
			continue;
		len = strlen(keep[i]) + strlen(v) + 2;
		kept[i] = xcalloc(1, len);
		snprintf(kept[i], len, "%s=%s", keep[i], v);
		env[n++] = kept[i];
	}
	env[n++] = gnutls;
	env[n] = NULL;
	return env;
}

void
parent_exec_child(struct parent *p, enum proc_id id, int fd)
{
	char	 path[4096];
	char	*argv[6];
	int	 argc = 0;

	parent_child_path(p, id, path, sizeof(path));
	argv[argc++] = (char *)(id == PROC_FRONT ? "ballastd" : proc_name(id));
	if (id == PROC_FRONT) {
		argv[argc++] = "-P";
		argv[argc++] = "front";
	}
	if (p->foreground)
		argv[argc++] = "-d";
	if (p->verbose)
		argv[argc++] = "-v";
	argv[argc] = NULL;

	if (fd != PROC_PARENT_FD) {
		if (dup2(fd, PROC_PARENT_FD) == -1)
			_exit(127);
	} else if (fd_cloexec(fd, 0) == -1)
		_exit(127);
	closefrom(PROC_PARENT_FD + 1);
	sigset_t set;
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	execve(path, argv, parent_child_env());
	log_warn("%s: exec %s", __func__, path);
	_exit(127);
}

/* What a child must not see of the configuration: other roles' secrets. */
static char *
parent_conf_for(struct parent *p, enum proc_id id)
{
	struct ballast_conf	 c = p->conf;
	char			*text;

	c.db_admin[0] = '\0';		/* ballastctl's alone */
	if (id != PROC_AUTHD)
		c.db_auth[0] = '\0';
	if (id != PROC_INDEXD)
		c.db_index[0] = '\0';
	text = conf_to_text(&c);
	explicit_bzero(&c, sizeof(c));
	if (text == NULL)
		fatalx("%s: conf_to_text", __func__);
	return text;
}

static int
parent_open_ro(const char *path)
{
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		log_warn("%s: %s", __func__, path);
	return fd;
}

static int
parent_send_fd(struct child_proc *cp, const char *what, int fd)
{
	struct imsg_fd	 f = { .what = (char *)what };

	if (fd == -1)
		return -1;
	return ipc_send(cp->chan, IMSG_FD, 0, &f, fd);
}

/*
 * The front's access log, opened again each time (start, reload,
 * SIGUSR1): after a rotation the path names a new file.  -1 when the
 * setting is absent or the file cannot be opened (logged).
 */
static int
parent_open_access_log(struct parent *p)
{
	int	 fd;

	if (p->conf.access_log[0] == '\0')
		return -1;
	if ((fd = open(p->conf.access_log, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1)
		log_warn("%s: %s", __func__, p->conf.access_log);
	return fd;
}

/* Hand the front its access log; a failure keeps the one it has. */
static void
parent_send_access_log(struct parent *p)
{
	struct child_proc	*cp = &p->child[PROC_FRONT];

	if (cp->chan == NULL || p->conf.access_log[0] == '\0')
		return;
	if (parent_send_fd(cp, "access-log", parent_open_access_log(p)) == -1)
		log_warnx("%s: the front keeps its access log", __func__);
}

/*
 * The keyring: systemd's LoadCredential=keyring:... puts it in
 * $CREDENTIALS_DIRECTORY, which wins over the configured file.
 */
static const char *
parent_keyring_path(struct parent *p)
{
	static char	 path[PATH_MAX];
	const char	*dir = getenv("CREDENTIALS_DIRECTORY");
	int		 n;

	if (dir != NULL && *dir == '/') {
		n = snprintf(path, sizeof(path), "%s/keyring", dir);
		if (n > 0 && (size_t)n < sizeof(path) &&
		    access(path, F_OK) == 0)
			return path;
	}
	return p->conf.keyring;
}

/* Configuration and resources, all queued before the child reads any. */
static int
parent_send_boot(struct parent *p, struct child_proc *cp)
{
	struct imsg_conf	 c;
	struct imsg_empty	 e = { 0 };
	int			 rv = 0;

	c.text = parent_conf_for(p, cp->id);
	rv |= ipc_send(cp->chan, IMSG_CONF, 0, &c, -1);
	freezero(c.text, strlen(c.text));
	switch (cp->id) {
	case PROC_AUTHD:
	case PROC_INDEXD: {
		struct imsg_secret	 sec;

		sec.what = "decision-key";
		sec.data.data = p->decision_key;
		sec.data.len = sizeof(p->decision_key);
		rv |= ipc_send(cp->chan, IMSG_SECRET, 0, &sec, -1);
		break;
	}
	case PROC_KEYD:
		rv |= parent_send_fd(cp, "keyring",
		    parent_open_ro(parent_keyring_path(p)));
		break;
	case PROC_FRONT:
		if (p->conf.tls_client_ca[0] != '\0')
			rv |= parent_send_fd(cp, "tls-client-ca",
			    parent_open_ro(p->conf.tls_client_ca));
		rv |= parent_send_fd(cp, "tls-cert",
		    parent_open_ro(p->conf.tls_cert));
		rv |= parent_send_fd(cp, "tls-key",
		    parent_open_ro(p->conf.tls_key));
		rv |= parent_send_fd(cp, "listen", dup(p->listen_fd));
		if (p->metrics_fd != -1)
			rv |= parent_send_fd(cp, "metrics-listen",
			    dup(p->metrics_fd));
		break;
	default:
		break;
	}
	rv |= ipc_send(cp->chan, IMSG_CONF_END, 0, &e, -1);
	/* after the boot data: the front takes it as a reload would */
	if (cp->id == PROC_FRONT && rv == 0)
		parent_send_access_log(p);
	return rv;
}

static void
parent_restart_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct child_proc	*cp = arg;

	parent_spawn(cp->parent, cp->id);
}

static void
parent_schedule_restart(struct parent *p, struct child_proc *cp)
{
	struct timeval	 tv;
	uint64_t	 ran = now_ms() - cp->started_ms;

	if (ran >= STABLE_MS || cp->backoff_ms == 0)
		cp->backoff_ms = BACKOFF_MIN_MS;
	else if ((cp->backoff_ms *= 2) > BACKOFF_MAX_MS)
		cp->backoff_ms = BACKOFF_MAX_MS;
	tv.tv_sec = cp->backoff_ms / 1000;
	tv.tv_usec = (cp->backoff_ms % 1000) * 1000;
	log_info("%s: restarting %s in %u ms", __func__, proc_name(cp->id),
	    cp->backoff_ms);
	evtimer_add(cp->restart_ev, &tv);
}

static void
parent_spawn(struct parent *p, enum proc_id id)
{
	struct child_proc	*cp;
	int			 sp[2];
	pid_t			 pid;

	cp = &p->child[id];
	if (p->stopping)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("%s: socketpair", __func__);
	switch (pid = fork()) {
	case -1:
		fatal("%s: fork", __func__);
	case 0:
		close(sp[0]);
		parent_exec_child(p, id, sp[1]);
		/* NOTREACHED */
	}
	close(sp[1]);
	if (fd_nonblock(sp[0]) == -1)
		fatal("%s: fd_nonblock", __func__);
	cp->pid = pid;
	cp->uid = 0;
	cp->state = CHILD_STARTING;
	cp->started = time(NULL);
	cp->started_ms = now_ms();
	cp->chan = ipc_chan_new(p->base, sp[0], PROC_PARENT, id,
	    parent_dispatch, parent_chan_error, p);
	if (cp->chan == NULL || parent_send_boot(p, cp) == -1) {
		log_warnx("%s: cannot start %s", __func__, proc_name(id));
		kill(pid, SIGKILL);
		return;
	}
	log_debug("%s: %s started, pid %d", __func__, proc_name(id), (int)pid);
}

/* A socketpair between two running children that trust each other. */
static void
parent_wire(struct parent *p, struct child_proc *a, struct child_proc *b)
{
	struct imsg_channel	 ca, cb;
	int			 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("%s: socketpair", __func__);
		return;
	}
	ca.peer = b->id;
	cb.peer = a->id;
	if (ipc_send(a->chan, IMSG_CHANNEL, 0, &ca, sp[0]) == -1 ||
	    ipc_send(b->chan, IMSG_CHANNEL, 0, &cb, sp[1]) == -1)
		log_warnx("%s: cannot connect %s and %s", __func__,
		    proc_name(a->id), proc_name(b->id));
	log_debug("%s: %s <-> %s", __func__, proc_name(a->id),
	    proc_name(b->id));
}

static int
parent_all_running(struct parent *p)
{
	for (size_t i = 0; i < nitems(children); i++)
		if (p->child[children[i]].state != CHILD_RUNNING)
			return 0;
	return 1;
}

static void
parent_child_ready(struct parent *p, struct child_proc *cp,
    const struct imsg_ready *r)
{
	if (cp->state != CHILD_STARTING) {
		log_warnx("%s: %s said READY twice", __func__,
		    proc_name(cp->id));
		return;
	}
	cp->state = CHILD_RUNNING;
	cp->uid = r->uid;
	log_info("%s: %s running, pid %d, uid %llu", __func__,
	    proc_name(cp->id), (int)cp->pid, (unsigned long long)r->uid);
	for (size_t i = 0; i < nitems(children); i++) {
		struct child_proc	*o = &p->child[children[i]];

		if (o != cp && o->state == CHILD_RUNNING &&
		    proc_peers(cp->id, o->id))
			parent_wire(p, cp, o);
	}
	if (!p->announced && parent_all_running(p)) {
		p->announced = 1;
		log_info("ballast ready on %s port %u", p->conf.listen_addr,
		    (unsigned)p->conf.listen_port);
		sd_notify_send("READY=1\nSTATUS=serving");
	}
}

/*
 * The front's GET /metrics: what only the parent knows, in the Prometheus
 * text format (see ballastd(8), METRICS).  The trust table lets only the
 * front send IMSG_METRICS_REQ.
 */
static void
parent_metrics(struct parent *p, struct child_proc *cp, uint64_t id)
{
	struct imsg_metrics	 m;
	FILE			*f;
	char			*buf = NULL;
	size_t			 len = 0;
	int			 bad;

	if ((f = open_memstream(&buf, &len)) == NULL) {
		log_warn("%s: open_memstream", __func__);
		return;
	}
	fputs("# HELP ballast_child_restarts_total Times the parent restarted "
	    "a child process after it exited.\n"
	    "# TYPE ballast_child_restarts_total counter\n", f);
	for (size_t i = 0; i < nitems(children); i++)
		fprintf(f, "ballast_child_restarts_total{process=\"%s\"} %u\n",
		    proc_name(children[i]), p->child[children[i]].restarts);
	fputs("# HELP ballast_child_up 1 when the child process is running "
	    "and said READY, else 0.\n"
	    "# TYPE ballast_child_up gauge\n", f);
	for (size_t i = 0; i < nitems(children); i++)
		fprintf(f, "ballast_child_up{process=\"%s\"} %d\n",
		    proc_name(children[i]),
		    p->child[children[i]].state == CHILD_RUNNING);
	bad = ferror(f);
	if (fclose(f) == EOF || bad || len > METRICS_MAX_TEXT) {
		log_warnx("%s: cannot build the metrics", __func__);
		free(buf);
		return;
	}
	m.text = buf;
	if (ipc_send(cp->chan, IMSG_METRICS_REP, id, &m, -1) == -1)
		log_warnx("%s: cannot answer the front", __func__);
	free(buf);
}

static void
parent_dispatch(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct parent		*p = arg;
	struct child_proc	*cp = parent_child_by_chan(p, chan);

	if (cp == NULL)
		return;
	switch (msg->type) {
	case IMSG_READY:
		parent_child_ready(p, cp, msg->body);
		break;
	case IMSG_PONG:
		break;
	case IMSG_METRICS_REQ:
		parent_metrics(p, cp, msg->id);
		break;
	case IMSG_FETCH_SPAWN:
		parent_fetch_spawn(p, cp, msg->id, msg->body);
		break;
	case IMSG_FETCH_KILL:
		parent_fetch_kill(p, msg->body);
		break;
	case IMSG_CTL_ADMIN_REP:
		parent_admin_reply(p, msg->id, msg->body);
		break;
	default:
		log_warnx("%s: unexpected %s from %s", __func__,
		    ipc_type_name(msg->type), proc_name(cp->id));
		break;
	}
}

/*
 * The channel to a child died: it exited (SIGCHLD follows) or broke the
 * protocol, in which case it is killed.  Either way the restart happens
 * when it is reaped.
 */
static void
parent_chan_error(struct ipc_chan *chan, const char *why, void *arg)
{
	struct parent		*p = arg;
	struct child_proc	*cp = parent_child_by_chan(p, chan);

	if (cp == NULL) {
		ipc_chan_free(chan);
		return;
	}
	if (strcmp(why, "closed") != 0 && cp->pid > 0) {
		log_warnx("%s: killing %s: %s", __func__, proc_name(cp->id),
		    why);
		kill(cp->pid, SIGKILL);
	}
	ipc_chan_free(chan);
	cp->chan = NULL;
}

static void
parent_child_exited(struct parent *p, struct child_proc *cp, int status)
{
	if (WIFSIGNALED(status))
		log_warnx("%s: %s (pid %d) killed by signal %d", __func__,
		    proc_name(cp->id), (int)cp->pid, WTERMSIG(status));
	else if (!p->stopping || WEXITSTATUS(status) != 0)
		log_warnx("%s: %s (pid %d) exited with status %d", __func__,
		    proc_name(cp->id), (int)cp->pid, WEXITSTATUS(status));
	if (cp->chan != NULL) {
		ipc_chan_free(cp->chan);
		cp->chan = NULL;
	}
	cp->pid = 0;
	cp->state = CHILD_DOWN;
	/* a fetcher's work belongs to the indexd that asked for it */
	if (cp->id == PROC_INDEXD) {
		parent_fetch_kill_all(p, "indexd exited");
		parent_admin_fail_all(p);
	}
	if (!p->stopping) {
		cp->restarts++;
		parent_schedule_restart(p, cp);
	}
}

static int
parent_children_left(struct parent *p)
{
	for (size_t i = 0; i < nitems(children); i++)
		if (p->child[children[i]].pid > 0)
			return 1;
	return parent_fetch_running() > 0;
}

static void
parent_exit(struct parent *p)
{
	if (p->control_fd != -1)
		(void)unlink(p->conf.control_socket);
	log_info("ballast stopped");
	exit(0);
}

static void
parent_sigchld(evutil_socket_t sig, short ev, void *arg)
{
	struct parent	*p = arg;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (parent_fetch_reaped(pid, status))
			continue;
		for (size_t i = 0; i < nitems(children); i++) {
			struct child_proc *cp = &p->child[children[i]];

			if (cp->pid == pid)
				parent_child_exited(p, cp, status);
		}
	}
	if (p->stopping && !parent_children_left(p))
		parent_exit(p);
}

static void
parent_stop_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct parent	*p = arg;

	for (size_t i = 0; i < nitems(children); i++) {
		struct child_proc *cp = &p->child[children[i]];

		if (cp->pid > 0) {
			log_warnx("%s: %s did not stop; killing it", __func__,
			    proc_name(cp->id));
			kill(cp->pid, SIGKILL);
		}
	}
}

void
parent_stop(struct parent *p)
{
	struct timeval	 tv = { STOP_GRACE_S, 0 };

	if (p->stopping)
		return;
	p->stopping = 1;
	log_info("%s: stopping", __func__);
	parent_fetch_kill_all(p, "the suite is stopping");
	sd_notify_send("STOPPING=1");
	for (size_t i = 0; i < nitems(children); i++) {
		struct child_proc *cp = &p->child[children[i]];

		evtimer_del(cp->restart_ev);
		if (cp->pid > 0)
			kill(cp->pid, SIGTERM);
	}
	if (!parent_children_left(p))
		parent_exit(p);
	p->stop_ev = evtimer_new(p->base, parent_stop_timeout, p);
	evtimer_add(p->stop_ev, &tv);
}

/* Settings a running suite cannot change: they need a restart. */
static int
parent_restart_only_changed(const struct ballast_conf *a,
    const struct ballast_conf *b)
{
	return strcmp(a->listen_addr, b->listen_addr) != 0 ||
	    a->listen_port != b->listen_port ||
	    strcmp(a->metrics_addr, b->metrics_addr) != 0 ||
	    a->metrics_port != b->metrics_port ||
	    strcmp(a->control_socket, b->control_socket) != 0 ||
	    strcmp(a->libexec_dir, b->libexec_dir) != 0 ||
	    strcmp(a->chroot_dir, b->chroot_dir) != 0 ||
	    strcmp(a->db_auth, b->db_auth) != 0 ||
	    strcmp(a->db_index, b->db_index) != 0 ||
	    memcmp(a->user, b->user, sizeof(a->user)) != 0;
}

/*
 * SIGHUP or `ballastctl reload`.  A broken file changes nothing; settings
 * that need a restart are kept as they are, with a warning.
 */
int
parent_reload(struct parent *p, char *msg, size_t msglen)
{
	struct ballast_conf	 next;
	struct imsg_conf	 c;
	char			 err[512];

	if (conf_parse_file(p->conffile, &next, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		snprintf(msg, msglen, "reload failed: %s", err);
		return -1;
	}
	if (parent_restart_only_changed(&p->conf, &next)) {
		log_warnx("%s: listen, metrics, control socket, libexec, "
		    "chroot, users and databases change only on restart",
		    __func__);
		strlcpy(next.listen_addr, p->conf.listen_addr,
		    sizeof(next.listen_addr));
		next.listen_port = p->conf.listen_port;
		memcpy(next.metrics_addr, p->conf.metrics_addr,
		    sizeof(next.metrics_addr));
		next.metrics_port = p->conf.metrics_port;
		memcpy(next.control_socket, p->conf.control_socket,
		    sizeof(next.control_socket));
		memcpy(next.libexec_dir, p->conf.libexec_dir,
		    sizeof(next.libexec_dir));
		memcpy(next.chroot_dir, p->conf.chroot_dir,
		    sizeof(next.chroot_dir));
		memcpy(next.db_auth, p->conf.db_auth, sizeof(next.db_auth));
		memcpy(next.db_index, p->conf.db_index, sizeof(next.db_index));
		memcpy(next.user, p->conf.user, sizeof(next.user));
	}
	explicit_bzero(&p->conf, sizeof(p->conf));
	p->conf = next;
	explicit_bzero(&next, sizeof(next));
	log_setlevel(p->verbose ? LOG_LEVEL_DEBUG : p->conf.log_level);
	for (size_t i = 0; i < nitems(children); i++) {
		struct child_proc *cp = &p->child[children[i]];

		if (cp->chan == NULL)
			continue;
		c.text = parent_conf_for(p, cp->id);
		if (ipc_send(cp->chan, IMSG_RELOAD, 0, &c, -1) == -1)
			log_warnx("%s: cannot reload %s", __func__,
			    proc_name(cp->id));
		freezero(c.text, strlen(c.text));
		/* keyd reads the keyring again (ballastctl key rotate). */
		if (cp->id == PROC_KEYD && parent_send_fd(cp, "keyring",
		    parent_open_ro(parent_keyring_path(p))) == -1)
			log_warnx("%s: keyd keeps its keyring", __func__);
		/*
		 * The front builds a new TLS context once it has both
		 * (certificate renewal); without both it keeps its own.
		 */
		if (cp->id == PROC_FRONT) {
			int	 fc, fk;

			/* The CA bundle first: the pair completes the set. */
			if (p->conf.tls_client_ca[0] != '\0' &&
			    parent_send_fd(cp, "tls-client-ca", parent_open_ro(
			    p->conf.tls_client_ca)) == -1)
				log_warnx("%s: cannot send the client CA "
				    "bundle", __func__);
			fc = parent_open_ro(p->conf.tls_cert);
			fk = parent_open_ro(p->conf.tls_key);

			if (fc == -1 || fk == -1) {
				if (fc != -1)
					close(fc);
				if (fk != -1)
					close(fk);
				log_warnx("%s: the front keeps its TLS "
				    "certificate", __func__);
			} else if (parent_send_fd(cp, "tls-cert", fc) == -1) {
				close(fk);
				log_warnx("%s: cannot send the TLS files",
				    __func__);
			} else if (parent_send_fd(cp, "tls-key", fk) == -1)
				log_warnx("%s: cannot send the TLS key",
				    __func__);
			parent_send_access_log(p);
		}
	}
	log_info("configuration reloaded from %s", p->conffile);
	snprintf(msg, msglen, "reloaded %s", p->conffile);
	return 0;
}

static void
parent_sighup(evutil_socket_t sig, short ev, void *arg)
{
	char	 msg[600];

	(void)parent_reload(arg, msg, sizeof(msg));
}

/* SIGUSR1: the access log was rotated; the front writes to a new file. */
static void
parent_sigusr1(evutil_socket_t sig, short ev, void *arg)
{
	struct parent	*p = arg;

	if (p->conf.access_log[0] == '\0') {
		log_info("%s: no access log to reopen", __func__);
		return;
	}
	log_info("%s: reopening %s", __func__, p->conf.access_log);
	parent_send_access_log(p);
}

static void
parent_sigterm(evutil_socket_t sig, short ev, void *arg)
{
	parent_stop(arg);
}

static void
parent_signal(struct parent *p, int sig, event_callback_fn cb)
{
	struct event	*ev;

	if ((ev = evsignal_new(p->base, sig, cb, p)) == NULL ||
	    evsignal_add(ev, NULL) == -1)
		fatalx("%s: signal %d", __func__, sig);
}

/* Every child's user must exist before anything starts. */
static void
parent_check_users(struct parent *p)
{
	if (geteuid() != 0) {
		log_warnx("not running as root: children keep uid %u "
		    "(development mode)", (unsigned)geteuid());
		return;
	}
	for (size_t i = 0; i < nitems(children); i++) {
		const char	*u = p->conf.user[children[i]];
		struct passwd	*pw = getpwnam(u);

		if (pw == NULL)
			fatalx("user %s (for %s) does not exist; create it, "
			    "e.g. useradd -r -d /var/empty -s /usr/sbin/nologin"
			    " %s", u, proc_name(children[i]), u);
		if (pw->pw_uid == 0)
			fatalx("user %s (for %s) has uid 0", u,
			    proc_name(children[i]));
	}
}

/* Fail at start, with a clear message, rather than in a restart loop. */
static void
parent_preflight(struct parent *p)
{
	const char	*files[] = { parent_keyring_path(p), p->conf.tls_cert,
			    p->conf.tls_key, p->conf.tls_client_ca };
	char		 path[4096];
	int		 fd;

	for (size_t i = 0; i < nitems(files); i++) {
		if (files[i][0] == '\0')	/* an optional file not set */
			continue;
		if ((fd = parent_open_ro(files[i])) == -1)
			fatalx("cannot open %s (see ballast.conf(5))",
			    files[i]);
		close(fd);
	}
	for (size_t i = 0; i < nitems(children); i++) {
		parent_child_path(p, children[i], path, sizeof(path));
		if (access(path, X_OK) == -1)
			fatal("%s: %s", proc_name(children[i]), path);
	}
}

void
parent_main(struct parent *p)
{
	p->started = time(NULL);
	arc4random_buf(p->decision_key, sizeof(p->decision_key));
	parent_check_users(p);
	parent_preflight(p);
	if (parent_keyring_path(p) != p->conf.keyring)
		log_info("keyring from the service manager: %s",
		    parent_keyring_path(p));
	if ((p->listen_fd = listen_tcp(p->conf.listen_addr,
	    p->conf.listen_port)) == -1)
		fatalx("cannot listen on %s port %u", p->conf.listen_addr,
		    (unsigned)p->conf.listen_port);
	p->metrics_fd = -1;
	if (p->conf.metrics_addr[0] != '\0' && (p->metrics_fd =
	    listen_tcp(p->conf.metrics_addr, p->conf.metrics_port)) == -1)
		fatalx("cannot listen for metrics on %s port %u",
		    p->conf.metrics_addr, (unsigned)p->conf.metrics_port);
	if ((p->control_fd = listen_control(p->conf.control_socket)) == -1)
		fatalx("cannot open control socket %s",
		    p->conf.control_socket);
	signal(SIGPIPE, SIG_IGN);
	if ((p->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	parent_signal(p, SIGCHLD, parent_sigchld);
	parent_signal(p, SIGHUP, parent_sighup);
	parent_signal(p, SIGUSR1, parent_sigusr1);
	parent_signal(p, SIGTERM, parent_sigterm);
	parent_signal(p, SIGINT, parent_sigterm);
	control_init(p);

	for (size_t i = 0; i < nitems(children); i++) {
		struct child_proc *cp = &p->child[children[i]];

		cp->parent = p;
		cp->id = children[i];
		cp->restart_ev = evtimer_new(p->base, parent_restart_cb, cp);
		parent_spawn(p, children[i]);
	}
	event_base_dispatch(p->base);
	fatalx("event loop ended");
}

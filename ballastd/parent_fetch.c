/*
 * Fetchers and ballastctl's indexd requests, the parent's side.
 *
 * A fetcher runs one sync job under its own uid (user fetcher).  Only the
 * parent may start a process under another uid, so indexd asks
 * (IMSG_FETCH_SPAWN); the parent makes a socketpair, forks, drops the
 * child to the fetcher user, execs the fetcher with one end as fd 3 and
 * hands indexd the other end (IMSG_FETCH_SPAWNED).  It keeps no channel to
 * the fetcher and parses nothing it says: it only reaps it, kills it when
 * indexd asks (IMSG_FETCH_KILL, for its own fetchers only), and kills
 * every fetcher when indexd goes or the suite stops.
 *
 * ballastctl's "key rewrap", "key status" counts and "sync run" are
 * answered by indexd: the parent forwards IMSG_CTL_ADMIN under a new id
 * and sends the answer back to the client that asked, if it is still
 * there.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ballastd/parent.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/util.h"

static struct fetcher {
	pid_t		 pid;
	char		 job[FETCH_MAX_JOBID + 1];
	uint64_t	 started_ms;
} fetchers[PARENT_MAX_FETCHERS];

static struct admin_pending {
	struct ipc_chan	*client;	/* NULL: slot free or client gone */
	uint64_t	 client_id;	/* the id ballastctl used */
	uint64_t	 id;		/* the id indexd sees */
	int		 used;
} admins[8];

static void
fetch_failed(struct child_proc *indexd, uint64_t id, const char *job,
    const char *why)
{
	struct imsg_fetch_failed	 f;

	f.job = (char *)job;
	f.message = (char *)why;
	if (indexd->chan != NULL && ipc_send(indexd->chan, IMSG_FETCH_FAILED,
	    id, &f, -1) == -1)
		log_warnx("%s: cannot answer indexd", __func__);
}

static struct fetcher *
fetch_slot(void)
{
	for (size_t i = 0; i < nitems(fetchers); i++)
		if (fetchers[i].pid == 0)
			return &fetchers[i];
	return NULL;
}

void
parent_fetch_spawn(struct parent *p, struct child_proc *indexd,
    uint64_t id, const struct imsg_fetch_spawn *req)
{
	struct imsg_fetch_spawned	 ok;
	struct fetcher			*f;
	int				 sp[2];
	pid_t				 pid;

	if (p->stopping) {
		fetch_failed(indexd, id, req->job, "the suite is stopping");
		return;
	}
	if ((f = fetch_slot()) == NULL) {
		log_warnx("%s: job %s: %d fetchers already running", __func__,
		    req->job, PARENT_MAX_FETCHERS);
		fetch_failed(indexd, id, req->job, "too many fetchers");
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("%s: socketpair", __func__);
		fetch_failed(indexd, id, req->job, "cannot start a fetcher");
		return;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		close(sp[0]);
		close(sp[1]);
		fetch_failed(indexd, id, req->job, "cannot start a fetcher");
		return;
	case 0:
		close(sp[0]);
		/* as the fetcher user before exec: it never holds root */
		if (priv_drop(p->conf.user[PROC_FETCHER], NULL) == -1)
			_exit(126);
		parent_exec_child(p, PROC_FETCHER, sp[1]);
		/* NOTREACHED */
	}
	close(sp[1]);
	f->pid = pid;
	strlcpy(f->job, req->job, sizeof(f->job));
	f->started_ms = now_ms();
	ok.job = req->job;
	ok.pid = (uint64_t)pid;
	log_info("%s: job %s: fetcher pid %d", __func__, req->job, (int)pid);
	if (ipc_send(indexd->chan, IMSG_FETCH_SPAWNED, id, &ok, sp[0]) == -1) {
		log_warnx("%s: cannot hand the fetcher to indexd", __func__);
		kill(pid, SIGKILL);
	}
}

void
parent_fetch_kill(struct parent *p, const struct imsg_fetch_kill *k)
{
	for (size_t i = 0; i < nitems(fetchers); i++)
		if (fetchers[i].pid > 0 &&
		    (uint64_t)fetchers[i].pid == k->pid) {
			log_info("%s: job %s: killing fetcher pid %d at "
			    "indexd's request", __func__, fetchers[i].job,
			    (int)fetchers[i].pid);
			kill(fetchers[i].pid, SIGKILL);
			return;
		}
	/* Already gone, or not a fetcher at all: never kill a stranger. */
	log_debug("%s: no fetcher with pid %llu", __func__,
	    (unsigned long long)k->pid);
}

void
parent_fetch_kill_all(struct parent *p, const char *why)
{
	for (size_t i = 0; i < nitems(fetchers); i++)
		if (fetchers[i].pid > 0) {
			log_info("%s: job %s: killing fetcher pid %d: %s",
			    __func__, fetchers[i].job, (int)fetchers[i].pid,
			    why);
			kill(fetchers[i].pid, SIGKILL);
		}
}

int
parent_fetch_reaped(pid_t pid, int status)
{
	for (size_t i = 0; i < nitems(fetchers); i++) {
		struct fetcher	*f = &fetchers[i];

		if (f->pid != pid)
			continue;
		if (WIFSIGNALED(status))
			log_info("%s: job %s: fetcher pid %d killed by signal "
			    "%d", __func__, f->job, (int)pid,
			    WTERMSIG(status));
		else if (WEXITSTATUS(status) != 0)
			log_info("%s: job %s: fetcher pid %d exited with "
			    "status %d", __func__, f->job, (int)pid,
			    WEXITSTATUS(status));
		memset(f, 0, sizeof(*f));
		return 1;
	}
	return 0;
}

size_t
parent_fetch_running(void)
{
	size_t	 n = 0;

	for (size_t i = 0; i < nitems(fetchers); i++)
		n += fetchers[i].pid > 0;
	return n;
}

/* ballastctl -> indexd */
void
parent_admin_forward(struct parent *p, struct ipc_chan *client,
    uint64_t client_id, const struct imsg_ctl_admin *a)
{
	struct child_proc	*indexd = &p->child[PROC_INDEXD];
	struct imsg_ctl_result	 r;
	struct admin_pending	*slot = NULL;

	for (size_t i = 0; i < nitems(admins) && slot == NULL; i++)
		if (!admins[i].used)
			slot = &admins[i];
	memset(&r, 0, sizeof(r));
	if (indexd->state != CHILD_RUNNING || indexd->chan == NULL)
		r.message = "indexd is not running";
	else if (slot == NULL)
		r.message = "too many requests at once";
	if (r.message != NULL) {
		(void)ipc_send(client, IMSG_CTL_ADMIN_REP, client_id, &r, -1);
		return;
	}
	slot->used = 1;
	slot->client = client;
	slot->client_id = client_id;
	slot->id = ipc_next_id();
	if (ipc_send(indexd->chan, IMSG_CTL_ADMIN, slot->id, a, -1) == -1) {
		memset(slot, 0, sizeof(*slot));
		r.message = "cannot reach indexd";
		(void)ipc_send(client, IMSG_CTL_ADMIN_REP, client_id, &r, -1);
	}
}

/* indexd's answer goes to the client that asked, if it is still here. */
void
parent_admin_reply(struct parent *p, uint64_t id,
    const struct imsg_ctl_result *r)
{
	for (size_t i = 0; i < nitems(admins); i++) {
		struct admin_pending	*a = &admins[i];

		if (!a->used || a->id != id)
			continue;
		if (a->client != NULL && ipc_send(a->client,
		    IMSG_CTL_ADMIN_REP, a->client_id, r, -1) == -1)
			log_warnx("%s: cannot answer ballastctl", __func__);
		memset(a, 0, sizeof(*a));
		return;
	}
	log_warnx("%s: an answer from indexd nobody asked for", __func__);
}

/* indexd went away: nobody will answer; tell the clients. */
void
parent_admin_fail_all(struct parent *p)
{
	struct imsg_ctl_result	 r = { 0, (char *)"indexd stopped before "
	    "answering" };

	for (size_t i = 0; i < nitems(admins); i++) {
		if (admins[i].used && admins[i].client != NULL)
			(void)ipc_send(admins[i].client, IMSG_CTL_ADMIN_REP,
			    admins[i].client_id, &r, -1);
		memset(&admins[i], 0, sizeof(admins[i]));
	}
}

void
parent_admin_forget(struct ipc_chan *client)
{
	for (size_t i = 0; i < nitems(admins); i++)
		if (admins[i].client == client)
			admins[i].client = NULL;
}

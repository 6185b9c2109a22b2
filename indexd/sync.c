/* The sync engine (see sync.h). */
#include <sys/types.h>
#include <sys/queue.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "indexd/docbatch.h"
#include "indexd/ingest.h"
#include "indexd/job.h"
#include "indexd/metrics.h"
#include "indexd/sync.h"

enum run_state {
	RUN_KEY,	/* waiting for keyd to open the credential */
	RUN_SPAWN,	/* waiting for the parent's fetcher */
	RUN_FETCH	/* talking to the fetcher */
};

struct run {
	TAILQ_ENTRY(run)	 entry;
	struct job_claim	 job;
	enum run_state		 state;
	uint64_t		 key_id;
	uint8_t			*cred;		/* plaintext until START */
	size_t			 credlen;
	pid_t			 pid;
	struct ipc_chan		*chan;
	struct event		*timer;		/* inactivity */
	struct scope		 scope;
	struct doc		*docs;		/* not yet ingested */
	size_t			 ndocs, batch_bytes;
	struct idset		 seen;
	struct job_counts	 n;
	uint64_t		 total_docs, total_bytes;
	int			 ended;		/* DONE or ERROR came */
	/* OAuth: new credentials being sealed, and an end waiting for them */
	uint64_t		 seal_id[SYNC_MAX_SEALS];
	size_t			 nseal;
	int			 pend;		/* 1 done, 2 error */
	char			*pend_text;	/* cursor or message */
	int			 pend_complete, pend_transient, pend_reauth;
	uint8_t			*oauth;		/* exchange: JSON, until START */
	size_t			 oauthlen;
};

static struct {
	struct child		*c;
	struct engine		*e;
	TAILQ_HEAD(, run)	 runs;
	int			 nruns;
	struct event		*tick, *beat, *kick;
	char			 worker[JOB_WORKER_MAX];
} se;

static void	run_fail(struct run *, const char *, int);

/*
 * Ending a run.
 */

static void
run_kill(struct run *r)
{
	struct imsg_fetch_kill	 k;

	if (r->pid <= 0)
		return;
	k.pid = (uint64_t)r->pid;
	if (se.c->parent == NULL || ipc_send(se.c->parent, IMSG_FETCH_KILL, 0,
	    &k, -1) == -1)
		log_warnx("%s: job %s: cannot ask to stop fetcher %d",
		    __func__, r->job.id, (int)r->pid);
	r->pid = 0;
}

/* Forget the run; kill: its fetcher may still be running. */
static void
run_free(struct run *r, int kill)
{
	if (kill)
		run_kill(r);
	if (r->chan != NULL)
		ipc_chan_free(r->chan);
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->docs != NULL) {
		struct docbatch	 b = { r->docs, r->ndocs };
		docbatch_free(&b);	/* frees the array too */
	}
	idset_free(&r->seen);
	freezero(r->cred, r->credlen);
	if (r->oauth != NULL)
		freezero(r->oauth, r->oauthlen);
	free(r->pend_text);
	job_claim_free(&r->job);
	scope_free(&r->scope);
	TAILQ_REMOVE(&se.runs, r, entry);
	se.nruns--;
	free(r);
	sync_kick();
}

/* Ingest the buffered documents; -1 (the run failed and is gone). */
static int
run_flush(struct run *r)
{
	struct docbatch		 b;
	struct ingest_counts	 n;
	char			 err[512];
	int			 rv;

	if (r->ndocs == 0)
		return 0;
	b.docs = r->docs;
	b.n = r->ndocs;
	rv = ingest_batch(se.e, &r->scope, r->job.collection_id,
	    r->job.owner[0] != '\0', &b, &n, err, sizeof(err));
	docbatch_free(&b);
	r->docs = NULL;
	r->ndocs = r->batch_bytes = 0;
	if (rv == -1) {
		log_warnx("indexd: job %s: %s", r->job.id, err);
		/* the embedder's reason is the job's (it names no secret) */
		run_fail(r, se.e->emb->status ? err :
		    "the documents could not be stored", 1);
		return -1;
	}
	r->n.added += n.added;
	r->n.updated += n.updated;
	r->n.unchanged += n.unchanged;
	return 0;
}

static void
log_counts(const struct run *r, const char *what)
{
	log_info("indexd: job %s %s: added %lld updated %lld unchanged %lld "
	    "deleted %lld failed %lld", r->job.id, what,
	    (long long)r->n.added, (long long)r->n.updated,
	    (long long)r->n.unchanged, (long long)r->n.deleted,
	    (long long)r->n.failed);
}

/* The job fails with message (retried later when transient). */
static void
run_fail(struct run *r, const char *message, int transient)
{
	char	 err[256];
	int	 retried = 0, kill = !r->ended;

	/* an exchange's code is single-use: never retried */
	if (strcmp(r->job.trigger, "oauth") == 0)
		transient = 0;
	if (r->ndocs > 0) {
		struct docbatch	 b = { r->docs, r->ndocs };
		struct ingest_counts n;
		/* what arrived is valid data: keep it */
		if (ingest_batch(se.e, &r->scope, r->job.collection_id,
		    r->job.owner[0] != '\0', &b, &n, err, sizeof(err)) == 0) {
			r->n.added += n.added;
			r->n.updated += n.updated;
			r->n.unchanged += n.unchanged;
		}
		docbatch_free(&b);
		r->docs = NULL;
		r->ndocs = 0;
	}
	if (job_fail(se.e->db, &r->job, se.worker, message, transient, &r->n,
	    &retried, err, sizeof(err)) == -1)
		log_warnx("indexd: job %s: cannot end it: %s", r->job.id, err);
	log_info("indexd: job %s failed%s: %s", r->job.id, retried ?
	    " (retried later)" : "", message);
	log_counts(r, "counts");
	metrics_sync_run(retried ? "retried" : "failed", &r->n);
	run_free(r, kill);
}

/* The provider revoked the grant: no retry, the source waits. */
static void
run_reauth(struct run *r, const char *message)
{
	char	 err[256];

	if (strcmp(r->job.trigger, "oauth") != 0 &&
	    job_needs_reauth(se.e->db, r->job.source_id, err,
	    sizeof(err)) == -1)
		log_warnx("indexd: job %s: %s", r->job.id, err);
	else
		log_info("indexd: source %s needs authorization again",
		    r->job.source_id);
	run_fail(r, message, 0);
}

static void
run_done(struct run *r, const struct imsg_fetch_done *d)
{
	char	 err[256];

	if (run_flush(r) == -1)
		return;
	if (job_succeed(se.e, &r->job, se.worker, d->cursor, d->complete ?
	    &r->seen : NULL, &r->n, err, sizeof(err)) == -1) {
		log_warnx("indexd: job %s: cannot end it: %s", r->job.id, err);
		metrics_sync_run("failed", &r->n);
		run_free(r, 0);
		return;
	}
	log_counts(r, "succeeded");
	metrics_sync_run("succeeded", &r->n);
	run_free(r, 0);
}

/*
 * The fetcher's messages.
 */

/* A fetched document as a struct doc; NULL and why when malformed. */
static int
doc_take(struct run *r, const struct imsg_fetch_doc *f, struct doc *d,
    const char **why)
{
	json_error_t	 jerr;
	json_t		*m;

	memset(d, 0, sizeof(*d));
	if (strlen(f->external_id) > DOC_MAX_EXTERNAL_ID ||
	    strlen(f->title) > DOC_MAX_TITLE || strlen(f->url) > DOC_MAX_URL ||
	    strlen(f->text) > DOC_MAX_TEXT)
		return *why = "a field is too long", -1;
	if (f->updated_at[0] != '\0' && !rfc3339_valid(f->updated_at))
		return *why = "updated_at is not an RFC 3339 date-time", -1;
	m = json_loads(f->metadata, JSON_REJECT_DUPLICATES, &jerr);
	if (m == NULL || !json_is_object(m)) {
		json_decref(m);
		return *why = "metadata is not a JSON object", -1;
	}
	d->metadata = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	json_decref(m);
	if (d->metadata == NULL || strlen(d->metadata) > DOC_MAX_METADATA) {
		free(d->metadata);
		return *why = "metadata is too long", -1;
	}
	d->external_id = xstrdup(f->external_id);
	d->title = xstrdup(f->title);
	d->url = xstrdup(f->url);
	d->text = xstrdup(f->text);
	d->text_len = strlen(f->text);
	d->source = xstrdup(r->job.source_id);
	d->updated_at = f->updated_at[0] ? xstrdup(f->updated_at) : NULL;
	docbatch_hash(d, d->hash);
	return 0;
}

/* -1: the run is gone. */
static int
run_seen(struct run *r, const char *id)
{
	(void)idset_add(&r->seen, id);
	if (r->seen.n > SYNC_MAX_DOCS) {
		run_fail(r, "the source has more than 1000000 documents", 0);
		return -1;
	}
	return 0;
}

static void
run_doc(struct run *r, const struct imsg_fetch_doc *f)
{
	struct doc	 d;
	const char	*why;
	size_t		 len = strlen(f->text);

	if (run_seen(r, f->external_id) == -1)
		return;
	r->total_docs++;
	r->total_bytes += len;
	if (r->total_bytes > SYNC_MAX_BYTES) {
		run_fail(r, "the source sent more than 4 GiB of text", 0);
		return;
	}
	if (doc_take(r, f, &d, &why) == -1) {
		log_warnx("indexd: job %s: document %.128s refused: %s",
		    r->job.id, f->external_id, why);
		if (++r->n.failed > SYNC_MAX_FAILED)
			run_fail(r, "more than 100 documents were malformed",
			    0);
		return;
	}
	r->docs = xreallocarray(r->docs, r->ndocs + 1, sizeof(*r->docs));
	r->docs[r->ndocs++] = d;
	r->batch_bytes += len + strlen(d.metadata) + strlen(d.title);
	if (r->ndocs >= SYNC_BATCH_DOCS || r->batch_bytes >= SYNC_BATCH_BYTES)
		(void)run_flush(r);
}

static void
run_arm(struct run *r)
{
	struct timeval	 tv = { 0, 0 };

	tv.tv_sec = se.c->conf.sync_timeout > 0 ?
	    (time_t)se.c->conf.sync_timeout : 300;
	evtimer_add(r->timer, &tv);
}

/* Seal with the context the credential was opened with. */
static void
run_tokens(struct run *r, const struct imsg_fetch_tokens *t)
{
	struct imsg_key_req	 req;

	if (r->nseal == SYNC_MAX_SEALS) {
		run_fail(r, "the fetcher sent too many new tokens", 0);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.org = r->job.org_id;
	req.source = r->job.source_id;
	if (r->job.owner[0] != '\0') {
		req.user = r->job.owner;
		req.user_salt.data = r->job.salt;
		req.user_salt.len = sizeof(r->job.salt);
	}
	req.data = t->credential;
	r->seal_id[r->nseal] = ipc_next_id();
	if (child_send(se.c, PROC_KEYD, IMSG_KEY_SEAL, r->seal_id[r->nseal],
	    &req, -1) == -1) {
		run_fail(r, "keyd is not available to seal the new tokens", 1);
		return;
	}
	r->nseal++;
}

/* keyd sealed new tokens: store them; then the end that waited. */
static void
run_sealed(struct run *r, size_t i, struct ipc_msg *msg)
{
	struct imsg_key_data	*kd;
	struct imsg_fetch_done	 d;
	char			 err[256];

	memmove(&r->seal_id[i], &r->seal_id[i + 1], (r->nseal - i - 1) *
	    sizeof(r->seal_id[0]));
	r->nseal--;
	if (msg->type == IMSG_KEY_RESULT) {
		kd = msg->body;
		if (job_store_credentials(se.e->db, r->job.source_id,
		    kd->data.data, kd->data.len, err, sizeof(err)) == -1)
			log_warnx("indexd: job %s: new tokens not stored: %s",
			    r->job.id, err);
		else
			log_info("indexd: source %s: new OAuth tokens stored",
			    r->job.source_id);
	} else
		log_warnx("indexd: job %s: keyd refused to seal new tokens",
		    r->job.id);
	if (r->nseal > 0 || r->pend == 0)
		return;
	if (r->pend == 1) {
		d.cursor = r->pend_text;
		d.complete = r->pend_complete;
		run_done(r, &d);
	} else if (r->pend_reauth)
		run_reauth(r, r->pend_text);
	else
		run_fail(r, r->pend_text, r->pend_transient);
}

static void
fetch_dispatch(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct run		*r = arg;
	struct imsg_fetch_keep	*k;
	struct imsg_fetch_error	*fe;

	run_arm(r);
	switch (msg->type) {
	case IMSG_FETCH_DOC:
		run_doc(r, msg->body);
		break;
	case IMSG_FETCH_KEEP:
		k = msg->body;
		for (size_t i = 0; i < k->ids.n; i++)
			if (run_seen(r, k->ids.v[i]) == -1)
				return;
		break;
	case IMSG_FETCH_TOKENS:
		run_tokens(r, msg->body);
		break;
	case IMSG_FETCH_DONE:
		r->ended = 1;
		if (r->nseal > 0) {
			/* the new tokens are stored first */
			r->pend = 1;
			r->pend_text = xstrdup(((struct imsg_fetch_done *)
			    msg->body)->cursor);
			r->pend_complete = ((struct imsg_fetch_done *)
			    msg->body)->complete;
			break;
		}
		run_done(r, msg->body);
		break;
	case IMSG_FETCH_ERROR:
		fe = msg->body;
		r->ended = 1;
		if (r->nseal > 0) {
			r->pend = 2;
			r->pend_text = xstrdup(fe->message);
			r->pend_transient = fe->transient;
			r->pend_reauth = fe->reauth;
			break;
		}
		if (fe->reauth)
			run_reauth(r, fe->message[0] ? fe->message :
			    "the authorization was revoked");
		else
			run_fail(r, fe->message[0] ? fe->message : "the "
			    "fetcher failed", fe->transient);
		break;
	default:
		log_warnx("indexd: job %s: unexpected %s", r->job.id,
		    ipc_type_name(msg->type));
		run_fail(r, "the fetcher sent a malformed message", 0);
		break;
	}
}

static void
fetch_error(struct ipc_chan *chan, const char *why, void *arg)
{
	struct run	*r = arg;

	ipc_chan_free(chan);
	r->chan = NULL;
	log_info("indexd: job %s: fetcher channel %s", r->job.id, why);
	if (r->pend != 0)
		return;		/* it ended; new tokens are being stored */
	run_fail(r, strcmp(why, "protocol violation") == 0 ?
	    "the fetcher sent a malformed message" :
	    "the fetcher stopped without finishing", 0);
}

static void
run_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct run	*r = arg;
	char		 msg[96];

	switch (r->state) {
	case RUN_KEY:
		run_fail(r, "keyd did not open the credentials in time", 1);
		break;
	case RUN_SPAWN:
		run_fail(r, "no fetcher was started in time", 1);
		break;
	case RUN_FETCH:
		snprintf(msg, sizeof(msg), "the fetcher was silent for %llu s",
		    (unsigned long long)(se.c->conf.sync_timeout > 0 ?
		    se.c->conf.sync_timeout : 300));
		run_fail(r, msg, 0);
		break;
	}
}

/*
 * Starting a run: keyd, then the parent, then the fetcher.
 */

static void
run_spawn(struct run *r)
{
	struct imsg_fetch_spawn	 sp;

	r->state = RUN_SPAWN;
	sp.job = r->job.id;
	if (se.c->parent == NULL || ipc_send(se.c->parent, IMSG_FETCH_SPAWN, 0,
	    &sp, -1) == -1)
		run_fail(r, "cannot ask for a fetcher", 1);
}

static void
run_open_key(struct run *r)
{
	struct imsg_key_req	 req;

	memset(&req, 0, sizeof(req));
	req.org = r->job.org_id;
	req.source = r->job.source_id;
	if (r->job.owner[0] != '\0') {
		if (!r->job.has_salt) {
			run_fail(r, "the source's owner has no key", 0);
			return;
		}
		req.user = r->job.owner;
		req.user_salt.data = r->job.salt;
		req.user_salt.len = sizeof(r->job.salt);
	}
	req.data.data = r->job.sealed;
	req.data.len = r->job.sealedlen;
	r->state = RUN_KEY;
	r->key_id = ipc_next_id();
	if (child_send(se.c, PROC_KEYD, IMSG_KEY_OPEN, r->key_id, &req,
	    -1) == -1)
		run_fail(r, "keyd is not available", 1);
}

static struct run *
run_start(struct job_claim *j)
{
	struct run	*r = xcalloc(1, sizeof(*r));

	r->job = *j;
	memset(j, 0, sizeof(*j));
	TAILQ_INSERT_TAIL(&se.runs, r, entry);
	se.nruns++;
	if ((r->timer = evtimer_new(se.c->base, run_timeout, r)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	log_info("indexd: job %s claimed (source %s, %s, attempt %d)",
	    r->job.id, r->job.source_id, r->job.type, r->job.attempt);
	if (scope_add_collection(&r->scope, r->job.collection_id) == -1 ||
	    scope_set_owner(&r->scope, r->job.owner) == -1) {
		run_fail(r, "the source has a bad collection or owner", 0);
		return NULL;
	}
	run_arm(r);
	return r;
}

static void
run_go(struct run *r)
{
	if (r->job.sealed != NULL)
		run_open_key(r);
	else
		run_spawn(r);
}

static struct run *
run_by_job(const char *id, enum run_state state)
{
	struct run	*r;

	TAILQ_FOREACH(r, &se.runs, entry)
		if (r->state == state && strcmp(r->job.id, id) == 0)
			return r;
	return NULL;
}

void
sync_keyd(struct ipc_msg *msg)
{
	struct imsg_key_data	*kd;
	struct imsg_key_error	*ke;
	struct run		*r;
	char			 why[128];

	TAILQ_FOREACH(r, &se.runs, entry) {
		if (r->state == RUN_KEY && r->key_id == msg->id)
			break;
		for (size_t i = 0; i < r->nseal; i++)
			if (r->seal_id[i] == msg->id) {
				run_sealed(r, i, msg);
				return;
			}
	}
	if (r == NULL) {
		log_warnx("%s: %s for no waiting run", __func__,
		    ipc_type_name(msg->type));
		return;
	}
	if (msg->type == IMSG_KEY_ERROR) {
		ke = msg->body;
		snprintf(why, sizeof(why), "the credentials could not be "
		    "opened (%s)", ke->code);
		run_fail(r, why, strcmp(ke->code, "internal") == 0);
		return;
	}
	kd = msg->body;
	r->credlen = kd->data.len;
	r->cred = xcalloc(1, r->credlen + 1);
	memcpy(r->cred, kd->data.data, r->credlen);
	run_arm(r);
	run_spawn(r);
}

/* Send the job to the fetcher; the credential dies right after. */
static void
run_send_start(struct run *r)
{
	struct imsg_fetch_start	 st;
	int			 rv;

	memset(&st, 0, sizeof(st));
	st.job = r->job.id;
	st.type = r->job.type;
	st.config = r->job.config;
	st.credential.data = r->cred;
	st.credential.len = r->credlen;
	st.cursor = r->job.cursor;
	st.oauth.data = r->oauth;
	st.oauth.len = r->oauthlen;
	rv = ipc_send(r->chan, IMSG_FETCH_START, 0, &st, -1);
	freezero(r->cred, r->credlen);
	r->cred = NULL;
	r->credlen = 0;
	if (r->oauth != NULL)
		freezero(r->oauth, r->oauthlen);
	r->oauth = NULL;
	r->oauthlen = 0;
	if (rv == -1)
		run_fail(r, "cannot send the job to the fetcher", 0);
}

static void
run_spawned(struct ipc_msg *msg)
{
	struct imsg_fetch_spawned	*sp = msg->body;
	struct imsg_fetch_kill		 k;
	struct run			*r;
	int				 fd;

	if ((r = run_by_job(sp->job, RUN_SPAWN)) == NULL) {
		log_warnx("%s: fetcher %llu for job %s that no run waits for",
		    __func__, (unsigned long long)sp->pid, sp->job);
		k.pid = sp->pid;
		(void)ipc_send(se.c->parent, IMSG_FETCH_KILL, 0, &k, -1);
		return;		/* ipc_msg_clear closes the fd */
	}
	fd = msg->fd;
	msg->fd = -1;
	r->pid = (pid_t)sp->pid;
	r->state = RUN_FETCH;
	if (fd_nonblock(fd) == -1 || (r->chan = ipc_chan_new(se.c->base, fd,
	    PROC_INDEXD, PROC_FETCHER, fetch_dispatch, fetch_error, r)) ==
	    NULL) {
		close(fd);
		run_fail(r, "cannot talk to the fetcher", 1);
		return;
	}
	log_debug("indexd: job %s: fetcher %d started", r->job.id, (int)r->pid);
	run_arm(r);
	run_send_start(r);
}

void
sync_parent(struct ipc_msg *msg)
{
	struct imsg_fetch_failed	*ff;
	struct run			*r;

	if (msg->type == IMSG_FETCH_SPAWNED) {
		run_spawned(msg);
		return;
	}
	ff = msg->body;
	if ((r = run_by_job(ff->job, RUN_SPAWN)) == NULL) {
		log_warnx("%s: spawn failure for job %s that no run waits for",
		    __func__, ff->job);
		return;
	}
	log_warnx("indexd: job %s: no fetcher: %s", r->job.id, ff->message);
	run_fail(r, "the fetcher could not be started", 1);
}

/*
 * Timers.
 */

static void
sync_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct job_claim	 j;
	struct run		*r;
	char			 err[256];
	int			 created, rv;

	if (job_schedule(se.e->db, &created, err, sizeof(err)) == -1)
		log_warnx("indexd: scheduler: %s", err);
	else if (created > 0)
		log_info("indexd: %d scheduled job%s created", created,
		    created == 1 ? "" : "s");
	while ((uint64_t)se.nruns < se.c->conf.sync_workers) {
		if ((rv = job_claim(se.e->db, se.worker, &j, err,
		    sizeof(err))) == -1)
			log_warnx("indexd: claim: %s", err);
		if (rv != 1)
			break;
		if ((r = run_start(&j)) != NULL)
			run_go(r);
	}
}

/* Cancellation was asked: stop the fetcher, keep what came. */
static void
run_cancel(struct run *r)
{
	char	 err[256];

	if (run_flush(r) == -1)
		return;		/* it failed instead, and is gone */
	if (job_cancelled(se.e->db, &r->job, se.worker, &r->n, err,
	    sizeof(err)) == -1)
		log_warnx("indexd: job %s: %s", r->job.id, err);
	log_counts(r, "cancelled");
	metrics_sync_run("cancelled", &r->n);
	run_free(r, 1);
}

static void
sync_beat(evutil_socket_t fd, short ev, void *arg)
{
	struct run	*r, *next;
	char		 err[256];
	int		 cancel, rv;

	for (r = TAILQ_FIRST(&se.runs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		rv = job_heartbeat(se.e->db, r->job.id, se.worker, &cancel,
		    err, sizeof(err));
		if (rv == -1)
			log_warnx("indexd: job %s: heartbeat: %s", r->job.id,
			    err);
		else if (rv == 0) {
			log_warnx("indexd: job %s is no longer ours; stopping "
			    "its run", r->job.id);
			run_free(r, 1);
		} else if (cancel)
			run_cancel(r);
	}
}

void
sync_kick(void)
{
	struct timeval	 tv = { 0, 0 };

	if (se.kick != NULL)
		evtimer_add(se.kick, &tv);
}

int
sync_oauth_exchange(const struct scope *sc, const char *source,
    const char *code, const char *verifier, char id[UUID_STR_LEN],
    char *err, size_t errlen)
{
	struct job_claim	 j;
	struct run		*r;
	json_t			*o;
	int			 rv;

	rv = job_create_oauth(se.e->db, sc, source, se.worker, &j, err,
	    errlen);
	if (rv != 1)
		return rv;
	strlcpy(id, j.id, UUID_STR_LEN);
	if (j.sealed == NULL) {
		job_claim_free(&j);
		snprintf(err, errlen, "no credentials");
		return -1;
	}
	if ((r = run_start(&j)) == NULL)
		return 1;	/* it failed, and says why */
	o = json_pack("{s:s,s:s}", "code", code, "verifier", verifier);
	if (o == NULL || (r->oauth = (uint8_t *)json_dumps(o,
	    JSON_COMPACT)) == NULL)
		fatalx("%s: out of memory", __func__);
	r->oauthlen = strlen((char *)r->oauth);
	explicit_bzero((char *)json_string_value(json_object_get(o, "code")),
	    strlen(code));
	json_decref(o);
	run_go(r);
	return 1;
}

int
sync_running(void)
{
	return se.nruns;
}

void
sync_init(struct child *c, struct engine *e)
{
	struct timeval	 tick = { SYNC_TICK_SECONDS, 0 };
	struct timeval	 beat = { SYNC_HEARTBEAT_SECONDS, 0 };
	char		 host[HOST_NAME_MAX + 1];

	se.c = c;
	se.e = e;
	TAILQ_INIT(&se.runs);
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "unknown", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(se.worker, sizeof(se.worker), "%s:%d", host, (int)getpid());
	se.tick = event_new(c->base, -1, EV_PERSIST, sync_tick, NULL);
	se.beat = event_new(c->base, -1, EV_PERSIST, sync_beat, NULL);
	se.kick = evtimer_new(c->base, sync_tick, NULL);
	if (se.tick == NULL || se.beat == NULL || se.kick == NULL ||
	    event_add(se.tick, &tick) == -1 || event_add(se.beat, &beat) == -1)
		fatalx("%s: timers", __func__);
	log_debug("%s: worker %s, %llu at once", __func__, se.worker,
	    (unsigned long long)c->conf.sync_workers);
}

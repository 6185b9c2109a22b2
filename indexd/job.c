/* Sync jobs in the database (see job.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/ingest.h"
#include "indexd/job.h"
#include "indexd/metrics.h"

/*
 * The external ids a run saw.
 */

static uint64_t
idset_hash(const char *s)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

static size_t
idset_find(char **slot, size_t cap, const char *s)
{
	size_t	 i = idset_hash(s) & (cap - 1);

	while (slot[i] != NULL && strcmp(slot[i], s) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static void
idset_grow(struct idset *set)
{
	size_t	 cap = set->cap ? set->cap * 2 : 1024;
	char	**slot = xcalloc(cap, sizeof(*slot));

	for (size_t i = 0; i < set->cap; i++)
		if (set->slot[i] != NULL)
			slot[idset_find(slot, cap, set->slot[i])] =
			    set->slot[i];
	free(set->slot);
	set->slot = slot;
	set->cap = cap;
}

int
idset_add(struct idset *set, const char *s)
{
	size_t	 i;

	if ((set->n + 1) * 2 > set->cap)
		idset_grow(set);
	i = idset_find(set->slot, set->cap, s);
	if (set->slot[i] != NULL)
		return 0;
	set->slot[i] = xstrdup(s);
	set->n++;
	return 1;
}

int
idset_has(const struct idset *set, const char *s)
{
	return set->cap > 0 &&
	    set->slot[idset_find(set->slot, set->cap, s)] != NULL;
}

void
idset_free(struct idset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
	memset(set, 0, sizeof(*set));
}

/*
 * Transactions.
 */

static int
res_ok(PGresult *r, ExecStatusType want, const char *what, char *err,
    size_t errlen)
{
	if (PQresultStatus(r) == want)
		return 0;
	if (r == NULL)
		metrics_pg_error();	/* not sent: the watch saw nothing */
	snprintf(err, errlen, "%s: %.*s", what,
	    (int)strcspn(PQresultErrorMessage(r), "\n"),
	    PQresultErrorMessage(r));
	return -1;
}

/* BEGIN with every row visible: the scheduler's and the runs' view. */
static int
begin_all(PGconn *db, char *err, size_t errlen)
{
	if (engine_exec(db, "BEGIN", err, errlen) == -1)
		return -1;
	if (scope_apply_all(db, err, errlen) == -1) {
		(void)engine_exec(db, "ROLLBACK", NULL, 0);
		return -1;
	}
	return 0;
}

static int
end_tx(PGconn *db, int rv, char *err, size_t errlen)
{
	if (rv == 0 && engine_exec(db, "COMMIT", err, errlen) == 0)
		return 0;
	(void)engine_exec(db, "ROLLBACK", NULL, 0);
	return -1;
}

/* One statement in its own all-rows transaction; the result or NULL. */
static PGresult *
exec_all(PGconn *db, const char *what, const char *sql, int n,
    const char *const *p, ExecStatusType want, char *err, size_t errlen)
{
	PGresult	*r;

	if (begin_all(db, err, errlen) == -1)
		return NULL;
	r = PQexecParams(db, sql, n, NULL, p, NULL, NULL, 0);
	if (res_ok(r, want, what, err, errlen) == -1) {
		PQclear(r);
		(void)end_tx(db, -1, NULL, 0);
		return NULL;
	}
	if (end_tx(db, 0, err, errlen) == -1) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/*
 * Claiming.
 */

static const char claim_pick[] =
    "SELECT id FROM sync_jobs WHERE "
    "(state = 'pending' AND run_after <= now() AND NOT cancel_requested) OR "
    "(state = 'running' AND heartbeat_at < now() - $1 * interval '1 second' "
    "AND attempt < $2 AND NOT cancel_requested) "
    "ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1";

/* A reclaimed job (its run crashed) counts as another attempt. */
static const char claim_take[] =
    "UPDATE sync_jobs j SET "
    "attempt = CASE WHEN j.state = 'running' THEN j.attempt + 1 "
    "ELSE j.attempt END, state = 'running', worker = $2, "
    "heartbeat_at = now(), started_at = now(), finished_at = NULL, "
    "added = 0, updated = 0, unchanged = 0, deleted = 0, failed = 0, "
    "error = NULL "
    "FROM sources s LEFT JOIN users u ON u.id = s.owner_user "
    "WHERE j.id = $1 AND s.id = j.source_id RETURNING "
    "j.id, s.id, s.collection_id, s.org_id, coalesce(s.owner_user::text, ''), "
    "s.type, s.config::text, s.credentials, s.cursor, u.key_salt, j.attempt, "
    "j.trigger";

static int
claim_fill(PGresult *r, struct job_claim *j, char *err, size_t errlen)
{
	unsigned char	*b;
	size_t		 len;

	strlcpy(j->id, PQgetvalue(r, 0, 0), sizeof(j->id));
	strlcpy(j->source_id, PQgetvalue(r, 0, 1), sizeof(j->source_id));
	strlcpy(j->collection_id, PQgetvalue(r, 0, 2),
	    sizeof(j->collection_id));
	strlcpy(j->org_id, PQgetvalue(r, 0, 3), sizeof(j->org_id));
	strlcpy(j->owner, PQgetvalue(r, 0, 4), sizeof(j->owner));
	strlcpy(j->type, PQgetvalue(r, 0, 5), sizeof(j->type));
	j->config = xstrdup(PQgetvalue(r, 0, 6));
	strlcpy(j->cursor, PQgetvalue(r, 0, 8), sizeof(j->cursor));
	j->attempt = (int)strtol(PQgetvalue(r, 0, 10), NULL, 10);
	strlcpy(j->trigger, PQgetvalue(r, 0, 11), sizeof(j->trigger));
	if (!PQgetisnull(r, 0, 7)) {
		b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 7),
		    &len);
		if (b == NULL) {
			snprintf(err, errlen, "claim: cannot read credentials");
			return -1;
		}
		j->sealed = xcalloc(1, len + 1);
		memcpy(j->sealed, b, len);
		j->sealedlen = len;
		PQfreemem(b);
	}
	if (j->owner[0] != '\0' && !PQgetisnull(r, 0, 9)) {
		b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 9),
		    &len);
		if (b == NULL || len != sizeof(j->salt)) {
			PQfreemem(b);
			snprintf(err, errlen, "claim: bad key salt");
			return -1;
		}
		memcpy(j->salt, b, len);
		j->has_salt = 1;
		PQfreemem(b);
	}
	return 0;
}

int
job_claim(PGconn *db, const char *worker, struct job_claim *j, char *err,
    size_t errlen)
{
	char		 lease[16], max[16], id[UUID_STR_LEN];
	const char	*p[2] = { lease, max };
	PGresult	*r;
	int		 rv = 0;

	memset(j, 0, sizeof(*j));
	snprintf(lease, sizeof(lease), "%d", JOB_LEASE_SECONDS);
	snprintf(max, sizeof(max), "%d", JOB_MAX_ATTEMPTS);
	if (begin_all(db, err, errlen) == -1)
		return -1;
	r = PQexecParams(db, claim_pick, 2, NULL, p, NULL, NULL, 0);
	if (res_ok(r, PGRES_TUPLES_OK, "claim", err, errlen) == -1)
		rv = -1;
	else if (PQntuples(r) == 1) {
		strlcpy(id, PQgetvalue(r, 0, 0), sizeof(id));
		PQclear(r);
		p[0] = id;
		p[1] = worker;
		r = PQexecParams(db, claim_take, 2, NULL, p, NULL, NULL, 0);
		if (res_ok(r, PGRES_TUPLES_OK, "claim", err, errlen) == -1)
			rv = -1;
		else if (PQntuples(r) == 1)
			rv = claim_fill(r, j, err, errlen) == -1 ? -1 : 1;
	}
	PQclear(r);
	if (end_tx(db, rv == -1 ? -1 : 0, err, errlen) == -1 || rv == -1) {
		job_claim_free(j);
		return -1;
	}
	return rv;
}

void
job_claim_free(struct job_claim *j)
{
	free(j->config);
	freezero(j->sealed, j->sealedlen);
	explicit_bzero(j, sizeof(*j));
}

/*
 * The scheduler.
 */

/* Jobs whose runs keep dying (or were cancelled while stuck) end here. */
static const char sched_reap[] =
    "UPDATE sync_jobs SET state = CASE WHEN cancel_requested "
    "THEN 'cancelled' ELSE 'failed' END, finished_at = now(), "
    "error = CASE WHEN cancel_requested THEN error ELSE "
    "'the run was interrupted ' || attempt || ' times' END "
    "WHERE state = 'running' AND heartbeat_at < now() - $1 * "
    "interval '1 second' AND (attempt >= $2 OR cancel_requested)";

static const char sched_due[] =
    "WITH due AS (UPDATE sources SET next_run_at = now() + "
    "schedule_seconds * interval '1 second' WHERE next_run_at <= now() "
    "AND schedule_seconds > 0 AND NOT needs_reauth RETURNING id, collection_id, owner_user) "
    "INSERT INTO sync_jobs (source_id, collection_id, owner_user, trigger) "
    "SELECT id, collection_id, owner_user, 'schedule' FROM due "
    "ON CONFLICT (source_id) WHERE state IN ('pending', 'running') "
    "DO NOTHING";

int
job_schedule(PGconn *db, int *created, char *err, size_t errlen)
{
	char		 lease[16], max[16];
	const char	*p[2] = { lease, max };
	PGresult	*r;
	int		 rv;

	*created = 0;
	snprintf(lease, sizeof(lease), "%d", JOB_LEASE_SECONDS);
	snprintf(max, sizeof(max), "%d", JOB_MAX_ATTEMPTS);
	if (begin_all(db, err, errlen) == -1)
		return -1;
	r = PQexecParams(db, sched_reap, 2, NULL, p, NULL, NULL, 0);
	rv = res_ok(r, PGRES_COMMAND_OK, "reap", err, errlen);
	PQclear(r);
	if (rv == 0) {
		r = PQexec(db, sched_due);
		rv = res_ok(r, PGRES_COMMAND_OK, "schedule", err, errlen);
		if (rv == 0)
			*created = (int)strtol(PQcmdTuples(r), NULL, 10);
		PQclear(r);
	}
	return end_tx(db, rv, err, errlen);
}

int
job_heartbeat(PGconn *db, const char *job, const char *worker, int *cancel,
    char *err, size_t errlen)
{
	const char	*p[2] = { job, worker };
	PGresult	*r;
	int		 rv;

	*cancel = 0;
	r = exec_all(db, "heartbeat", "UPDATE sync_jobs SET heartbeat_at = "
	    "now() WHERE id = $1 AND worker = $2 AND state = 'running' "
	    "RETURNING cancel_requested", 2, p, PGRES_TUPLES_OK, err, errlen);
	if (r == NULL)
		return -1;
	rv = PQntuples(r) == 1;
	if (rv)
		*cancel = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return rv;
}

/*
 * The end of a run.
 */

static void
counts_params(const struct job_counts *c, char buf[5][24])
{
	snprintf(buf[0], 24, "%lld", (long long)c->added);
	snprintf(buf[1], 24, "%lld", (long long)c->updated);
	snprintf(buf[2], 24, "%lld", (long long)c->unchanged);
	snprintf(buf[3], 24, "%lld", (long long)c->deleted);
	snprintf(buf[4], 24, "%lld", (long long)c->failed);
}

/* message cut to the column's limit on a UTF-8 boundary (malloc'd) */
static char *
error_text(const char *message)
{
	size_t	 n = strlen(message);

	if (n > JOB_MAX_ERROR) {
		n = JOB_MAX_ERROR;
		while (n > 0 && ((uint8_t)message[n] & 0xc0) == 0x80)
			n--;
	}
	return xstrndup(message, n);
}

static int
seen_keep(void *arg, const char *external_id)
{
	return idset_has(arg, external_id);
}

/* The statements of job_succeed, inside its transaction. */
static int
succeed_rows(PGconn *db, const struct job_claim *j, const char *worker,
    const char *cursor, const struct job_counts *c, char *err, size_t errlen)
{
	char		 n[5][24];
	const char	*p[8];
	PGresult	*r;
	int		 rv;

	p[0] = j->source_id;
	p[1] = cursor;
	r = PQexecParams(db, "UPDATE sources SET cursor = $2, next_run_at = "
	    "CASE WHEN next_run_at IS NULL AND schedule_seconds > 0 THEN "
	    "now() + schedule_seconds * interval '1 second' ELSE next_run_at "
	    "END WHERE id = $1", 2, NULL, p, NULL, NULL, 0);
	rv = res_ok(r, PGRES_COMMAND_OK, "store the cursor", err, errlen);
	PQclear(r);
	if (rv == -1)
		return -1;
	counts_params(c, n);
	p[0] = j->id;
	p[1] = worker;
	for (int i = 0; i < 5; i++)
		p[2 + i] = n[i];
	r = PQexecParams(db, "UPDATE sync_jobs SET state = 'succeeded', "
	    "finished_at = now(), heartbeat_at = now(), added = $3, "
	    "updated = $4, unchanged = $5, deleted = $6, failed = $7, "
	    "error = NULL WHERE id = $1 AND worker = $2 AND "
	    "state = 'running'", 7, NULL, p, NULL, NULL, 0);
	rv = res_ok(r, PGRES_COMMAND_OK, "end the job", err, errlen);
	if (rv == 0 && strcmp(PQcmdTuples(r), "1") != 0) {
		snprintf(err, errlen, "the job is no longer this worker's");
		rv = -1;
	}
	PQclear(r);
	return rv;
}

int
job_succeed(struct engine *e, const struct job_claim *j, const char *worker,
    const char *cursor, const struct idset *seen, struct job_counts *c,
    char *err, size_t errlen)
{
	struct scope	 sc;
	size_t		 deleted = 0;
	int		 rv = 0;

	memset(&sc, 0, sizeof(sc));
	if (scope_add_collection(&sc, j->collection_id) == -1 ||
	    scope_set_owner(&sc, j->owner) == -1) {
		scope_free(&sc);
		snprintf(err, errlen, "bad scope");
		return -1;
	}
	if (engine_exec(e->db, "BEGIN", err, errlen) == -1) {
		scope_free(&sc);
		return -1;
	}
	rv = scope_apply(e->db, &sc, err, errlen);
	scope_free(&sc);
	if (rv == 0 && seen != NULL)
		rv = ingest_delete_source(e, j->collection_id, j->source_id,
		    seen_keep, (void *)(uintptr_t)seen, &deleted, err, errlen);
	c->deleted = (int64_t)deleted;
	if (rv == 0)
		rv = succeed_rows(e->db, j, worker, cursor, c, err, errlen);
	if (end_tx(e->db, rv, err, errlen) == 0) {
		store_commit(e->store);
		return 0;
	}
	store_rollback(e->store);
	c->deleted = 0;
	return -1;
}

static const char fail_retry[] =
    "UPDATE sync_jobs SET state = CASE WHEN cancel_requested THEN "
    "'cancelled' ELSE 'pending' END, finished_at = CASE WHEN "
    "cancel_requested THEN now() END, trigger = 'retry', "
    "attempt = attempt + 1, run_after = now() + $3 * interval '1 second', "
    "worker = NULL, heartbeat_at = NULL, error = $4, added = $5, "
    "updated = $6, unchanged = $7, deleted = $8, failed = $9 "
    "WHERE id = $1 AND worker = $2 AND state = 'running'";
static const char fail_final[] =
    "UPDATE sync_jobs SET state = $3, finished_at = now(), error = $4, "
    "added = $5, updated = $6, unchanged = $7, deleted = $8, failed = $9 "
    "WHERE id = $1 AND worker = $2 AND state = 'running'";

static int
job_end(PGconn *db, const struct job_claim *j, const char *worker,
    const char *sql, const char *arg3, const char *message,
    const struct job_counts *c, char *err, size_t errlen)
{
	char		 n[5][24], *msg = message ? error_text(message) : NULL;
	const char	*p[9] = { j->id, worker, arg3, msg };
	PGresult	*r;

	counts_params(c, n);
	for (int i = 0; i < 5; i++)
		p[4 + i] = n[i];
	r = exec_all(db, "end the job", sql, 9, p, PGRES_COMMAND_OK, err,
	    errlen);
	free(msg);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
job_fail(PGconn *db, const struct job_claim *j, const char *worker,
    const char *message, int transient, const struct job_counts *c,
    int *retried, char *err, size_t errlen)
{
	char	 delay[24];

	*retried = transient && j->attempt < JOB_MAX_ATTEMPTS;
	if (!*retried)
		return job_end(db, j, worker, fail_final, "failed", message,
		    c, err, errlen);
	/* 30 s, 60 s, 120 s, ... */
	snprintf(delay, sizeof(delay), "%lld", (long long)JOB_RETRY_SECONDS <<
	    (j->attempt > 1 ? j->attempt - 1 : 0));
	return job_end(db, j, worker, fail_retry, delay, message, c, err,
	    errlen);
}

int
job_cancelled(PGconn *db, const struct job_claim *j, const char *worker,
    const struct job_counts *c, char *err, size_t errlen)
{
	return job_end(db, j, worker, fail_final, "cancelled", NULL, c, err,
	    errlen);
}

/*
 * Manual jobs.
 */

static int
source_exists(PGconn *db, const char *source, char *err, size_t errlen)
{
	const char	*p[1] = { source };
	PGresult	*r;
	int		 rv;

	r = PQexecParams(db, "SELECT 1 FROM sources WHERE id = $1", 1, NULL,
	    p, NULL, NULL, 0);
	rv = res_ok(r, PGRES_TUPLES_OK, "source", err, errlen);
	if (rv == 0)
		rv = PQntuples(r) == 1;
	PQclear(r);
	return rv;
}

int
job_create_manual(PGconn *db, const struct scope *sc, const char *source,
    char id[UUID_STR_LEN], char *err, size_t errlen)
{
	const char	*p[1] = { source };
	PGresult	*r;
	uint8_t		 raw[16];
	int		 rv;

	err[0] = '\0';
	id[0] = '\0';
	if (uuid_parse(source, raw) == -1)
		return -1;
	if (engine_exec(db, "BEGIN", err, errlen) == -1)
		return -1;
	rv = sc != NULL ? scope_apply(db, sc, err, errlen) :
	    scope_apply_all(db, err, errlen);
	if (rv == -1)
		return end_tx(db, -1, NULL, 0);
	r = PQexecParams(db, "INSERT INTO sync_jobs (source_id, collection_id, "
	    "owner_user, trigger) SELECT id, collection_id, owner_user, "
	    "'manual' FROM sources WHERE id = $1 ON CONFLICT (source_id) "
	    "WHERE state IN ('pending', 'running') DO NOTHING RETURNING id",
	    1, NULL, p, NULL, NULL, 0);
	if ((rv = res_ok(r, PGRES_TUPLES_OK, "create job", err, errlen)) == 0) {
		if (PQntuples(r) == 1) {
			strlcpy(id, PQgetvalue(r, 0, 0), UUID_STR_LEN);
			rv = 1;
		} else if ((rv = source_exists(db, source, err, errlen)) == 1) {
			rv = 0;		/* a job is already active */
		} else if (rv == 0) {
			err[0] = '\0';	/* no such source in scope */
			rv = -1;
		}
	}
	PQclear(r);
	if (end_tx(db, rv == -1 ? -1 : 0, rv == -1 ? NULL : err,
	    rv == -1 ? 0 : errlen) == -1)
		return -1;
	return rv;
}

/*
 * OAuth sources.
 */

int
job_create_oauth(PGconn *db, const struct scope *sc, const char *source,
    const char *worker, struct job_claim *j, char *err, size_t errlen)
{
	const char	*p[2] = { source, worker };
	PGresult	*r;
	char		 id[UUID_STR_LEN];
	int		 rv;

	memset(j, 0, sizeof(*j));
	err[0] = '\0';
	if (engine_exec(db, "BEGIN", err, errlen) == -1)
		return -1;
	if (scope_apply(db, sc, err, errlen) == -1)
		return end_tx(db, -1, NULL, 0);
	r = PQexecParams(db, "INSERT INTO sync_jobs (source_id, collection_id, "
	    "owner_user, trigger) SELECT id, collection_id, owner_user, "
	    "'oauth' FROM sources WHERE id = $1 ON CONFLICT (source_id) "
	    "WHERE state IN ('pending', 'running') DO NOTHING RETURNING id",
	    1, NULL, p, NULL, NULL, 0);
	rv = res_ok(r, PGRES_TUPLES_OK, "create job", err, errlen);
	if (rv == 0 && PQntuples(r) == 1) {
		strlcpy(id, PQgetvalue(r, 0, 0), sizeof(id));
		PQclear(r);
		/* claimed at once, in this transaction, by this worker */
		p[0] = id;
		r = PQexecParams(db, claim_take, 2, NULL, p, NULL, NULL, 0);
		rv = res_ok(r, PGRES_TUPLES_OK, "create job", err, errlen);
		if (rv == 0 && PQntuples(r) == 1)
			rv = claim_fill(r, j, err, errlen) == -1 ? -1 : 1;
		else if (rv == 0)
			rv = -1;
	} else if (rv == 0) {
		rv = source_exists(db, source, err, errlen);
		if (rv == 0)
			err[0] = '\0';
		rv = rv == 1 ? 0 : -1;
	}
	PQclear(r);
	if (end_tx(db, rv == -1 ? -1 : 0, rv == -1 ? NULL : err,
	    rv == -1 ? 0 : errlen) == -1 || rv == -1) {
		job_claim_free(j);
		return -1;
	}
	return rv;
}

int
job_store_credentials(PGconn *db, const char *source, const uint8_t *sealed,
    size_t len, char *err, size_t errlen)
{
	const char	*p[2] = { source, NULL };
	char		*hex;
	PGresult	*r;

	hex = xcalloc(1, 2 * len + 3);
	hex[0] = '\\';
	hex[1] = 'x';
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", sealed[i]);
	p[1] = hex;
	r = exec_all(db, "store credentials", "UPDATE sources SET credentials "
	    "= $2::bytea, credentials_rotated_at = now(), needs_reauth = false, "
	    "updated_at = now() WHERE id = $1", 2, p, PGRES_COMMAND_OK, err,
	    errlen);
	free(hex);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
job_needs_reauth(PGconn *db, const char *source, char *err, size_t errlen)
{
	const char	*p[1] = { source };
	PGresult	*r;

	r = exec_all(db, "needs reauth", "UPDATE sources SET needs_reauth = "
	    "true, updated_at = now() WHERE id = $1", 1, p, PGRES_COMMAND_OK,
	    err, errlen);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

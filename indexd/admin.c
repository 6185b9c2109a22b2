/*
 * ballastctl's requests through the parent (see admin.h).  Each runs
 * with ballast.load_all on: they are the host administrator's, across
 * every collection, and no content leaves indexd (only counts).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"
#include "indexd/admin.h"
#include "indexd/job.h"
#include "indexd/secret.h"
#include "indexd/sync.h"

#define REWRAP_COLS	5	/* id, org, owner, salt, sealed */

static struct rewrap {
	int		 running;
	uint64_t	 ctl_id;	/* the parent's request */
	uint64_t	 key_id;	/* the outstanding IMSG_KEY_REWRAP */
	PGresult	*rows;
	int		 next;
	unsigned	 done, failed, changed;
} rw;

static void
admin_answer(struct child *c, uint64_t id, int ok, const char *message)
{
	struct imsg_ctl_result	 r;

	r.ok = ok;
	r.message = (char *)message;
	/* child_send() reaches peers; the parent is c->parent */
	if (ipc_send(c->parent, IMSG_CTL_ADMIN_REP, id, &r, -1) == -1)
		log_warnx("%s: cannot answer the parent", __func__);
}

/* Run one statement with load_all on; binary results when asked. */
static PGresult *
admin_sql(PGconn *db, const char *q, int n, const char *const *v,
    const int *lens, const int *fmts, int binary)
{
	PGresult	*res, *r2;

	res = PQexec(db, "BEGIN; SET LOCAL ballast.load_all = 'on'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("%s: %s", __func__, PQerrorMessage(db));
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	res = PQexecParams(db, q, n, NULL, v, lens, fmts, binary);
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("%s: %s", __func__, PQerrorMessage(db));
		PQclear(res);
		PQclear(PQexec(db, "ROLLBACK"));
		return NULL;
	}
	r2 = PQexec(db, "COMMIT");
	if (PQresultStatus(r2) != PGRES_COMMAND_OK) {
		log_warnx("%s: commit: %s", __func__, PQerrorMessage(db));
		PQclear(r2);
		PQclear(res);
		return NULL;
	}
	PQclear(r2);
	return res;
}

static void
admin_secrets(struct child *c, PGconn *db, uint64_t id)
{
	PGresult	*res;
	char		*out;
	size_t		 off = 0, cap;

	res = admin_sql(db, "SELECT (get_byte(credentials, 1)::bigint << 24) "
	    "| (get_byte(credentials, 2) << 16) | (get_byte(credentials, 3) "
	    "<< 8) | get_byte(credentials, 4), count(*) FROM sources WHERE "
	    "length(credentials) > 5 GROUP BY 1 ORDER BY 1", 0, NULL, NULL,
	    NULL, 0);
	if (res == NULL) {
		admin_answer(c, id, 0, "the database could not be read");
		return;
	}
	cap = (size_t)PQntuples(res) * 48 + 1;
	out = xcalloc(1, cap);
	for (int i = 0; i < PQntuples(res); i++)
		off += (size_t)snprintf(out + off, cap - off, "%s %s\n",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);
	admin_answer(c, id, 1, out);
	free(out);
}

static void
rewrap_finish(struct child *c)
{
	char	 m[200];

	snprintf(m, sizeof(m), "rewrapped %u secrets under the newest key; "
	    "%u failed%s", rw.done, rw.failed, rw.changed ? " (some changed "
	    "meanwhile and are sealed anew already)" : "");
	log_info("indexd: %s", m);
	admin_answer(c, rw.ctl_id, rw.failed == 0, m);
	PQclear(rw.rows);
	memset(&rw, 0, sizeof(rw));
}

/* Send the next row to keyd, or finish. */
static void
rewrap_next(struct child *c)
{
	struct imsg_key_req	 k;
	PGresult		*r = rw.rows;
	int			 i = rw.next;

	if (i >= PQntuples(r)) {
		rewrap_finish(c);
		return;
	}
	memset(&k, 0, sizeof(k));
	k.org = PQgetvalue(r, i, 1);
	k.source = PQgetvalue(r, i, 0);
	if (!PQgetisnull(r, i, 2)) {
		k.user = PQgetvalue(r, i, 2);
		k.user_salt.data = (uint8_t *)PQgetvalue(r, i, 3);
		k.user_salt.len = (size_t)PQgetlength(r, i, 3);
	}
	k.data.data = (uint8_t *)PQgetvalue(r, i, 4);
	k.data.len = (size_t)PQgetlength(r, i, 4);
	rw.key_id = ipc_next_id();
	if (child_send(c, PROC_KEYD, IMSG_KEY_REWRAP, rw.key_id, &k, -1) ==
	    -1) {
		log_warnx("%s: keyd is not reachable", __func__);
		rw.failed += (unsigned)(PQntuples(r) - i);
		rw.next = PQntuples(r);
		rewrap_finish(c);
	}
}

static void
admin_rewrap(struct child *c, PGconn *db, uint64_t id)
{
	if (rw.running) {
		admin_answer(c, id, 0, "a rewrap is already running");
		return;
	}
	/* text columns come as their bytes in binary format too */
	rw.rows = admin_sql(db, "SELECT s.id::text, s.org_id::text, "
	    "s.owner_user::text, u.key_salt, s.credentials FROM sources s "
	    "LEFT JOIN users u ON u.id = s.owner_user WHERE s.credentials IS "
	    "NOT NULL ORDER BY s.id", 0, NULL, NULL, NULL, 1);
	if (rw.rows == NULL) {
		admin_answer(c, id, 0, "the database could not be read");
		return;
	}
	rw.running = 1;
	rw.ctl_id = id;
	log_info("indexd: rewrapping %d secrets", PQntuples(rw.rows));
	rewrap_next(c);
}

/* Store the new form unless the credential changed meanwhile. */
static void
rewrap_store(PGconn *db, const struct imsg_key_data *d)
{
	PGresult	*res;
	const char	*v[3];
	int		 lens[3], fmts[3] = { 0, 1, 1 };

	v[0] = PQgetvalue(rw.rows, rw.next, 0);
	lens[0] = 0;
	v[1] = (const char *)d->data.data;
	lens[1] = (int)d->data.len;
	v[2] = PQgetvalue(rw.rows, rw.next, 4);
	lens[2] = PQgetlength(rw.rows, rw.next, 4);
	res = admin_sql(db, "UPDATE sources SET credentials = $2 WHERE id = "
	    "$1::uuid AND credentials = $3", 3, v, lens, fmts, 0);
	if (res == NULL)
		rw.failed++;
	else if (strcmp(PQcmdTuples(res), "1") == 0)
		rw.done++;
	else
		rw.changed++;
	PQclear(res);
}

int
admin_key_reply(struct child *c, PGconn *db, struct ipc_msg *msg)
{
	if (!rw.running || msg->id != rw.key_id)
		return 0;
	if (msg->type == IMSG_KEY_RESULT)
		rewrap_store(db, msg->body);
	else {
		/* keyd's message says nothing of the secret */
		log_warnx("indexd: rewrap of source %s's credential failed: %s",
		    PQgetvalue(rw.rows, rw.next, 0), msg->type ==
		    IMSG_KEY_ERROR ? ((struct imsg_key_error *)msg->body)->
		    message : "unexpected answer");
		rw.failed++;
	}
	rw.next++;
	rewrap_next(c);
	return 1;
}

/* sync SOURCE: a manual job, whatever the source's scope. */
static void
admin_sync(struct child *c, PGconn *db, uint64_t id, const char *source)
{
	char	 job[UUID_STR_LEN], err[256], text[320];
	int	 rv;

	if ((rv = job_create_manual(db, NULL, source, job, err,
	    sizeof(err))) == 1) {
		snprintf(text, sizeof(text), "job %s queued", job);
		log_info("indexd: job %s created for source %s by ballastctl",
		    job, source);
		sync_kick();
		admin_answer(c, id, 1, text);
	} else if (rv == 0)
		admin_answer(c, id, 0, "a job of this source is pending or "
		    "running");
	else if (err[0] == '\0')
		admin_answer(c, id, 0, "no such source");
	else {
		log_warnx("indexd: admin sync: %s", err);
		admin_answer(c, id, 0, "the database failed");
	}
}

void
admin_request(struct child *c, PGconn *db, uint64_t id,
    const struct imsg_ctl_admin *a)
{
	if (strcmp(a->op, "rewrap") == 0)
		admin_rewrap(c, db, id);
	else if (strcmp(a->op, "secrets") == 0)
		admin_secrets(c, db, id);
	else if (strcmp(a->op, "sync") == 0)
		admin_sync(c, db, id, a->arg);
	else if (strncmp(a->op, "secret-", 7) == 0)
		secret_admin(c, db, id, a);
	else
		admin_answer(c, id, 0, "unknown request");
}

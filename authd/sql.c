/*
 * authd's database access: one synchronous libpq connection, text
 * parameters only (every query is parameterised), errors logged with the
 * server's message but never the parameters (they may be hashes or
 * e-mail addresses).
 *
 * Every statement is prepared on its first use and run by name after
 * that: authd's statements are a fixed set of literals, most of them
 * cheap index lookups that PostgreSQL took longer to parse and plan
 * than to run (the per-request credential and /v1/me lookups were
 * ~70 % parse+plan, issue 12).  Statements are found by their text, so
 * a caller needs nothing new; past SQL_NPREP distinct texts they simply
 * run unprepared.
 *
 * sql_pipeline() runs a batch of independent statements (each waiting
 * request's credential check, issue 12) in libpq's pipeline mode: sent
 * together, one sync, one round trip.  Statements are prepared before
 * the pipeline starts.  Whatever the pipeline could not run (a broken
 * connection, a statement after a failed one, a prepared statement the
 * server lost) is run again alone, exactly as sql() runs it, so a
 * caller sees the same results and failures as one statement at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "authd/authd.h"
#include "common/db.h"
#include "common/log.h"

#define SQL_NPREP	128
/*
 * Statements per pipeline: a blocking connection must not send so much
 * that the server blocks writing results we are not reading yet.
 */
#define SQL_PIPELINE_MAX	64

static PGconn	*sql_db;
static uint64_t	 sql_npipelined;	/* statements sent in a pipeline */

static struct {
	char		*query[SQL_NPREP];
	uint64_t	 hash[SQL_NPREP];
	size_t		 n;
	int		 pid;	/* the backend holding them */
	unsigned int	 gen;	/* in names, so forgotten ones never clash */
} sql_prep;

/* After a reconnect (or a server that lost them) none are prepared. */
static void
sql_prep_forget(void)
{
	for (size_t i = 0; i < sql_prep.n; i++)
		free(sql_prep.query[i]);
	sql_prep.n = 0;
	sql_prep.gen++;
}

static uint64_t
sql_hash(const char *s)
{
	uint64_t	 h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/*
 * The name of query's prepared statement, preparing it on first use;
 * -1: run it unprepared (table full, or PREPARE failed: running it
 * reports the error).
 */
static int
sql_prepared(const char *query, int n, char *name, size_t len)
{
	PGresult	*res;
	uint64_t	 h = sql_hash(query);
	size_t		 i;
	int		 ok;

	if (PQbackendPID(sql_db) != sql_prep.pid) {
		sql_prep_forget();
		/* Maybe another database: its generations are not ours. */
		pcache_drop();
		sql_prep.pid = PQbackendPID(sql_db);
	}
	for (i = 0; i < sql_prep.n; i++)
		if (sql_prep.hash[i] == h && strcmp(sql_prep.query[i],
		    query) == 0)
			break;
	if (i == SQL_NPREP)
		return -1;
	if ((size_t)snprintf(name, len, "authd_%u_%zu", sql_prep.gen, i) >=
	    len)
		return -1;
	if (i < sql_prep.n)
		return 0;
	if ((sql_prep.query[i] = strdup(query)) == NULL)
		return -1;
	res = PQprepare(sql_db, name, query, n, NULL);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok) {
		free(sql_prep.query[i]);
		return -1;
	}
	sql_prep.hash[i] = h;
	sql_prep.n++;
	return 0;
}

/*
 * Runs query, by its prepared statement when it has one.  A statement
 * the server no longer has (26000) or whose result type a migration
 * changed (0A000) failed before it ran: forget them all and run it
 * unprepared, when no transaction was aborted by the failure.
 */
static PGresult *
sql_run(const char *query, int n, const char *const *params)
{
	PGresult	*res;
	const char	*st;
	char		 name[48];

	if (sql_prepared(query, n, name, sizeof(name)) == -1)
		return PQexecParams(sql_db, query, n, NULL, params, NULL,
		    NULL, 0);
	res = PQexecPrepared(sql_db, name, n, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_FATAL_ERROR ||
	    (st = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL ||
	    (strcmp(st, "26000") != 0 && strcmp(st, "0A000") != 0))
		return res;
	sql_prep_forget();
	if (PQtransactionStatus(sql_db) != PQTRANS_IDLE)
		return res;
	PQclear(res);
	return PQexecParams(sql_db, query, n, NULL, params, NULL, NULL, 0);
}

void
sql_init(PGconn *db)
{
	sql_db = db;
}

/* Reconnects once when the connection went bad. */
int
sql_ready(void)
{
	if (sql_db == NULL || strcmp(db_health(sql_db), "ok") != 0)
		return 0;
	/* A handler that failed half-way must not leave a transaction. */
	if (PQtransactionStatus(sql_db) != PQTRANS_IDLE) {
		log_warnx("%s: rolling back a transaction left open",
		    __func__);
		sql_rollback();
	}
	return 1;
}

/*
 * The statement failed because the connection went (PostgreSQL shutting
 * down or restarting, the network): the request can be answered 503 or
 * its statement run again on a new connection, not failed with a 500.
 */
static int
sql_lost_state(const char *st)
{
	return PQstatus(sql_db) == CONNECTION_BAD || (st != NULL &&
	    (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
	    strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0));
}

int
sql_connection_lost(void)
{
	return sql_db == NULL || PQstatus(sql_db) == CONNECTION_BAD;
}

/* Any failure of a statement is logged the same way. */
static void
sql_log_failure(PGresult *res, const char *query, const char *func)
{
	log_warnx("%s: %.*s (%.40s...)", func,
	    (int)strcspn(PQresultErrorMessage(res), "\n"),
	    PQresultErrorMessage(res), query);
}

PGresult *
sql_state(const char *query, int n, const char *const *params, char state[6])
{
	PGresult	*res;
	const char	*st;
	ExecStatusType	 rs;

	if (state != NULL)
		state[0] = '\0';
	res = sql_run(query, n, params);
	rs = PQresultStatus(res);
	if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK)
		return res;
	st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state != NULL && st != NULL)
		strlcpy(state, st, 6);
	/* Expected conflicts are the caller's to report. */
	if (state == NULL || st == NULL || strncmp(st, "23", 2) != 0)
		sql_log_failure(res, query, __func__);
	PQclear(res);
	return NULL;
}

PGresult *
sql(const char *query, int n, const char *const *params)
{
	return sql_state(query, n, params, NULL);
}

int
sql_exec(const char *query, int n, const char *const *params)
{
	PGresult	*res;

	if ((res = sql(query, n, params)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
sql_begin(void)
{
	return sql_exec("BEGIN", 0, NULL);
}

int
sql_commit(void)
{
	return sql_exec("COMMIT", 0, NULL);
}

void
sql_rollback(void)
{
	(void)sql_exec("ROLLBACK", 0, NULL);
}

/*
 * One statement's results from the pipeline.  0: read (it->again still
 * set when it must run alone); -1: the pipeline broke, stop reading.
 */
static int
sql_pipeline_result(struct sql_item *it)
{
	PGresult	*res;
	const char	*st;

	if ((res = PQgetResult(sql_db)) == NULL)
		return -1;
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		it->res = res;
		it->again = 0;
		break;
	case PGRES_PIPELINE_ABORTED:	/* an earlier statement failed */
		PQclear(res);
		break;
	case PGRES_FATAL_ERROR:
		st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (st != NULL && (strcmp(st, "26000") == 0 ||
		    strcmp(st, "0A000") == 0))
			sql_prep_forget();	/* run alone: re-prepared */
		else if (sql_lost_state(st)) {
			PQclear(res);
			return -1;
		} else {
			sql_log_failure(res, it->query, "sql_state");
			it->again = 0;
		}
		PQclear(res);
		break;
	default:
		PQclear(res);
		return -1;
	}
	/* A statement's results end with NULL. */
	if ((res = PQgetResult(sql_db)) != NULL) {
		PQclear(res);
		return -1;
	}
	return 0;
}

/*
 * Leaves pipeline mode whatever happened: reads what is left up to the
 * sync; a connection that cannot leave it is made again (nothing of
 * ours is open on it: statements in a pipeline are their own
 * transaction).
 */
static void
sql_pipeline_end(size_t left)
{
	PGresult	*res;
	int		 nulls = 0;

	for (size_t i = 0; i < 2 * left + 4 && nulls < 2; i++) {
		if ((res = PQgetResult(sql_db)) == NULL) {
			nulls++;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		PQclear(res);
	}
	if (PQexitPipelineMode(sql_db) != 1) {
		log_warnx("%s: cannot leave pipeline mode: %.*s; reconnecting",
		    __func__, (int)strcspn(PQerrorMessage(sql_db), "\n"),
		    PQerrorMessage(sql_db));
		PQreset(sql_db);
	}
}

static void
sql_pipeline_run(struct sql_item *it, size_t n)
{
	char		 name[SQL_PIPELINE_MAX][48];
	int		 prep[SQL_PIPELINE_MAX];
	PGresult	*res;
	size_t		 sent, i;

	/* Prepared first: PQprepare cannot run inside the pipeline. */
	for (i = 0; i < n; i++)
		prep[i] = sql_prepared(it[i].query, it[i].n, name[i],
		    sizeof(name[i])) == 0;
	if (PQenterPipelineMode(sql_db) != 1)
		return;
	for (sent = 0; sent < n; sent++)
		if ((prep[sent] ? PQsendQueryPrepared(sql_db, name[sent],
		    it[sent].n, it[sent].params, NULL, NULL, 0) :
		    PQsendQueryParams(sql_db, it[sent].query, it[sent].n, NULL,
		    it[sent].params, NULL, NULL, 0)) != 1)
			break;
	sql_npipelined += sent;
	/* Without the sync the server may hold the results: start over. */
	if (PQpipelineSync(sql_db) != 1) {
		if (PQexitPipelineMode(sql_db) != 1)
			PQreset(sql_db);
		return;
	}
	for (i = 0; i < sent; i++)
		if (sql_pipeline_result(&it[i]) == -1)
			break;
	if (i == sent && (res = PQgetResult(sql_db)) != NULL) {
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			if (PQexitPipelineMode(sql_db) == 1)
				return;
		} else
			PQclear(res);
	}
	sql_pipeline_end(sent - i);
}

uint64_t
sql_pipelined(void)
{
	return sql_npipelined;
}

void
sql_pipeline(struct sql_item *it, size_t n)
{
	size_t	 i, chunk;
	int	 down = 0;
	char	 state[6];

	for (i = 0; i < n; i++) {
		it[i].res = NULL;
		it[i].unavailable = 0;
		it[i].again = 1;
	}
	/* One statement gains nothing: it runs alone below. */
	for (i = 0; n > 1 && i < n; i += chunk) {
		chunk = n - i < SQL_PIPELINE_MAX ? n - i : SQL_PIPELINE_MAX;
		if (sql_ready())
			sql_pipeline_run(it + i, chunk);
	}
	for (i = 0; i < n; i++) {
		if (!it[i].again)
			continue;
		it[i].again = 0;
		if (down || (down = !sql_ready()))
			it[i].unavailable = 1;
		else if ((it[i].res = sql_state(it[i].query, it[i].n,
		    it[i].params, state)) == NULL && sql_lost_state(state))
			it[i].unavailable = down = 1;
	}
}

json_t *
sql_json_str(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	return json_string(PQgetvalue(res, row, col));
}

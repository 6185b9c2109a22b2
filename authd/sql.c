/*
 * authd's database access: one synchronous libpq connection, text
 * parameters only (every query is parameterised), errors logged with the
 * server's message but never the parameters (they may be hashes or
 * e-mail addresses).
 */
#include <string.h>

#include <libpq-fe.h>

#include "authd/authd.h"
#include "common/db.h"
#include "common/log.h"

static PGconn	*sql_db;

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

PGresult *
sql_state(const char *query, int n, const char *const *params, char state[6])
{
	PGresult	*res;
	const char	*st;
	ExecStatusType	 rs;

	if (state != NULL)
		state[0] = '\0';
	res = PQexecParams(sql_db, query, n, NULL, params, NULL, NULL, 0);
	rs = PQresultStatus(res);
	if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK)
		return res;
	st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state != NULL && st != NULL)
		strlcpy(state, st, 6);
	/* Expected conflicts are the caller's to report. */
	if (state == NULL || st == NULL || strncmp(st, "23", 2) != 0)
		log_warnx("%s: %.*s (%.40s...)", __func__,
		    (int)strcspn(PQresultErrorMessage(res), "\n"),
		    PQresultErrorMessage(res), query);
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

json_t *
sql_json_str(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	return json_string(PQgetvalue(res, row, col));
}

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/migrate.h"

/* Any fixed number: the lock is per database. */
#define MIGRATE_LOCK	"7411940021"

static int
exec_ok(PGconn *db, const char *sql, char *err, size_t errlen)
{
	PGresult	*r = PQexec(db, sql);
	int		 ok;

	ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok && err != NULL)
		snprintf(err, errlen, "%.*s",
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

int
migrate_current(PGconn *db)
{
	PGresult	*r;
	int		 v = -1;

	r = PQexec(db, "SELECT coalesce(max(version), 0) FROM "
	    "schema_migrations");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static int
migrate_one(PGconn *db, const struct migration *m, char *err, size_t errlen)
{
	const char	*params[2];
	char		 ver[16];
	PGresult	*r;
	char		 why[400];

	if (exec_ok(db, "BEGIN", err, errlen) == -1)
		return -1;
	if (exec_ok(db, m->sql, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", m->name, why);
		(void)exec_ok(db, "ROLLBACK", NULL, 0);
		return -1;
	}
	snprintf(ver, sizeof(ver), "%d", m->version);
	params[0] = ver;
	params[1] = m->name;
	r = PQexecParams(db, "INSERT INTO schema_migrations (version, name) "
	    "VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s: recording: %.*s", m->name,
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
		PQclear(r);
		(void)exec_ok(db, "ROLLBACK", NULL, 0);
		return -1;
	}
	PQclear(r);
	return exec_ok(db, "COMMIT", err, errlen);
}

int
migrate_apply(PGconn *db, int *applied, char *err, size_t errlen)
{
	int	 cur, rv = 0;

	*applied = 0;
	if (exec_ok(db, "SET client_min_messages = warning", err, errlen) ==
	    -1 || exec_ok(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")",
	    err, errlen) == -1)
		return -1;
	if (exec_ok(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())", err,
	    errlen) == -1 || (cur = migrate_current(db)) == -1) {
		rv = -1;
		goto out;
	}
	for (size_t i = 0; i < nmigrations; i++) {
		if (migrations[i].version <= cur)
			continue;
		if (migrate_one(db, &migrations[i], err, errlen) == -1) {
			rv = -1;
			break;
		}
		(*applied)++;
	}
out:
	(void)exec_ok(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")",
	    NULL, 0);
	return rv;
}

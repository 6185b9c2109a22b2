/*
 * What the unit tests that need a PostgreSQL cluster share: a connection
 * as one of Ballast's roles to the test cluster (BALLAST_TEST_PGHOST, set
 * by tests/run-all), and statements that must succeed.  Header-only:
 * each unit test is one source file; static inline functions a test does
 * not use cost nothing and draw no warning.  Include after <cmocka.h>.
 */
#ifndef TESTS_UNIT_PGTEST_H
#define TESTS_UNIT_PGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static inline PGconn *
connect_as(const char *role)
{
	char	 ci[512];
	PGconn	*db;

	snprintf(ci, sizeof(ci), "host=%s dbname=ballast user=%s",
	    getenv("BALLAST_TEST_PGHOST"), role);
	db = PQconnectdb(ci);
	if (PQstatus(db) != CONNECTION_OK) {
		print_error("connect as %s: %s", role, PQerrorMessage(db));
		PQfinish(db);
		return NULL;
	}
	return db;
}

/* The one value of a one-row query; the test fails otherwise. */
static inline void
one_value(PGconn *db, const char *sql, char *out, size_t outlen)
{
	PGresult	*r = PQexec(db, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	strlcpy(out, PQgetvalue(r, 0, 0), outlen);
	PQclear(r);
}

static inline void
exec_ok(PGconn *db, const char *sql)
{
	PGresult	*r = PQexec(db, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

/* The number a one-row, one-column query answers. */
static inline long
count_of(PGconn *db, const char *sql)
{
	char	 v[64];

	one_value(db, sql, v, sizeof(v));
	return strtol(v, NULL, 10);
}

/* 1 when the scratch cluster is there; else 0, said on stdout. */
static inline int
pgtest_available(void)
{
	if (getenv("BALLAST_TEST_PGHOST") != NULL)
		return 1;
	printf("skipping: BALLAST_TEST_PGHOST not set (no scratch "
	    "PostgreSQL)\n");
	return 0;
}

#endif

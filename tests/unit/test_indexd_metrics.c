/*
 * indexd's metric lines (indexd/metrics.c).  The counters everywhere;
 * against a real PostgreSQL (BALLAST_TEST_PGHOST, skipped otherwise)
 * also the gauges read with ballast.load_all, their cache, and the
 * libpq event procedure that counts every failed statement.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indexd/engine.h"
#include "indexd/job.h"
#include "indexd/metrics.h"
#include "tests/unit/pgtest.h"

/* The value of the sample line starting with name (labels included). */
static long long
sample(const char *text, const char *name)
{
	size_t		 n = strlen(name);
	const char	*p;

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

static int
count_lines(const char *text, const char *prefix)
{
	int		 n = 0;
	size_t		 len = strlen(prefix);

	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, prefix, len) == 0)
			n++;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return n;
}

static long long
count_all(PGconn *db, const char *sql)
{
	PGresult	*r;
	long long	 n;

	PQclear(PQexec(db, "BEGIN; SET LOCAL ballast.load_all = 'on'"));
	r = PQexec(db, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQclear(PQexec(db, "COMMIT"));
	return n;
}

/* No database: counters only, each HELP and TYPE once, no gauges. */
static void
test_counters_without_database(void **state)
{
	struct engine		 e = { 0 };
	struct job_counts	 c = { 3, 2, 7, 1, 4 };
	char			*t;

	e.db = PQconnectdb("host=/nonexistent-ballast-socket-dir "
	    "connect_timeout=1");
	metrics_sync_run("succeeded", &c);
	metrics_sync_run("retried", &c);
	metrics_sync_run("no-such-result", &c);
	metrics_qdrant_request(1);
	metrics_qdrant_request(0);
	metrics_qdrant_request(1);
	assert_non_null(t = metrics_text(&e));
	assert_int_equal(sample(t,
	    "ballast_sync_runs_total{result=\"succeeded\"}"), 1);
	assert_int_equal(sample(t,
	    "ballast_sync_runs_total{result=\"retried\"}"), 1);
	assert_int_equal(sample(t,
	    "ballast_sync_runs_total{result=\"failed\"}"), 0);
	assert_int_equal(sample(t,
	    "ballast_sync_documents_total{outcome=\"added\"}"), 9);
	assert_int_equal(sample(t,
	    "ballast_sync_documents_total{outcome=\"updated\"}"), 6);
	assert_int_equal(sample(t,
	    "ballast_sync_documents_total{outcome=\"unchanged\"}"), 21);
	assert_int_equal(sample(t,
	    "ballast_sync_documents_total{outcome=\"deleted\"}"), 3);
	assert_int_equal(sample(t,
	    "ballast_sync_documents_total{outcome=\"failed\"}"), 12);
	assert_int_equal(sample(t, "ballast_qdrant_requests_total"), 3);
	assert_int_equal(sample(t, "ballast_qdrant_errors_total"), 1);
	/* the gauges' query could not be sent: counted, lines left out */
	assert_true(sample(t,
	    "ballast_postgres_errors_total{process=\"indexd\"}") >= 1);
	assert_int_equal(count_lines(t, "ballast_documents"), 0);
	assert_int_equal(count_lines(t, "ballast_sync_jobs"), 0);
	assert_int_equal(count_lines(t, "ballast_keyword_ranking"), 0);
	assert_int_equal(count_lines(t,
	    "# TYPE ballast_sync_runs_total counter\n"), 1);
	assert_int_equal(count_lines(t, "# HELP ballast_sync_runs_total "), 1);
	assert_int_equal(t[strlen(t) - 1], '\n');
	free(t);
	PQfinish(e.db);
}

static void
test_gauges_and_errors_with_database(void **state)
{
	struct engine		 e = { 0 };
	struct job_counts	 c = { 0, 0, 0, 0, 0 };
	PGconn			*admin;
	PGresult		*r;
	char			*t;
	long long		 err0, docs;

	if (!pgtest_available())
		skip();
	assert_non_null(admin = connect_as("ballast"));
	assert_non_null(e.db = connect_as("ballast_index"));
	assert_int_equal(metrics_pg_watch(e.db), 0);
	metrics_sync_run("failed", &c);		/* drops any cached read */
	assert_non_null(t = metrics_text(&e));
	err0 = sample(t, "ballast_postgres_errors_total{process=\"indexd\"}");
	/* The test cluster has them (scripts/setup-var). */
	assert_int_equal(sample(t, "ballast_keyword_ranking_functions"), 1);
	docs = sample(t, "ballast_documents");
	assert_int_equal(docs, count_all(admin,
	    "SELECT count(*) FROM documents"));
	assert_int_equal(sample(t, "ballast_chunks"), count_all(admin,
	    "SELECT count(*) FROM chunks"));
	assert_int_equal(sample(t, "ballast_sync_jobs{state=\"pending\"}"),
	    count_all(admin, "SELECT count(*) FROM sync_jobs WHERE state = "
	    "'pending'"));
	assert_int_equal(count_lines(t, "ballast_sync_jobs{"), 5);
	assert_int_equal(count_lines(t, "ballast_vectors"), 0); /* no store */
	free(t);

	/* two failed statements, one good one: counted by the watch */
	PQclear(PQexec(e.db, "SELECT no_such_column FROM documents"));
	PQclear(PQexec(e.db, "SELEC 1"));
	r = PQexec(e.db, "SELECT 1");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	/* a second read within the cache period runs no query */
	PQclear(PQexec(admin, "SELECT 1"));
	assert_non_null(t = metrics_text(&e));
	assert_int_equal(sample(t,
	    "ballast_postgres_errors_total{process=\"indexd\"}"), err0 + 2);
	assert_int_equal(sample(t, "ballast_documents"), docs);
	free(t);
	/* another connection's errors are not indexd's */
	PQclear(PQexec(admin, "SELEC 1"));
	assert_non_null(t = metrics_text(&e));
	assert_int_equal(sample(t,
	    "ballast_postgres_errors_total{process=\"indexd\"}"), err0 + 2);
	free(t);
	PQfinish(e.db);
	PQfinish(admin);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_without_database),
		cmocka_unit_test(test_gauges_and_errors_with_database),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

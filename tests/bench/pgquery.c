/*
 * pgquery: the direct-PostgreSQL side of the search benchmark.  Prepares
 * one statement (its $1 is the query text, $2 a collection uuid) on one
 * connection, runs it once per line of a query file, and prints each
 * execution's client-side latency in microseconds, one per line, after
 * `warmup` unmeasured runs.  It is what a careful application using
 * PostgreSQL full text directly would do: one prepared statement, one
 * kept-open connection, rows fetched in text form.
 *
 *   pgquery CONNINFO SQLFILE QUERYFILE COLLECTION WARMUP
 *
 * Built by tests/bench/run; not part of the suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define MAXQ	4096

static double
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s;
	long	 n;

	if (f == NULL || fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1) {
		perror(path);
		exit(1);
	}
	s = calloc(1, (size_t)n + 1);
	if (s == NULL || fread(s, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	return s;
}

static int
run(PGconn *db, const char *q, const char *coll)
{
	const char	*p[2] = { q, coll };
	PGresult	*r;
	int		 ok;

	r = PQexecPrepared(db, "q", 2, p, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "pgquery: %s", PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

int
main(int argc, char *argv[])
{
	static char	 qs[MAXQ][1100];
	char		*sql;
	FILE		*f;
	PGconn		*db;
	PGresult	*r;
	size_t		 n = 0;
	long		 warm;
	double		 t;

	if (argc != 6) {
		fprintf(stderr, "usage: pgquery CONNINFO SQLFILE QUERYFILE "
		    "COLLECTION WARMUP\n");
		return 2;
	}
	sql = slurp(argv[2]);
	if ((f = fopen(argv[3], "r")) == NULL) {
		perror(argv[3]);
		return 1;
	}
	while (n < MAXQ && fgets(qs[n], sizeof(qs[n]), f) != NULL) {
		qs[n][strcspn(qs[n], "\n")] = '\0';
		if (qs[n][0] != '\0')
			n++;
	}
	fclose(f);
	warm = strtol(argv[5], NULL, 10);
	db = PQconnectdb(argv[1]);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "pgquery: %s", PQerrorMessage(db));
		return 1;
	}
	r = PQprepare(db, "q", sql, 2, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "pgquery: prepare: %s", PQresultErrorMessage(r));
		return 1;
	}
	PQclear(r);
	for (long i = 0; i < warm && n > 0; i++)
		if (!run(db, qs[i % n], argv[4]))
			return 1;
	for (size_t i = 0; i < n; i++) {
		t = now_us();
		if (!run(db, qs[i], argv[4]))
			return 1;
		printf("%.1f\n", now_us() - t);
	}
	PQfinish(db);
	free(sql);
	return 0;
}

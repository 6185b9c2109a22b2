/*
 * indexd's metric lines (see metrics.h), in the Prometheus text format
 * the front merges into GET /metrics.  Every family here is indexd's
 * alone, so each HELP and TYPE appears once in the merged text.
 *
 * The gauges count rows over every organisation, so they are read with
 * ballast.load_all on (as the scheduler and ballastctl's requests do);
 * only numbers leave indexd.  They are cached for METRICS_CACHE_SECONDS
 * so that scrapers, however many, cost the database one small query per
 * period; a failed read is cached too, and its lines are left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-events.h>

#include "common/ipc.h"
#include "common/db.h"
#include "common/log.h"
#include "common/util.h"
#include "indexd/engine.h"
#include "indexd/job.h"
#include "indexd/metrics.h"

static const char *const job_states[] = {
	"pending", "running", "succeeded", "failed", "cancelled"
};
#define NSTATES	nitems(job_states)

static const char *const run_results[] = {
	"succeeded", "failed", "retried", "cancelled"
};
#define NRESULTS nitems(run_results)

static const char *const doc_outcomes[] = {
	"added", "updated", "unchanged", "deleted", "failed"
};
#define NOUTCOMES nitems(doc_outcomes)

static struct {
	uint64_t	 runs[NRESULTS];
	uint64_t	 docs[NOUTCOMES];
	uint64_t	 pg_errors;
	uint64_t	 qdrant_requests, qdrant_errors;
} ctr;

/* The database's numbers, as of `at` (monotonic seconds). */
static struct {
	time_t		 at;
	int		 valid;		/* a read was tried */
	int		 ok;		/* and it succeeded */
	long long	 jobs[NSTATES];
	long long	 documents, chunks;
	size_t		 vectors;
} snap;

int
metrics_pg_watch(PGconn *db)
{
	return db_count_errors(db, &ctr.pg_errors);
}

void
metrics_pg_error(void)
{
	ctr.pg_errors++;
}

void
metrics_qdrant_request(int ok)
{
	ctr.qdrant_requests++;
	if (!ok)
		ctr.qdrant_errors++;
}

void
metrics_sync_run(const char *result, const struct job_counts *n)
{
	const int64_t	 v[NOUTCOMES] = {
		n->added, n->updated, n->unchanged, n->deleted, n->failed
	};

	for (size_t i = 0; i < NRESULTS; i++)
		if (strcmp(run_results[i], result) == 0)
			ctr.runs[i]++;
	for (size_t i = 0; i < NOUTCOMES; i++)
		if (v[i] > 0)
			ctr.docs[i] += (uint64_t)v[i];
	/* a job changed state: count again on the next scrape */
	snap.valid = 0;
}

static time_t
mono_seconds(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return ts.tv_sec;
}

/* One row: documents, chunks, then the jobs in job_states order. */
static int
snap_query(PGconn *db, char *err, size_t errlen)
{
	PGresult	*r;
	const char	*e;
	int		 ok;

	r = PQexec(db, "SELECT (SELECT count(*) FROM documents), "
	    "(SELECT count(*) FROM chunks), "
	    "count(*) FILTER (WHERE state = 'pending'), "
	    "count(*) FILTER (WHERE state = 'running'), "
	    "count(*) FILTER (WHERE state = 'succeeded'), "
	    "count(*) FILTER (WHERE state = 'failed'), "
	    "count(*) FILTER (WHERE state = 'cancelled') FROM sync_jobs");
	if (r == NULL)
		metrics_pg_error();
	ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    PQnfields(r) == 2 + (int)NSTATES;
	if (!ok) {
		e = r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(db);
		snprintf(err, errlen, "%.*s", (int)strcspn(e, "\n"), e);
		PQclear(r);
		return -1;
	}
	snap.documents = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	snap.chunks = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	for (size_t i = 0; i < NSTATES; i++)
		snap.jobs[i] = strtoll(PQgetvalue(r, 0, 2 + (int)i), NULL, 10);
	PQclear(r);
	return 0;
}

static void
snap_refresh(struct engine *e)
{
	time_t	 now = mono_seconds();
	char	 err[256];

	if (snap.valid && now - snap.at < METRICS_CACHE_SECONDS)
		return;
	snap.valid = 1;
	snap.at = now;
	snap.ok = 0;
	err[0] = '\0';
	if (engine_exec(e->db, "BEGIN READ ONLY; "
	    "SET LOCAL ballast.load_all = 'on'", err, sizeof(err)) == -1) {
		log_warnx("%s: %s", __func__, PQstatus(e->db) !=
		    CONNECTION_OK ? "no database connection" : err);
		return;
	}
	if (snap_query(e->db, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", __func__, err);
		engine_exec(e->db, "ROLLBACK", NULL, 0);
		return;
	}
	if (engine_exec(e->db, "COMMIT", err, sizeof(err)) == -1) {
		log_warnx("%s: %s", __func__, err);
		return;
	}
	snap.vectors = e->store != NULL ? store_count(e->store) : 0;
	snap.ok = 1;
}

static void
put_help(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
put_gauges(FILE *f, const struct engine *e)
{
	put_help(f, "ballast_sync_jobs", "gauge",
	    "Sync jobs in the database by state, every organisation.");
	for (size_t i = 0; i < NSTATES; i++)
		fprintf(f, "ballast_sync_jobs{state=\"%s\"} %lld\n",
		    job_states[i], snap.jobs[i]);
	put_help(f, "ballast_documents", "gauge",
	    "Documents stored in PostgreSQL, every organisation.");
	fprintf(f, "ballast_documents %lld\n", snap.documents);
	put_help(f, "ballast_chunks", "gauge",
	    "Chunks stored in PostgreSQL, every organisation.");
	fprintf(f, "ballast_chunks %lld\n", snap.chunks);
	put_help(f, "ballast_keyword_ranking_functions", "gauge",
	    "1 when keyword search ranks with the ballast_bm25 functions in "
	    "PostgreSQL, 0 when in SQL.");
	fprintf(f, "ballast_keyword_ranking_functions %d\n",
	    engine_pg_bm25(e->db));
	if (e->store == NULL)
		return;
	put_help(f, "ballast_vectors", "gauge",
	    "Vectors held by the vector store in use.");
	/* store names are literals of ours ("postgres", "qdrant") */
	fprintf(f, "ballast_vectors{store=\"%s\"} %zu\n", e->store->name,
	    snap.vectors);
}

static void
put_counters(FILE *f)
{
	put_help(f, "ballast_sync_runs_total", "counter",
	    "Sync runs this indexd ended, by result.");
	for (size_t i = 0; i < NRESULTS; i++)
		fprintf(f, "ballast_sync_runs_total{result=\"%s\"} %llu\n",
		    run_results[i], (unsigned long long)ctr.runs[i]);
	put_help(f, "ballast_sync_documents_total", "counter",
	    "Documents of the sync runs this indexd ended, by outcome.");
	for (size_t i = 0; i < NOUTCOMES; i++)
		fprintf(f, "ballast_sync_documents_total{outcome=\"%s\"} %llu\n",
		    doc_outcomes[i], (unsigned long long)ctr.docs[i]);
	put_help(f, "ballast_postgres_errors_total", "counter",
	    "PostgreSQL statements that failed, by process.");
	fprintf(f, "ballast_postgres_errors_total{process=\"indexd\"} %llu\n",
	    (unsigned long long)ctr.pg_errors);
	put_help(f, "ballast_qdrant_requests_total", "counter",
	    "Requests indexd made to Qdrant.");
	fprintf(f, "ballast_qdrant_requests_total %llu\n",
	    (unsigned long long)ctr.qdrant_requests);
	put_help(f, "ballast_qdrant_errors_total", "counter",
	    "Requests to Qdrant that failed (transport, HTTP or answer).");
	fprintf(f, "ballast_qdrant_errors_total %llu\n",
	    (unsigned long long)ctr.qdrant_errors);
}

char *
metrics_text(struct engine *e)
{
	FILE			*f;
	char			*buf = NULL;
	size_t			 len = 0;
	int			 bad;

	snap_refresh(e);
	if ((f = open_memstream(&buf, &len)) == NULL) {
		log_warn("%s: open_memstream", __func__);
		return NULL;
	}
	if (snap.ok)
		put_gauges(f, e);
	put_counters(f);
	bad = ferror(f);
	if (fclose(f) == EOF || bad || len > METRICS_MAX_TEXT) {
		log_warnx("%s: cannot build the metrics", __func__);
		free(buf);
		return NULL;
	}
	return buf;
}

void
metrics_reply(struct ipc_chan *chan, uint64_t id, struct engine *e)
{
	struct imsg_metrics	 m;
	char			*buf;

	if ((buf = metrics_text(e)) == NULL)
		return;		/* the front serves the others' lines */
	m.text = buf;
	if (ipc_send(chan, IMSG_METRICS_REP, id, &m, -1) == -1)
		log_warnx("%s: cannot answer the front", __func__);
	free(buf);
}

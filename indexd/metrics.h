/*
 * indexd's lines of GET /metrics (ballastd(8), METRICS): sync jobs by
 * state and documents, chunks and vectors per store (counted in the
 * database, cached for METRICS_CACHE_SECONDS), and counters kept since
 * indexd started: sync runs by result, documents synced by outcome,
 * failed PostgreSQL statements, Qdrant requests and their failures.
 * The front asks with IMSG_METRICS_REQ and merges the text it gets.
 */
#ifndef BALLAST_INDEXD_METRICS_H
#define BALLAST_INDEXD_METRICS_H

#include <stdint.h>

#include <libpq-fe.h>

#define METRICS_CACHE_SECONDS	5

struct engine;
struct ipc_chan;
struct job_counts;

/*
 * Count every failed statement on db from now on (a libpq event
 * procedure sees each result as it is made; it survives PQreset).
 * 0, or -1 when libpq refused the registration.
 */
int	metrics_pg_watch(PGconn *db);
/*
 * One PostgreSQL failure the watch cannot see: a statement that could
 * not even be sent (libpq returned no result: the connection is down).
 */
void	metrics_pg_error(void);
/* One request to Qdrant ended: ok 1 when it succeeded (for store_qdrant). */
void	metrics_qdrant_request(int ok);
/*
 * A sync run ended: result is "succeeded", "failed", "retried" (failed,
 * run again later) or "cancelled"; n: the run's document counts.  The
 * cached gauges are read again on the next scrape.
 */
void	metrics_sync_run(const char *result, const struct job_counts *n);
/* The lines, NUL-terminated and malloc'd; NULL (logged) on failure. */
char	*metrics_text(struct engine *e);
/* Answer the front's IMSG_METRICS_REQ id on chan with metrics_text(). */
void	metrics_reply(struct ipc_chan *chan, uint64_t id, struct engine *e);

#endif

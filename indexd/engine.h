/*
 * The content engine indexd's handlers call: one database connection
 * (role ballast_index), one embedder, one vector store.
 */
#ifndef BALLAST_INDEXD_ENGINE_H
#define BALLAST_INDEXD_ENGINE_H

#include <stdint.h>

#include <libpq-fe.h>

#include "indexd/embed.h"
#include "indexd/store.h"

struct engine {
	PGconn		*db;
	struct embedder	*emb;
	struct store	*store;
	int		 bm25_sql;	/* rank in SQL even with ballast_bm25 */
	int		 bm25_failed;	/* this search's C ranking failed */
};

/*
 * Make the embedder and store by name and load the store's vectors.
 * 0, or -1 with err (nothing to free then).
 */
int	engine_open(struct engine *, PGconn *, const char *embedder,
	    const char *store, char *err, size_t errlen);
void	engine_close(struct engine *);	/* leaves db open */

/* Run sql (no parameters); 0 if it succeeded. */
int	engine_exec(PGconn *, const char *sql, char *err, size_t errlen);
/* "{1,2,3}": chunk ids as a PostgreSQL bigint[] literal (malloc'd). */
char	*engine_id_array(const int64_t *ids, size_t n);

/*
 * PQexecParams through a named prepared statement: sql is prepared on
 * the connection the first time name is used there (name and sql must
 * always go together), so the server parses and plans it once.  Returns
 * the result as PQexecPrepared does (or the failed PREPARE's).
 */
PGresult *engine_prepared(PGconn *, const char *name, const char *sql,
	    int nparams, const char *const *values, const int *lengths,
	    const int *formats, int resultformat);

/*
 * 1 if db has the ballast_bm25 functions (pgext/), 0 if not or the
 * question failed; a "yes" is kept for the server connection, a "no" for
 * a minute.  _forget: a statement using them failed, ask again.
 */
int	engine_pg_bm25(PGconn *);
void	engine_pg_bm25_forget(PGconn *);

#endif

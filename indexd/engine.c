/* Setting up the content engine (see engine.h). */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "indexd/engine.h"
#include "indexd/metrics.h"

#define PREP_CONNS	4
#define PREP_NAMES	32

/*
 * Which statements each connection has prepared.  A connection is
 * known by its pointer and server process id, so a new connection that
 * reuses a freed pointer starts empty.
 */
static struct prepared {
	PGconn		*db;
	int		 pid;
	const char	*names[PREP_NAMES];	/* string literals */
	size_t		 n;
	int		 bm25;	/* -1 not asked yet, else engine_pg_bm25() */
	uint64_t	 bm25_asked;	/* now_ms() */
} prep[PREP_CONNS];

/* A "no" is asked again after this long: installing needs no restart. */
#define BM25_ASK_AGAIN_MS	60000

static struct prepared *
prepared_of(PGconn *db)
{
	int	 pid = PQbackendPID(db);
	size_t	 i, free_at = 0;

	for (i = 0; i < PREP_CONNS; i++) {
		if (prep[i].db == db && prep[i].pid == pid)
			return &prep[i];
		if (prep[i].db == db || prep[i].db == NULL)
			free_at = i;
	}
	memset(&prep[free_at], 0, sizeof(prep[free_at]));
	prep[free_at].db = db;
	prep[free_at].pid = pid;
	prep[free_at].bm25 = -1;
	return &prep[free_at];
}

PGresult *
engine_prepared(PGconn *db, const char *name, const char *sql, int nparams,
    const char *const *values, const int *lengths, const int *formats,
    int resultformat)
{
	struct prepared	*pp = prepared_of(db);
	PGresult	*r;
	size_t		 i;

	for (i = 0; i < pp->n; i++)
		if (strcmp(pp->names[i], name) == 0)
			break;
	if (i == pp->n) {
		if (pp->n == PREP_NAMES)	/* never: a fixed set of names */
			return PQexecParams(db, sql, nparams, NULL, values,
			    lengths, formats, resultformat);
		r = PQprepare(db, name, sql, nparams, NULL);
		if (r == NULL)
			metrics_pg_error();	/* not sent: no result to see */
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return r;
		PQclear(r);
		pp->names[pp->n++] = name;
	}
	r = PQexecPrepared(db, name, nparams, values, lengths, formats,
	    resultformat);
	if (r == NULL)
		metrics_pg_error();
	return r;
}

/*
 * Whether the database has pgext/ballast_bm25.sql's functions: asked on
 * a connection's first search, and again after a "no" once
 * BM25_ASK_AGAIN_MS have passed or after engine_pg_bm25_forget().
 * Only a superuser can install them; without them keyword search ranks
 * with the same arithmetic in SQL.
 */
int
engine_pg_bm25(PGconn *db)
{
	struct prepared	*pp = prepared_of(db);
	PGresult	*r;
	int		 had = pp->bm25;
	uint64_t	 now = now_ms();

	if (pp->bm25 == 1 || (pp->bm25 == 0 &&
	    now - pp->bm25_asked < BM25_ASK_AGAIN_MS))
		return pp->bm25;
	r = PQexec(db, "SELECT to_regprocedure('ballast_tf(tsvector, text[], "
	    "integer)') IS NOT NULL AND to_regprocedure('ballast_df(integer[])"
	    "') IS NOT NULL AND to_regprocedure('ballast_bm25(integer[], "
	    "integer, double precision[], double precision, double precision, "
	    "double precision)') IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		return 0;	/* asked again next time */
	}
	pp->bm25 = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	pp->bm25_asked = now;
	PQclear(r);
	if (pp->bm25 != had)
		log_info("keyword ranking: %s", pp->bm25 ? "ballast_bm25 "
		    "functions in PostgreSQL" : "SQL (ballast_bm25 functions "
		    "not installed)");
	return pp->bm25;
}

void
engine_pg_bm25_forget(PGconn *db)
{
	struct prepared	*pp = prepared_of(db);

	if (pp->bm25 == 1)
		pp->bm25 = -1;
}

int
engine_exec(PGconn *db, const char *sql, char *err, size_t errlen)
{
	PGresult	*r = PQexec(db, sql);
	int		 ok;

	if (r == NULL)
		metrics_pg_error();
	ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok && err != NULL)
		snprintf(err, errlen, "%.40s: %.*s", sql,
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

int
engine_open(struct engine *e, PGconn *db, const char *embedder,
    const char *store, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	e->db = db;
	if ((e->emb = embedder_new(embedder, 0)) == NULL) {
		snprintf(err, errlen, "unknown embedder \"%s\"", embedder);
		return -1;
	}
	if ((e->store = store_new(store, e->emb->dim, e->emb->name)) == NULL) {
		snprintf(err, errlen, "unknown vector store \"%s\"", store);
		embedder_free(e->emb);
		return -1;
	}
	if (store_load(e->store, db, err, errlen) == -1) {
		engine_close(e);
		return -1;
	}
	/* vectors of another embedder: vector search waits for a reindex */
	if (strcmp(e->store->name, "postgres") == 0 &&
	    embedder_check_store(e->emb, db, err, errlen) == -1) {
		engine_close(e);
		return -1;
	}
	return 0;
}

void
engine_close(struct engine *e)
{
	store_free(e->store);
	embedder_free(e->emb);
	e->store = NULL;
	e->emb = NULL;
}

char *
engine_id_array(const int64_t *ids, size_t n)
{
	size_t	 cap = n * 21 + 3, len = 1;
	char	*s = xcalloc(1, cap);

	s[0] = '{';
	for (size_t i = 0; i < n; i++)
		len += snprintf(s + len, cap - len, "%s%lld", i ? "," : "",
		    (long long)ids[i]);
	s[len] = '}';
	return s;
}

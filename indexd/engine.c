/* Setting up the content engine (see engine.h). */
#include <stdio.h>
#include <string.h>

#include "indexd/engine.h"

int
engine_exec(PGconn *db, const char *sql, char *err, size_t errlen)
{
	PGresult	*r = PQexec(db, sql);
	int		 ok;

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

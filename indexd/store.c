/* The vector store registry and thin wrappers (see store.h). */
#include <string.h>

#include "indexd/store.h"

struct store *
store_new(const char *name, size_t dim, const char *embedder)
{
	if (strcmp(name, "postgres") == 0)
		return store_pg_new(dim, embedder);
	if (strcmp(name, "qdrant") == 0)
		return store_qdrant_new(dim, embedder);
	return NULL;
}

int
store_load(struct store *s, PGconn *db, char *err, size_t errlen)
{
	return s->ops->load(s, db, err, errlen);
}

int
store_put(struct store *s, PGconn *db, const struct store_doc *d, char *err,
    size_t errlen)
{
	return s->ops->put(s, db, d, err, errlen);
}

int
store_put_many(struct store *s, PGconn *db, const struct store_doc *d,
    size_t ndocs, char *err, size_t errlen)
{
	if (strcmp(s->name, "postgres") == 0)
		return store_pg_put_many(s, db, d, ndocs, err, errlen);
	for (size_t i = 0; i < ndocs; i++)
		if (s->ops->put(s, db, &d[i], err, errlen) == -1)
			return -1;
	return 0;
}

int
store_remove(struct store *s, PGconn *db, const int64_t *ids, size_t n,
    char *err, size_t errlen)
{
	return s->ops->remove(s, db, ids, n, err, errlen);
}

void
store_commit(struct store *s)
{
	s->ops->commit(s);
}

void
store_rollback(struct store *s)
{
	s->ops->rollback(s);
}

long
store_search(struct store *s, const float *q, const struct scope *sc,
    size_t k, struct vhit *out, char *err, size_t errlen)
{
	char	 dummy[8];

	s->unavailable = 0;
	/* No scope, nothing to ask: a store never sees a scope-less query. */
	if (sc == NULL || sc->ncollections == 0 || k == 0)
		return 0;
	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	return s->ops->search(s, q, sc, k, out, err, errlen);
}

size_t
store_count(struct store *s)
{
	return s->ops->count(s);
}

void
store_free(struct store *s)
{
	if (s != NULL)
		s->ops->free(s);
}

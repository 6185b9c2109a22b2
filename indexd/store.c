/* The vector store registry and thin wrappers (see store.h). */
#include <string.h>

#include "indexd/store.h"

struct store *
store_new(const char *name, size_t dim, const char *embedder)
{
	if (strcmp(name, "postgres") == 0)
		return store_pg_new(dim, embedder);
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

size_t
store_search(struct store *s, const float *q, const struct scope *sc,
    size_t k, struct vhit *out)
{
	return s->ops->search(s, q, sc, k, out);
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

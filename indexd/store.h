/*
 * Vector stores behind one interface.  Writes happen inside the
 * caller's open transaction (put, remove); the caller then reports the
 * outcome (commit after COMMIT succeeded, rollback otherwise) so that
 * an in-memory copy changes only with the database.  search never
 * returns a chunk outside the scope.
 *
 * "postgres": vectors in table chunk_vectors, all kept in memory
 * (vecmem.h) and scored exactly in indexd.
 *
 * "qdrant": vectors in one Qdrant collection over its REST API
 * (store_qdrant.c); writes go out in put (so a failed upsert fails the
 * caller's transaction), removals after commit.  It can be unavailable:
 * search then fails and says so (store_unavailable).
 *
 * A search always takes a scope; store_search() asks the store nothing
 * for a scope without collections, and the stores build their filters
 * from the scope alone.
 */
#ifndef BALLAST_INDEXD_STORE_H
#define BALLAST_INDEXD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "indexd/scope.h"
#include "indexd/vecmem.h"

struct store;

/* The chunks of one document, in order, with their vectors. */
struct store_doc {
	const char	*document_id;
	const char	*collection_id;
	const char	*owner;		/* NULL or "" for shared content */
	const int64_t	*chunk_ids;
	const float	*vecs;		/* n * dim */
	size_t		 n;
};

struct store_ops {
	int	(*load)(struct store *, PGconn *, char *, size_t);
	int	(*put)(struct store *, PGconn *, const struct store_doc *,
		    char *, size_t);
	int	(*remove)(struct store *, PGconn *, const int64_t *ids,
		    size_t n, char *, size_t);
	void	(*commit)(struct store *);
	void	(*rollback)(struct store *);
	long	(*search)(struct store *, const float *q, const struct scope *,
		    size_t k, struct vhit *out, char *, size_t);
	size_t	(*count)(struct store *);
	void	(*free)(struct store *);
};

struct store {
	const struct store_ops *ops;
	const char	*name;
	size_t		 dim;
	char		 embedder[32];	/* vectors of other embedders are skipped */
	int		 outage_keyword; /* unavailable: keyword results stand in */
	int		 unavailable;	/* the last search failed for an outage */
	int		 degraded;	/* ... and keyword results stood in */
	void		*ctx;
};

struct ballast_conf;

/* "postgres" or "qdrant"; NULL for an unknown name. */
struct store	*store_new(const char *name, size_t dim, const char *embedder);
struct store	*store_pg_new(size_t dim, const char *embedder);
/* store_put_many of the "postgres" store: one INSERT. */
int	 store_pg_put_many(struct store *, PGconn *, const struct store_doc *,
	    size_t ndocs, char *err, size_t errlen);
/* The "qdrant" store from store_qdrant_setup()'s settings; NULL if none. */
struct store	*store_qdrant_new(size_t dim, const char *embedder);

/*
 * Before engine_open() with "qdrant": keep the qdrant settings of conf
 * (url, collection, TLS files, timeout, outage policy).
 */
void	 store_qdrant_setup(const struct ballast_conf *);
/*
 * What the qdrant store needs from the sandbox: appends promises
 * ("inet", "dns", "thread", "rpath") to promises and unveils the TLS
 * files (and the system CAs for https).  0, or -1.
 */
int	 store_qdrant_sandbox(const struct ballast_conf *, char *promises,
	    size_t len);

/* Wrappers over ops; err may be NULL for none. */
int	 store_load(struct store *, PGconn *, char *err, size_t errlen);
int	 store_put(struct store *, PGconn *, const struct store_doc *,
	    char *err, size_t errlen);
/* store_put of ndocs documents, in one write where the store can. */
int	 store_put_many(struct store *, PGconn *, const struct store_doc *,
	    size_t ndocs, char *err, size_t errlen);
int	 store_remove(struct store *, PGconn *, const int64_t *ids, size_t n,
	    char *err, size_t errlen);
void	 store_commit(struct store *);
void	 store_rollback(struct store *);
/*
 * The at most k best chunks in the scope; -1 with err when the store
 * could not answer (then s->unavailable says whether it is an outage).
 */
long	 store_search(struct store *, const float *q, const struct scope *,
	    size_t k, struct vhit *out, char *err, size_t errlen);
size_t	 store_count(struct store *);
void	 store_free(struct store *);

#endif

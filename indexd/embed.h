/*
 * Embedders turn texts into dense vectors of one fixed dimension, all
 * L2-normalised so that a dot product is the cosine.  One interface for
 * every backend; "builtin" needs no model and no network.
 */
#ifndef BALLAST_INDEXD_EMBED_H
#define BALLAST_INDEXD_EMBED_H

#include <stddef.h>

#include <libpq-fe.h>

struct ballast_conf;

#define EMBED_BUILTIN_DIM	384
#define EMBED_ID_MAX		32	/* fits struct store's embedder */
#define EMBED_REFUSE_MAX	512

struct embedder;

struct embedder_ops {
	/*
	 * Embed n texts (texts[i] of lens[i] bytes) into out, n * dim
	 * floats, row i at out + i * dim.  0 on success, -1 with a reason
	 * in err.
	 */
	int	(*embed)(struct embedder *, const char *const *texts,
		    const size_t *lens, size_t n, float *out, char *err,
		    size_t errlen);
	void	(*free)(struct embedder *);
};

struct embedder {
	const struct embedder_ops *ops;
	/*
	 * Stored with each vector: which embedder made it.  "builtin" for
	 * the builtin one (384 dimensions); "openai:MODEL:DIM" for openai
	 * ("openai:#HASH:DIM", a hash of the model name, when that would
	 * not fit EMBED_ID_MAX).
	 */
	const char	*name;
	size_t		 dim;
	void		*ctx;
	/*
	 * Why the last embed_texts failed, as an HTTP status for the
	 * client: 503 the embedding server is unreachable, overloaded or
	 * timed out (retries exhausted), 502 it answered something
	 * unusable (an error status, a wrong dimension, bad JSON); 0
	 * after a success.  Callers may reset it to 0 before a request.
	 */
	int		 status;
	/*
	 * Not "": vector search is refused with this message (the stored
	 * vectors were made by another embedder; see embedder_check_store).
	 */
	char		 refuse[EMBED_REFUSE_MAX];
};

/*
 * The settings embedder_new("openai", ...) uses (a copy is kept) and
 * the function that gives the API key by name ("embedder-api-key"),
 * asked before each request; key may be NULL (no key).
 */
void		 embedder_configure(const struct ballast_conf *,
		    const char *(*key)(const char *));
/*
 * Add what the configured embedder needs after the sandbox closes to
 * promises (NUL-terminated, len bytes) and unveil its files (when
 * unveil is 1): the openai one connects, resolves names (in a thread
 * of curl's) and reads CA files.  0, or -1 (logged).
 */
int		 embedder_sandbox(char *promises, size_t len, int unveil);
/*
 * "builtin" (dim 0 means EMBED_BUILTIN_DIM) or "openai" (the
 * configured dimension); NULL for an unknown name or a bad setting
 * (logged).
 */
struct embedder	*embedder_new(const char *name, size_t dim);
void		 embedder_free(struct embedder *);
int		 embed_texts(struct embedder *, const char *const *texts,
		    const size_t *lens, size_t n, float *out, char *err,
		    size_t errlen);

/*
 * Compare the embedder with the ones that made the vectors stored in
 * PostgreSQL (chunk_vectors.embedder).  When others made any, log a
 * warning and set e->refuse (vector search refused until a reindex);
 * when none did, clear it.  Runs its own read-only transaction.  0, or
 * -1 with err (the database failed; e->refuse unchanged).
 */
int		 embedder_check_store(struct embedder *, PGconn *, char *err,
		    size_t errlen);

/* The builtin embedder (embed_builtin.c); dim a power of two or not. */
struct embedder	*embed_builtin_new(size_t dim);

/* The openai embedder (embed_openai.c). */
struct embed_openai_conf {
	const char	*url;		/* .../v1/embeddings */
	const char	*model;
	size_t		 dim;
	size_t		 batch;		/* inputs per request */
	long		 timeout;	/* seconds per request */
	const char	*ca;		/* NULL or "": the system's CAs */
	const char	*(*key)(const char *name);	/* NULL: no key */
};
struct embedder	*embed_openai_new(const struct embed_openai_conf *);
/* The id stored with vectors (see struct embedder), into id. */
void		 embed_openai_id(const char *model, size_t dim,
		    char id[EMBED_ID_MAX]);

#endif

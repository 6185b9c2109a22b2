/*
 * Embedders turn texts into dense vectors of one fixed dimension, all
 * L2-normalised so that a dot product is the cosine.  One interface for
 * every backend; "builtin" needs no model and no network.
 */
#ifndef BALLAST_INDEXD_EMBED_H
#define BALLAST_INDEXD_EMBED_H

#include <stddef.h>

#define EMBED_BUILTIN_DIM	384

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
	const char	*name;	/* stored with each vector */
	size_t		 dim;
	void		*ctx;
};

/* "builtin" (dim 0 means EMBED_BUILTIN_DIM); NULL for an unknown name. */
struct embedder	*embedder_new(const char *name, size_t dim);
void		 embedder_free(struct embedder *);
int		 embed_texts(struct embedder *, const char *const *texts,
		    const size_t *lens, size_t n, float *out, char *err,
		    size_t errlen);

/* The builtin embedder (embed_builtin.c); dim a power of two or not. */
struct embedder	*embed_builtin_new(size_t dim);

#endif

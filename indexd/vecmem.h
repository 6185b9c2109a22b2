/*
 * An exact in-memory vector index: one contiguous float32 matrix with
 * parallel arrays of chunk id, collection and owner, and a hash map from
 * chunk id to row.  Search applies the scope to each row before scoring
 * it, so a row outside the scope is never ranked, and keeps the k best
 * in a heap.  Scores are dot products (vectors are normalised).  Not
 * thread-safe; one per store.
 */
#ifndef BALLAST_INDEXD_VECMEM_H
#define BALLAST_INDEXD_VECMEM_H

#include <stddef.h>
#include <stdint.h>

#include "indexd/scope.h"

struct vhit {
	int64_t		 chunk_id;
	float		 score;
};

struct vecmem {
	size_t		 dim, n, cap;
	float		*m;		/* n rows of dim floats */
	int64_t		*chunk;
	uint32_t	*coll;		/* index into colls */
	uint32_t	*owner;		/* 0 none, else index + 1 into owners */
	uint8_t		(*colls)[16];
	size_t		 ncolls;
	uint8_t		(*owners)[16];
	size_t		 nowners;
	int64_t		*mkey;		/* chunk id -> row, open addressing */
	uint32_t	*mrow;
	size_t		 mcap;		/* power of two; 0 keys are free */
};

void	vecmem_init(struct vecmem *, size_t dim);
void	vecmem_clear(struct vecmem *);
/*
 * Add or replace the row of chunk_id (> 0).  collection 16 bytes,
 * owner 16 bytes or NULL.
 */
void	vecmem_put(struct vecmem *, int64_t chunk_id, const uint8_t *coll,
	    const uint8_t *owner, const float *v);
/* 1 if it was there. */
int	vecmem_remove(struct vecmem *, int64_t chunk_id);
int	vecmem_has(const struct vecmem *, int64_t chunk_id);
/*
 * The at most k best rows in scope, best first (ties: lower chunk id
 * first); returns how many.  out holds k entries.
 */
size_t	vecmem_search(const struct vecmem *, const float *q,
	    const struct scope *, size_t k, struct vhit *out);

/* Dot product of two vectors of n floats. */
float	vec_dot(const float *a, const float *b, size_t n);

#endif

/*
 * Qdrant's REST bodies (shared/ref/qdrant-openapi.json): what the
 * "qdrant" vector store sends, built with jansson, and what it reads
 * back, parsed with size limits so that the parsers can be fuzzed.
 *
 * Every query body is built from a scope and carries it as a "must"
 * filter: the collection ids of the scope and (owner_user empty or the
 * scope's owner).  There is no way to build a query without one.
 */
#ifndef BALLAST_INDEXD_QDRANT_JSON_H
#define BALLAST_INDEXD_QDRANT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "indexd/scope.h"
#include "indexd/vecmem.h"

#define QJ_MAX_RESPONSE	(16 * 1024 * 1024)	/* bytes we read */
#define QJ_MAX_ERROR	200			/* of Qdrant's message */

/* The payload keys (each has a keyword index but chunk_id: integer). */
#define QJ_COLLECTION	"collection_id"
#define QJ_ORG		"org_id"
#define QJ_OWNER	"owner_user"
#define QJ_SOURCE	"source"
#define QJ_DOCUMENT	"document_id"
#define QJ_CHUNK	"chunk_id"

/* One chunk as a point: ids, scope columns, the vector; no text. */
struct qj_point {
	const char	*document_id;
	int64_t		 chunk_id;
	const char	*collection_id;
	const char	*owner;		/* NULL or "" for shared content */
	const char	*source;	/* NULL: "" */
	const float	*vec;
};

/*
 * The point id of a chunk: a UUID (version 5 layout) from SHA-256 of
 * "ballast-chunk", the document id and the chunk id, so that a re-upsert
 * of the same chunk overwrites its point.
 */
void	qj_point_id(const char *document_id, int64_t chunk_id,
	    char out[UUID_STR_LEN]);

/*
 * The scope as a Filter: {"must": [collection_id in the scope's
 * collections, owner_user empty or = owner]}.  NULL when the scope has no
 * collection (then nothing may be asked).
 */
json_t	*qj_scope_filter(const struct scope *);

/* Request bodies, JSON text (malloc'd); NULL on a bad argument. */
char	*qj_query_body(const float *q, size_t dim, const struct scope *,
	    size_t k);
char	*qj_upsert_body(const struct qj_point *, size_t n, size_t dim);
char	*qj_delete_chunks_body(const int64_t *ids, size_t n);
char	*qj_delete_points_body(char (*ids)[UUID_STR_LEN], size_t n);
char	*qj_create_body(size_t dim);
char	*qj_index_body(const char *field, const char *type, int tenant);

/*
 * Check a response's envelope: 0 when status is "ok" (or "accepted");
 * else -1 with Qdrant's message (or what is wrong) in err.  *result is
 * the decoded document (json_decref it) when result is not NULL.
 */
int	qj_envelope(const char *body, size_t len, json_t **result,
	    char *err, size_t errlen);
/*
 * A query's answer: the chunk ids and scores of result.points, at most
 * k, in order.  Returns how many, or -1 with err.
 */
long	qj_parse_query(const char *body, size_t len, struct vhit *out,
	    size_t k, char *err, size_t errlen);
/*
 * GET /collections/{name}: the size of its one unnamed dense vector, 0
 * when it has named vectors instead, -1 with err when unreadable.
 */
long long qj_parse_vector_size(const char *body, size_t len, char *err,
	    size_t errlen);
/* Retry-After in seconds (delta form only); -1 when unusable. */
long	qj_retry_after(const char *value);

#endif

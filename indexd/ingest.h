/*
 * Push ingestion, deletion and reading of documents, always under the
 * caller's scope (the collection must be in it; personal documents
 * need the scope's owner).  A batch is one transaction: all or nothing.
 * A document whose (collection, source, external id) exists with the
 * same content hash is left alone ("unchanged": not re-chunked, not
 * re-embedded); otherwise its chunks and vectors are replaced.
 */
#ifndef BALLAST_INDEXD_INGEST_H
#define BALLAST_INDEXD_INGEST_H

#include <stddef.h>

#include <jansson.h>

#include "indexd/docbatch.h"
#include "indexd/engine.h"
#include "indexd/scope.h"

struct ingest_counts {
	size_t		 added, updated, unchanged, chunks;
};

/*
 * personal: the documents belong to the scope's owner (who must be
 * set).  0, or -1 with err.
 */
int	ingest_batch(struct engine *, const struct scope *,
	    const char *collection_id, int personal, const struct docbatch *,
	    struct ingest_counts *, char *err, size_t errlen);
/* 1 deleted, 0 no such document in scope, -1 error. */
int	ingest_delete(struct engine *, const struct scope *,
	    const char *document_id, char *err, size_t errlen);
/*
 * Inside the caller's open transaction (its scope applied; the caller
 * commits or rolls back, and the store with it): delete the documents
 * of (collection, source) for which keep() is 0 (every one when keep is
 * NULL), with their chunks and vectors.  *deleted counts them.  0, or -1
 * with err.
 */
int	ingest_delete_source(struct engine *, const char *collection_id,
	    const char *source, int (*keep)(void *, const char *external_id),
	    void *arg, size_t *deleted, char *err, size_t errlen);
/*
 * The document with its chunks as a JSON object; NULL with err "" when
 * not found in scope, NULL with err set on error.
 */
json_t	*ingest_get(struct engine *, const struct scope *,
	    const char *document_id, char *err, size_t errlen);

#endif

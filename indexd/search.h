/*
 * Search under the caller's scope.  Keyword candidates come from
 * PostgreSQL full text (websearch_to_tsquery, ts_rank_cd), vector
 * candidates from the store; hybrid fuses both lists by reciprocal rank
 * fusion (k = 60).  The scope is applied three times: row-level
 * security, an explicit collection filter in SQL, and the store's own
 * filter.  Snippets are HTML-escaped text with the matches in
 * <mark>...</mark>.
 */
#ifndef BALLAST_INDEXD_SEARCH_H
#define BALLAST_INDEXD_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "indexd/engine.h"
#include "indexd/scope.h"

#define SEARCH_MAX_QUERY	1024	/* bytes */
#define SEARCH_MAX_LIMIT	100
#define SEARCH_MAX_OFFSET	10000
#define RRF_K			60
/*
 * Hybrid mode trusts BM25 three times as much as the builtin embedder's
 * list and weighs top ranks more (k = 5): on SciFact train that lifted
 * hybrid nDCG@10 from 0.616 to about 0.68, where equal weights left it
 * below keyword alone (tests/bench/results/ir-eval-scifact.md).  A real
 * embedding model (#8) will want these measured again.
 */
#define RRF_HYBRID_K		5
#define RRF_KEYWORD_WEIGHT	3.0

enum search_mode {
	SEARCH_HYBRID,
	SEARCH_KEYWORD,
	SEARCH_VECTOR,
};

struct search_params {
	const char	*query;
	enum search_mode mode;
	size_t		 limit, offset;
	const char	*source;	/* NULL: any */
	const char	*metadata;	/* JSON object, documents' @>; NULL */
	const char	*updated_after;	/* RFC 3339, inclusive; NULL */
	const char	*updated_before; /* RFC 3339, exclusive; NULL */
};

/* "hybrid", "keyword", "vector" to the mode; -1 for anything else. */
int	search_mode_parse(const char *, enum search_mode *);

/*
 * A JSON array of results, best first: {document_id, chunk_id,
 * collection_id, source, title, url, snippet, score}.  NULL with err on
 * bad parameters or a database error.
 */
json_t	*search_run(struct engine *, const struct scope *,
	    const struct search_params *, char *err, size_t errlen);

/* One fused candidate. */
struct fused {
	int64_t		 chunk_id;
	double		 score;
};

/*
 * Reciprocal rank fusion of two ranked id lists (best first): score =
 * sum of 1 / (k + rank), rank from 1.  Returns the number of distinct
 * ids in out (room for na + nb), best first, ties by lower id.
 */
size_t	rrf_fuse_weighted(const int64_t *a, size_t na, double wa,
	    const int64_t *b, size_t nb, double wb, int k, struct fused *out);
size_t	rrf_fuse(const int64_t *a, size_t na, const int64_t *b, size_t nb,
	    int k, struct fused *out);

#endif

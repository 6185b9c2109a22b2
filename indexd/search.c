/* Keyword, vector and hybrid search (see search.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "indexd/docbatch.h"
#include "indexd/search.h"

/* Candidates fetched from each side in hybrid mode. */
#define HYBRID_MIN_DEPTH	50
#define HYBRID_MAX_DEPTH	1000

int
search_mode_parse(const char *s, enum search_mode *m)
{
	if (strcmp(s, "hybrid") == 0)
		*m = SEARCH_HYBRID;
	else if (strcmp(s, "keyword") == 0)
		*m = SEARCH_KEYWORD;
	else if (strcmp(s, "vector") == 0)
		*m = SEARCH_VECTOR;
	else
		return -1;
	return 0;
}

static int
by_fused(const void *x, const void *y)
{
	const struct fused	*a = x, *b = y;

	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	return (a->chunk_id > b->chunk_id) - (a->chunk_id < b->chunk_id);
}

static size_t
fuse_add(struct fused *out, size_t n, int64_t id, double s)
{
	for (size_t i = 0; i < n; i++)
		if (out[i].chunk_id == id) {
			out[i].score += s;
			return n;
		}
	out[n].chunk_id = id;
	out[n].score = s;
	return n + 1;
}

size_t
rrf_fuse_weighted(const int64_t *a, size_t na, double wa, const int64_t *b,
    size_t nb, double wb, int k, struct fused *out)
{
	size_t	 n = 0;

	/* Lists are at most 2 * HYBRID_MAX_DEPTH long: quadratic is fine. */
	for (size_t i = 0; i < na; i++)
		n = fuse_add(out, n, a[i], wa / (k + (double)(i + 1)));
	for (size_t i = 0; i < nb; i++)
		n = fuse_add(out, n, b[i], wb / (k + (double)(i + 1)));
	qsort(out, n, sizeof(*out), by_fused);
	return n;
}

size_t
rrf_fuse(const int64_t *a, size_t na, const int64_t *b, size_t nb, int k,
    struct fused *out)
{
	return rrf_fuse_weighted(a, na, 1.0, b, nb, 1.0, k, out);
}

static int
check_params(const struct search_params *p, char *err, size_t errlen)
{
	json_t	*m;

	if (p->query == NULL || p->query[0] == '\0' ||
	    strlen(p->query) > SEARCH_MAX_QUERY ||
	    !utf8_valid(p->query, strlen(p->query))) {
		snprintf(err, errlen, "query: 1..%d bytes of UTF-8",
		    SEARCH_MAX_QUERY);
		return -1;
	}
	if (p->limit < 1 || p->limit > SEARCH_MAX_LIMIT ||
	    p->offset > SEARCH_MAX_OFFSET) {
		snprintf(err, errlen, "limit: 1..%d, offset: 0..%d",
		    SEARCH_MAX_LIMIT, SEARCH_MAX_OFFSET);
		return -1;
	}
	if ((p->updated_after && !rfc3339_valid(p->updated_after)) ||
	    (p->updated_before && !rfc3339_valid(p->updated_before))) {
		snprintf(err, errlen, "updated_after/updated_before: not RFC "
		    "3339 date-times");
		return -1;
	}
	if (p->metadata != NULL) {
		m = json_loads(p->metadata, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(m)) {
			json_decref(m);
			snprintf(err, errlen, "metadata: not a JSON object");
			return -1;
		}
		json_decref(m);
	}
	return 0;
}

static int
has_filters(const struct search_params *p)
{
	return p->source || p->metadata || p->updated_after ||
	    p->updated_before;
}

#define FILTERS \
	" AND ($3::text IS NULL OR d.source = $3)" \
	" AND ($4::jsonb IS NULL OR d.metadata @> $4::jsonb)" \
	" AND ($5::timestamptz IS NULL OR d.updated_at >= $5::timestamptz)" \
	" AND ($6::timestamptz IS NULL OR d.updated_at < $6::timestamptz)"

static void
base_params(const char *p[7], const struct search_params *sp,
    const char *colls)
{
	p[0] = sp->query;
	p[1] = colls;
	p[2] = sp->source;
	p[3] = sp->metadata;
	p[4] = sp->updated_after;
	p[5] = sp->updated_before;
}

/*
 * Run a query whose first column is a chunk id; ids in rank order.  Each
 * search statement is prepared once per connection under its name (its
 * parse and plan were a millisecond of a keyword search).
 */
static long
ids_of(PGconn *db, const char *name, const char *sql, int np,
    const char *const *p, int64_t **out, char *err, size_t errlen)
{
	PGresult	*r = engine_prepared(db, name, sql, np, p, NULL, NULL, 0);
	long		 n;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "search: %.*s",
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	n = PQntuples(r);
	*out = xcalloc(n + 1, sizeof(**out));
	for (long i = 0; i < n; i++)
		(*out)[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	PQclear(r);
	return n;
}

/*
 * BM25 (Robertson; Lucene's idf) over the chunks that hold any query
 * word.  A chunk's length is its number of lexeme positions (column len,
 * migration 013); a title position counts BM25_TITLE times (on SciFact
 * train, 1, 2, 3 and 5 were within 0.004 nDCG@10, 2 the best).  The number
 * of chunks and their mean length are summed from chunk_stats (migration
 * 017: kept by triggers on chunks, one row per collection and owner)
 * and each word's document frequency is counted, both under the
 * caller's scope, so row-level security keeps what the scope cannot see
 * out of the statistics too.  sum(total_len) / sum(chunks) is the same
 * numeric division avg(len) made when it was counted per query.
 *
 * Term frequencies, BM25_QLEX: the chunk's tsvector cut down to the
 * query's lexemes by weight, not by listing every other lexeme (one
 * linear pass per step instead of an array of all of them and a search
 * for each): setweight() marks the query's lexemes B, which no chunk
 * holds (title A, metadata C, text D), and ts_filter() keeps the marked
 * positions; once for the title's positions (then marked A again), once
 * for all of them (three passes over the whole tsvector in all: cutting
 * the title's out of the second part first cost a fourth, for the same
 * numbers).  Concatenated, each query lexeme has its title positions
 * twice (once marked A) and the others once, so tf is the positions plus
 * BM25_TITLE - 2 per A one: a title position counts BM25_TITLE times.
 * (tsvector concatenation shifts the second part by the first's last
 * position, at most the title's length: only a chunk whose positions
 * already reach PostgreSQL's cap of 16,383 could lose one; and a lexeme
 * keeps at most 256 positions, so one that fills nearly all of them and
 * is in the title counts a little less than it would, where BM25's tf
 * has long saturated.)
 *
 * Without filters the candidates are all the scope's chunks holding any
 * query word, so each word's document frequency is its number of rows
 * among them (BM25_DF_H: no second index scan).  With filters the
 * candidates are fewer than the scope: it is counted (BM25_DF_SCAN).
 */
#define BM25_K1		"1.2"
#define BM25_B		"0.75"
#define BM25_TITLE	"2"

#define BM25_HEAD \
	"WITH ql AS MATERIALIZED (SELECT tsvector_to_array(" \
	"to_tsvector('english', $1)) AS a), " \
	"st AS MATERIALIZED (SELECT coalesce(sum(chunks), 0)::float8 AS n, " \
	"greatest(sum(total_len) / nullif(sum(chunks), 0), 1)::float8 AS dl " \
	"FROM chunk_stats WHERE collection_id = ANY ($2::uuid[])), "

#define BM25_QLEX \
	"setweight(ts_filter(setweight(ts_filter(c.tsv, '{a}'), 'B', ql.a), " \
	"'{b}'), 'A') || ts_filter(setweight(c.tsv, 'B', ql.a), '{b}')"

#define BM25_H \
	"h AS MATERIALIZED (SELECT c.id, c.len, u.lexeme, " \
	"cardinality(u.weights) + (" BM25_TITLE " - 2) * " \
	"cardinality(array_positions(u.weights, 'A')) AS tf FROM "

/* Shared by both forms: candidates, idf, a word's df counted. */
#define BM25_FROM	"chunks c, ballast_any_query($1) q"
#define BM25_FROM_DOCS \
	"chunks c JOIN documents d ON d.id = c.document_id, " \
	"ballast_any_query($1) q"
#define BM25_MATCH	"c.tsv @@ q AND c.collection_id = ANY ($2::uuid[])"
#define BM25_IDF(df) \
	"ln(1 + (st.n - " df " + 0.5) / (" df " + 0.5))"
#define BM25_DF_COUNT \
	"LATERAL (SELECT count(*) AS df FROM chunks c WHERE " \
	"c.tsv @@ quote_literal(l.lex)::tsquery AND " \
	"c.collection_id = ANY ($2::uuid[])) d"

#define BM25_H_TAIL \
	", ql, LATERAL unnest(" BM25_QLEX ") AS u WHERE " BM25_MATCH

#define BM25_DF_SCAN \
	"t AS MATERIALIZED (SELECT l.lex, " BM25_IDF("d.df") " AS idf FROM " \
	"st, ql, unnest(ql.a) AS l(lex), " BM25_DF_COUNT "), "

#define BM25_DF_H \
	"t AS MATERIALIZED (SELECT h.lexeme AS lex, " BM25_IDF("count(*)") \
	" AS idf FROM h, st GROUP BY h.lexeme, st.n) "

#define BM25_RANK \
	"SELECT h.id FROM h JOIN t ON t.lex = h.lexeme, st GROUP BY h.id " \
	"ORDER BY sum(t.idf * h.tf * (" BM25_K1 " + 1) / (h.tf + " BM25_K1 \
	" * (1 - " BM25_B " + " BM25_B " * h.len / st.dl))) DESC, h.id " \
	"LIMIT $7::int"

/*
 * The same ranking with pgext/ballast_bm25.c's functions, when installed
 * (engine_pg_bm25()): one call per chunk for its term frequencies (in the
 * order of ql.a, title positions counted BM25_TITLE times, the SQL
 * form's numbers), an aggregate for the document frequencies and one
 * call for the score, where the SQL form needs three tsvector passes, an
 * unnest and two aggregates per chunk (about half the time at 100k
 * chunks).  idf is an array in the order of ql.a; a word no candidate
 * holds has tf 0 everywhere and adds nothing.
 */
#define BM25C_H \
	"h AS MATERIALIZED (SELECT c.id, c.len, ballast_tf(c.tsv, ql.a, " \
	BM25_TITLE ") AS tf FROM "

#define BM25C_H_TAIL	", ql WHERE " BM25_MATCH

#define BM25C_DF_SCAN \
	"t AS MATERIALIZED (SELECT array_agg(" BM25_IDF("d.df") " ORDER BY " \
	"l.i) AS idf FROM st, ql, unnest(ql.a) WITH ORDINALITY AS l(lex, i), " \
	BM25_DF_COUNT "), "

#define BM25C_DF_H \
	"t AS MATERIALIZED (SELECT array_agg(" BM25_IDF("u.df") " ORDER BY " \
	"u.i) AS idf FROM st, unnest((SELECT ballast_df(h.tf) FROM h)) " \
	"WITH ORDINALITY AS u(df, i)) "

#define BM25C_RANK \
	"SELECT h.id FROM h, t, st ORDER BY ballast_bm25(h.tf, h.len, t.idf, " \
	"st.dl, " BM25_K1 ", " BM25_B ") DESC, h.id LIMIT $7::int"

#define NO_FILTERS \
	" AND $3::text IS NULL AND $4::text IS NULL AND $5::text IS NULL " \
	"AND $6::text IS NULL"

static long
keyword_ids_c(struct engine *e, const struct search_params *sp,
    const char *const p[7], int64_t **out, char *err, size_t errlen)
{
	long	 n;

	if (!has_filters(sp))
		n = ids_of(e->db, "search_keyword_c", BM25_HEAD BM25C_H
		    BM25_FROM BM25C_H_TAIL NO_FILTERS "), " BM25C_DF_H
		    BM25C_RANK, 7, p, out, err, errlen);
	else
		n = ids_of(e->db, "search_keyword_filtered_c", BM25_HEAD
		    BM25C_DF_SCAN BM25C_H BM25_FROM_DOCS BM25C_H_TAIL FILTERS
		    ") " BM25C_RANK, 7, p, out, err, errlen);
	/* Dropped under us, say: search_run() tries once more. */
	if (n < 0) {
		e->bm25_failed = 1;
		engine_pg_bm25_forget(e->db);
	}
	return n;
}

static long
keyword_ids(struct engine *e, const struct search_params *sp,
    const char *colls, size_t depth, int64_t **out, char *err, size_t errlen)
{
	const char	*p[7];
	char		 lim[24];

	base_params(p, sp, colls);
	snprintf(lim, sizeof(lim), "%zu", depth);
	p[6] = lim;
	if (!e->bm25_sql && engine_pg_bm25(e->db))
		return keyword_ids_c(e, sp, p, out, err, errlen);
	if (!has_filters(sp))
		return ids_of(e->db, "search_keyword", BM25_HEAD BM25_H
		    BM25_FROM BM25_H_TAIL NO_FILTERS "), " BM25_DF_H BM25_RANK,
		    7, p, out, err, errlen);
	return ids_of(e->db, "search_keyword_filtered", BM25_HEAD BM25_DF_SCAN
	    BM25_H BM25_FROM_DOCS BM25_H_TAIL FILTERS ") " BM25_RANK, 7, p,
	    out, err, errlen);
}

/*
 * Vector candidates from the store; with filters, oversampled and then
 * kept only if their documents pass the filters (order preserved).
 */
static long
vector_ids(struct engine *e, const struct scope *sc,
    const struct search_params *sp, const char *colls, size_t depth,
    int64_t **out, char *err, size_t errlen)
{
	size_t		 qlen = strlen(sp->query), k, n;
	float		*q = xcalloc(e->emb->dim, sizeof(float));
	struct vhit	*hits;
	int64_t		*ids, *keep;
	const char	*p[7];
	long		 nk, ns;

	if (e->emb->refuse[0] != '\0') {	/* another embedder's vectors */
		e->emb->status = 503;
		strlcpy(err, e->emb->refuse, errlen);
		free(q);
		return -1;
	}
	if (embed_texts(e->emb, &sp->query, &qlen, 1, q, err, errlen) == -1) {
		free(q);
		return -1;
	}
	k = has_filters(sp) ? depth * 4 : depth;
	hits = xcalloc(k, sizeof(*hits));
	ns = store_search(e->store, q, sc, k, hits, err, errlen);
	free(q);
	if (ns < 0) {
		free(hits);
		return -1;
	}
	n = (size_t)ns;
	ids = xcalloc(n + 1, sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		ids[i] = hits[i].chunk_id;
	free(hits);
	base_params(p, sp, colls);
	p[6] = engine_id_array(ids, n);
	/* Also drops ids the database no longer shows in this scope. */
	nk = ids_of(e->db, "search_vector_keep", "SELECT c.id FROM "
	    "unnest($7::bigint[]) WITH "
	    "ORDINALITY AS v(id, ord) JOIN chunks c ON c.id = v.id JOIN "
	    "documents d ON d.id = c.document_id WHERE "
	    "c.collection_id = ANY ($2::uuid[]) AND $1::text IS NOT NULL"
	    FILTERS " ORDER BY v.ord", 7, p, &keep, err, errlen);
	free((char *)p[6]);
	free(ids);
	if (nk > (long)depth)
		nk = (long)depth;
	*out = nk >= 0 ? keep : NULL;
	return nk;
}

static json_t *
results(struct engine *e, const struct search_params *sp, const char *colls,
    const struct fused *f, size_t n, char *err, size_t errlen)
{
	const char	*p[3];
	int64_t		*ids = xcalloc(n + 1, sizeof(*ids));
	PGresult	*r;
	json_t		*arr;

	for (size_t i = 0; i < n; i++)
		ids[i] = f[i].chunk_id;
	p[0] = sp->query;
	p[1] = engine_id_array(ids, n);
	p[2] = colls;
	free(ids);
	r = engine_prepared(e->db, "search_results", "SELECT c.id, "
	    "c.document_id, c.collection_id, "
	    "d.source, d.title, d.url, ts_headline('english', "
	    "replace(replace(replace(c.text, '&', '&amp;'), '<', '&lt;'), "
	    "'>', '&gt;'), ballast_any_query($1), "
	    "'StartSel=<mark>, StopSel=</mark>, MinWords=15, MaxWords=40, "
	    "MaxFragments=2, FragmentDelimiter=\" ... \"'), d.external_id "
	    "FROM chunks c "
	    "JOIN documents d ON d.id = c.document_id WHERE c.id = ANY "
	    "($2::bigint[]) AND c.collection_id = ANY ($3::uuid[])", 3, p,
	    NULL, NULL, 0);
	free((char *)p[1]);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "search: %.*s",
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
	arr = json_array();
	/* In fused order; rows the database did not return are left out. */
	for (size_t i = 0; i < n; i++)
		for (int row = 0; row < PQntuples(r); row++) {
			if (strtoll(PQgetvalue(r, row, 0), NULL, 10) !=
			    f[i].chunk_id)
				continue;
			json_array_append_new(arr, json_pack("{s:s,s:s,s:I,"
			    "s:s,s:s,s:s,s:s,s:s,s:f}", "document_id",
			    PQgetvalue(r, row, 1), "external_id",
			    PQgetvalue(r, row, 7), "chunk_id",
			    (json_int_t)f[i].chunk_id, "collection_id",
			    PQgetvalue(r, row, 2), "source",
			    PQgetvalue(r, row, 3), "title",
			    PQgetvalue(r, row, 4), "url", PQgetvalue(r, row, 5),
			    "snippet", PQgetvalue(r, row, 6), "score",
			    f[i].score));
		}
	PQclear(r);
	return arr;
}

/* Single-list modes keep their own scores' order: 1/rank as the score. */
static size_t
ranked(const int64_t *ids, size_t n, struct fused *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i].chunk_id = ids[i];
		out[i].score = 1.0 / (double)(i + 1);
	}
	return n;
}

static json_t *
run_scoped(struct engine *e, const struct scope *sc,
    const struct search_params *sp, const char *colls, char *err,
    size_t errlen)
{
	size_t		 want = sp->offset + sp->limit, depth = want, nf = 0;
	int64_t		*kw = NULL, *vec = NULL;
	long		 nkw = 0, nvec = 0;
	struct fused	*f;
	json_t		*arr = NULL;

	if (sp->mode == SEARCH_HYBRID) {
		depth = want * 2 < HYBRID_MIN_DEPTH ? HYBRID_MIN_DEPTH :
		    want * 2;
		if (depth > HYBRID_MAX_DEPTH)
			depth = HYBRID_MAX_DEPTH;
	}
	if (sp->mode != SEARCH_VECTOR &&
	    (nkw = keyword_ids(e, sp, colls, depth, &kw, err, errlen)) < 0)
		goto out;
	e->store->degraded = 0;
	if (sp->mode != SEARCH_KEYWORD && (nvec = vector_ids(e, sc, sp, colls,
	    depth, &vec, err, errlen)) < 0) {
		/* A store outage, and the config says keyword results do. */
		if (!e->store->unavailable || !e->store->outage_keyword)
			goto out;
		log_warnx("search: keyword results only: %s", err);
		e->store->degraded = 1;
		nvec = 0;
		if (sp->mode == SEARCH_VECTOR && (nkw = keyword_ids(e, sp,
		    colls, depth, &kw, err, errlen)) < 0)
			goto out;
	}
	f = xcalloc(nkw + nvec + 1, sizeof(*f));
	if (e->store->degraded)
		nf = ranked(kw, nkw, f);
	else if (sp->mode == SEARCH_HYBRID)
		nf = rrf_fuse_weighted(kw, nkw, RRF_KEYWORD_WEIGHT, vec,
		    nvec, 1.0, RRF_HYBRID_K, f);
	else if (sp->mode == SEARCH_KEYWORD)
		nf = ranked(kw, nkw, f);
	else
		nf = ranked(vec, nvec, f);
	if (nf <= sp->offset)
		arr = json_array();
	else
		arr = results(e, sp, colls, f + sp->offset,
		    nf - sp->offset < sp->limit ? nf - sp->offset : sp->limit,
		    err, errlen);
	free(f);
out:
	free(kw);
	free(vec);
	return arr;
}

json_t *
search_run(struct engine *e, const struct scope *sc,
    const struct search_params *sp, char *err, size_t errlen)
{
	char	*colls;
	json_t	*arr = NULL;

	if (check_params(sp, err, errlen) == -1)
		return NULL;
	if (sc->ncollections == 0)
		return json_array();
	/*
	 * A failed ranking with the ballast_bm25 functions is tried once
	 * more: a transaction that failed can run no other statement, and
	 * the second time engine_pg_bm25() asks whether they are still
	 * there (if not, the search ranks in SQL instead of failing).
	 */
	for (int again = 0; again < 2; again++) {
		e->bm25_failed = 0;
		if (engine_exec(e->db, "BEGIN READ ONLY", err, errlen) == -1)
			return NULL;
		if (scope_apply(e->db, sc, err, errlen) == 0) {
			colls = scope_array(sc);
			arr = run_scoped(e, sc, sp, colls, err, errlen);
			free(colls);
		}
		(void)engine_exec(e->db, arr ? "COMMIT" : "ROLLBACK", NULL, 0);
		if (arr != NULL || !e->bm25_failed)
			break;
		log_warnx("search: %s; once more", err);
	}
	return arr;
}

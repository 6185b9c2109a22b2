/* Push ingestion and document reads (see ingest.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/chunk.h"
#include "indexd/ingest.h"

/* What one document writes: its id, chunk ranges and vectors. */
struct docwork {
	char		 id[UUID_STR_LEN];
	struct chunk	*chunks;
	long		 nchunks;
	float		*vecs;
	int64_t		*chunk_ids;
};

static int
res_err(PGresult *r, ExecStatusType want, const char *what, char *err,
    size_t errlen)
{
	if (PQresultStatus(r) == want)
		return 0;
	snprintf(err, errlen, "%s: %.*s", what,
	    (int)strcspn(PQresultErrorMessage(r), "\n"),
	    PQresultErrorMessage(r));
	return -1;
}

static char *
hex32(const uint8_t h[32])
{
	char	*s = xcalloc(1, 2 + 64 + 1);

	s[0] = '\\';
	s[1] = 'x';
	for (int i = 0; i < 32; i++)
		snprintf(s + 2 + 2 * i, 3, "%02x", h[i]);
	return s;
}

/* 1 unchanged, 0 changed (id set) or new (id ""), -1 error. */
static int
lookup(PGconn *db, const char *coll, const char *owner, const struct doc *d,
    char *id, char *err, size_t errlen)
{
	const char	*p[4] = { coll, d->source, d->external_id, owner };
	PGresult	*r;
	int		 rv = 0;

	id[0] = '\0';
	/* The owner is part of a document's identity (migration 011). */
	r = engine_prepared(db, "ingest_lookup", "SELECT id, content_hash "
	    "FROM documents WHERE collection_id = $1 AND source = $2 AND "
	    "external_id = $3 AND owner_user IS NOT DISTINCT FROM $4::uuid "
	    "FOR UPDATE", 4, p, NULL, NULL, 1);
	if (res_err(r, PGRES_TUPLES_OK, "lookup", err, errlen) == -1)
		rv = -1;
	else if (PQntuples(r) == 1) {
		uuid_format((const uint8_t *)PQgetvalue(r, 0, 0), id);
		rv = PQgetlength(r, 0, 1) == 32 &&
		    memcmp(PQgetvalue(r, 0, 1), d->hash, 32) == 0;
	}
	PQclear(r);
	return rv;
}

/* Delete a document's chunks; their ids go to the store. */
static int
drop_chunks(struct engine *e, const char *doc_id, char *err, size_t errlen)
{
	const char	*p[1] = { doc_id };
	PGresult	*r;
	int64_t		*ids;
	int		 n, rv;

	r = engine_prepared(e->db, "ingest_drop_chunks", "DELETE FROM chunks "
	    "WHERE document_id = $1 RETURNING id", 1, p, NULL, NULL, 0);
	if (res_err(r, PGRES_TUPLES_OK, "delete chunks", err, errlen) == -1) {
		PQclear(r);
		return -1;
	}
	n = PQntuples(r);
	ids = xcalloc(n ? n : 1, sizeof(*ids));
	for (int i = 0; i < n; i++)
		ids[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	PQclear(r);
	rv = store_remove(e->store, e->db, ids, n, err, errlen);
	free(ids);
	return rv;
}

static int
write_document(PGconn *db, const char *coll, const char *owner,
    const struct doc *d, char *id, char *err, size_t errlen)
{
	const char	*p[11];
	char		*hash = hex32(d->hash);
	PGresult	*r;
	int		 rv;

	p[0] = coll;
	p[1] = d->source;
	p[2] = owner;
	p[3] = d->external_id;
	p[4] = d->title;
	p[5] = d->url;
	p[6] = d->text;
	p[7] = d->metadata;
	p[8] = hash;
	p[9] = d->updated_at;
	p[10] = id[0] ? id : NULL;
	r = engine_prepared(db, id[0] ? "ingest_doc_update" :
	    "ingest_doc_insert", id[0] ?
	    "UPDATE documents SET title = $5, url = $6, body = $7, "
	    "metadata = $8, content_hash = $9, updated_at = "
	    "coalesce($10::timestamptz, now()), indexed_at = now() "
	    "WHERE id = $11 AND collection_id = $1 AND source = $2 AND "
	    "owner_user IS NOT DISTINCT FROM $3::uuid AND external_id = $4 "
	    "RETURNING id" :
	    "INSERT INTO documents (collection_id, source, owner_user, "
	    "external_id, title, url, body, metadata, content_hash, "
	    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
	    "coalesce($10::timestamptz, now())) RETURNING id",
	    id[0] ? 11 : 10, p, NULL, NULL, 0);
	free(hash);
	rv = res_err(r, PGRES_TUPLES_OK, "write document", err, errlen);
	if (rv == 0 && PQntuples(r) != 1) {
		snprintf(err, errlen, "write document: %s belongs to another "
		    "owner", d->external_id);
		rv = -1;
	}
	if (rv == 0)
		strlcpy(id, PQgetvalue(r, 0, 0), UUID_STR_LEN);
	PQclear(r);
	return rv;
}

static char *
int_array(const struct chunk *c, long n, int which)
{
	size_t	 cap = (size_t)n * 12 + 3, len = 1;
	char	*s = xcalloc(1, cap);

	s[0] = '{';
	for (long i = 0; i < n; i++)
		len += snprintf(s + len, cap - len, "%s%zu", i ? "," : "",
		    which == 0 ? (size_t)i : which == 1 ? c[i].off : c[i].len);
	s[len] = '}';
	return s;
}

/*
 * Insert the chunks: text cut out of the body by byte ranges on the
 * server, tsvector from title (A), metadata strings (C), text (D).
 */
static int
write_chunks(PGconn *db, const char *coll, const char *owner,
    const struct doc *d, struct docwork *w, char *err, size_t errlen)
{
	const char	*p[9];
	char		*pos = int_array(w->chunks, w->nchunks, 0);
	char		*off = int_array(w->chunks, w->nchunks, 1);
	char		*len = int_array(w->chunks, w->nchunks, 2);
	PGresult	*r;
	int		 rv;

	p[0] = w->id; p[1] = coll; p[2] = owner; p[3] = d->title;
	p[4] = d->metadata; p[5] = d->text; p[6] = pos; p[7] = off;
	p[8] = len;
	r = engine_prepared(db, "ingest_chunks", "WITH t AS (SELECT "
	    "setweight(to_tsvector('english', $4), 'A') || "
	    "setweight(jsonb_to_tsvector('english', $5::jsonb, '[\"string\"]'),"
	    " 'C') AS tv, convert_to($6, 'UTF8') AS b), "
	    "c AS (SELECT u.pos, u.off, convert_from(substring(t.b FROM "
	    "u.off + 1 FOR u.len), 'UTF8') AS txt FROM t, "
	    "unnest($7::int[], $8::int[], $9::int[]) AS u(pos, off, len)) "
	    "INSERT INTO chunks (document_id, collection_id, owner_user, "
	    "position, byte_offset, text, tsv) SELECT $1, $2, $3, c.pos, "
	    "c.off, c.txt, t.tv || setweight(to_tsvector('english', c.txt), "
	    "'D') FROM t, c RETURNING id, position", 9, p, NULL, NULL, 0);
	free(pos);
	free(off);
	free(len);
	rv = res_err(r, PGRES_TUPLES_OK, "write chunks", err, errlen);
	for (int i = 0; rv == 0 && i < PQntuples(r); i++) {
		long at = strtol(PQgetvalue(r, i, 1), NULL, 10);
		if (at >= 0 && at < w->nchunks)
			w->chunk_ids[at] = strtoll(PQgetvalue(r, i, 0), NULL,
			    10);
	}
	PQclear(r);
	return rv;
}

/* Chunk and embed (title first, so every chunk carries it). */
static int
prepare(struct engine *e, const struct doc *d, struct docwork *w, char *err,
    size_t errlen)
{
	const char	**texts;
	size_t		 *lens, tl = strlen(d->title);
	char		**bufs;
	int		  rv;

	w->nchunks = chunk_text(d->text, d->text_len, NULL, &w->chunks);
	if (w->nchunks < 0)
		w->nchunks = 0;
	w->chunk_ids = xcalloc(w->nchunks + 1, sizeof(*w->chunk_ids));
	w->vecs = xcalloc((size_t)w->nchunks + 1, e->emb->dim * sizeof(float));
	texts = xcalloc(w->nchunks + 1, sizeof(*texts));
	lens = xcalloc(w->nchunks + 1, sizeof(*lens));
	bufs = xcalloc(w->nchunks + 1, sizeof(*bufs));
	for (long i = 0; i < w->nchunks; i++) {
		lens[i] = tl + 1 + w->chunks[i].len;
		bufs[i] = xcalloc(1, lens[i] + 1);
		memcpy(bufs[i], d->title, tl);
		bufs[i][tl] = '\n';
		memcpy(bufs[i] + tl + 1, d->text + w->chunks[i].off,
		    w->chunks[i].len);
		texts[i] = bufs[i];
	}
	rv = embed_texts(e->emb, texts, lens, w->nchunks, w->vecs, err,
	    errlen);
	for (long i = 0; i < w->nchunks; i++)
		free(bufs[i]);
	free(bufs);
	free(texts);
	free(lens);
	return rv;
}

static void
docwork_free(struct docwork *w)
{
	free(w->chunks);
	free(w->vecs);
	free(w->chunk_ids);
}

static int
ingest_one(struct engine *e, const char *coll, const char *owner,
    const struct doc *d, struct ingest_counts *c, char *err, size_t errlen)
{
	struct docwork	 w;
	struct store_doc sd;
	int		 st, rv;

	memset(&w, 0, sizeof(w));
	if ((st = lookup(e->db, coll, owner, d, w.id, err, errlen)) == -1)
		return -1;
	if (st == 1) {
		c->unchanged++;
		return 0;
	}
	if (w.id[0] != '\0' && drop_chunks(e, w.id, err, errlen) == -1)
		return -1;
	if (w.id[0] != '\0')
		c->updated++;
	else
		c->added++;
	rv = write_document(e->db, coll, owner, d, w.id, err, errlen);
	if (rv == 0)
		rv = prepare(e, d, &w, err, errlen);
	if (rv == 0 && w.nchunks > 0)
		rv = write_chunks(e->db, coll, owner, d, &w, err, errlen);
	if (rv == 0) {
		sd.document_id = w.id;
		sd.collection_id = coll;
		sd.owner = owner;
		sd.chunk_ids = w.chunk_ids;
		sd.vecs = w.vecs;
		sd.n = w.nchunks;
		rv = store_put(e->store, e->db, &sd, err, errlen);
		c->chunks += w.nchunks;
	}
	docwork_free(&w);
	return rv;
}

/*
 * The batched path: a request's documents in a few statements instead
 * of four per document (each statement costs the backend an executor
 * start, the chunk_stats trigger per INSERT, a round trip).
 */

/* A growing PostgreSQL array literal, e.g. {"a","b",NULL}. */
struct arr {
	char	*s;
	size_t	 len, cap, n;
};

static void
arr_grow(struct arr *a, size_t more)
{
	if (a->len + more + 3 <= a->cap)
		return;
	a->cap = (a->len + more + 3) * 2;
	a->s = xreallocarray(a->s, a->cap, 1);
}

/* Append v quoted (backslash before " and \), or NULL. */
static void
arr_str(struct arr *a, const char *v)
{
	size_t	 n = v != NULL ? strlen(v) : 0;

	arr_grow(a, 2 * n + 8);
	a->s[a->len++] = a->n++ ? ',' : '{';
	if (v == NULL) {
		memcpy(a->s + a->len, "NULL", 4);
		a->len += 4;
		return;
	}
	a->s[a->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			a->s[a->len++] = '\\';
		a->s[a->len++] = v[i];
	}
	a->s[a->len++] = '"';
}

static void
arr_num(struct arr *a, long long v)
{
	arr_grow(a, 24);
	a->len += snprintf(a->s + a->len, a->cap - a->len, "%c%lld",
	    a->n++ ? ',' : '{', v);
}

/* The literal (malloc'd, "{}" when empty); a is reset. */
static char *
arr_end(struct arr *a)
{
	char	*s;

	arr_grow(a, 2);
	if (a->n == 0)
		a->s[a->len++] = '{';
	a->s[a->len++] = '}';
	a->s[a->len] = '\0';
	s = a->s;
	memset(a, 0, sizeof(*a));
	return s;
}

enum docstate { DOC_NEW, DOC_CHANGED, DOC_SAME };

struct batchwork {
	const struct docbatch	*b;
	const char		*coll, *owner;
	struct docwork		*w;
	enum docstate		*st;
};

static int
same_key(const struct doc *a, const struct doc *b)
{
	return strcmp(a->source, b->source) == 0 &&
	    strcmp(a->external_id, b->external_id) == 0;
}

static int
key_cmp(const void *x, const void *y)
{
	const struct doc *a = *(const struct doc *const *)x;
	const struct doc *b = *(const struct doc *const *)y;
	int		  c = strcmp(a->source, b->source);

	return c != 0 ? c : strcmp(a->external_id, b->external_id);
}

/* 1 if two documents of b have the same (source, external id). */
static int
has_duplicates(const struct docbatch *b)
{
	const struct doc	**v = xcalloc(b->n + 1, sizeof(*v));
	int			  dup = 0;

	for (size_t i = 0; i < b->n; i++)
		v[i] = &b->docs[i];
	qsort(v, b->n, sizeof(*v), key_cmp);
	for (size_t i = 1; i < b->n && !dup; i++)
		dup = same_key(v[i - 1], v[i]);
	free(v);
	return dup;
}

/* Which documents exist (locked), and which of those changed. */
static int
lookup_all(PGconn *db, struct batchwork *bw, char *err, size_t errlen)
{
	struct arr	 src = { 0 }, ext = { 0 };
	const char	*p[4];
	char		*hash;
	PGresult	*r;
	int		 rv;

	for (size_t i = 0; i < bw->b->n; i++) {
		arr_str(&src, bw->b->docs[i].source);
		arr_str(&ext, bw->b->docs[i].external_id);
		bw->st[i] = DOC_NEW;
	}
	p[0] = bw->coll;
	p[1] = bw->owner;
	p[2] = arr_end(&src);
	p[3] = arr_end(&ext);
	/*
	 * One unique-key probe per document (LIMIT keeps the sub-select
	 * from being flattened into a join that a plan cached while the
	 * table was small would answer with a sequential scan).
	 */
	r = engine_prepared(db, "ingest_lookup_all", "SELECT d.id, "
	    "d.content_hash, u.ord FROM unnest($3::text[], $4::text[]) "
	    "WITH ORDINALITY AS u(source, ext, ord), LATERAL (SELECT id, "
	    "content_hash FROM documents WHERE collection_id = $1 AND "
	    "source = u.source AND external_id = u.ext AND owner_user IS "
	    "NOT DISTINCT FROM $2::uuid LIMIT 1 FOR UPDATE) d", 4, p, NULL,
	    NULL, 0);
	free((char *)p[2]);
	free((char *)p[3]);
	rv = res_err(r, PGRES_TUPLES_OK, "lookup", err, errlen);
	for (int i = 0; rv == 0 && i < PQntuples(r); i++) {
		long k = strtol(PQgetvalue(r, i, 2), NULL, 10) - 1;
		if (k < 0 || (size_t)k >= bw->b->n)
			continue;
		strlcpy(bw->w[k].id, PQgetvalue(r, i, 0), UUID_STR_LEN);
		hash = hex32(bw->b->docs[k].hash);
		bw->st[k] = strcmp(PQgetvalue(r, i, 1), hash) == 0 ?
		    DOC_SAME : DOC_CHANGED;
		free(hash);
	}
	PQclear(r);
	return rv;
}

/* Changed documents: drop their chunks (one statement), rewrite each. */
static int
rewrite_changed(struct engine *e, struct batchwork *bw, char *err,
    size_t errlen)
{
	struct arr	 ids = { 0 };
	const char	*p[1];
	PGresult	*r;
	int64_t		*cids;
	int		 n, rv;

	for (size_t i = 0; i < bw->b->n; i++)
		if (bw->st[i] == DOC_CHANGED)
			arr_str(&ids, bw->w[i].id);
	if (ids.n == 0)
		return 0;
	p[0] = arr_end(&ids);
	r = engine_prepared(e->db, "ingest_drop_chunks_all", "DELETE FROM "
	    "chunks WHERE document_id = ANY ($1::uuid[]) RETURNING id", 1, p,
	    NULL, NULL, 0);
	free((char *)p[0]);
	if (res_err(r, PGRES_TUPLES_OK, "delete chunks", err, errlen) == -1) {
		PQclear(r);
		return -1;
	}
	n = PQntuples(r);
	cids = xcalloc(n + 1, sizeof(*cids));
	for (int i = 0; i < n; i++)
		cids[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	PQclear(r);
	rv = store_remove(e->store, e->db, cids, n, err, errlen);
	free(cids);
	for (size_t i = 0; rv == 0 && i < bw->b->n; i++)
		if (bw->st[i] == DOC_CHANGED && (rv = write_document(e->db,
		    bw->coll, bw->owner, &bw->b->docs[i], bw->w[i].id, err,
		    errlen)) == -1) {
			char	 why[256];
			strlcpy(why, err, sizeof(why));
			snprintf(err, errlen, "documents[%zu]: %s", i, why);
		}
	return rv;
}

/* A random (version 4) uuid for a new document. */
static void
new_uuid(char out[UUID_STR_LEN])
{
	uint8_t	 b[16];

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	uuid_format(b, out);
}

/* New documents: one INSERT, with ids made here. */
static int
insert_new(PGconn *db, struct batchwork *bw, char *err, size_t errlen)
{
	struct arr	 a[9];
	const char	*p[11];
	char		*hash;
	PGresult	*r;
	size_t		 n = 0;
	int		 rv;

	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < bw->b->n; i++) {
		const struct doc *d = &bw->b->docs[i];
		if (bw->st[i] != DOC_NEW)
			continue;
		new_uuid(bw->w[i].id);
		hash = hex32(d->hash);
		arr_str(&a[0], bw->w[i].id);
		arr_str(&a[1], d->source);
		arr_str(&a[2], d->external_id);
		arr_str(&a[3], d->title);
		arr_str(&a[4], d->url);
		arr_str(&a[5], d->text);
		arr_str(&a[6], d->metadata);
		arr_str(&a[7], hash + 2);	/* hex without "\x" */
		arr_str(&a[8], d->updated_at);
		free(hash);
		n++;
	}
	p[0] = bw->coll;
	p[1] = bw->owner;
	for (int i = 0; i < 9; i++)
		p[2 + i] = arr_end(&a[i]);
	if (n > 0) {
		r = engine_prepared(db, "ingest_doc_insert_all", "INSERT INTO "
		    "documents (id, collection_id, source, owner_user, "
		    "external_id, title, url, body, metadata, content_hash, "
		    "updated_at) SELECT u.id, $1, u.source, $2, u.ext, "
		    "u.title, u.url, u.body, u.meta::jsonb, "
		    "decode(u.hash, 'hex'), coalesce(u.upd::timestamptz, "
		    "now()) FROM unnest($3::uuid[], $4::text[], $5::text[], "
		    "$6::text[], $7::text[], $8::text[], $9::text[], "
		    "$10::text[], $11::text[]) AS u(id, source, ext, title, "
		    "url, body, meta, hash, upd)", 11, p, NULL, NULL, 0);
		rv = res_err(r, PGRES_COMMAND_OK, "write documents", err,
		    errlen);
		PQclear(r);
	} else
		rv = 0;
	for (int i = 0; i < 9; i++)
		free((char *)p[2 + i]);
	return rv;
}

/* Ids for n new chunks from the chunks' own sequence. */
static int
chunk_ids(PGconn *db, struct batchwork *bw, long n, char *err, size_t errlen)
{
	char		 num[24];
	const char	*p[1] = { num };
	PGresult	*r;
	long		 k = 0;
	int		 rv;

	snprintf(num, sizeof(num), "%ld", n);
	r = engine_prepared(db, "ingest_chunk_ids", "SELECT "
	    "nextval('chunks_id_seq') FROM generate_series(1, $1::int)", 1, p,
	    NULL, NULL, 0);
	rv = res_err(r, PGRES_TUPLES_OK, "chunk ids", err, errlen);
	if (rv == 0 && PQntuples(r) != n) {
		snprintf(err, errlen, "chunk ids: %d of %ld", PQntuples(r), n);
		rv = -1;
	}
	for (size_t i = 0; rv == 0 && i < bw->b->n; i++)
		for (long j = 0; bw->st[i] != DOC_SAME &&
		    j < bw->w[i].nchunks; j++, k++)
			bw->w[i].chunk_ids[j] = strtoll(PQgetvalue(r, k, 0),
			    NULL, 10);
	PQclear(r);
	return rv;
}

/*
 * Every written document's chunks in one INSERT: title, metadata and
 * body read back from documents (tsvector of title and metadata once
 * per document), len counted from each tsv as ballast_tsv_len() does.
 */
static int
insert_chunks(PGconn *db, struct batchwork *bw, char *err, size_t errlen)
{
	struct arr	 a[6];
	const char	*p[8];
	PGresult	*r;
	int		 rv;

	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < bw->b->n; i++) {
		struct docwork *w = &bw->w[i];
		if (bw->st[i] == DOC_SAME || w->nchunks == 0)
			continue;
		arr_str(&a[0], w->id);
		for (long j = 0; j < w->nchunks; j++) {
			arr_num(&a[1], w->chunk_ids[j]);
			arr_str(&a[2], w->id);
			arr_num(&a[3], j);
			arr_num(&a[4], (long long)w->chunks[j].off);
			arr_num(&a[5], (long long)w->chunks[j].len);
		}
	}
	p[0] = bw->coll;
	p[1] = bw->owner;
	for (int i = 0; i < 6; i++)
		p[2 + i] = arr_end(&a[i]);
	r = engine_prepared(db, "ingest_chunks_all", "WITH d AS MATERIALIZED "
	    "(SELECT id, setweight(to_tsvector('english', title), 'A') || "
	    "setweight(jsonb_to_tsvector('english', metadata, '[\"string\"]'),"
	    " 'C') AS tv, convert_to(body, 'UTF8') AS b FROM documents "
	    "WHERE id = ANY ($3::uuid[])), "
	    "k AS MATERIALIZED (SELECT u.id, u.doc, u.pos, u.off, "
	    "convert_from(substring(d.b FROM u.off + 1 FOR u.len), 'UTF8') "
	    "AS txt, d.tv FROM unnest($4::bigint[], $5::uuid[], $6::int[], "
	    "$7::int[], $8::int[]) AS u(id, doc, pos, off, len) JOIN d ON "
	    "d.id = u.doc), "
	    "c AS MATERIALIZED (SELECT id, doc, pos, off, txt, tv || "
	    "setweight(to_tsvector('english', txt), 'D') AS tsv FROM k) "
	    "INSERT INTO chunks (id, document_id, collection_id, owner_user, "
	    "position, byte_offset, text, tsv, len) SELECT c.id, c.doc, $1, "
	    "$2, c.pos, c.off, c.txt, c.tsv, (SELECT coalesce(sum(coalesce("
	    "array_length(l.positions, 1), 1)), 0)::integer FROM "
	    "unnest(c.tsv) AS l) FROM c", 8, p, NULL, NULL, 0);
	for (int i = 0; i < 6; i++)
		free((char *)p[2 + i]);
	rv = res_err(r, PGRES_COMMAND_OK, "write chunks", err, errlen);
	PQclear(r);
	return rv;
}

/* Chunk and embed every document to write; the number of chunks. */
static long
prepare_all(struct engine *e, struct batchwork *bw, char *err,
    size_t errlen)
{
	long	 n = 0;

	for (size_t i = 0; i < bw->b->n; i++) {
		if (bw->st[i] == DOC_SAME)
			continue;
		if (prepare(e, &bw->b->docs[i], &bw->w[i], err, errlen) == -1)
			return -1;
		n += bw->w[i].nchunks;
	}
	return n;
}

/* Every written document's vectors in one store write. */
static int
put_vectors(struct engine *e, struct batchwork *bw, char *err, size_t errlen)
{
	struct store_doc *sd = xcalloc(bw->b->n + 1, sizeof(*sd));
	size_t		  n = 0;
	int		  rv;

	for (size_t i = 0; i < bw->b->n; i++) {
		if (bw->st[i] == DOC_SAME || bw->w[i].nchunks == 0)
			continue;
		sd[n].document_id = bw->w[i].id;
		sd[n].collection_id = bw->coll;
		sd[n].owner = bw->owner;
		sd[n].chunk_ids = bw->w[i].chunk_ids;
		sd[n].vecs = bw->w[i].vecs;
		sd[n].n = bw->w[i].nchunks;
		n++;
	}
	rv = store_put_many(e->store, e->db, sd, n, err, errlen);
	free(sd);
	return rv;
}

/*
 * The whole batch in a few statements.  -1 with *sql set when a
 * statement failed (the serial path then finds which document).
 */
static int
ingest_all(struct engine *e, const char *coll, const char *owner,
    const struct docbatch *b, struct ingest_counts *c, int *sql, char *err,
    size_t errlen)
{
	struct batchwork bw;
	long		 n = 0;
	int		 rv;

	*sql = 1;
	bw.b = b;
	bw.coll = coll;
	bw.owner = owner;
	bw.w = xcalloc(b->n + 1, sizeof(*bw.w));
	bw.st = xcalloc(b->n + 1, sizeof(*bw.st));
	rv = lookup_all(e->db, &bw, err, errlen);
	if (rv == 0)
		rv = rewrite_changed(e, &bw, err, errlen);
	if (rv == 0)
		rv = insert_new(e->db, &bw, err, errlen);
	if (rv == 0) {
		*sql = 0;
		rv = (n = prepare_all(e, &bw, err, errlen)) < 0 ? -1 : 0;
		*sql = 1;
	}
	if (rv == 0 && n > 0)
		rv = chunk_ids(e->db, &bw, n, err, errlen);
	if (rv == 0 && n > 0)
		rv = insert_chunks(e->db, &bw, err, errlen);
	if (rv == 0) {
		*sql = 0;
		rv = put_vectors(e, &bw, err, errlen);
	}
	for (size_t i = 0; rv == 0 && i < b->n; i++) {
		c->added += bw.st[i] == DOC_NEW;
		c->updated += bw.st[i] == DOC_CHANGED;
		c->unchanged += bw.st[i] == DOC_SAME;
	}
	if (rv == 0)
		c->chunks += n;
	for (size_t i = 0; i < b->n; i++)
		docwork_free(&bw.w[i]);
	free(bw.w);
	free(bw.st);
	return rv;
}

/* Open a transaction under the scope. */
static int
begin_scoped(struct engine *e, const struct scope *sc, char *err,
    size_t errlen)
{
	if (engine_exec(e->db, "BEGIN", err, errlen) == -1)
		return -1;
	if (scope_apply(e->db, sc, err, errlen) == -1) {
		(void)engine_exec(e->db, "ROLLBACK", NULL, 0);
		return -1;
	}
	return 0;
}

/* Commit (and the store with it) or roll both back. */
static int
finish(struct engine *e, int rv, char *err, size_t errlen)
{
	if (rv == 0 && engine_exec(e->db, "COMMIT", err, errlen) == 0) {
		store_commit(e->store);
		return 0;
	}
	(void)engine_exec(e->db, "ROLLBACK", NULL, 0);
	store_rollback(e->store);
	return -1;
}

static int
finish_batch(struct engine *e, int rv, struct ingest_counts *c, char *err,
    size_t errlen)
{
	if (finish(e, rv, err, errlen) == -1) {
		memset(c, 0, sizeof(*c));
		return -1;
	}
	return 0;
}

int
ingest_batch(struct engine *e, const struct scope *sc, const char *coll,
    int personal, const struct docbatch *b, struct ingest_counts *c,
    char *err, size_t errlen)
{
	char	 cid[UUID_STR_LEN];
	uint8_t	 raw[16];
	int	 rv = 0, sql;

	memset(c, 0, sizeof(*c));
	if (uuid_parse(coll, raw) == -1) {
		snprintf(err, errlen, "collection: not a uuid");
		return -1;
	}
	uuid_format(raw, cid);
	if (!scope_has_collection(sc, cid)) {
		snprintf(err, errlen, "collection: not in scope");
		return -1;
	}
	if (personal && sc->owner[0] == '\0') {
		snprintf(err, errlen, "personal documents need an owner");
		return -1;
	}
	if (begin_scoped(e, sc, err, errlen) == -1)
		return -1;
	/*
	 * The batched path, unless two documents share a key (each must
	 * see the one before it).  When one of its statements fails, the
	 * serial path redoes the batch to name the document at fault.
	 */
	if (!has_duplicates(b)) {
		rv = ingest_all(e, cid, personal ? sc->owner : NULL, b, c,
		    &sql, err, errlen);
		if (rv == 0 || !sql)
			return finish_batch(e, rv, c, err, errlen);
		(void)finish(e, -1, NULL, 0);
		memset(c, 0, sizeof(*c));
		if (begin_scoped(e, sc, err, errlen) == -1)
			return -1;
		rv = 0;
	}
	for (size_t i = 0; rv == 0 && i < b->n; i++)
		if ((rv = ingest_one(e, cid, personal ? sc->owner : NULL,
		    &b->docs[i], c, err, errlen)) == -1) {
			char	 why[256];
			strlcpy(why, err, sizeof(why));
			snprintf(err, errlen, "documents[%zu]: %s", i, why);
		}
	return finish_batch(e, rv, c, err, errlen);
}

int
ingest_delete(struct engine *e, const struct scope *sc, const char *doc_id,
    char *err, size_t errlen)
{
	const char	*p[1] = { doc_id };
	PGresult	*r;
	uint8_t		 raw[16];
	int		 rv, found = 0;

	if (uuid_parse(doc_id, raw) == -1)
		return 0;
	if (begin_scoped(e, sc, err, errlen) == -1)
		return -1;
	rv = drop_chunks(e, doc_id, err, errlen);
	if (rv == 0) {
		r = PQexecParams(e->db, "DELETE FROM documents WHERE id = $1 "
		    "AND collection_id = ANY (string_to_array("
		    "current_setting('ballast.collections'), ',')::uuid[])",
		    1, NULL, p, NULL, NULL, 0);
		rv = res_err(r, PGRES_COMMAND_OK, "delete", err, errlen);
		if (rv == 0)
			found = strcmp(PQcmdTuples(r), "1") == 0;
		PQclear(r);
	}
	if (finish(e, rv, err, errlen) == -1)
		return -1;
	return found;
}

/* "{a,b}" of the document ids in r (column 0) that keep() refuses. */
static char *
unkept_ids(PGresult *r, int (*keep)(void *, const char *), void *arg,
    size_t *n)
{
	size_t	 cap = (size_t)PQntuples(r) * UUID_STR_LEN + 3, len = 1;
	char	*s = xcalloc(1, cap);

	*n = 0;
	s[0] = '{';
	for (int i = 0; i < PQntuples(r); i++) {
		if (keep != NULL && keep(arg, PQgetvalue(r, i, 1)))
			continue;
		len += snprintf(s + len, cap - len, "%s%s", *n ? "," : "",
		    PQgetvalue(r, i, 0));
		(*n)++;
	}
	s[len] = '}';
	return s;
}

int
ingest_delete_source(struct engine *e, const char *coll, const char *source,
    int (*keep)(void *, const char *), void *arg, size_t *deleted,
    char *err, size_t errlen)
{
	const char	*p[2] = { coll, source };
	PGresult	*r;
	int64_t		*ids;
	char		*list;
	size_t		 n;
	int		 rv;

	*deleted = 0;
	r = PQexecParams(e->db, "SELECT id, external_id FROM documents WHERE "
	    "collection_id = $1 AND source = $2", 2, NULL, p, NULL, NULL, 0);
	if (res_err(r, PGRES_TUPLES_OK, "source documents", err, errlen) == -1) {
		PQclear(r);
		return -1;
	}
	list = unkept_ids(r, keep, arg, &n);
	PQclear(r);
	if (n == 0) {
		free(list);
		return 0;
	}
	p[0] = list;
	r = PQexecParams(e->db, "DELETE FROM chunks WHERE document_id = "
	    "ANY ($1::uuid[]) RETURNING id", 1, NULL, p, NULL, NULL, 0);
	if (res_err(r, PGRES_TUPLES_OK, "delete chunks", err, errlen) == -1) {
		PQclear(r);
		free(list);
		return -1;
	}
	ids = xcalloc(PQntuples(r) + 1, sizeof(*ids));
	for (int i = 0; i < PQntuples(r); i++)
		ids[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	rv = store_remove(e->store, e->db, ids, PQntuples(r), err, errlen);
	free(ids);
	PQclear(r);
	if (rv == 0) {
		r = PQexecParams(e->db, "DELETE FROM documents WHERE id = "
		    "ANY ($1::uuid[])", 1, NULL, p, NULL, NULL, 0);
		rv = res_err(r, PGRES_COMMAND_OK, "delete documents", err,
		    errlen);
		if (rv == 0)
			*deleted = strtoull(PQcmdTuples(r), NULL, 10);
		PQclear(r);
	}
	free(list);
	return rv;
}

static json_t *
doc_json(PGresult *d, PGresult *c)
{
	json_t	*o, *chunks = json_array();

	for (int i = 0; i < PQntuples(c); i++)
		json_array_append_new(chunks, json_pack("{s:I,s:I,s:I,s:s}",
		    "id", (json_int_t)strtoll(PQgetvalue(c, i, 0), NULL, 10),
		    "position", (json_int_t)strtoll(PQgetvalue(c, i, 1), NULL,
		    10), "offset", (json_int_t)strtoll(PQgetvalue(c, i, 2),
		    NULL, 10), "text", PQgetvalue(c, i, 3)));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}",
	    "id", PQgetvalue(d, 0, 0), "collection_id", PQgetvalue(d, 0, 1),
	    "source", PQgetvalue(d, 0, 2), "external_id", PQgetvalue(d, 0, 3),
	    "title", PQgetvalue(d, 0, 4), "url", PQgetvalue(d, 0, 5),
	    "text", PQgetvalue(d, 0, 6), "updated_at", PQgetvalue(d, 0, 8),
	    "content_hash", PQgetvalue(d, 0, 9), "chunks", chunks);
	if (o != NULL) {
		json_t *m = json_loads(PQgetvalue(d, 0, 7), 0, NULL);
		json_object_set_new(o, "metadata", m ? m : json_object());
		if (!PQgetisnull(d, 0, 10))
			json_object_set_new(o, "owner_user",
			    json_string(PQgetvalue(d, 0, 10)));
	}
	return o;
}

json_t *
ingest_get(struct engine *e, const struct scope *sc, const char *doc_id,
    char *err, size_t errlen)
{
	const char	*p[1] = { doc_id };
	PGresult	*d = NULL, *c = NULL;
	json_t		*o = NULL;
	uint8_t		 raw[16];

	err[0] = '\0';
	if (uuid_parse(doc_id, raw) == -1)
		return NULL;
	if (begin_scoped(e, sc, err, errlen) == -1)
		return NULL;
	d = PQexecParams(e->db, "SELECT id, collection_id, source, "
	    "external_id, title, url, body, metadata, "
	    "to_char(updated_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), encode(content_hash, 'hex'), "
	    "owner_user FROM documents WHERE id = $1", 1, NULL, p, NULL,
	    NULL, 0);
	if (res_err(d, PGRES_TUPLES_OK, "get", err, errlen) == 0 &&
	    PQntuples(d) == 1) {
		c = PQexecParams(e->db, "SELECT id, position, byte_offset, text "
		    "FROM chunks WHERE document_id = $1 ORDER BY position", 1,
		    NULL, p, NULL, NULL, 0);
		if (res_err(c, PGRES_TUPLES_OK, "get chunks", err, errlen) == 0)
			o = doc_json(d, c);
	}
	PQclear(d);
	PQclear(c);
	(void)engine_exec(e->db, "COMMIT", NULL, 0);
	return o;
}

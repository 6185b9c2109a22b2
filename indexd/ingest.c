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

int
ingest_batch(struct engine *e, const struct scope *sc, const char *coll,
    int personal, const struct docbatch *b, struct ingest_counts *c,
    char *err, size_t errlen)
{
	char	 cid[UUID_STR_LEN];
	uint8_t	 raw[16];
	int	 rv = 0;

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
	for (size_t i = 0; rv == 0 && i < b->n; i++)
		if ((rv = ingest_one(e, cid, personal ? sc->owner : NULL,
		    &b->docs[i], c, err, errlen)) == -1) {
			char	 why[256];
			strlcpy(why, err, sizeof(why));
			snprintf(err, errlen, "documents[%zu]: %s", i, why);
		}
	if (finish(e, rv, err, errlen) == -1) {
		memset(c, 0, sizeof(*c));
		return -1;
	}
	return 0;
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

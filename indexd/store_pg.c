/*
 * The "postgres" vector store: each chunk's vector is a row of
 * chunk_vectors (float32 little-endian in a bytea); indexd loads them
 * all into a vecmem at start, streaming rows in binary, and keeps it in
 * step with its own writes.  Changes made by another indexd process are
 * seen on the next load.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/engine.h"
#include "indexd/store.h"

struct pending {
	int64_t		*add_ids;
	uint8_t		(*add_coll)[16];
	uint8_t		(*add_owner)[16];
	uint8_t		*add_has_owner;
	float		*add_vecs;
	size_t		 nadd, capadd;
	int64_t		*rm_ids;
	size_t		*rm_at;		/* nadd when each was removed */
	size_t		 nrm, caprm;
};

struct pgstore {
	struct vecmem	 vm;
	struct pending	 p;
};

static void
pg_err(const char *what, PGresult *r, char *err, size_t errlen)
{
	if (err != NULL)
		snprintf(err, errlen, "%s: %.*s", what,
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
}

/* float32 little-endian bytes to host floats. */
static void
le_floats(float *out, const unsigned char *in, size_t n)
{
	uint32_t	 u;

	for (size_t i = 0; i < n; i++) {
		u = (uint32_t)in[4 * i] | (uint32_t)in[4 * i + 1] << 8 |
		    (uint32_t)in[4 * i + 2] << 16 |
		    (uint32_t)in[4 * i + 3] << 24;
		memcpy(&out[i], &u, 4);
	}
}

static void
floats_le(unsigned char *out, const float *in, size_t n)
{
	uint32_t	 u;

	for (size_t i = 0; i < n; i++) {
		memcpy(&u, &in[i], 4);
		out[4 * i] = u & 0xff;
		out[4 * i + 1] = (u >> 8) & 0xff;
		out[4 * i + 2] = (u >> 16) & 0xff;
		out[4 * i + 3] = u >> 24;
	}
}

static int64_t
be64(const unsigned char *p)
{
	uint64_t	 v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static int
load_row(struct store *s, struct pgstore *ps, PGresult *r, float *tmp)
{
	const unsigned char	*own;

	if (PQgetlength(r, 0, 0) != 8 || PQgetlength(r, 0, 1) != 16 ||
	    (size_t)PQgetlength(r, 0, 3) != s->dim * 4)
		return 0;	/* another dimension: not ours */
	own = PQgetisnull(r, 0, 2) ? NULL :
	    (const unsigned char *)PQgetvalue(r, 0, 2);
	le_floats(tmp, (const unsigned char *)PQgetvalue(r, 0, 3), s->dim);
	vecmem_put(&ps->vm, be64((const unsigned char *)PQgetvalue(r, 0, 0)),
	    (const uint8_t *)PQgetvalue(r, 0, 1), own, tmp);
	return 1;
}

static int
stream_rows(struct store *s, struct pgstore *ps, PGconn *db, char *err,
    size_t errlen)
{
	const char	*p[1] = { s->embedder };
	PGresult	*r;
	float		*tmp = xcalloc(s->dim, sizeof(float));
	int		 rv = 0;

	if (!PQsendQueryParams(db, "SELECT chunk_id, collection_id, "
	    "owner_user, vec FROM chunk_vectors WHERE embedder = $1", 1, NULL,
	    p, NULL, NULL, 1) || !PQsetSingleRowMode(db)) {
		snprintf(err, errlen, "load: %s", PQerrorMessage(db));
		free(tmp);
		return -1;
	}
	while ((r = PQgetResult(db)) != NULL) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE)
			load_row(s, ps, r, tmp);
		else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			pg_err("load", r, err, errlen);
			rv = -1;
		}
		PQclear(r);
	}
	free(tmp);
	return rv;
}

static int
exec_cmd(PGconn *db, const char *sql)
{
	PGresult	*r = PQexec(db, sql);
	int		 ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	return ok ? 0 : -1;
}

static int
pg_load(struct store *s, PGconn *db, char *err, size_t errlen)
{
	struct pgstore	*ps = s->ctx;
	int		 rv;

	vecmem_clear(&ps->vm);
	if (exec_cmd(db, "BEGIN READ ONLY") == -1) {
		snprintf(err, errlen, "load: BEGIN: %s", PQerrorMessage(db));
		return -1;
	}
	rv = scope_apply_all(db, err, errlen);
	if (rv == 0)
		rv = stream_rows(s, ps, db, err, errlen);
	(void)exec_cmd(db, rv == 0 ? "COMMIT" : "ROLLBACK");
	return rv;
}

static void
stage_add(struct pgstore *ps, const struct store_doc *d, size_t dim)
{
	struct pending	*p = &ps->p;
	uint8_t		 coll[16], owner[16];
	int		 has_owner = d->owner != NULL && d->owner[0] != '\0';

	(void)uuid_parse(d->collection_id, coll);
	if (has_owner)
		(void)uuid_parse(d->owner, owner);
	if (p->nadd + d->n > p->capadd) {
		p->capadd = (p->nadd + d->n) * 2;
		p->add_ids = xreallocarray(p->add_ids, p->capadd, 8);
		p->add_coll = xreallocarray(p->add_coll, p->capadd, 16);
		p->add_owner = xreallocarray(p->add_owner, p->capadd, 16);
		p->add_has_owner = xreallocarray(p->add_has_owner, p->capadd, 1);
		p->add_vecs = xreallocarray(p->add_vecs, p->capadd,
		    dim * sizeof(float));
	}
	for (size_t i = 0; i < d->n; i++, p->nadd++) {
		p->add_ids[p->nadd] = d->chunk_ids[i];
		memcpy(p->add_coll[p->nadd], coll, 16);
		memcpy(p->add_owner[p->nadd], owner, has_owner ? 16 : 0);
		p->add_has_owner[p->nadd] = has_owner;
		memcpy(p->add_vecs + p->nadd * dim, d->vecs + i * dim,
		    dim * sizeof(float));
	}
}

/* One document's vectors: the many-document insert with one. */
static int
pg_put(struct store *s, PGconn *db, const struct store_doc *d, char *err,
    size_t errlen)
{
	return store_pg_put_many(s, db, d, 1, err, errlen);
}

/*
 * "{a,b,NULL}": for each chunk of each document, its document's id
 * (which 0), collection (1) or owner (2, NULL for shared content).
 */
static char *
uuid_array(const struct store_doc *d, size_t ndocs, size_t n, int which)
{
	size_t		 cap = n * (UUID_STR_LEN + 1) + 3, len = 1;
	char		*s = xcalloc(1, cap);
	const char	*v;

	s[0] = '{';
	for (size_t i = 0; i < ndocs; i++) {
		v = which == 0 ? d[i].document_id : which == 1 ?
		    d[i].collection_id : d[i].owner;
		if (v == NULL || v[0] == '\0')
			v = "NULL";
		for (size_t j = 0; j < d[i].n; j++)
			len += snprintf(s + len, cap - len, "%s%s",
			    len > 1 ? "," : "", v);
	}
	s[len] = '}';
	return s;
}

static int
check_ids(const struct store_doc *d, size_t ndocs, size_t *n, char *err,
    size_t errlen)
{
	uint8_t	 b[16];

	*n = 0;
	for (size_t i = 0; i < ndocs; i++) {
		if (uuid_parse(d[i].document_id, b) == -1 ||
		    uuid_parse(d[i].collection_id, b) == -1 ||
		    (d[i].owner != NULL && d[i].owner[0] != '\0' &&
		    uuid_parse(d[i].owner, b) == -1)) {
			snprintf(err, errlen, "store: bad document, collection "
			    "or owner id");
			return -1;
		}
		*n += d[i].n;
	}
	return 0;
}

/*
 * Several documents' vectors in one INSERT (one statement per document
 * cost the backend an executor start and a round trip each).
 */
int
store_pg_put_many(struct store *s, PGconn *db, const struct store_doc *d,
    size_t ndocs, char *err, size_t errlen)
{
	const char	*p[7];
	int		 lens[7] = { 0 }, fmts[7] = { 0 };
	char		 stride[16];
	unsigned char	*blob;
	int64_t		*ids;
	PGresult	*r;
	size_t		 n, k = 0;
	int		 ok;

	if (check_ids(d, ndocs, &n, err, errlen) == -1)
		return -1;
	if (n == 0)
		return 0;
	if (n > INT_MAX / (s->dim * 4)) {
		snprintf(err, errlen, "store: %zu vectors in one write", n);
		return -1;
	}
	blob = xcalloc(n, s->dim * 4);
	ids = xcalloc(n, sizeof(*ids));
	for (size_t i = 0; i < ndocs; k += d[i].n, i++) {
		floats_le(blob + k * s->dim * 4, d[i].vecs, d[i].n * s->dim);
		memcpy(ids + k, d[i].chunk_ids, d[i].n * sizeof(*ids));
	}
	snprintf(stride, sizeof(stride), "%zu", s->dim * 4);
	p[0] = s->embedder;
	p[1] = (const char *)blob;
	lens[1] = (int)(n * s->dim * 4);
	fmts[1] = 1;
	p[2] = stride;
	p[3] = engine_id_array(ids, n);
	p[4] = uuid_array(d, ndocs, n, 0);
	p[5] = uuid_array(d, ndocs, n, 1);
	p[6] = uuid_array(d, ndocs, n, 2);
	r = engine_prepared(db, "store_pg_put_many", "INSERT INTO "
	    "chunk_vectors (chunk_id, document_id, collection_id, owner_user, "
	    "embedder, vec) SELECT c.id, c.doc, c.coll, c.owner, $1, "
	    "substring($2::bytea FROM ((c.ord - 1) * $3::int + 1)::int FOR "
	    "$3::int) FROM unnest($4::bigint[], $5::uuid[], $6::uuid[], "
	    "$7::uuid[]) WITH ORDINALITY AS c(id, doc, coll, owner, ord) "
	    "ON CONFLICT (chunk_id) DO UPDATE SET vec = excluded.vec, "
	    "embedder = excluded.embedder", 7, p, lens, fmts, 0);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		pg_err("store put", r, err, errlen);
	PQclear(r);
	for (int i = 3; i < 7; i++)
		free((char *)p[i]);
	free(blob);
	free(ids);
	for (size_t i = 0; ok && i < ndocs; i++)
		stage_add(s->ctx, &d[i], s->dim);
	return ok ? 0 : -1;
}

static int
pg_remove(struct store *s, PGconn *db, const int64_t *ids, size_t n,
    char *err, size_t errlen)
{
	struct pending	*pe = &((struct pgstore *)s->ctx)->p;
	const char	*p[1];
	PGresult	*r;
	int		 ok;

	if (n == 0)
		return 0;
	p[0] = engine_id_array(ids, n);
	r = engine_prepared(db, "store_pg_remove", "DELETE FROM chunk_vectors "
	    "WHERE chunk_id = ANY ($1::bigint[])", 1, p, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		pg_err("store remove", r, err, errlen);
	PQclear(r);
	free((char *)p[0]);
	if (!ok)
		return -1;
	if (pe->nrm + n > pe->caprm) {
		pe->caprm = (pe->nrm + n) * 2;
		pe->rm_ids = xreallocarray(pe->rm_ids, pe->caprm, 8);
		pe->rm_at = xreallocarray(pe->rm_at, pe->caprm,
		    sizeof(*pe->rm_at));
	}
	memcpy(pe->rm_ids + pe->nrm, ids, n * sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		pe->rm_at[pe->nrm + i] = pe->nadd;
	pe->nrm += n;
	return 0;
}

static void
pg_rollback(struct store *s)
{
	struct pending	*p = &((struct pgstore *)s->ctx)->p;

	p->nadd = 0;
	p->nrm = 0;
}

static void
pg_commit(struct store *s)
{
	struct pgstore	*ps = s->ctx;
	struct pending	*p = &ps->p;
	size_t		 r = 0;

	/*
	 * Replayed in the transaction's order: a chunk written and then
	 * removed in one transaction (a batch naming one document twice)
	 * must not stay in memory.
	 */
	for (size_t i = 0; i <= p->nadd; i++) {
		for (; r < p->nrm && p->rm_at[r] <= i; r++)
			vecmem_remove(&ps->vm, p->rm_ids[r]);
		if (i < p->nadd)
			vecmem_put(&ps->vm, p->add_ids[i], p->add_coll[i],
			    p->add_has_owner[i] ? p->add_owner[i] : NULL,
			    p->add_vecs + i * s->dim);
	}
	pg_rollback(s);
}

static long
pg_search(struct store *s, const float *q, const struct scope *sc, size_t k,
    struct vhit *out, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return (long)vecmem_search(&((struct pgstore *)s->ctx)->vm, q, sc, k,
	    out);
}

static size_t
pg_count(struct store *s)
{
	return ((struct pgstore *)s->ctx)->vm.n;
}

static void
pg_free(struct store *s)
{
	struct pgstore	*ps = s->ctx;

	vecmem_clear(&ps->vm);
	free(ps->p.add_ids);
	free(ps->p.add_coll);
	free(ps->p.add_owner);
	free(ps->p.add_has_owner);
	free(ps->p.add_vecs);
	free(ps->p.rm_ids);
	free(ps->p.rm_at);
	free(ps);
	free(s);
}

static const struct store_ops pg_ops = {
	pg_load, pg_put, pg_remove, pg_commit, pg_rollback, pg_search,
	pg_count, pg_free,
};

struct store *
store_pg_new(size_t dim, const char *embedder)
{
	struct store	*s;
	struct pgstore	*ps;

	if (dim == 0 || strlen(embedder) >= sizeof(s->embedder))
		return NULL;
	s = xcalloc(1, sizeof(*s));
	ps = xcalloc(1, sizeof(*ps));
	vecmem_init(&ps->vm, dim);
	s->ops = &pg_ops;
	s->name = "postgres";
	s->dim = dim;
	strlcpy(s->embedder, embedder, sizeof(s->embedder));
	s->ctx = ps;
	return s;
}

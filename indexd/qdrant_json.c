/* Qdrant request bodies and response parsing (see qdrant_json.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "indexd/qdrant_json.h"

/* Floats keep 9 significant digits: float32 round-trips. */
#define QJ_DUMP	(JSON_COMPACT | JSON_REAL_PRECISION(9))

static char *
dump_free(json_t *o)
{
	char	*s = NULL;

	if (o != NULL)
		s = json_dumps(o, QJ_DUMP);
	json_decref(o);
	return s;
}

void
qj_point_id(const char *document_id, int64_t chunk_id,
    char out[UUID_STR_LEN])
{
	static const char	 tag[] = "ballast-chunk";
	unsigned char		 h[EVP_MAX_MD_SIZE];
	unsigned int		 hl = 0;
	char			 cid[24];
	EVP_MD_CTX		*ctx = EVP_MD_CTX_new();

	snprintf(cid, sizeof(cid), "%lld", (long long)chunk_id);
	memset(h, 0, sizeof(h));
	/* NUL separators: no two (document, chunk) pairs hash alike */
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, tag, sizeof(tag)) != 1 ||
	    EVP_DigestUpdate(ctx, document_id, strlen(document_id) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, cid, strlen(cid)) != 1 ||
	    EVP_DigestFinal_ex(ctx, h, &hl) != 1)
		abort();	/* SHA-256 does not fail short of memory */
	EVP_MD_CTX_free(ctx);
	h[6] = (h[6] & 0x0f) | 0x50;	/* version 5 layout */
	h[8] = (h[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	uuid_format(h, out);
}

static json_t *
match_key(const char *key, json_t *match)
{
	return json_pack("{s:s,s:o}", "key", key, "match", match);
}

static json_t *
is_empty(const char *key)
{
	return json_pack("{s:{s:s}}", "is_empty", "key", key);
}

json_t *
qj_scope_filter(const struct scope *sc)
{
	json_t	*any, *owner;

	if (sc == NULL || sc->ncollections == 0)
		return NULL;
	any = json_array();
	for (size_t i = 0; i < sc->ncollections; i++)
		json_array_append_new(any, json_string(sc->collections[i]));
	/* Shared content (no owner) always; personal only the owner's. */
	if (sc->owner[0] == '\0')
		owner = is_empty(QJ_OWNER);
	else
		owner = json_pack("{s:[o,o]}", "should", is_empty(QJ_OWNER),
		    match_key(QJ_OWNER, json_pack("{s:s}", "value",
		    sc->owner)));
	return json_pack("{s:[o,o]}", "must", match_key(QJ_COLLECTION,
	    json_pack("{s:o}", "any", any)), owner);
}

static json_t *
vector(const float *v, size_t dim)
{
	json_t	*a = json_array();

	for (size_t i = 0; a != NULL && i < dim; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

char *
qj_query_body(const float *q, size_t dim, const struct scope *sc, size_t k)
{
	json_t	*filter;

	if (q == NULL || dim == 0 || k == 0 ||
	    (filter = qj_scope_filter(sc)) == NULL)
		return NULL;
	/* chunk_id alone comes back: nothing else is needed, or stored */
	return dump_free(json_pack("{s:o,s:o,s:I,s:[s],s:b}", "query",
	    vector(q, dim), "filter", filter, "limit", (json_int_t)k,
	    "with_payload", QJ_CHUNK, "with_vector", 0));
}

static json_t *
point(const struct qj_point *p, size_t dim)
{
	char	 id[UUID_STR_LEN];
	int	 shared = p->owner == NULL || p->owner[0] == '\0';

	qj_point_id(p->document_id, p->chunk_id, id);
	return json_pack("{s:s,s:o,s:{s:s,s:o,s:s,s:s,s:I}}", "id", id,
	    "vector", vector(p->vec, dim), "payload", QJ_COLLECTION,
	    p->collection_id, QJ_OWNER, shared ? json_null() :
	    json_string(p->owner), QJ_SOURCE, p->source ? p->source : "",
	    QJ_DOCUMENT, p->document_id, QJ_CHUNK, (json_int_t)p->chunk_id);
}

char *
qj_upsert_body(const struct qj_point *pts, size_t n, size_t dim)
{
	json_t	*a = json_array();

	if (n == 0 || dim == 0) {
		json_decref(a);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, point(&pts[i], dim)) == -1) {
			json_decref(a);
			return NULL;
		}
	return dump_free(json_pack("{s:o}", "points", a));
}

char *
qj_delete_chunks_body(const int64_t *ids, size_t n)
{
	json_t	*any = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(any, json_integer((json_int_t)ids[i]));
	if (n == 0) {
		json_decref(any);
		return NULL;
	}
	return dump_free(json_pack("{s:{s:[o]}}", "filter", "must",
	    match_key(QJ_CHUNK, json_pack("{s:o}", "any", any))));
}

char *
qj_delete_points_body(char (*ids)[UUID_STR_LEN], size_t n)
{
	json_t	*a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(ids[i]));
	if (n == 0) {
		json_decref(a);
		return NULL;
	}
	return dump_free(json_pack("{s:o}", "points", a));
}

char *
qj_create_body(size_t dim)
{
	if (dim == 0)
		return NULL;
	return dump_free(json_pack("{s:{s:I,s:s}}", "vectors", "size",
	    (json_int_t)dim, "distance", "Cosine"));
}

char *
qj_index_body(const char *field, const char *type, int tenant)
{
	if (tenant)
		return dump_free(json_pack("{s:s,s:{s:s,s:b}}", "field_name",
		    field, "field_schema", "type", type, "is_tenant", 1));
	return dump_free(json_pack("{s:s,s:s}", "field_name", field,
	    "field_schema", type));
}

int
qj_envelope(const char *body, size_t len, json_t **result, char *err,
    size_t errlen)
{
	json_error_t	 je;
	json_t		*o, *st;
	const char	*m;

	if (result != NULL)
		*result = NULL;
	if (len > QJ_MAX_RESPONSE) {
		snprintf(err, errlen, "response too large");
		return -1;
	}
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		snprintf(err, errlen, "response is not a JSON object");
		return -1;
	}
	st = json_object_get(o, "status");
	if (json_is_string(st) && (strcmp(json_string_value(st), "ok") == 0 ||
	    strcmp(json_string_value(st), "accepted") == 0)) {
		if (result != NULL)
			*result = o;
		else
			json_decref(o);
		return 0;
	}
	m = json_is_object(st) ? json_string_value(json_object_get(st,
	    "error")) : NULL;
	if (m == NULL || m[0] == '\0')
		m = json_is_object(st) ? "error without a message" :
		    "response without a status";
	snprintf(err, errlen, "%.*s", QJ_MAX_ERROR, m);
	json_decref(o);
	return -1;
}

/* One ScoredPoint: its payload's chunk_id and its score. */
static int
scored(json_t *p, struct vhit *h)
{
	json_t	*id, *score;

	if (!json_is_object(p))
		return -1;
	id = json_object_get(json_object_get(p, "payload"), QJ_CHUNK);
	score = json_object_get(p, "score");
	if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
	    !json_is_number(score))
		return -1;
	h->chunk_id = (int64_t)json_integer_value(id);
	h->score = (float)json_number_value(score);
	return 0;
}

long
qj_parse_query(const char *body, size_t len, struct vhit *out, size_t k,
    char *err, size_t errlen)
{
	json_t	*o, *pts;
	size_t	 n = 0;

	if (qj_envelope(body, len, &o, err, errlen) == -1)
		return -1;
	pts = json_object_get(json_object_get(o, "result"), "points");
	if (!json_is_array(pts)) {
		json_decref(o);
		snprintf(err, errlen, "query: no result.points array");
		return -1;
	}
	for (size_t i = 0; i < json_array_size(pts) && n < k; i++) {
		if (scored(json_array_get(pts, i), &out[n]) == -1) {
			json_decref(o);
			snprintf(err, errlen, "query: point %zu without "
			    "payload.chunk_id or score", i);
			return -1;
		}
		n++;
	}
	json_decref(o);
	return (long)n;
}

long long
qj_parse_vector_size(const char *body, size_t len, char *err, size_t errlen)
{
	json_t		*o, *v, *size;
	long long	 rv;

	if (qj_envelope(body, len, &o, err, errlen) == -1)
		return -1;
	v = json_object_get(json_object_get(json_object_get(json_object_get(
	    o, "result"), "config"), "params"), "vectors");
	if (!json_is_object(v)) {
		json_decref(o);
		snprintf(err, errlen, "collection: no config.params.vectors");
		return -1;
	}
	size = json_object_get(v, "size");
	if (size == NULL)
		rv = 0;		/* named vectors: not our layout */
	else if (json_is_integer(size) && json_integer_value(size) > 0)
		rv = json_integer_value(size);
	else {
		snprintf(err, errlen, "collection: bad vectors.size");
		rv = -1;
	}
	json_decref(o);
	return rv;
}

long
qj_retry_after(const char *value)
{
	const char	*errstr;
	long long	 n;
	char		 buf[16];
	size_t		 l;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	l = strcspn(value, " \t\r\n");
	if (l == 0 || l >= sizeof(buf))
		return -1;
	memcpy(buf, value, l);
	buf[l] = '\0';
	n = strtonum(buf, 0, 86400, &errstr);
	return errstr == NULL ? (long)n : -1;
}

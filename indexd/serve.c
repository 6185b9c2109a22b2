#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/db.h"
#include "common/grant.h"
#include "common/log.h"
#include "common/util.h"
#include "indexd/docbatch.h"
#include "indexd/ingest.h"
#include "indexd/search.h"
#include "indexd/serve.h"
#include "indexd/source.h"

#define SEARCH_MAX_BODY	(64 * 1024)

static void
reply_error(struct serve_reply *r, int status, const char *code,
    const char *message)
{
	r->status = status;
	r->body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
	    message);
}

/* The grant's collections and owner as a scope; write needs "write". */
static int
serve_scope(const struct grant *g, const char *need, struct scope *s)
{
	memset(s, 0, sizeof(*s));
	if (strcmp(need, "write") == 0 && strcmp(g->action, "write") != 0)
		return -1;
	for (size_t i = 0; i < g->ncollections; i++)
		if (scope_add_collection(s, g->collections[i]) == -1)
			return -1;
	if (g->owner[0] != '\0' && scope_set_owner(s, g->owner) == -1)
		return -1;
	return 0;
}

/* "personal=1" (or true) in the query string. */
static int
query_personal(const char *q)
{
	const char	*p;

	for (p = q; (p = strstr(p, "personal=")) != NULL; p += 9)
		if ((p == q || p[-1] == '&') && (strncmp(p + 9, "1", 1) == 0 ||
		    strncmp(p + 9, "true", 4) == 0))
			return 1;
	return 0;
}

/*
 * The embedder failed (or vector search is refused): 503 or 502 with
 * its reason, which names no secret.  0 when it was something else.
 */
static int
reply_embedder(struct engine *e, struct serve_reply *r, const char *err,
    const char *more)
{
	char	 msg[768];

	if (e->emb->status == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s%s", err, more);
	reply_error(r, e->emb->status, strcmp(err, e->emb->refuse) == 0 ?
	    "reindex_required" : e->emb->status == 503 ?
	    "embedder_unavailable" : "embedder_error", msg);
	e->emb->status = 0;
	return 1;
}

static void
op_push(struct engine *e, const struct grant *g,
    const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	struct docbatch		 b;
	struct ingest_counts	 n;
	char			 err[512];
	int			 personal = query_personal(rq->query);

	if (rq->body.data == NULL) {
		reply_error(r, 400, "bad_request", "a JSON body with "
		    "\"documents\" is needed");
		return;
	}
	if (docbatch_parse((const char *)rq->body.data, rq->body.len, &b, err,
	    sizeof(err)) == -1) {
		reply_error(r, 400, "invalid_documents", err);
		return;
	}
	if (personal && s->owner[0] == '\0') {
		docbatch_free(&b);
		reply_error(r, 403, "forbidden", "this credential cannot push "
		    "personal documents");
		return;
	}
	memset(&n, 0, sizeof(n));
	e->emb->status = 0;
	if (ingest_batch(e, s, rq->params.v[0], personal, &b, &n, err,
	    sizeof(err)) == -1) {
		docbatch_free(&b);
		log_warnx("indexd: push, request %s: %s", rq->request_id, err);
		if (!reply_embedder(e, r, err, "; nothing was written"))
			reply_error(r, 500, "internal_error", "the documents "
			    "could not be stored; nothing was written");
		return;
	}
	docbatch_free(&b);
	r->status = 200;
	r->body = json_pack("{s:I,s:I,s:I,s:I}", "added", (json_int_t)n.added,
	    "updated", (json_int_t)n.updated, "unchanged",
	    (json_int_t)n.unchanged, "chunks", (json_int_t)n.chunks);
}

static void
op_get(struct engine *e, const struct grant *g,
    const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	char	 err[256];
	json_t	*doc;

	if ((doc = ingest_get(e, s, rq->params.v[1], err, sizeof(err))) ==
	    NULL) {
		reply_error(r, 404, "not_found", "no such document");
		return;
	}
	r->status = 200;
	r->body = doc;
}

/*
 * doc.fetch: a document by id alone, {"id":"<uuid>"}, wherever it is in
 * the grant's scope (MCP's fetch and resources/read).  The scope's row
 * security decides, so a document outside it is simply not found.
 */
static void
op_fetch(struct engine *e, const struct grant *g,
    const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	json_error_t	 jerr;
	json_t		*o, *id, *doc = NULL;
	char		 err[256];

	o = rq->body.data == NULL || rq->body.len > SEARCH_MAX_BODY ? NULL :
	    json_loadb((const char *)rq->body.data, rq->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o) || json_object_size(o) != 1 ||
	    !json_is_string(id = json_object_get(o, "id"))) {
		json_decref(o);
		reply_error(r, 400, "bad_request", "the body must be "
		    "{\"id\": \"<document id>\"}");
		return;
	}
	doc = ingest_get(e, s, json_string_value(id), err, sizeof(err));
	json_decref(o);
	if (doc == NULL) {
		reply_error(r, 404, "not_found", "no such document");
		return;
	}
	r->status = 200;
	r->body = doc;
}

static void
op_delete(struct engine *e, const struct grant *g,
    const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	char	 err[256];
	int	 found;

	/* 1 deleted, 0 nothing of that id in scope, -1 the database failed. */
	if ((found = ingest_delete(e, s, rq->params.v[1], err,
	    sizeof(err))) == -1) {
		log_warnx("indexd: delete, request %s: %s", rq->request_id, err);
		reply_error(r, 500, "internal_error", "the document could not "
		    "be deleted");
		return;
	}
	if (found == 0) {
		reply_error(r, 404, "not_found", "no such document");
		return;
	}
	r->status = 200;
	r->body = json_pack("{s:b}", "ok", 1);
}

/* Optional string member; -1 when present with another type. */
static int
opt_str(json_t *o, const char *k, const char **out)
{
	json_t	*v = json_object_get(o, k);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static int
opt_size(json_t *o, const char *k, size_t def, size_t max, size_t *out)
{
	json_t	*v = json_object_get(o, k);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (size_t)json_integer_value(v) > max)
		return -1;
	*out = (size_t)json_integer_value(v);
	return 0;
}

static const char *const search_keys[] = {
	"query", "mode", "limit", "offset", "filters"
};
static const char *const filter_keys[] = {
	"source", "metadata", "updated_after", "updated_before"
};

static int
keys_known(json_t *o, const char *const *keys, size_t n, const char **bad)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(o, k, v) {
		size_t	 i;

		for (i = 0; i < n && strcmp(k, keys[i]) != 0; i++)
			;
		if (i == n) {
			*bad = k;
			return 0;
		}
	}
	return 1;
}

/* The search body, checked member by member; *msg says what is wrong. */
static int
search_params_parse(json_t *o, struct search_params *sp, char **meta,
    const char **msg)
{
	json_t		*f, *m;
	const char	*mode = NULL, *bad = NULL;

	memset(sp, 0, sizeof(*sp));
	*meta = NULL;
	if (!json_is_object(o) || !keys_known(o, search_keys,
	    nitems(search_keys), &bad))
		return *msg = bad ? "unknown member in the search body" :
		    "the body must be a JSON object", -1;
	if (opt_str(o, "query", &sp->query) == -1 || sp->query == NULL ||
	    *sp->query == '\0' || strlen(sp->query) > SEARCH_MAX_QUERY)
		return *msg = "\"query\" must be a string of 1 to 1024 bytes", -1;
	if (opt_str(o, "mode", &mode) == -1 || (mode != NULL &&
	    search_mode_parse(mode, &sp->mode) == -1))
		return *msg = "\"mode\" must be hybrid, keyword or vector", -1;
	if (mode == NULL)
		sp->mode = SEARCH_HYBRID;
	if (opt_size(o, "limit", 10, SEARCH_MAX_LIMIT, &sp->limit) == -1 ||
	    sp->limit == 0)
		return *msg = "\"limit\" must be 1 to 100", -1;
	if (opt_size(o, "offset", 0, SEARCH_MAX_OFFSET, &sp->offset) == -1)
		return *msg = "\"offset\" must be 0 to 10000", -1;
	if ((f = json_object_get(o, "filters")) == NULL)
		return 0;
	if (!json_is_object(f) || !keys_known(f, filter_keys,
	    nitems(filter_keys), &bad))
		return *msg = "\"filters\" may hold source, metadata, "
		    "updated_after and updated_before", -1;
	if (opt_str(f, "source", &sp->source) == -1 ||
	    opt_str(f, "updated_after", &sp->updated_after) == -1 ||
	    opt_str(f, "updated_before", &sp->updated_before) == -1 ||
	    (sp->updated_after && !rfc3339_valid(sp->updated_after)) ||
	    (sp->updated_before && !rfc3339_valid(sp->updated_before)))
		return *msg = "filters: source is a string, dates are RFC 3339",
		    -1;
	if ((m = json_object_get(f, "metadata")) != NULL) {
		if (!json_is_object(m))
			return *msg = "filters.metadata must be an object", -1;
		*meta = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
		sp->metadata = *meta;
	}
	return 0;
}

static void
op_search(struct engine *e, const struct grant *g,
    const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	struct search_params	 sp;
	json_error_t		 jerr;
	json_t			*o, *results;
	const char		*msg;
	char			*meta, err[512];
	uint64_t		 t0 = now_ms();

	if (rq->body.data == NULL || rq->body.len > SEARCH_MAX_BODY) {
		reply_error(r, 400, "bad_request", "a JSON body of at most "
		    "64 KiB with \"query\" is needed");
		return;
	}
	o = json_loadb((const char *)rq->body.data, rq->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		reply_error(r, 400, "bad_json", "the body is not valid JSON");
		return;
	}
	if (search_params_parse(o, &sp, &meta, &msg) == -1) {
		json_decref(o);
		reply_error(r, 400, "bad_request", msg);
		return;
	}
	e->emb->status = 0;
	results = search_run(e, s, &sp, err, sizeof(err));
	free(meta);
	json_decref(o);
	if (results == NULL) {
		log_warnx("indexd: search, request %s: %s", rq->request_id, err);
		if (reply_embedder(e, r, err, ""))
			return;
		if (e->store->unavailable)
			reply_error(r, 503, "vectors_unavailable", "the vector "
			    "store cannot be reached; try again later or "
			    "search in keyword mode");
		else
			reply_error(r, 500, "internal_error", "the search "
			    "failed");
		return;
	}
	r->status = 200;
	r->body = json_pack("{s:o,s:I}", "results", results, "took_ms",
	    (json_int_t)(now_ms() - t0));
	/* "qdrant outage keyword": the vector store was down */
	if (r->body != NULL && e->store->degraded)
		json_object_set_new(r->body, "degraded", json_true());
}

/*
 * coll: params[0] is a collection, which must be in the grant.  The
 * others name a source or job; their operation finds its row under the
 * grant's scope and checks its collection against the grant (404).
 */
static const struct {
	const char	*op;
	size_t		 nparams;
	int		 coll;
	const char	*need;		/* the grant's action */
	source_op_fn	*fn;
} ops[] = {
	{ "doc.push",		1, 1, "write",	op_push },
	{ "doc.get",		2, 1, "read",	op_get },
	{ "doc.fetch",		0, 0, "read",	op_fetch },
	{ "doc.delete",		2, 1, "write",	op_delete },
	{ "search",		1, 1, "read",	op_search },
	{ "search",		0, 0, "read",	op_search },
	{ "source.list",	1, 1, "read",	source_op_list },
	{ "source.create",	1, 1, "write",	source_op_create },
	{ "source.get",		1, 0, "read",	source_op_get },
	{ "source.update",	1, 0, "write",	source_op_update },
	{ "source.delete",	1, 0, "write",	source_op_delete },
	{ "source.credentials",	1, 0, "write",	source_op_credentials },
	{ "source.sync",	1, 0, "write",	source_op_sync },
	{ "source.oauth_start",	1, 0, "write",	source_op_oauth_start },
	{ "source.oauth_callback", 0, 0, "write", source_op_oauth_callback },
	{ "job.list",		1, 0, "read",	job_op_list },
	{ "job.get",		1, 0, "read",	job_op_get },
	{ "job.cancel",		1, 0, "write",	job_op_cancel },
};

/*
 * PostgreSQL went away (a restart, a failover): 503, which says "try
 * again", not 500.  db_health() resets a broken connection first, as the
 * health check does, so the first request after the database is back
 * succeeds.
 */
static int
serve_db_down(struct engine *e)
{
	return strcmp(db_health(e->db), "ok") != 0;
}

static void
reply_db_down(struct serve_reply *r)
{
	reply_error(r, 503, "database_unavailable", "the database cannot be "
	    "reached; try again later");
}

void
serve_request(struct engine *e, const uint8_t key[32],
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	struct grant	 g;
	struct scope	 s;
	char		 err[128];
	size_t		 i;

	memset(r, 0, sizeof(*r));
	if (grant_verify(key, rq->grant, rq->mac.data, rq->mac.len,
	    rq->request_id, &g, err, sizeof(err)) == -1) {
		/* Only a broken or hostile front sends such a thing. */
		log_warnx("indexd: request %s refused: %s", rq->request_id,
		    err);
		reply_error(r, 403, "forbidden", "the request was not "
		    "authorized");
		return;
	}
	for (i = 0; i < nitems(ops); i++)
		if (strcmp(ops[i].op, rq->op) == 0 &&
		    ops[i].nparams == rq->params.n)
			break;
	if (i == nitems(ops)) {
		grant_free(&g);
		log_warnx("indexd: request %s: no operation %s",
		    rq->request_id, rq->op);
		reply_error(r, 404, "not_found", "no such operation");
		return;
	}
	/* A collection in the path must be one the grant names. */
	if (serve_scope(&g, ops[i].need, &s) == -1 || (ops[i].coll &&
	    !grant_has_collection(&g, rq->params.v[0]))) {
		grant_free(&g);
		scope_free(&s);
		log_info("indexd: request %s: %s not allowed by its grant",
		    rq->request_id, rq->op);
		reply_error(r, 403, "forbidden", "not allowed here");
		return;
	}
	if (serve_db_down(e)) {
		grant_free(&g);
		scope_free(&s);
		reply_db_down(r);
		return;
	}
	ops[i].fn(e, &g, &s, rq, r);
	grant_free(&g);
	scope_free(&s);
	/* It failed because the connection went: the client may retry. */
	if (r->status == 500 && PQstatus(e->db) != CONNECTION_OK) {
		json_decref(r->body);
		reply_db_down(r);
	}
	if (r->body == NULL)
		reply_error(r, 500, "internal_error", "out of memory");
	/* A refusal is the client's doing: info, with the id it was given. */
	if (r->status >= 400 && r->status < 500)
		log_info("indexd: request %s: %s refused with %d",
		    rq->request_id, rq->op, r->status);
}

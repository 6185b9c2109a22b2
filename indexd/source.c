/* Sources and sync jobs over the REST API (see source.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "common/log.h"
#include "common/util.h"
#include "fetcher/connector.h"
#include "fetcher/oauth.h"
#include "indexd/ingest.h"
#include "indexd/job.h"
#include "indexd/source.h"
#include "indexd/sync.h"

static const struct ballast_conf	*source_conf;
/* derives PKCE verifiers from states (source_set_key) */
static uint8_t				 pkce_key[32];

#define TS(x)	"to_char(" x " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* The job object of the API, of sync_jobs row j. */
#define JOB_JSON \
	"json_build_object('id', j.id, 'source_id', j.source_id, " \
	"'collection_id', j.collection_id, 'state', j.state, " \
	"'trigger', j.trigger, 'attempt', j.attempt, " \
	"'cancel_requested', j.cancel_requested, " \
	"'created_at', " TS("j.created_at") ", " \
	"'started_at', " TS("j.started_at") ", " \
	"'finished_at', " TS("j.finished_at") ", " \
	"'added', j.added, 'updated', j.updated, 'unchanged', j.unchanged, " \
	"'deleted', j.deleted, 'failed', j.failed, 'error', j.error)"
/* The source object of sources row s: never the credentials. */
#define SOURCE_JSON \
	"json_build_object('id', s.id, 'collection_id', s.collection_id, " \
	"'type', s.type, 'name', s.name, 'config', s.config, " \
	"'personal', s.owner_user IS NOT NULL, " \
	"'schedule_seconds', s.schedule_seconds, " \
	"'has_credentials', s.credentials IS NOT NULL, " \
	"'needs_reauth', s.needs_reauth, " \
	"'credentials_rotated_at', " TS("s.credentials_rotated_at") ", " \
	"'created_at', " TS("s.created_at") ", " \
	"'updated_at', " TS("s.updated_at") ", " \
	"'last_job', (SELECT " JOB_JSON " FROM sync_jobs j " \
	"WHERE j.source_id = s.id ORDER BY j.created_at DESC LIMIT 1))"

void
source_init(const struct ballast_conf *conf)
{
	source_conf = conf;
}

void
source_set_key(const uint8_t key[32])
{
	unsigned int	 n = sizeof(pkce_key);
	static const char label[] = "ballast oauth pkce v1";

	HMAC(EVP_sha256(), key, 32, (const unsigned char *)label,
	    sizeof(label) - 1, pkce_key, &n);
}

static void
reply_error(struct serve_reply *r, int status, const char *code,
    const char *message)
{
	json_decref(r->body);
	r->status = status;
	r->body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
	    message);
}

static void
reply_json(struct serve_reply *r, int status, const char *text)
{
	json_error_t	 jerr;

	r->status = status;
	r->body = json_loads(text, 0, &jerr);
	if (r->body == NULL)
		reply_error(r, 500, "internal_error", "bad JSON from the "
		    "database");
}

static void
reply_internal(struct serve_reply *r, const struct imsg_index_req *rq,
    const char *err)
{
	log_warnx("indexd: %s, request %s: %s", rq->op, rq->request_id, err);
	reply_error(r, 500, "internal_error", "the database failed");
}

static void
reply_not_found(struct serve_reply *r, const char *what)
{
	char	 msg[64];

	snprintf(msg, sizeof(msg), "no such %s", what);
	reply_error(r, 404, "not_found", msg);
}

/*
 * Paths.
 */

/* Absolute, no empty, "." or ".." component, no trailing "/". */
static int
path_normal(const char *p)
{
	const char	*c, *e;

	if (p[0] != '/')
		return 0;
	if (p[1] == '\0')
		return 1;
	for (c = p + 1;; c = e + 1) {
		e = strchr(c, '/');
		if (e == NULL)
			e = c + strlen(c);
		if (e == c || (e - c == 1 && c[0] == '.') ||
		    (e - c == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (*e == '\0')
			return 1;
	}
}

int
source_path_allowed(const struct ballast_conf *conf, const char *path)
{
	if (conf == NULL || !path_normal(path))
		return 0;
	for (uint64_t i = 0; i < conf->sync_nroots; i++) {
		const char	*root = conf->sync_root[i];
		size_t		 n = strlen(root);

		while (n > 1 && root[n - 1] == '/')
			n--;
		if (n == 1 && root[0] == '/')
			return 1;
		if (strncmp(path, root, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

/*
 * Bodies.
 */

static json_t *
body_object(const struct imsg_index_req *rq, struct serve_reply *r)
{
	json_error_t	 jerr;
	json_t		*o;

	if (rq->body.data == NULL || rq->body.len > SOURCE_MAX_BODY) {
		reply_error(r, 400, "bad_request", "a JSON object body of at "
		    "most 128 KiB is needed");
		return NULL;
	}
	o = json_loadb((const char *)rq->body.data, rq->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		reply_error(r, 400, "bad_json", "the body must be a JSON "
		    "object");
		return NULL;
	}
	return o;
}

/* The first member not in the NULL-terminated list, or NULL. */
static const char *
unknown_member(json_t *o, const char *const *known)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(o, k, v) {
		size_t	 i;

		for (i = 0; known[i] != NULL && strcmp(k, known[i]) != 0; i++)
			;
		if (known[i] == NULL)
			return k;
	}
	return NULL;
}

static int
refuse_unknown(json_t *o, const char *const *known, struct serve_reply *r)
{
	const char	*k;
	char		 msg[160];

	if ((k = unknown_member(o, known)) == NULL)
		return 0;
	if (strcmp(k, "type") == 0 || strcmp(k, "personal") == 0)
		snprintf(msg, sizeof(msg), "\"%s\" cannot change", k);
	else if (strcmp(k, "credentials") == 0)
		snprintf(msg, sizeof(msg), "\"credentials\" must reach indexd "
		    "sealed");
	else
		snprintf(msg, sizeof(msg), "unknown member \"%.64s\"", k);
	reply_error(r, 400, "bad_request", msg);
	return -1;
}

static int
check_name(json_t *v, struct serve_reply *r)
{
	if (!json_is_string(v) || json_string_length(v) < 1 ||
	    json_string_length(v) > SOURCE_MAX_NAME) {
		reply_error(r, 400, "bad_request", "\"name\" must be a string "
		    "of 1 to 200 bytes");
		return -1;
	}
	return 0;
}

/* schedule_seconds into buf ("0", "60".."604800"). */
static int
check_schedule(json_t *v, char *buf, size_t len, struct serve_reply *r)
{
	json_int_t	 n;

	if (!json_is_integer(v) || ((n = json_integer_value(v)) != 0 &&
	    (n < SOURCE_MIN_SCHEDULE || n > SOURCE_MAX_SCHEDULE))) {
		reply_error(r, 400, "bad_request", "\"schedule_seconds\" must "
		    "be 0 (manual only) or 60 to 604800");
		return -1;
	}
	snprintf(buf, len, "%lld", (long long)n);
	return 0;
}

/* The config, checked by the type's connector; compact JSON (malloc'd). */
static char *
check_config(const char *type, json_t *v, struct serve_reply *r)
{
	const struct connector	*cn = connector_find(type);
	json_t			*path;
	char			 err[FETCH_ERR_MAX], *text;

	if (!json_is_object(v)) {
		reply_error(r, 400, "bad_request", "\"config\" must be an "
		    "object");
		return NULL;
	}
	if (cn == NULL || cn->check(v, err, sizeof(err)) == -1) {
		if (cn == NULL)
			snprintf(err, sizeof(err), "no connector for %s", type);
		reply_error(r, 400, "invalid_config", err);
		return NULL;
	}
	if (strcmp(type, "files") == 0 && (!json_is_string(path =
	    json_object_get(v, "path")) || !source_path_allowed(source_conf,
	    json_string_value(path)))) {
		reply_error(r, 400, "invalid_config", "config.path: not below "
		    "a \"sync root\" of the server's configuration");
		return NULL;
	}
	if ((text = json_dumps(v, JSON_COMPACT)) == NULL ||
	    strlen(text) > FETCH_MAX_CONFIG) {
		free(text);
		reply_error(r, 400, "invalid_config", "config: at most 64 KiB "
		    "as compact JSON");
		return NULL;
	}
	return text;
}

/* Standard base64 to bytea's hex input form "\x..." (malloc'd). */
static char *
sealed_hex(json_t *v, struct serve_reply *r)
{
	const char	*s;
	size_t		 len, pad = 0, n;
	uint8_t		*raw;
	char		*hex;
	int		 got;

	if (!json_is_string(v) || (len = json_string_length(v)) == 0 ||
	    len % 4 != 0 || len / 4 * 3 > SOURCE_MAX_SEALED + 2)
		goto bad;
	s = json_string_value(v);
	pad = (s[len - 1] == '=') + (s[len - 2] == '=');
	for (size_t i = 0; i < len - pad; i++)
		if (s[i] == '\0' || strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789+/", s[i]) == NULL)
			goto bad;
	raw = xcalloc(1, len / 4 * 3 + 1);
	got = EVP_DecodeBlock(raw, (const unsigned char *)s, (int)len);
	if (got < 0 || (size_t)got < pad || (n = (size_t)got - pad) == 0 ||
	    n > SOURCE_MAX_SEALED) {
		free(raw);
		goto bad;
	}
	hex = xcalloc(1, 2 * n + 3);
	hex[0] = '\\';
	hex[1] = 'x';
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", raw[i]);
	free(raw);
	return hex;
 bad:
	reply_error(r, 400, "bad_request", "\"sealed_credentials\" must be "
	    "standard base64 of 1 byte to 20 KiB");
	return NULL;
}

/*
 * Queries under the grant's scope.
 */

static int
begin(struct engine *e, const struct scope *s, char *err, size_t errlen)
{
	if (engine_exec(e->db, "BEGIN", err, errlen) == -1)
		return -1;
	if (scope_apply(e->db, s, err, errlen) == -1) {
		(void)engine_exec(e->db, "ROLLBACK", NULL, 0);
		return -1;
	}
	return 0;
}

static int
commit(struct engine *e, int rv, char *err, size_t errlen)
{
	if (rv == 0 && engine_exec(e->db, "COMMIT", err, errlen) == 0) {
		store_commit(e->store);
		return 0;
	}
	(void)engine_exec(e->db, "ROLLBACK", NULL, 0);
	store_rollback(e->store);
	return -1;
}

/*
 * One statement in its own scoped transaction.  1 and *out (a row), 0 no
 * row, -1 error (err).
 */
static int
query_row(struct engine *e, const struct scope *s, const char *sql, int n,
    const char *const *p, PGresult **out, char *err, size_t errlen)
{
	PGresult	*r;
	int		 rv;

	*out = NULL;
	if (begin(e, s, err, errlen) == -1)
		return -1;
	r = PQexecParams(e->db, sql, n, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%.*s",
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
		PQclear(r);
		(void)commit(e, -1, NULL, 0);
		return -1;
	}
	if (commit(e, 0, err, errlen) == -1) {
		PQclear(r);
		return -1;
	}
	rv = PQntuples(r) > 0;
	if (rv)
		*out = r;
	else
		PQclear(r);
	return rv;
}

/* The collection of a source or job id: 1 found in grant, 0 not, -1. */
static int
find_row(struct engine *e, const struct grant *g, const struct scope *s,
    const char *table, const char *id, char *err, size_t errlen)
{
	const char	*p[1] = { id };
	char		 sql[128];
	PGresult	*r;
	uint8_t		 raw[16];
	int		 rv;

	if (uuid_parse(id, raw) == -1)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT collection_id FROM %s WHERE id = $1",
	    table);
	if ((rv = query_row(e, s, sql, 1, p, &r, err, errlen)) == 1) {
		rv = grant_has_collection(g, PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	return rv;
}

/* Answer with the JSON of column 0 of sql's row, or 404 on none. */
static void
reply_row(struct engine *e, const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r, int status,
    const char *what, const char *sql, int n, const char *const *p)
{
	PGresult	*res;
	char		 err[256];
	int		 rv;

	if ((rv = query_row(e, s, sql, n, p, &res, err, sizeof(err))) == -1)
		reply_internal(r, rq, err);
	else if (rv == 0)
		reply_not_found(r, what);
	else {
		reply_json(r, status, PQgetvalue(res, 0, 0));
		PQclear(res);
	}
}

/* 404 unless the id names a source (job) in the grant. */
static int
in_grant(struct engine *e, const struct grant *g, const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r, int job)
{
	char	 err[256];
	int	 rv;

	rv = find_row(e, g, s, job ? "sync_jobs" : "sources", rq->params.v[0],
	    err, sizeof(err));
	if (rv == -1)
		reply_internal(r, rq, err);
	else if (rv == 0)
		reply_not_found(r, job ? "job" : "source");
	return rv == 1;
}

/*
 * source.*
 */

void
source_op_list(struct engine *e, const struct grant *g, const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	const char	*p[1] = { rq->params.v[0] };

	reply_row(e, s, rq, r, 200, "collection", "SELECT json_build_object("
	    "'sources', coalesce(json_agg(" SOURCE_JSON " ORDER BY "
	    "s.created_at), '[]'))::text FROM sources s WHERE "
	    "s.collection_id = $1", 1, p);
}

struct create {
	const char	*id, *type, *name, *owner;
	char		*config, *sealed, schedule[16];
};

static const char *const create_keys[] = { "id", "type", "name", "config",
    "personal", "schedule_seconds", "sealed_credentials", NULL };

static int
create_parse(json_t *o, const struct grant *g, struct create *c,
    struct serve_reply *r)
{
	json_t	*v, *empty;
	uint8_t	 raw[16];

	if (refuse_unknown(o, create_keys, r) == -1)
		return -1;
	if (!json_is_string(v = json_object_get(o, "id")) ||
	    uuid_parse(json_string_value(v), raw) == -1)
		return reply_error(r, 400, "bad_request", "\"id\" must be a "
		    "UUID"), -1;
	c->id = json_string_value(v);
	if (!json_is_string(v = json_object_get(o, "type")) ||
	    connector_find(json_string_value(v)) == NULL) {
		char msg[160];
		snprintf(msg, sizeof(msg), "\"type\" must be one of: %s",
		    connector_types());
		return reply_error(r, 400, "bad_request", msg), -1;
	}
	c->type = json_string_value(v);
	if (check_name(v = json_object_get(o, "name"), r) == -1)
		return -1;
	c->name = json_string_value(v);
	if ((v = json_object_get(o, "personal")) != NULL && !json_is_boolean(v))
		return reply_error(r, 400, "bad_request", "\"personal\" must "
		    "be true or false"), -1;
	/* mail and drives are someone's own: personal unless said not */
	if (v == NULL && (strcmp(c->type, "gmail") == 0 ||
	    strcmp(c->type, "gdrive") == 0))
		v = json_true();
	if (json_is_true(v) && g->owner[0] == '\0')
		return reply_error(r, 403, "forbidden", "this credential "
		    "cannot make personal sources"), -1;
	c->owner = json_is_true(v) ? g->owner : NULL;
	strlcpy(c->schedule, "0", sizeof(c->schedule));
	if ((v = json_object_get(o, "schedule_seconds")) != NULL &&
	    check_schedule(v, c->schedule, sizeof(c->schedule), r) == -1)
		return -1;
	empty = json_object();
	v = json_object_get(o, "config");
	c->config = check_config(c->type, v ? v : empty, r);
	json_decref(empty);
	if (c->config == NULL)
		return -1;
	if ((v = json_object_get(o, "sealed_credentials")) != NULL &&
	    (c->sealed = sealed_hex(v, r)) == NULL)
		return -1;
	return 0;
}

void
source_op_create(struct engine *e, const struct grant *g,
    const struct scope *s, const struct imsg_index_req *rq,
    struct serve_reply *r)
{
	struct create	 c;
	const char	*p[10];
	json_t		*o;
	PGresult	*res;
	char		 err[256];
	int		 rv;

	memset(&c, 0, sizeof(c));
	if ((o = body_object(rq, r)) == NULL)
		return;
	if (g->org[0] == '\0') {
		reply_error(r, 403, "forbidden", "this credential has no "
		    "organisation");
	} else if (create_parse(o, g, &c, r) == 0) {
		p[0] = c.id; p[1] = rq->params.v[0]; p[2] = g->org;
		p[3] = c.owner; p[4] = c.type; p[5] = c.name; p[6] = c.config;
		p[7] = c.sealed; p[8] = c.schedule;
		p[9] = g->user[0] != '\0' ? g->user : NULL;
		rv = query_row(e, s, "INSERT INTO sources AS s (id, "
		    "collection_id, org_id, owner_user, type, name, config, "
		    "credentials, credentials_rotated_at, schedule_seconds, "
		    "next_run_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, "
		    "$7::jsonb, $8::bytea, CASE WHEN $8 IS NOT NULL THEN now() "
		    "END, $9::int, CASE WHEN $9::int > 0 THEN now() END, $10) "
		    "ON CONFLICT (id) DO NOTHING RETURNING " SOURCE_JSON "::text",
		    10, p, &res, err, sizeof(err));
		if (rv == -1)
			reply_internal(r, rq, err);
		else if (rv == 0)
			reply_error(r, 409, "conflict", "a source with this id "
			    "exists");
		else {
			log_info("indexd: source %s (%s) created in collection "
			    "%s", c.id, c.type, rq->params.v[0]);
			reply_json(r, 201, PQgetvalue(res, 0, 0));
			PQclear(res);
		}
	}
	free(c.config);
	free(c.sealed);
	json_decref(o);
}

void
source_op_get(struct engine *e, const struct grant *g, const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	const char	*p[1] = { rq->params.v[0] };

	if (!in_grant(e, g, s, rq, r, 0))
		return;
	reply_row(e, s, rq, r, 200, "source", "SELECT " SOURCE_JSON "::text "
	    "FROM sources s WHERE s.id = $1", 1, p);
}

static const char *const update_keys[] = { "name", "config",
    "schedule_seconds", NULL };

/* The source's type, under the scope (the caller checked the grant). */
static int
source_type(struct engine *e, const struct scope *s, const char *id,
    char *type, size_t len, char *err, size_t errlen)
{
	const char	*p[1] = { id };
	PGresult	*r;
	int		 rv;

	if ((rv = query_row(e, s, "SELECT type FROM sources WHERE id = $1", 1,
	    p, &r, err, errlen)) == 1) {
		strlcpy(type, PQgetvalue(r, 0, 0), len);
		PQclear(r);
	}
	return rv;
}

static int
update_parse(struct engine *e, const struct scope *s, json_t *o,
    const struct imsg_index_req *rq, const char **p, char **config,
    char *sched, size_t schedlen, struct serve_reply *r)
{
	json_t	*v;
	char	 type[FETCH_MAX_TYPE + 1], err[256];
	int	 rv;

	if (refuse_unknown(o, update_keys, r) == -1)
		return -1;
	if (json_object_size(o) == 0)
		return reply_error(r, 400, "bad_request", "nothing to change: "
		    "give name, config or schedule_seconds"), -1;
	if ((v = json_object_get(o, "name")) != NULL) {
		if (check_name(v, r) == -1)
			return -1;
		p[1] = json_string_value(v);
	}
	if ((v = json_object_get(o, "schedule_seconds")) != NULL) {
		if (check_schedule(v, sched, schedlen, r) == -1)
			return -1;
		p[3] = sched;
	}
	if ((v = json_object_get(o, "config")) == NULL)
		return 0;
	rv = source_type(e, s, rq->params.v[0], type, sizeof(type), err,
	    sizeof(err));
	if (rv != 1)
		return rv == 0 ? reply_not_found(r, "source") :
		    reply_internal(r, rq, err), -1;
	if ((*config = check_config(type, v, r)) == NULL)
		return -1;
	p[2] = *config;
	return 0;
}

/*
 * A new config invalidates the cursor; a new schedule brings the next
 * run no later than one period from now.
 */
void
source_op_update(struct engine *e, const struct grant *g,
    const struct scope *s, const struct imsg_index_req *rq,
    struct serve_reply *r)
{
	const char	*p[4] = { rq->params.v[0], NULL, NULL, NULL };
	char		*config = NULL, sched[16];
	json_t		*o;

	if (!in_grant(e, g, s, rq, r, 0) || (o = body_object(rq, r)) == NULL)
		return;
	if (update_parse(e, s, o, rq, p, &config, sched, sizeof(sched),
	    r) == 0)
		reply_row(e, s, rq, r, 200, "source", "UPDATE sources s SET "
		    "name = coalesce($2, s.name), "
		    "config = coalesce($3::jsonb, s.config), "
		    "cursor = CASE WHEN $3::jsonb IS DISTINCT FROM s.config AND "
		    "$3 IS NOT NULL THEN '' ELSE s.cursor END, "
		    "schedule_seconds = coalesce($4::int, s.schedule_seconds), "
		    "next_run_at = CASE WHEN $4 IS NULL THEN s.next_run_at "
		    "WHEN $4::int = 0 THEN NULL ELSE coalesce(least("
		    "s.next_run_at, now() + $4::int * interval '1 second'), "
		    "now()) END, updated_at = now() WHERE s.id = $1 "
		    "RETURNING " SOURCE_JSON "::text", 4, p);
	free(config);
	json_decref(o);
}

/* The source, its jobs (cascade) and every document it synced. */
void
source_op_delete(struct engine *e, const struct grant *g,
    const struct scope *s, const struct imsg_index_req *rq,
    struct serve_reply *r)
{
	const char	*p[1] = { rq->params.v[0] };
	PGresult	*res = NULL;
	char		 err[256], coll[UUID_STR_LEN];
	size_t		 n = 0;
	int		 rv;

	if (!in_grant(e, g, s, rq, r, 0) || begin(e, s, err, sizeof(err)) ==
	    -1) {
		if (r->body == NULL)
			reply_internal(r, rq, err);
		return;
	}
	res = PQexecParams(e->db, "DELETE FROM sources WHERE id = $1 "
	    "RETURNING collection_id", 1, NULL, p, NULL, NULL, 0);
	rv = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ?
	    0 : -1;
	if (rv == -1)
		snprintf(err, sizeof(err), "delete source: %.*s",
		    (int)strcspn(PQresultErrorMessage(res), "\n"),
		    PQresultErrorMessage(res));
	else {
		strlcpy(coll, PQgetvalue(res, 0, 0), sizeof(coll));
		rv = ingest_delete_source(e, coll, p[0], NULL, NULL, &n, err,
		    sizeof(err));
	}
	PQclear(res);
	if (commit(e, rv, err, sizeof(err)) == -1) {
		reply_internal(r, rq, err);
		return;
	}
	log_info("indexd: source %s deleted with %zu documents", p[0], n);
	r->status = 200;
	r->body = json_pack("{s:b}", "ok", 1);
}

void
source_op_credentials(struct engine *e, const struct grant *g,
    const struct scope *s, const struct imsg_index_req *rq,
    struct serve_reply *r)
{
	static const char *const keys[] = { "sealed_credentials", NULL };
	const char	*p[2] = { rq->params.v[0], NULL };
	char		*hex = NULL;
	json_t		*o;

	if (!in_grant(e, g, s, rq, r, 0) || (o = body_object(rq, r)) == NULL)
		return;
	if (refuse_unknown(o, keys, r) == 0) {
		if (json_object_get(o, "sealed_credentials") == NULL)
			reply_error(r, 400, "bad_request", "\"sealed_"
			    "credentials\" is needed");
		else if ((hex = sealed_hex(json_object_get(o,
		    "sealed_credentials"), r)) != NULL) {
			p[1] = hex;
			reply_row(e, s, rq, r, 200, "source", "UPDATE sources s "
			    "SET credentials = $2::bytea, credentials_rotated_at "
			    "= now(), updated_at = now() WHERE s.id = $1 "
			    "RETURNING " SOURCE_JSON "::text", 2, p);
			if (r->status == 200)
				log_info("indexd: source %s: credentials "
				    "replaced", p[0]);
		}
	}
	free(hex);
	json_decref(o);
}

/* A boolean column of the source: 1 true, 0 false or none, -1 error. */
static int
source_flag(struct engine *e, const struct scope *s, const char *id,
    const char *col)
{
	const char	*p[1] = { id };
	char		 sql[128], err[256];
	PGresult	*r;
	int		 rv;

	snprintf(sql, sizeof(sql), "SELECT %s FROM sources WHERE id = $1", col);
	if ((rv = query_row(e, s, sql, 1, p, &r, err, sizeof(err))) == 1) {
		rv = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
	}
	return rv;
}

void
source_op_sync(struct engine *e, const struct grant *g,
    const struct scope *s, const struct imsg_index_req *rq,
    struct serve_reply *r)
{
	const char	*p[1];
	char		 id[UUID_STR_LEN], err[256];
	int		 rv;

	if (!in_grant(e, g, s, rq, r, 0))
		return;
	if (source_flag(e, s, rq->params.v[0], "needs_reauth") == 1) {
		reply_error(r, 409, "needs_reauth", "the source's authorization "
		    "was revoked: authorize it again with POST "
		    "/v1/sources/{id}/oauth/start");
		return;
	}
	rv = job_create_manual(e->db, s, rq->params.v[0], id, err, sizeof(err));
	if (rv == -1 && err[0] == '\0')
		reply_not_found(r, "source");
	else if (rv == -1)
		reply_internal(r, rq, err);
	else if (rv == 0)
		reply_error(r, 409, "conflict", "a job of this source is "
		    "pending or running");
	else {
		p[0] = id;
		reply_row(e, s, rq, r, 202, "job", "SELECT " JOB_JSON "::text "
		    "FROM sync_jobs j WHERE j.id = $1", 1, p);
		sync_kick();
	}
}

/*
 * job.*
 */

/* "limit=N" of the query string: 1..100, default 20; -1 when bad. */
static int
query_limit(const char *q)
{
	const char	*p, *errstr;
	char		 v[16];
	long long	 n;

	for (p = q; (p = strstr(p, "limit=")) != NULL; p += 6)
		if (p == q || p[-1] == '&')
			break;
	if (p == NULL)
		return JOB_LIST_DEFAULT;
	p += 6;
	if (strcspn(p, "&") >= sizeof(v))
		return -1;
	strlcpy(v, p, strcspn(p, "&") + 1);
	n = strtonum(v, 1, JOB_LIST_MAX, &errstr);
	return errstr != NULL ? -1 : (int)n;
}

void
job_op_list(struct engine *e, const struct grant *g, const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	const char	*p[2];
	char		 lim[16];
	int		 n;

	if ((n = query_limit(rq->query)) == -1) {
		reply_error(r, 400, "bad_request", "limit must be 1 to 100");
		return;
	}
	if (!in_grant(e, g, s, rq, r, 0))
		return;
	snprintf(lim, sizeof(lim), "%d", n);
	p[0] = rq->params.v[0];
	p[1] = lim;
	reply_row(e, s, rq, r, 200, "source", "SELECT json_build_object("
	    "'jobs', coalesce(json_agg(x.o ORDER BY x.created_at DESC), "
	    "'[]'))::text FROM (SELECT " JOB_JSON " AS o, j.created_at FROM "
	    "sync_jobs j WHERE j.source_id = $1 ORDER BY j.created_at DESC "
	    "LIMIT $2::int) x", 2, p);
}

void
job_op_get(struct engine *e, const struct grant *g, const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	const char	*p[1] = { rq->params.v[0] };

	if (!in_grant(e, g, s, rq, r, 1))
		return;
	reply_row(e, s, rq, r, 200, "job", "SELECT " JOB_JSON "::text FROM "
	    "sync_jobs j WHERE j.id = $1", 1, p);
}

/* pending: cancelled at once; running: the worker stops it; else 409. */
void
job_op_cancel(struct engine *e, const struct grant *g, const struct scope *s,
    const struct imsg_index_req *rq, struct serve_reply *r)
{
	const char	*p[1] = { rq->params.v[0] };
	PGresult	*res;
	char		 err[256];
	int		 rv;

	if (!in_grant(e, g, s, rq, r, 1))
		return;
	rv = query_row(e, s, "UPDATE sync_jobs j SET cancel_requested = true, "
	    "state = CASE WHEN j.state = 'pending' THEN 'cancelled' ELSE "
	    "j.state END, finished_at = CASE WHEN j.state = 'pending' THEN "
	    "now() ELSE j.finished_at END WHERE j.id = $1 AND j.state IN "
	    "('pending', 'running') RETURNING " JOB_JSON "::text", 1, p, &res,
	    err, sizeof(err));
	if (rv == -1)
		reply_internal(r, rq, err);
	else if (rv == 0)
		reply_error(r, 409, "conflict", "the job has finished");
	else {
		log_info("indexd: job %s: cancel requested", p[0]);
		reply_json(r, 200, PQgetvalue(res, 0, 0));
		PQclear(res);
	}
}

/*
 * OAuth: POST /v1/sources/{id}/oauth/start and GET /v1/oauth/callback.
 */

/* base64url without padding of n bytes (out: 4 * n / 3 + 4). */
static void
b64url(const uint8_t *in, size_t n, char *out)
{
	size_t	 i;

	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	for (i = 0; out[i] != '\0' && out[i] != '='; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	out[i] = '\0';
}

/* The PKCE verifier of a state: never stored, derived again. */
static void
pkce_verifier(const char *state, char out[GOAUTH_STATE_LEN + 1])
{
	uint8_t		 mac[32];
	unsigned int	 n = sizeof(mac);
	char		 b[64];

	HMAC(EVP_sha256(), pkce_key, sizeof(pkce_key),
	    (const unsigned char *)state, strlen(state), mac, &n);
	b64url(mac, sizeof(mac), b);
	strlcpy(out, b, GOAUTH_STATE_LEN + 1);
	explicit_bzero(mac, sizeof(mac));
	explicit_bzero(b, sizeof(b));
}

/* bytea hex input of SHA-256(state). */
static void
state_hash_hex(const char *state, char out[2 * 32 + 3])
{
	uint8_t	 h[32];

	SHA256((const unsigned char *)state, strlen(state), h);
	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", h[i]);
}

void
source_op_oauth_start(struct engine *e, const struct grant *g,
    const struct scope *s, const struct imsg_index_req *rq,
    struct serve_reply *r)
{
	const char	*p[3] = { rq->params.v[0] };
	char		 err[FETCH_ERR_MAX], state[64], ver[GOAUTH_STATE_LEN + 1];
	char		 hash[2 * 32 + 3], *url = NULL;
	uint8_t		 raw[32];
	json_t		*config = NULL;
	PGresult	*res;
	int		 rv;

	if (!in_grant(e, g, s, rq, r, 0))
		return;
	if (g->user[0] == '\0') {
		reply_error(r, 403, "forbidden", "authorizing a source needs a "
		    "user");
		return;
	}
	rv = query_row(e, s, "SELECT type, config::text, credentials IS NOT "
	    "NULL FROM sources WHERE id = $1", 1, p, &res, err, sizeof(err));
	if (rv != 1) {
		if (rv == -1)
			reply_internal(r, rq, err);
		else
			reply_not_found(r, "source");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "gmail") != 0 &&
	    strcmp(PQgetvalue(res, 0, 0), "gdrive") != 0)
		reply_error(r, 400, "bad_request", "only gmail and gdrive "
		    "sources are authorized with OAuth");
	else if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
		reply_error(r, 409, "conflict", "set the source's credentials "
		    "({\"client_secret\": ...}) first");
	else if ((config = json_loads(PQgetvalue(res, 0, 1), 0, NULL)) == NULL)
		reply_internal(r, rq, "bad config JSON");
	else {
		arc4random_buf(raw, sizeof(raw));
		b64url(raw, sizeof(raw), state);
		pkce_verifier(state, ver);
		if ((url = goauth_authorize_url(PQgetvalue(res, 0, 0), config,
		    state, ver, err, sizeof(err))) == NULL)
			reply_error(r, 400, "invalid_config", err);
	}
	PQclear(res);
	json_decref(config);
	explicit_bzero(ver, sizeof(ver));
	if (url == NULL)
		return;
	state_hash_hex(state, hash);
	p[1] = hash;
	p[2] = g->user;
	rv = query_row(e, s, "WITH gone AS (DELETE FROM oauth_states WHERE "
	    "expires_at < now()) INSERT INTO oauth_states (state_hash, "
	    "source_id, collection_id, owner_user, user_id, expires_at) "
	    "SELECT $2::bytea, id, collection_id, owner_user, $3, now() + "
	    "interval '10 minutes' FROM sources WHERE id = $1 RETURNING 1", 3,
	    p, &res, err, sizeof(err));
	if (rv == 1) {
		PQclear(res);
		r->status = 200;
		r->body = json_pack("{s:s,s:i}", "url", url, "expires_in", 600);
		log_info("indexd: source %s: authorization started", p[0]);
	} else if (rv == 0)
		reply_not_found(r, "source");
	else
		reply_internal(r, rq, err);
	free(url);
}

/* A query parameter, percent-decoded (malloc'd), or NULL. */
static char *
query_param(const char *q, const char *name)
{
	size_t		 n = strlen(name), len;
	const char	*p;
	char		*d, *out;
	int		 dlen;

	for (p = q; p != NULL && *p != '\0'; p = strchr(p, '&') ?
	    strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, name, n) != 0 || p[n] != '=')
			continue;
		p += n + 1;
		len = strcspn(p, "&");
		if (len == 0 || len > 4096)
			return NULL;
		if ((d = curl_easy_unescape(NULL, p, (int)len, &dlen)) == NULL)
			return NULL;
		out = (size_t)dlen == strlen(d) ? xstrdup(d) : NULL;
		explicit_bzero(d, (size_t)dlen);
		curl_free(d);
		return out;
	}
	return NULL;
}

static void
callback_exchange(struct engine *e, const struct grant *g,
    const struct scope *s, const struct imsg_index_req *rq,
    struct serve_reply *r, const char *source, const char *state,
    const char *code)
{
	const char	*p[1];
	char		 ver[GOAUTH_STATE_LEN + 1], id[UUID_STR_LEN], err[256];
	int		 rv;

	if ((rv = find_row(e, g, s, "sources", source, err,
	    sizeof(err))) != 1) {
		if (rv == -1)
			reply_internal(r, rq, err);
		else
			reply_not_found(r, "source");
		return;
	}
	pkce_verifier(state, ver);
	rv = sync_oauth_exchange(s, source, code, ver, id, err, sizeof(err));
	explicit_bzero(ver, sizeof(ver));
	if (rv == -1 && err[0] == '\0')
		reply_not_found(r, "source");
	else if (rv == -1)
		reply_internal(r, rq, err);
	else if (rv == 0)
		reply_error(r, 409, "conflict", "a job of this source is "
		    "pending or running; authorize again once it ended");
	else {
		p[0] = id;
		log_info("indexd: source %s: authorization code received, "
		    "job %s exchanges it", source, id);
		reply_row(e, s, rq, r, 202, "job", "SELECT " JOB_JSON "::text "
		    "FROM sync_jobs j WHERE j.id = $1", 1, p);
	}
}

void
source_op_oauth_callback(struct engine *e, const struct grant *g,
    const struct scope *s, const struct imsg_index_req *rq,
    struct serve_reply *r)
{
	const char	*p[2];
	char		*state, *code, *perr, hash[2 * 32 + 3], err[256];
	char		 source[UUID_STR_LEN];
	PGresult	*res;
	int		 rv, live = 0;

	state = query_param(rq->query, "state");
	code = query_param(rq->query, "code");
	perr = query_param(rq->query, "error");
	if (state == NULL || g->user[0] == '\0') {
		reply_error(r, 400, "invalid_state", "the authorization state "
		    "is missing");
		goto done;
	}
	state_hash_hex(state, hash);
	p[0] = hash;
	p[1] = g->user;
	/* single-use, and only by the user who started it */
	rv = query_row(e, s, "DELETE FROM oauth_states WHERE state_hash = "
	    "$1::bytea AND user_id = $2 RETURNING source_id, expires_at > "
	    "now()", 2, p, &res, err, sizeof(err));
	if (rv == -1) {
		reply_internal(r, rq, err);
		goto done;
	}
	if (rv == 1) {
		strlcpy(source, PQgetvalue(res, 0, 0), sizeof(source));
		live = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
		PQclear(res);
	}
	if (rv == 0 || !live)
		reply_error(r, 400, "invalid_state", rv == 0 ? "unknown, "
		    "already used or another user's authorization state" :
		    "the authorization state has expired: start again");
	else if (perr != NULL || code == NULL) {
		char msg[160];
		snprintf(msg, sizeof(msg), "the provider did not authorize "
		    "the source (%.64s)", perr != NULL ? perr : "no code");
		reply_error(r, 400, "not_authorized", msg);
	} else
		callback_exchange(e, g, s, rq, r, source, state, code);
 done:
	if (state != NULL)
		freezero(state, strlen(state));
	if (code != NULL)
		freezero(code, strlen(code));
	free(perr);
}

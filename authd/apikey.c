/*
 * API keys "blst_<id>_<secret>": a 16-character id and a 256-bit secret
 * of which only SHA-256 is stored; the key is shown once.  Keys are
 * managed with a session only.  Rotation keeps the previous secret good
 * for an hour.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authd/authd.h"
#include "common/log.h"
#include "common/util.h"
#include "keyd/crypto.h"

#define NAME_MAX_CHARS	200
#define KEY_GRACE	"1 hour"

/* The columns every answer shows, in this order. */
#define KEY_COLS	"k.id, k.name, k.created_by, k.collection_id, " \
	"k.include_personal, k.cap, " SQL_TS("k.created_at") ", " \
	SQL_TS("k.last_used_at") ", " SQL_TS("k.expires_at") ", " \
	SQL_TS("k.revoked_at")

struct key_secret {
	char	 id[APIKEY_IDLEN + 1];
	char	 text[APIKEY_LEN + 1];		/* the key, shown once */
	char	 hash[2 * SHA256_LEN + 1];
};

static int
key_secret_new(struct key_secret *ks, const char *id)
{
	static const char	 b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t			 raw[APIKEY_SECRETLEN], h[SHA256_LEN];
	int			 rv = -1;

	if (id != NULL)
		strlcpy(ks->id, id, sizeof(ks->id));
	else {
		for (size_t i = 0; i < APIKEY_IDLEN; i++)
			ks->id[i] = b32[arc4random_uniform(32)];
		ks->id[APIKEY_IDLEN] = '\0';
	}
	arc4random_buf(raw, sizeof(raw));
	snprintf(ks->text, sizeof(ks->text), "%s%s_", APIKEY_PREFIX, ks->id);
	if (b64url_encode(raw, sizeof(raw), ks->text + 6 + APIKEY_IDLEN,
	    sizeof(ks->text) - 6 - APIKEY_IDLEN) == 0 &&
	    sha256(raw, sizeof(raw), h) == 0) {
		hex_encode(h, sizeof(h), ks->hash);
		rv = 0;
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(h, sizeof(h));
	return rv;
}

static json_t *
key_json(PGresult *res, int i)
{
	char	 prefix[APIKEY_IDLEN + 6];

	snprintf(prefix, sizeof(prefix), "%s%s", APIKEY_PREFIX,
	    PQgetvalue(res, i, 0));
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:b,s:s,s:s,s:o,s:o,s:o}",
	    "id", PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1),
	    "prefix", prefix, "created_by", PQgetvalue(res, i, 2),
	    "collection_id", sql_json_str(res, i, 3),
	    "include_personal", strcmp(PQgetvalue(res, i, 4), "t") == 0,
	    "cap", PQgetvalue(res, i, 5), "created_at", PQgetvalue(res, i, 6),
	    "last_used_at", sql_json_str(res, i, 7),
	    "expires_at", sql_json_str(res, i, 8),
	    "revoked_at", sql_json_str(res, i, 9));
}

/* The answer of create and rotate: the key once, without the rest. */
static json_t *
key_created_json(PGresult *res, const struct key_secret *ks)
{
	json_t	*j = key_json(res, 0);

	json_object_set_new(j, "key", json_string(ks->text));
	json_object_del(j, "created_by");
	json_object_del(j, "last_used_at");
	json_object_del(j, "revoked_at");
	return j;
}

static const struct body_field create_fields[] = {
	{ "name", BF_STRING, 1, 4 * NAME_MAX_CHARS },
	{ "collection_id", BF_STRING_OR_NULL, 0, 64 },
	{ "include_personal", BF_BOOL, 0, 0 },
	{ "cap", BF_STRING, 0, 16 },
	{ "expires_at", BF_STRING_OR_NULL, 0, 64 },
};

/* A collection-scoped key needs a role there, and editor for writing. */
static int
key_scope_ok(struct areq *r, const char *org, const char *cid, int cap)
{
	struct coll_info	 ci;

	if (!uuid_valid(cid)) {
		areq_error(r, 400, "bad_request", "'collection_id' must be a "
		    "UUID");
		return 0;
	}
	if (authz_coll(r, cid, ACT_COLL_READ, &ci) == -1)
		return 0;
	if (strcmp(ci.org, org) != 0) {
		areq_error(r, 404, "not_found", "no such collection in this "
		    "organization");
		return 0;
	}
	if (cap == CAP_READWRITE && ci.eff < COLL_EDITOR) {
		audit(r, org, cid, "denied", NULL);
		areq_error(r, 403, "forbidden", "a read-write key needs "
		    "editor rights on the collection");
		return 0;
	}
	return 1;
}

static int
key_args(struct areq *r, const char *org, const char **name, int *cap,
    const char **cid, const char **exp)
{
	const char	*s;
	time_t		 t;

	*name = body_str(r, "name");
	*cid = body_str(r, "collection_id");
	*exp = body_str(r, "expires_at");
	s = body_str(r, "cap");
	if (!text_len_ok(*name, 1, NAME_MAX_CHARS)) {
		areq_error(r, 400, "bad_request", "'name' must have 1 to %d "
		    "characters", NAME_MAX_CHARS);
		return -1;
	}
	if ((*cap = s == NULL ? CAP_READ : key_cap_parse(s)) == -1) {
		areq_error(r, 400, "bad_request", "'cap' must be read or "
		    "read-write");
		return -1;
	}
	if (*exp != NULL && (rfc3339_parse(*exp, &t) == -1 ||
	    t <= time(NULL))) {
		areq_error(r, 400, "bad_request", "'expires_at' must be a "
		    "future time like 2030-01-31T12:00:00Z");
		return -1;
	}
	if (*cid != NULL && !key_scope_ok(r, org, *cid, *cap))
		return -1;
	return 0;
}

void
op_apikey_create(struct areq *r)
{
	const char		*org, *name, *cid, *exp, *q[9];
	json_t			*jp;
	struct key_secret	 ks;
	PGresult		*res;
	int			 cap;

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_KEY_CREATE, NULL) == -1 ||
	    areq_body(r, create_fields, nitems(create_fields)) == -1 ||
	    key_args(r, org, &name, &cap, &cid, &exp) == -1)
		return;
	if (key_secret_new(&ks, NULL) == -1) {
		areq_internal(r);
		return;
	}
	jp = json_object_get(r->body, "include_personal");
	q[0] = ks.id;
	q[1] = org;
	q[2] = r->p.user;
	q[3] = name;
	q[4] = ks.hash;
	q[5] = cid;
	q[6] = json_is_true(jp) ? "t" : "f";
	q[7] = key_cap_name((enum key_cap)cap);
	q[8] = exp;
	res = sql("WITH k AS (INSERT INTO api_keys (id, org_id, created_by, "
	    "name, secret_hash, collection_id, include_personal, cap, "
	    "expires_at) VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6, $7, "
	    "$8, $9) RETURNING *) SELECT " KEY_COLS " FROM k", 9, q);
	if (res == NULL) {
		explicit_bzero(&ks, sizeof(ks));
		areq_internal(r);
		return;
	}
	audit(r, org, ks.id, "ok", json_pack("{s:s,s:s*}", "cap", q[7],
	    "collection_id", cid));
	areq_reply(r, 201, key_created_json(res, &ks), NULL);
	PQclear(res);
	explicit_bzero(&ks, sizeof(ks));
}

void
op_apikey_list(struct areq *r)
{
	const char	*org, *q[2];
	enum org_role	 role;
	PGresult	*res;
	json_t		*a;

	/* Any member with a session: its own keys; an admin: all. */
	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_KEY_CREATE, &role) == -1)
		return;
	q[0] = org;
	q[1] = role >= ORG_ADMIN ? NULL : r->p.user;
	if ((res = sql("SELECT " KEY_COLS " FROM api_keys k WHERE "
	    "k.org_id = $1 AND ($2::uuid IS NULL OR k.created_by = $2::uuid) "
	    "ORDER BY k.created_at DESC, k.id", 2, q)) == NULL) {
		areq_internal(r);
		return;
	}
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, key_json(res, i));
	PQclear(res);
	areq_reply(r, 200, json_pack("{s:o}", "api_keys", a), NULL);
}

/*
 * The key of this org for revoke (creator or org admin) or rotate
 * (creator only).  A member who cannot list the key gets 404.
 */
static int
key_load(struct areq *r, const char **org, const char **id, int rotate)
{
	const char	*q[2];
	enum org_role	 role;
	PGresult	*res;
	int		 found, mine = 0, revoked = 0;

	if ((*org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, *org, ACT_KEY_CREATE, &role) == -1)
		return -1;
	if (!apikey_id_valid((*id = r->params[1]))) {
		areq_error(r, 404, "not_found", "no such API key");
		return -1;
	}
	q[0] = *id;
	q[1] = *org;
	if ((res = sql("SELECT created_by, revoked_at IS NOT NULL FROM "
	    "api_keys WHERE id = $1 AND org_id = $2", 2, q)) == NULL) {
		areq_internal(r);
		return -1;
	}
	if ((found = PQntuples(res) == 1)) {
		mine = strcmp(PQgetvalue(res, 0, 0), r->p.user) == 0;
		revoked = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	}
	PQclear(res);
	if (!found || (!mine && role < ORG_ADMIN)) {
		audit(r, *org, *id, "denied", NULL);
		areq_error(r, 404, "not_found", "no such API key");
		return -1;
	}
	if (rotate && !mine) {
		audit(r, *org, *id, "denied", NULL);
		areq_error(r, 403, "forbidden", "only its creator rotates "
		    "a key");
		return -1;
	}
	if (rotate && revoked) {
		areq_error(r, 409, "conflict", "the key is revoked");
		return -1;
	}
	return 0;
}

void
op_apikey_revoke(struct areq *r)
{
	const char	*org, *id, *q[1];

	if (key_load(r, &org, &id, 0) == -1)
		return;
	q[0] = id;
	if (sql_exec("UPDATE api_keys SET revoked_at = now() WHERE id = $1 "
	    "AND revoked_at IS NULL", 1, q) == -1) {
		areq_internal(r);
		return;
	}
	audit(r, org, id, "ok", NULL);
	areq_ok(r);
}

void
op_apikey_rotate(struct areq *r)
{
	const char		*org, *id, *q[2];
	struct key_secret	 ks;
	PGresult		*res;

	if (key_load(r, &org, &id, 1) == -1)
		return;
	if (key_secret_new(&ks, id) == -1) {
		areq_internal(r);
		return;
	}
	q[0] = id;
	q[1] = ks.hash;
	res = sql("WITH k AS (UPDATE api_keys SET prev_secret_hash = "
	    "secret_hash, prev_valid_until = now() + interval '" KEY_GRACE
	    "', secret_hash = decode($2, 'hex') WHERE id = $1 RETURNING *) "
	    "SELECT " KEY_COLS " FROM k", 2, q);
	if (res == NULL || PQntuples(res) != 1) {
		if (res != NULL)
			PQclear(res);
		explicit_bzero(&ks, sizeof(ks));
		areq_internal(r);
		return;
	}
	audit(r, org, id, "ok", NULL);
	areq_reply(r, 200, key_created_json(res, &ks), NULL);
	PQclear(res);
	explicit_bzero(&ks, sizeof(ks));
}

/*
 * Sessions: login, refresh, logout, and "who am I".
 *
 * Login answers wrong e-mail, wrong password and disabled account with
 * the same 401 after the same work (an Argon2id verification against a
 * dummy hash when there is no such user).  Failures count per account and
 * per client address (ratelimit.c).  A session has refresh tokens, stored
 * as SHA-256, each good once: presenting a spent one revokes the session.
 * Access tokens are JWTs signed by keyd (authd_sign() parks the request).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd/authd.h"
#include "common/log.h"
#include "common/password.h"
#include "common/util.h"
#include "keyd/crypto.h"

static char	 dummy_hash[PASSWORD_HASH_MAX];

int
session_dummy_init(void)
{
	struct password_params	 pp = PASSWORD_DEFAULT_PARAMS;
	uint8_t			 raw[24];
	char			 pw[B64URL_ENCLEN(24) + 1];
	int			 rv;

	pp.m_cost = authd_settings.pw_memory;
	pp.t_cost = authd_settings.pw_iterations;
	arc4random_buf(raw, sizeof(raw));
	rv = b64url_encode(raw, sizeof(raw), pw, sizeof(pw));
	if (rv == 0)
		rv = password_hash(&pp, pw, strlen(pw), dummy_hash,
		    sizeof(dummy_hash));
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(pw, sizeof(pw));
	return rv;
}

static json_t *
session_user_json(const char *id, const char *email, const char *name)
{
	return json_pack("{s:s,s:s,s:s}", "id", id, "email", email, "name",
	    name);
}

/* A new refresh token: the text for the client, the hash for us. */
static int
session_refresh_new(char tok[REFRESH_LEN + 1], char hash[2 * SHA256_LEN + 1])
{
	uint8_t	 raw[REFRESH_RAWLEN], h[SHA256_LEN];
	int	 rv = -1;

	arc4random_buf(raw, sizeof(raw));
	memcpy(tok, REFRESH_PREFIX, 5);
	if (b64url_encode(raw, sizeof(raw), tok + 5, REFRESH_LEN + 1 - 5) ==
	    0 && sha256(raw, sizeof(raw), h) == 0) {
		hex_encode(h, sizeof(h), hash);
		rv = 0;
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(h, sizeof(h));
	return rv;
}

/* The token answer, waiting for its access_token. */
static json_t *
session_answer(const char *refresh, json_t *user)
{
	return json_pack("{s:s,s:I,s:s,s:o}", "token_type", "Bearer",
	    "expires_in", (json_int_t)authd_settings.token_lifetime,
	    "refresh_token", refresh, "user", user);
}

/* In one transaction: the session and its first refresh token. */
static int
session_create(struct areq *r, const char *uid, char sid[UUID_LEN + 1],
    char refresh[REFRESH_LEN + 1])
{
	char		 life[32], hash[2 * SHA256_LEN + 1];
	const char	*q[3];
	PGresult	*res;

	snprintf(life, sizeof(life), "%llu",
	    (unsigned long long)authd_settings.session_lifetime);
	if (session_refresh_new(refresh, hash) == -1 || sql_begin() == -1)
		return -1;
	q[0] = uid;
	q[1] = life;
	q[2] = r->client;
	res = sql("INSERT INTO sessions (user_id, expires_at, client) VALUES "
	    "($1, now() + make_interval(secs => $2::bigint), $3) RETURNING id",
	    3, q);
	if (res == NULL)
		goto fail;
	strlcpy(sid, PQgetvalue(res, 0, 0), UUID_LEN + 1);
	PQclear(res);
	q[0] = hash;
	q[1] = sid;
	if (sql_exec("INSERT INTO refresh_tokens (token_hash, session_id) "
	    "VALUES (decode($1, 'hex'), $2)", 2, q) == -1 ||
	    sql_commit() == -1)
		goto fail;
	return 0;
fail:
	sql_rollback();
	return -1;
}

static void
session_login_failed(struct areq *r, const char *acct, const char *addr,
    const char *email)
{
	uint64_t	 now = now_ms() / 1000;

	ratelimit_fail(acct, now);
	ratelimit_fail(addr, now);
	audit(r, NULL, email, "denied", json_pack("{s:s}", "reason",
	    "invalid_credentials"));
	areq_error(r, 401, "invalid_credentials",
	    "wrong e-mail address or password");
}

/* 1 when the password is right for a live account; uid etc. filled. */
static int
session_check_password(struct areq *r, const char *email, const char *pw,
    char *uid, json_t **user)
{
	const char	*q[1] = { email };
	PGresult	*res;
	int		 ok;

	if ((res = sql("SELECT id, email, name, password_hash, disabled FROM "
	    "users WHERE email = $1", 1, q)) == NULL)
		return -1;
	if (PQntuples(res) != 1 || strlen(pw) > PASSWORD_MAX) {
		(void)password_verify(dummy_hash, pw, strnlen(pw,
		    PASSWORD_MAX));
		PQclear(res);
		return 0;
	}
	ok = password_verify(PQgetvalue(res, 0, 3), pw, strlen(pw)) == 1 &&
	    strcmp(PQgetvalue(res, 0, 4), "f") == 0;
	if (ok) {
		strlcpy(uid, PQgetvalue(res, 0, 0), UUID_LEN + 1);
		*user = session_user_json(uid, PQgetvalue(res, 0, 1),
		    PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return ok;
}

static const struct body_field login_fields[] = {
	{ "email", BF_STRING, 1, 1024 },
	{ "password", BF_STRING, 1, 0 },
};

void
op_login(struct areq *r)
{
	char		 email[EMAIL_MAX + 1] = "", acct[EMAIL_MAX + 8];
	char		 addr[80], uid[UUID_LEN + 1], sid[UUID_LEN + 1];
	char		 refresh[REFRESH_LEN + 1], retry[48];
	const char	*pw;
	json_t		*user = NULL;
	uint64_t	 wait, w2, now = now_ms() / 1000;
	int		 ok;

	if (areq_body(r, login_fields, nitems(login_fields)) == -1)
		return;
	pw = body_str(r, "password");
	if (email_normalize(body_str(r, "email"), email, sizeof(email)) == -1)
		strlcpy(email, "-", sizeof(email));
	snprintf(acct, sizeof(acct), "a:%s", email);
	snprintf(addr, sizeof(addr), "c:%s", r->client);
	wait = ratelimit_check(acct, now);
	if ((w2 = ratelimit_check(addr, now)) > wait)
		wait = w2;
	if (wait > 0) {
		audit(r, NULL, email, "denied", json_pack("{s:s}", "reason",
		    "too_many_requests"));
		snprintf(retry, sizeof(retry), "Retry-After: %llu",
		    (unsigned long long)wait);
		areq_reply(r, 429, error_json("too_many_requests",
		    "too many failed logins; try again later"), retry);
		return;
	}
	ok = session_check_password(r, email, pw, uid, &user);
	/* The password is done with: wipe jansson's copy. */
	explicit_bzero((char *)pw, strlen(pw));
	if (ok == -1) {
		areq_internal(r);
		return;
	}
	if (!ok) {
		session_login_failed(r, acct, addr, email);
		return;
	}
	ratelimit_clear(acct);
	if (session_create(r, uid, sid, refresh) == -1) {
		json_decref(user);
		areq_internal(r);
		return;
	}
	r->p.present = 1;
	r->p.kind = PRINCIPAL_SESSION;
	strlcpy(r->p.user, uid, sizeof(r->p.user));
	strlcpy(r->p.session, sid, sizeof(r->p.session));
	audit(r, NULL, email, "ok", NULL);
	authd_sign(r, uid, sid, session_answer(refresh, user), 200);
	explicit_bzero(refresh, sizeof(refresh));
}

static const struct body_field refresh_fields[] = {
	{ "refresh_token", BF_STRING, 1, 256 },
};

/* A spent token came back: someone holds a copy.  End the session. */
static void
session_reused(struct areq *r, const char *sid, const char *uid)
{
	const char	*q[1] = { sid };

	if (sql_exec("UPDATE sessions SET revoked_at = coalesce(revoked_at, "
	    "now()), revoke_reason = coalesce(revoke_reason, "
	    "'refresh token reused') WHERE id = $1", 1, q) == -1 ||
	    sql_commit() == -1) {
		sql_rollback();
		areq_internal(r);
		return;
	}
	log_info("%s: refresh token reused; session %s revoked", __func__,
	    sid);
	r->p.present = 1;
	strlcpy(r->p.user, uid, sizeof(r->p.user));
	audit(r, NULL, sid, "denied", json_pack("{s:s}", "reason",
	    "refresh token reused"));
	areq_error(r, 401, "unauthorized", "invalid refresh token");
}

/* Spend the old token and store the new one; the transaction is open. */
static int
session_rotate(const char *oldhash, const char *sid,
    char refresh[REFRESH_LEN + 1])
{
	char		 hash[2 * SHA256_LEN + 1];
	const char	*q[2] = { oldhash, sid };
	PGresult	*res;
	int		 n;

	if ((res = sql("UPDATE refresh_tokens SET used_at = now() WHERE "
	    "token_hash = decode($1, 'hex') AND used_at IS NULL", 1, q)) ==
	    NULL)
		return -1;
	n = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!n || session_refresh_new(refresh, hash) == -1)
		return -1;
	q[0] = hash;
	return sql_exec("INSERT INTO refresh_tokens (token_hash, session_id) "
	    "VALUES (decode($1, 'hex'), $2)", 2, q);
}

static void
session_refresh_ok(struct areq *r, PGresult *res, const char *oldhash)
{
	char	 sid[UUID_LEN + 1], uid[UUID_LEN + 1];
	char	 refresh[REFRESH_LEN + 1];
	json_t	*user;

	strlcpy(sid, PQgetvalue(res, 0, 0), sizeof(sid));
	strlcpy(uid, PQgetvalue(res, 0, 2), sizeof(uid));
	user = session_user_json(uid, PQgetvalue(res, 0, 4),
	    PQgetvalue(res, 0, 5));
	if (session_rotate(oldhash, sid, refresh) == -1 ||
	    sql_commit() == -1) {
		sql_rollback();
		json_decref(user);
		areq_internal(r);
		return;
	}
	r->p.present = 1;
	r->p.kind = PRINCIPAL_SESSION;
	strlcpy(r->p.user, uid, sizeof(r->p.user));
	strlcpy(r->p.session, sid, sizeof(r->p.session));
	authd_sign(r, uid, sid, session_answer(refresh, user), 200);
	explicit_bzero(refresh, sizeof(refresh));
}

void
op_refresh(struct areq *r)
{
	uint8_t		 raw[REFRESH_RAWLEN], h[SHA256_LEN];
	char		 hash[2 * SHA256_LEN + 1];
	const char	*q[1] = { hash };
	PGresult	*res;

	if (areq_body(r, refresh_fields, nitems(refresh_fields)) == -1)
		return;
	if (refresh_parse(body_str(r, "refresh_token"), raw) == -1) {
		areq_error(r, 401, "unauthorized", "invalid refresh token");
		return;
	}
	(void)sha256(raw, sizeof(raw), h);
	hex_encode(h, sizeof(h), hash);
	explicit_bzero(raw, sizeof(raw));
	if (sql_begin() == -1) {
		areq_internal(r);
		return;
	}
	res = sql("SELECT rt.session_id, rt.used_at IS NOT NULL, s.user_id, "
	    "s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled, "
	    "u.email, u.name FROM refresh_tokens rt "
	    "JOIN sessions s ON s.id = rt.session_id "
	    "JOIN users u ON u.id = s.user_id "
	    "WHERE rt.token_hash = decode($1, 'hex') FOR UPDATE OF rt, s", 1, q);
	if (res == NULL) {
		sql_rollback();
		areq_internal(r);
	} else if (PQntuples(res) != 1 ||
	    (strcmp(PQgetvalue(res, 0, 1), "f") == 0 &&
	    strcmp(PQgetvalue(res, 0, 3), "t") != 0)) {
		sql_rollback();
		areq_error(r, 401, "unauthorized", "invalid refresh token");
	} else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		session_reused(r, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2));
	else
		session_refresh_ok(r, res, hash);
	if (res != NULL)
		PQclear(res);
	explicit_bzero(hash, sizeof(hash));
}

void
op_logout(struct areq *r)
{
	const char	*q[1] = { r->p.session };

	if (sql_exec("UPDATE sessions SET revoked_at = now(), revoke_reason = "
	    "'logout' WHERE id = $1 AND revoked_at IS NULL", 1, q) == -1) {
		areq_internal(r);
		return;
	}
	audit(r, NULL, r->p.session, "ok", NULL);
	areq_ok(r);
}

/*
 * The console's sign-out (the front's cookie mode, docs/api.md): the
 * refresh token from the cookie names the session to end, so signing out
 * works even when the page holds no live access token.  A spent token of
 * the session ends it too: the caller holds the cookie, and ending a
 * session is never a gain for a thief.
 */
void
op_logout_refresh(struct areq *r)
{
	uint8_t		 raw[REFRESH_RAWLEN], h[SHA256_LEN];
	char		 hash[2 * SHA256_LEN + 1];
	const char	*q[1] = { hash };
	PGresult	*res;

	if (areq_body(r, refresh_fields, nitems(refresh_fields)) == -1)
		return;
	if (refresh_parse(body_str(r, "refresh_token"), raw) == -1) {
		areq_error(r, 401, "unauthorized", "invalid refresh token");
		return;
	}
	(void)sha256(raw, sizeof(raw), h);
	hex_encode(h, sizeof(h), hash);
	explicit_bzero(raw, sizeof(raw));
	res = sql("UPDATE sessions s SET revoked_at = coalesce(s.revoked_at, "
	    "now()), revoke_reason = coalesce(s.revoke_reason, 'logout') "
	    "FROM refresh_tokens rt WHERE rt.token_hash = decode($1, 'hex') "
	    "AND s.id = rt.session_id RETURNING s.id, s.user_id", 1, q);
	explicit_bzero(hash, sizeof(hash));
	if (res == NULL) {
		areq_internal(r);
		return;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		areq_error(r, 401, "unauthorized", "invalid refresh token");
		return;
	}
	r->p.present = 1;
	r->p.kind = PRINCIPAL_SESSION;
	strlcpy(r->p.user, PQgetvalue(res, 0, 1), sizeof(r->p.user));
	strlcpy(r->p.session, PQgetvalue(res, 0, 0), sizeof(r->p.session));
	PQclear(res);
	audit(r, NULL, r->p.session, "ok", NULL);
	areq_ok(r);
}

/*
 * The principal member's text.  Formatted, not built with jansson: every
 * value is a UUID as PostgreSQL prints it or a key id of [a-z0-9]
 * (checked), a boolean or a fixed capability name, so nothing needs
 * escaping; -1 if one is not.
 */
static int
session_principal_text(const struct areq *r, char *buf, size_t len)
{
	char		 coll[UUID_LEN + 3];
	const char	*cap = key_cap_name(r->p.key_cap);
	int		 n;

	if (r->p.kind == PRINCIPAL_SESSION)
		return strlcpy(buf, "{\"kind\":\"session\"}", len) < len ? 0 : -1;
	if (!apikey_id_valid(r->p.key_id) || !uuid_valid(r->p.key_org) ||
	    (r->p.key_coll[0] != '\0' && !uuid_valid(r->p.key_coll)) ||
	    cap == NULL)
		return -1;
	if (r->p.key_coll[0] != '\0')
		snprintf(coll, sizeof(coll), "\"%s\"", r->p.key_coll);
	else
		strlcpy(coll, "null", sizeof(coll));
	n = snprintf(buf, len, "{\"kind\":\"api_key\",\"key_id\":\"%s\","
	    "\"scope\":{\"org_id\":\"%s\",\"collection_id\":%s,"
	    "\"include_personal\":%s,\"cap\":\"%s\"}}", r->p.key_id,
	    r->p.key_org, coll, r->p.key_personal ? "true" : "false", cap);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/*
 * The answer for r from what the user and orgs are now: the cached text
 * of those two members and the principal, put together without jansson
 * (json_dumps was four fifths of authd's user time per cached /v1/me).
 */
static void
op_me_reply(struct areq *r, const char *parts)
{
	char	 principal[512], *body;
	size_t	 len;

	if (parts == NULL || session_principal_text(r, principal,
	    sizeof(principal)) == -1) {
		areq_internal(r);
		return;
	}
	len = strlen(parts) + strlen(principal) + sizeof("{,\"principal\":}");
	body = xcalloc(1, len);
	snprintf(body, len, "{%s,\"principal\":%s}", parts, principal);
	areq_reply_text(r, 200, body, NULL);
	freezero(body, len);
}

/* "user":{...},"orgs":[...] (references stolen); NULL on failure. */
static char *
op_me_parts(json_t *user, json_t *orgs)
{
	json_t	*o;
	char	*t;
	size_t	 n;

	o = json_pack("{s:o,s:o}", "user", user, "orgs", orgs);
	t = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (t == NULL || (n = strlen(t)) < 2 || t[0] != '{' || t[n - 1] != '}') {
		free(t);
		return NULL;
	}
	memmove(t, t + 1, n - 2);	/* the members, without the braces */
	t[n - 2] = '\0';
	return t;
}

/* The org /v1/me is limited to: a key's own, "" for a session. */
static const char *
op_me_org(const struct areq *r)
{
	return r->p.kind == PRINCIPAL_APIKEY ? r->p.key_org : "";
}

int
op_me_read(struct areq *r, struct sql_item *q)
{
	const char	*parts;

	/* Current under the batch's auth_generation (pcache.c). */
	if ((parts = pcache_me(r->p.user, op_me_org(r))) != NULL) {
		op_me_reply(r, parts);
		return -1;
	}
	memset(q, 0, sizeof(*q));
	q->query = "SELECT u.id, u.email, u.name, o.id, o.name, m.role "
	    "FROM users u LEFT JOIN (org_members m JOIN orgs o ON "
	    "o.id = m.org_id) ON m.user_id = u.id AND "
	    "($2::uuid IS NULL OR m.org_id = $2::uuid) WHERE u.id = $1 "
	    "ORDER BY o.name, o.id";
	q->n = 2;
	q->params[0] = r->p.user;
	/* A key sees its own organization only. */
	q->params[1] = r->p.kind == PRINCIPAL_APIKEY ? r->p.key_org : NULL;
	return 0;
}

void
op_me_answer(struct areq *r, PGresult *res)
{
	json_t	*user, *orgs;
	char	*parts;

	if (res == NULL || PQntuples(res) < 1) {
		if (res != NULL)
			PQclear(res);
		areq_internal(r);
		return;
	}
	user = session_user_json(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	    PQgetvalue(res, 0, 2));
	orgs = json_array();
	for (int i = 0; i < PQntuples(res) && !PQgetisnull(res, i, 3); i++)
		json_array_append_new(orgs, json_pack("{s:s,s:s,s:s}", "id",
		    PQgetvalue(res, i, 3), "name", PQgetvalue(res, i, 4),
		    "role", PQgetvalue(res, i, 5)));
	PQclear(res);
	parts = op_me_parts(user, orgs);
	pcache_me_put(r->p.user, op_me_org(r), parts);
	op_me_reply(r, parts);
	free(parts);
}

void
op_me(struct areq *r)
{
	struct sql_item	 q;

	if (op_me_read(r, &q) == 0)
		op_me_answer(r, sql(q.query, q.n, q.params));
}

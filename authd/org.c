/*
 * Organizations and their members.  Org admins manage members; only an
 * owner grants or takes away owner; the last owner stays (409).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd/authd.h"
#include "common/log.h"
#include "common/password.h"
#include "common/util.h"

#define NAME_MAX_CHARS	200

static json_t *
org_rows(PGresult *res)
{
	json_t	*a = json_array();

	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "id",
		    PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1),
		    "role", PQgetvalue(res, i, 2)));
	return a;
}

void
op_org_list(struct areq *r)
{
	const char	*q[1] = { r->p.user };
	PGresult	*res;

	if ((res = sql("SELECT o.id, o.name, m.role FROM org_members m "
	    "JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 "
	    "ORDER BY o.name, o.id", 1, q)) == NULL) {
		areq_internal(r);
		return;
	}
	areq_reply(r, 200, json_pack("{s:o}", "orgs", org_rows(res)), NULL);
	PQclear(res);
}

static const struct body_field name_fields[] = {
	{ "name", BF_STRING, 1, 4 * NAME_MAX_CHARS },
};

void
op_org_create(struct areq *r)
{
	const char	*name, *q[2];
	char		 oid[UUID_LEN + 1], target[64];
	PGresult	*res;

	if (areq_body(r, name_fields, nitems(name_fields)) == -1)
		return;
	if (!text_len_ok((name = body_str(r, "name")), 1, NAME_MAX_CHARS)) {
		areq_error(r, 400, "bad_request", "'name' must have 1 to %d "
		    "characters", NAME_MAX_CHARS);
		return;
	}
	if (sql_begin() == -1)
		goto fail;
	q[0] = name;
	if ((res = sql("INSERT INTO orgs (name) VALUES ($1) RETURNING id", 1,
	    q)) == NULL)
		goto fail;
	strlcpy(oid, PQgetvalue(res, 0, 0), sizeof(oid));
	PQclear(res);
	q[0] = oid;
	q[1] = r->p.user;
	if (sql_exec("INSERT INTO org_members (org_id, user_id, role) "
	    "VALUES ($1, $2, 'owner')", 2, q) == -1 || sql_commit() == -1)
		goto fail;
	snprintf(target, sizeof(target), "org:%s", oid);
	audit(r, oid, target, "ok", NULL);
	areq_reply(r, 201, json_pack("{s:s,s:s,s:s}", "id", oid, "name", name,
	    "role", "owner"), NULL);
	return;
fail:
	sql_rollback();
	areq_internal(r);
}

void
op_org_get(struct areq *r)
{
	const char	*org, *q[1];
	enum org_role	 role;
	PGresult	*res;

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_ORG_READ, &role) == -1)
		return;
	q[0] = org;
	if ((res = sql("SELECT id, name, " SQL_TS("created_at") " FROM orgs "
	    "WHERE id = $1", 1, q)) == NULL || PQntuples(res) != 1) {
		if (res != NULL)
			PQclear(res);
		areq_internal(r);
		return;
	}
	areq_reply(r, 200, json_pack("{s:s,s:s,s:s,s:s}", "id",
	    PQgetvalue(res, 0, 0), "name", PQgetvalue(res, 0, 1),
	    "created_at", PQgetvalue(res, 0, 2), "role", org_role_name(role)),
	    NULL);
	PQclear(res);
}

void
op_org_delete(struct areq *r)
{
	const char	*org, *q[1];
	char		 target[64];

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_ORG_DELETE, NULL) == -1)
		return;
	q[0] = org;
	if (sql_exec("DELETE FROM orgs WHERE id = $1", 1, q) == -1) {
		areq_internal(r);
		return;
	}
	snprintf(target, sizeof(target), "org:%s", org);
	audit(r, org, target, "ok", NULL);
	areq_ok(r);
}

void
op_member_list(struct areq *r)
{
	const char	*org, *q[1];
	PGresult	*res;
	json_t		*a;

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_ORG_READ, NULL) == -1)
		return;
	q[0] = org;
	if ((res = sql("SELECT u.id, u.email, u.name, m.role FROM org_members "
	    "m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 "
	    "ORDER BY u.email", 1, q)) == NULL) {
		areq_internal(r);
		return;
	}
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}",
		    "user_id", PQgetvalue(res, i, 0), "email",
		    PQgetvalue(res, i, 1), "name", PQgetvalue(res, i, 2),
		    "role", PQgetvalue(res, i, 3)));
	PQclear(res);
	areq_reply(r, 200, json_pack("{s:o}", "members", a), NULL);
}

/* Refuses a role change the rules forbid, with the audit row. */
static int
member_change_ok(struct areq *r, const char *org, const char *user,
    enum authz_result res)
{
	char	 target[64];

	if (res == AUTHZ_ALLOW)
		return 1;
	snprintf(target, sizeof(target), "user:%s", user);
	audit(r, org, target, "denied", NULL);
	if (res == AUTHZ_CONFLICT)
		areq_error(r, 409, "conflict", "the last owner cannot be "
		    "removed or demoted");
	else
		areq_error(r, 403, "forbidden", "only an owner grants or "
		    "removes owner");
	return 0;
}

static const struct body_field member_add_fields[] = {
	{ "email", BF_STRING, 1, 1024 },
	{ "role", BF_STRING, 1, 16 },
	{ "password", BF_STRING, 0, 0 },
	{ "name", BF_STRING, 0, 4 * NAME_MAX_CHARS },
};

/* A new user for member.add; the password is hashed outside any lock. */
static int
member_new_user(struct areq *r, const char *email, char uid[UUID_LEN + 1])
{
	struct password_params	 pp = PASSWORD_DEFAULT_PARAMS;
	const char		*pw = body_str(r, "password");
	const char		*name = body_str(r, "name"), *q[4];
	char			 hash[PASSWORD_HASH_MAX], salt[65];
	uint8_t			 raw[32];
	PGresult		*res;
	int			 rv;

	pp.m_cost = authd_settings.pw_memory;
	pp.t_cost = authd_settings.pw_iterations;
	if (strlen(pw) < PASSWORD_MIN || strlen(pw) > PASSWORD_MAX) {
		areq_error(r, 400, "bad_request", "'password' must have %d to "
		    "%d bytes", PASSWORD_MIN, PASSWORD_MAX);
		return -1;
	}
	if (name != NULL && !text_len_ok(name, 0, NAME_MAX_CHARS)) {
		areq_error(r, 400, "bad_request", "'name' is too long");
		return -1;
	}
	rv = password_hash(&pp, pw, strlen(pw), hash, sizeof(hash));
	explicit_bzero((char *)pw, strlen(pw));
	if (rv == -1) {
		areq_internal(r);
		return -1;
	}
	arc4random_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), salt);
	explicit_bzero(raw, sizeof(raw));
	q[0] = email;
	q[1] = name != NULL ? name : "";
	q[2] = hash;
	q[3] = salt;
	res = sql("INSERT INTO users (email, name, password_hash, key_salt) "
	    "VALUES ($1, $2, $3, decode($4, 'hex')) ON CONFLICT (email) DO "
	    "NOTHING RETURNING id", 4, q);
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(salt, sizeof(salt));
	if (res == NULL || PQntuples(res) != 1) {
		if (res != NULL)
			PQclear(res);
		areq_error(r, res == NULL ? 500 : 409, res == NULL ?
		    "internal_error" : "conflict", "cannot create the user");
		return -1;
	}
	strlcpy(uid, PQgetvalue(res, 0, 0), UUID_LEN + 1);
	PQclear(res);
	return 0;
}

/* The user of an e-mail address, or a new one when a password came. */
static int
member_find_user(struct areq *r, const char *email, char uid[UUID_LEN + 1])
{
	const char	*q[1] = { email };
	PGresult	*res;
	int		 found;

	if ((res = sql("SELECT id FROM users WHERE email = $1", 1, q)) ==
	    NULL) {
		areq_internal(r);
		return -1;
	}
	if ((found = PQntuples(res) == 1))
		strlcpy(uid, PQgetvalue(res, 0, 0), UUID_LEN + 1);
	PQclear(res);
	if (found)
		return 0;
	if (body_str(r, "password") == NULL) {
		areq_error(r, 404, "not_found", "no user has this e-mail "
		    "address; give a password to create one");
		return -1;
	}
	return member_new_user(r, email, uid);
}

void
op_member_add(struct areq *r)
{
	const char	*org, *q[3];
	char		 email[EMAIL_MAX + 1], uid[UUID_LEN + 1], target[64];
	enum org_role	 actor;
	int		 role;
	PGresult	*res;

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_ORG_MEMBERS, &actor) == -1 ||
	    areq_body(r, member_add_fields, nitems(member_add_fields)) == -1)
		return;
	if ((role = org_role_parse(body_str(r, "role"))) == -1) {
		areq_error(r, 400, "bad_request", "'role' must be member, "
		    "admin or owner");
		return;
	}
	if (email_normalize(body_str(r, "email"), email, sizeof(email)) ==
	    -1) {
		areq_error(r, 400, "bad_request", "'email' is not an e-mail "
		    "address");
		return;
	}
	if (!member_change_ok(r, org, email, authz_org_role_change(actor,
	    ORG_NONE, (enum org_role)role, 0)) ||
	    member_find_user(r, email, uid) == -1)
		return;
	q[0] = org;
	q[1] = uid;
	q[2] = org_role_name((enum org_role)role);
	if ((res = sql("INSERT INTO org_members (org_id, user_id, role) "
	    "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", 3, q)) == NULL) {
		areq_internal(r);
		return;
	}
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		PQclear(res);
		areq_error(r, 409, "conflict", "already a member");
		return;
	}
	PQclear(res);
	snprintf(target, sizeof(target), "user:%s", uid);
	audit(r, org, target, "ok", json_pack("{s:s}", "role", q[2]));
	areq_reply(r, 201, json_pack("{s:s,s:s,s:s}", "user_id", uid, "email",
	    email, "role", q[2]), NULL);
}

/* The target's current role and the number of owners, in *from and *owners. */
static int
member_load(struct areq *r, const char *org, const char *user,
    enum org_role *from, long long *owners)
{
	const char	*q[2] = { org, user };
	PGresult	*res;
	int		 v = -1;

	if ((res = sql("SELECT (SELECT role FROM org_members WHERE org_id = "
	    "$1 AND user_id = $2), (SELECT count(*) FROM org_members WHERE "
	    "org_id = $1 AND role = 'owner')", 2, q)) == NULL) {
		areq_internal(r);
		return -1;
	}
	if (!PQgetisnull(res, 0, 0))
		v = org_role_parse(PQgetvalue(res, 0, 0));
	*owners = strtonum(PQgetvalue(res, 0, 1), 0, LLONG_MAX, NULL);
	PQclear(res);
	if (v == -1) {
		areq_error(r, 404, "not_found", "not a member");
		return -1;
	}
	*from = (enum org_role)v;
	return 0;
}

static json_t *
member_json(const char *org, const char *user)
{
	const char	*q[2] = { org, user };
	PGresult	*res;
	json_t		*j = NULL;

	if ((res = sql("SELECT u.id, u.email, u.name, m.role FROM org_members "
	    "m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND "
	    "m.user_id = $2", 2, q)) == NULL)
		return NULL;
	if (PQntuples(res) == 1)
		j = json_pack("{s:s,s:s,s:s,s:s}", "user_id",
		    PQgetvalue(res, 0, 0), "email", PQgetvalue(res, 0, 1),
		    "name", PQgetvalue(res, 0, 2), "role",
		    PQgetvalue(res, 0, 3));
	PQclear(res);
	return j;
}

static const struct body_field role_fields[] = {
	{ "role", BF_STRING, 1, 16 },
};

void
op_member_update(struct areq *r)
{
	const char	*org, *user, *q[3];
	enum org_role	 actor, from;
	long long	 owners;
	char		 target[64];
	int		 to;
	json_t		*j;

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_ORG_MEMBERS, &actor) == -1 ||
	    areq_body(r, role_fields, nitems(role_fields)) == -1)
		return;
	if ((to = org_role_parse(body_str(r, "role"))) == -1) {
		areq_error(r, 400, "bad_request", "'role' must be member, "
		    "admin or owner");
		return;
	}
	if ((user = areq_uuid_param(r, 1)) == NULL ||
	    member_load(r, org, user, &from, &owners) == -1 ||
	    !member_change_ok(r, org, user, authz_org_role_change(actor, from,
	    (enum org_role)to, owners)))
		return;
	q[0] = org;
	q[1] = user;
	q[2] = org_role_name((enum org_role)to);
	if (sql_exec("UPDATE org_members SET role = $3 WHERE org_id = $1 AND "
	    "user_id = $2", 3, q) == -1 || (j = member_json(org, user)) ==
	    NULL) {
		areq_internal(r);
		return;
	}
	snprintf(target, sizeof(target), "user:%s", user);
	audit(r, org, target, "ok", json_pack("{s:s,s:s}", "from",
	    org_role_name(from), "to", q[2]));
	areq_reply(r, 200, j, NULL);
}

/* Leaving an org ends the user's collection roles and keys there too. */
static int
member_delete(const char *org, const char *user)
{
	const char	*q[2] = { org, user };

	if (sql_begin() == -1)
		return -1;
	if (sql_exec("DELETE FROM collection_members WHERE user_id = $2 AND "
	    "collection_id IN (SELECT id FROM collections WHERE org_id = $1)",
	    2, q) == -1 ||
	    sql_exec("UPDATE api_keys SET revoked_at = now() WHERE org_id = $1 "
	    "AND created_by = $2 AND revoked_at IS NULL", 2, q) == -1 ||
	    sql_exec("DELETE FROM org_members WHERE org_id = $1 AND "
	    "user_id = $2", 2, q) == -1 || sql_commit() == -1) {
		sql_rollback();
		return -1;
	}
	return 0;
}

void
op_member_remove(struct areq *r)
{
	const char	*org, *user;
	enum org_role	 actor, from;
	long long	 owners;
	char		 target[64];

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_ORG_MEMBERS, &actor) == -1 ||
	    (user = areq_uuid_param(r, 1)) == NULL ||
	    member_load(r, org, user, &from, &owners) == -1 ||
	    !member_change_ok(r, org, user, authz_org_role_change(actor, from,
	    ORG_NONE, owners)))
		return;
	if (member_delete(org, user) == -1) {
		areq_internal(r);
		return;
	}
	snprintf(target, sizeof(target), "user:%s", user);
	audit(r, org, target, "ok", json_pack("{s:s}", "role",
	    org_role_name(from)));
	areq_ok(r);
}

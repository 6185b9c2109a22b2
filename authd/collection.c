/*
 * Collections and their members.  Org owners and admins act as collection
 * admins on every collection of their org (never as owners); only a
 * collection owner grants or takes away owner, and the last owner stays.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd/authd.h"
#include "common/log.h"
#include "common/util.h"

#define NAME_MAX_CHARS	200

static const struct body_field name_fields[] = {
	{ "name", BF_STRING, 1, 4 * NAME_MAX_CHARS },
};

static const char *
coll_name_arg(struct areq *r)
{
	const char	*name;

	if (areq_body(r, name_fields, nitems(name_fields)) == -1)
		return NULL;
	if (!text_len_ok((name = body_str(r, "name")), 1, NAME_MAX_CHARS)) {
		areq_error(r, 400, "bad_request", "'name' must have 1 to %d "
		    "characters", NAME_MAX_CHARS);
		return NULL;
	}
	return name;
}

static void
coll_target(char *buf, size_t len, const char *id)
{
	snprintf(buf, len, "collection:%s", id);
}

void
op_coll_list(struct areq *r)
{
	const char		*org, *q[2];
	enum org_role		 role;
	struct authz_subject	 s;
	enum coll_role		 eff;
	PGresult		*res;
	json_t			*a;
	int			 v;

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_ORG_READ, &role) == -1)
		return;
	q[0] = org;
	q[1] = r->p.user;
	if ((res = sql("SELECT c.id, c.name, cm.role FROM collections c "
	    "LEFT JOIN collection_members cm ON cm.collection_id = c.id AND "
	    "cm.user_id = $2 WHERE c.org_id = $1 ORDER BY c.name", 2, q)) ==
	    NULL) {
		areq_internal(r);
		return;
	}
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		v = PQgetisnull(res, i, 2) ? COLL_NONE :
		    coll_role_parse(PQgetvalue(res, i, 2));
		authz_subject(r, role, v == -1 ? COLL_NONE : (enum coll_role)v,
		    PQgetvalue(res, i, 0), &s);
		/* Only those the caller may read. */
		if ((eff = authz_coll_effective(&s)) == COLL_NONE)
			continue;
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "id",
		    PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1),
		    "role", coll_role_name(eff)));
	}
	PQclear(res);
	areq_reply(r, 200, json_pack("{s:o}", "collections", a), NULL);
}

void
op_coll_create(struct areq *r)
{
	const char	*org, *name, *q[3];
	char		 cid[UUID_LEN + 1], state[6], target[64];
	PGresult	*res;

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_COLL_CREATE, NULL) == -1 ||
	    (name = coll_name_arg(r)) == NULL)
		return;
	if (sql_begin() == -1)
		goto fail;
	q[0] = org;
	q[1] = name;
	q[2] = r->p.user;
	if ((res = sql_state("INSERT INTO collections (org_id, name, "
	    "created_by) VALUES ($1, $2, $3) RETURNING id", 3, q, state)) ==
	    NULL) {
		if (strcmp(state, "23505") != 0)
			goto fail;
		sql_rollback();
		areq_error(r, 409, "conflict", "the organization already has "
		    "a collection of this name");
		return;
	}
	strlcpy(cid, PQgetvalue(res, 0, 0), sizeof(cid));
	PQclear(res);
	q[0] = cid;
	q[1] = r->p.user;
	if (sql_exec("INSERT INTO collection_members (collection_id, user_id, "
	    "role) VALUES ($1, $2, 'owner')", 2, q) == -1 ||
	    sql_commit() == -1)
		goto fail;
	coll_target(target, sizeof(target), cid);
	audit(r, org, target, "ok", NULL);
	areq_reply(r, 201, json_pack("{s:s,s:s,s:s,s:s}", "id", cid, "org_id",
	    org, "name", name, "role", "owner"), NULL);
	return;
fail:
	sql_rollback();
	areq_internal(r);
}

static json_t *
coll_json(const struct coll_info *ci)
{
	const char	*q[1] = { ci->id };
	PGresult	*res;
	json_t		*j = NULL;

	if ((res = sql("SELECT id, org_id, name, " SQL_TS("created_at")
	    " FROM collections WHERE id = $1", 1, q)) == NULL)
		return NULL;
	if (PQntuples(res) == 1)
		j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id",
		    PQgetvalue(res, 0, 0), "org_id", PQgetvalue(res, 0, 1),
		    "name", PQgetvalue(res, 0, 2), "created_at",
		    PQgetvalue(res, 0, 3), "role", coll_role_name(ci->eff));
	PQclear(res);
	return j;
}

void
op_coll_get(struct areq *r)
{
	struct coll_info	 ci;
	const char		*id;

	if ((id = areq_uuid_param(r, 0)) == NULL ||
	    authz_coll(r, id, ACT_COLL_READ, &ci) == -1)
		return;
	/* A NULL body (out of memory) is answered 500 by areq_reply. */
	areq_reply(r, 200, coll_json(&ci), NULL);
}

void
op_coll_update(struct areq *r)
{
	struct coll_info	 ci;
	const char		*id, *name, *q[2];
	char			 state[6], target[64];
	PGresult		*res;

	if ((id = areq_uuid_param(r, 0)) == NULL ||
	    authz_coll(r, id, ACT_COLL_ADMIN, &ci) == -1 ||
	    (name = coll_name_arg(r)) == NULL)
		return;
	q[0] = id;
	q[1] = name;
	if ((res = sql_state("UPDATE collections SET name = $2 WHERE id = $1",
	    2, q, state)) == NULL) {
		if (strcmp(state, "23505") == 0)
			areq_error(r, 409, "conflict", "the organization "
			    "already has a collection of this name");
		else
			areq_internal(r);
		return;
	}
	PQclear(res);
	coll_target(target, sizeof(target), id);
	audit(r, ci.org, target, "ok", NULL);
	/* A NULL body (out of memory) is answered 500 by areq_reply. */
	areq_reply(r, 200, coll_json(&ci), NULL);
}

void
op_coll_delete(struct areq *r)
{
	struct coll_info	 ci;
	const char		*id, *q[1];
	char			 target[64];

	if ((id = areq_uuid_param(r, 0)) == NULL ||
	    authz_coll(r, id, ACT_COLL_DELETE, &ci) == -1)
		return;
	q[0] = id;
	if (sql_exec("DELETE FROM collections WHERE id = $1", 1, q) == -1) {
		areq_internal(r);
		return;
	}
	coll_target(target, sizeof(target), id);
	audit(r, ci.org, target, "ok", NULL);
	areq_ok(r);
}

void
op_cmember_list(struct areq *r)
{
	struct coll_info	 ci;
	const char		*id, *q[1];
	PGresult		*res;
	json_t			*a;

	if ((id = areq_uuid_param(r, 0)) == NULL ||
	    authz_coll(r, id, ACT_COLL_READ, &ci) == -1)
		return;
	q[0] = id;
	if ((res = sql("SELECT u.id, u.email, cm.role FROM collection_members "
	    "cm JOIN users u ON u.id = cm.user_id WHERE cm.collection_id = $1 "
	    "ORDER BY u.email", 1, q)) == NULL) {
		areq_internal(r);
		return;
	}
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "user_id",
		    PQgetvalue(res, i, 0), "email", PQgetvalue(res, i, 1),
		    "role", PQgetvalue(res, i, 2)));
	PQclear(res);
	areq_reply(r, 200, json_pack("{s:o}", "members", a), NULL);
}

static int
cmember_change_ok(struct areq *r, const struct coll_info *ci,
    const char *user, enum authz_result res)
{
	char	 target[128];

	if (res == AUTHZ_ALLOW)
		return 1;
	snprintf(target, sizeof(target), "collection:%s/user:%s", ci->id,
	    user);
	audit(r, ci->org, target, "denied", NULL);
	if (res == AUTHZ_CONFLICT)
		areq_error(r, 409, "conflict", "the last owner cannot be "
		    "removed or demoted");
	else
		areq_error(r, 403, "forbidden", "only a collection owner "
		    "grants or removes owner");
	return 0;
}

static int
cmember_role_arg(struct areq *r)
{
	int	 role;

	if ((role = coll_role_parse(body_str(r, "role"))) == -1)
		areq_error(r, 400, "bad_request", "'role' must be viewer, "
		    "editor, admin or owner");
	return role;
}

/* The user named by user_id or email, who must be in the org. */
static int
cmember_find(struct areq *r, const struct coll_info *ci, char *uid,
    char *email)
{
	const char	*byid = body_str(r, "user_id"), *q[2];
	char		 norm[EMAIL_MAX + 1];
	PGresult	*res;
	int		 found;

	if ((byid == NULL) == (body_str(r, "email") == NULL)) {
		areq_error(r, 400, "bad_request", "give 'user_id' or 'email'");
		return -1;
	}
	if ((byid != NULL && !uuid_valid(byid)) || (byid == NULL &&
	    email_normalize(body_str(r, "email"), norm, sizeof(norm)) == -1)) {
		areq_error(r, 400, "bad_request", "'user_id' must be a UUID, "
		    "'email' an e-mail address");
		return -1;
	}
	q[0] = ci->org;
	q[1] = byid != NULL ? byid : norm;
	if ((res = sql(byid != NULL ?
	    "SELECT u.id, u.email FROM users u JOIN org_members m ON "
	    "m.user_id = u.id AND m.org_id = $1 WHERE u.id = $2" :
	    "SELECT u.id, u.email FROM users u JOIN org_members m ON "
	    "m.user_id = u.id AND m.org_id = $1 WHERE u.email = $2", 2, q)) ==
	    NULL) {
		areq_internal(r);
		return -1;
	}
	if ((found = PQntuples(res) == 1)) {
		strlcpy(uid, PQgetvalue(res, 0, 0), UUID_LEN + 1);
		strlcpy(email, PQgetvalue(res, 0, 1), EMAIL_MAX + 1);
	}
	PQclear(res);
	if (!found)
		areq_error(r, 404, "not_found", "no such member of the "
		    "organization");
	return found ? 0 : -1;
}

static const struct body_field cmember_add_fields[] = {
	{ "user_id", BF_STRING, 0, 64 },
	{ "email", BF_STRING, 0, 1024 },
	{ "role", BF_STRING, 1, 16 },
};

void
op_cmember_add(struct areq *r)
{
	struct coll_info	 ci;
	const char		*id, *q[3];
	char			 uid[UUID_LEN + 1], email[EMAIL_MAX + 1];
	char			 target[128];
	PGresult		*res;
	int			 role;

	if ((id = areq_uuid_param(r, 0)) == NULL ||
	    authz_coll(r, id, ACT_COLL_ADMIN, &ci) == -1 ||
	    areq_body(r, cmember_add_fields, nitems(cmember_add_fields)) ==
	    -1 || (role = cmember_role_arg(r)) == -1 ||
	    !cmember_change_ok(r, &ci, "-", authz_coll_role_change(
	    ci.coll_role, COLL_NONE, (enum coll_role)role, 0)) ||
	    cmember_find(r, &ci, uid, email) == -1)
		return;
	q[0] = id;
	q[1] = uid;
	q[2] = coll_role_name((enum coll_role)role);
	if ((res = sql("INSERT INTO collection_members (collection_id, "
	    "user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", 3,
	    q)) == NULL) {
		areq_internal(r);
		return;
	}
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		PQclear(res);
		areq_error(r, 409, "conflict", "already a member of the "
		    "collection");
		return;
	}
	PQclear(res);
	snprintf(target, sizeof(target), "collection:%s/user:%s", id, uid);
	audit(r, ci.org, target, "ok", json_pack("{s:s}", "role", q[2]));
	areq_reply(r, 201, json_pack("{s:s,s:s,s:s}", "user_id", uid, "email",
	    email, "role", q[2]), NULL);
}

/* The target's role and email, and how many owners there are. */
static int
cmember_load(struct areq *r, const char *coll, const char *user,
    enum coll_role *from, long long *owners, char *email)
{
	const char	*q[2] = { coll, user };
	PGresult	*res;
	int		 v = -1;

	if ((res = sql("SELECT cm.role, u.email, (SELECT count(*) FROM "
	    "collection_members WHERE collection_id = $1 AND role = 'owner') "
	    "FROM collection_members cm JOIN users u ON u.id = cm.user_id "
	    "WHERE cm.collection_id = $1 AND cm.user_id = $2", 2, q)) ==
	    NULL) {
		areq_internal(r);
		return -1;
	}
	if (PQntuples(res) == 1) {
		v = coll_role_parse(PQgetvalue(res, 0, 0));
		strlcpy(email, PQgetvalue(res, 0, 1), EMAIL_MAX + 1);
		*owners = strtonum(PQgetvalue(res, 0, 2), 0, LLONG_MAX, NULL);
	}
	PQclear(res);
	if (v == -1) {
		areq_error(r, 404, "not_found", "not a member of the "
		    "collection");
		return -1;
	}
	*from = (enum coll_role)v;
	return 0;
}

static const struct body_field role_fields[] = {
	{ "role", BF_STRING, 1, 16 },
};

void
op_cmember_update(struct areq *r)
{
	struct coll_info	 ci;
	const char		*id, *user, *q[3];
	char			 email[EMAIL_MAX + 1], target[128];
	enum coll_role		 from;
	long long		 owners = 0;
	int			 to;

	if ((id = areq_uuid_param(r, 0)) == NULL ||
	    authz_coll(r, id, ACT_COLL_ADMIN, &ci) == -1 ||
	    areq_body(r, role_fields, nitems(role_fields)) == -1 ||
	    (to = cmember_role_arg(r)) == -1 ||
	    (user = areq_uuid_param(r, 1)) == NULL ||
	    cmember_load(r, id, user, &from, &owners, email) == -1 ||
	    !cmember_change_ok(r, &ci, user, authz_coll_role_change(
	    ci.coll_role, from, (enum coll_role)to, owners)))
		return;
	q[0] = id;
	q[1] = user;
	q[2] = coll_role_name((enum coll_role)to);
	if (sql_exec("UPDATE collection_members SET role = $3 WHERE "
	    "collection_id = $1 AND user_id = $2", 3, q) == -1) {
		areq_internal(r);
		return;
	}
	snprintf(target, sizeof(target), "collection:%s/user:%s", id, user);
	audit(r, ci.org, target, "ok", json_pack("{s:s,s:s}", "from",
	    coll_role_name(from), "to", q[2]));
	areq_reply(r, 200, json_pack("{s:s,s:s,s:s}", "user_id", user,
	    "email", email, "role", q[2]), NULL);
}

void
op_cmember_remove(struct areq *r)
{
	struct coll_info	 ci;
	const char		*id, *user, *q[2];
	char			 email[EMAIL_MAX + 1], target[128];
	enum coll_role		 from;
	long long		 owners = 0;

	if ((id = areq_uuid_param(r, 0)) == NULL ||
	    authz_coll(r, id, ACT_COLL_ADMIN, &ci) == -1 ||
	    (user = areq_uuid_param(r, 1)) == NULL ||
	    cmember_load(r, id, user, &from, &owners, email) == -1 ||
	    !cmember_change_ok(r, &ci, user, authz_coll_role_change(
	    ci.coll_role, from, COLL_NONE, owners)))
		return;
	q[0] = id;
	q[1] = user;
	if (sql_exec("DELETE FROM collection_members WHERE collection_id = $1 "
	    "AND user_id = $2", 2, q) == -1) {
		areq_internal(r);
		return;
	}
	snprintf(target, sizeof(target), "collection:%s/user:%s", id, user);
	audit(r, ci.org, target, "ok", json_pack("{s:s}", "role",
	    coll_role_name(from)));
	areq_ok(r);
}

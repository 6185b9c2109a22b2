/*
 * The database half of the permission checks: load the caller's roles
 * (for an API key, its creator's roles now, and none outside the key's
 * organization), ask authz_decide(), and answer a refusal with 403 or 404
 * and an audit row.
 */
#include <stdio.h>
#include <string.h>

#include "authd/authd.h"
#include "common/log.h"

int
authz_load_org_role(const char *org, const char *user, enum org_role *role)
{
	const char	*q[2] = { org, user };
	PGresult	*res;
	int		 v;

	*role = ORG_NONE;
	res = sql("SELECT role FROM org_members WHERE org_id = $1 AND "
	    "user_id = $2", 2, q);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1 &&
	    (v = org_role_parse(PQgetvalue(res, 0, 0))) != -1)
		*role = (enum org_role)v;
	PQclear(res);
	return 0;
}

void
authz_subject(const struct areq *r, enum org_role org, enum coll_role coll,
    const char *cid, struct authz_subject *s)
{
	memset(s, 0, sizeof(*s));
	s->org = org;
	s->coll = coll;
	s->kind = r->p.kind;
	s->cap = r->p.key_cap;
	if (r->p.kind != PRINCIPAL_APIKEY || r->p.key_coll[0] == '\0')
		s->scope = SCOPE_ORG;
	else if (cid == NULL || strcmp(cid, r->p.key_coll) == 0)
		s->scope = SCOPE_THIS;
	else
		s->scope = SCOPE_OTHER;
}

/* A key never reaches outside its own organization. */
static enum org_role
authz_key_org(const struct areq *r, const char *org, enum org_role role)
{
	if (r->p.kind == PRINCIPAL_APIKEY && strcmp(org, r->p.key_org) != 0)
		return ORG_NONE;
	return role;
}

static int
authz_refuse(struct areq *r, enum authz_result res, const char *org,
    const char *target)
{
	audit(r, org, target, "denied", NULL);
	if (res == AUTHZ_NOT_FOUND)
		areq_error(r, 404, "not_found", "no such resource");
	else
		areq_error(r, 403, "forbidden", "not allowed");
	return -1;
}

int
authz_org(struct areq *r, const char *org, enum authz_action act,
    enum org_role *rolep)
{
	struct authz_subject	 s;
	enum org_role		 role;
	enum authz_result	 res;
	char			 target[64];

	if (authz_load_org_role(org, r->p.user, &role) == -1) {
		areq_internal(r);
		return -1;
	}
	role = authz_key_org(r, org, role);
	authz_subject(r, role, COLL_NONE, NULL, &s);
	snprintf(target, sizeof(target), "org:%s", org);
	if ((res = authz_decide(&s, act)) != AUTHZ_ALLOW)
		return authz_refuse(r, res, org, target);
	if (rolep != NULL)
		*rolep = role;
	return 0;
}

int
authz_coll(struct areq *r, const char *coll, enum authz_action act,
    struct coll_info *ci)
{
	const char		*q[2] = { coll, r->p.user };
	struct authz_subject	 s;
	enum authz_result	 res;
	PGresult		*pr;
	char			 target[64];
	int			 v;

	memset(ci, 0, sizeof(*ci));
	snprintf(target, sizeof(target), "collection:%s", coll);
	pr = sql("SELECT c.org_id, om.role, cm.role FROM collections c "
	    "LEFT JOIN org_members om ON om.org_id = c.org_id AND "
	    "om.user_id = $2 LEFT JOIN collection_members cm ON "
	    "cm.collection_id = c.id AND cm.user_id = $2 WHERE c.id = $1",
	    2, q);
	if (pr == NULL) {
		areq_internal(r);
		return -1;
	}
	if (PQntuples(pr) != 1) {
		PQclear(pr);
		return authz_refuse(r, AUTHZ_NOT_FOUND, NULL, target);
	}
	strlcpy(ci->id, coll, sizeof(ci->id));
	strlcpy(ci->org, PQgetvalue(pr, 0, 0), sizeof(ci->org));
	if (!PQgetisnull(pr, 0, 1) &&
	    (v = org_role_parse(PQgetvalue(pr, 0, 1))) != -1)
		ci->org_role = (enum org_role)v;
	if (!PQgetisnull(pr, 0, 2) &&
	    (v = coll_role_parse(PQgetvalue(pr, 0, 2))) != -1)
		ci->coll_role = (enum coll_role)v;
	PQclear(pr);
	ci->org_role = authz_key_org(r, ci->org, ci->org_role);
	authz_subject(r, ci->org_role, ci->coll_role, coll, &s);
	ci->eff = authz_coll_effective(&s);
	if ((res = authz_decide(&s, act)) != AUTHZ_ALLOW)
		return authz_refuse(r, res, ci->org, target);
	return 0;
}

/*
 * Who may do what (DESIGN.md section 3).  Pure functions of the roles, so
 * the whole matrix is unit-tested; the handlers only load the roles.
 *
 * Order of the checks matters for what a caller learns: first whether it
 * can see the resource at all (404), then whether an API key may do this
 * kind of thing (403), then the role (403).
 */
#include <string.h>

#include "authd/authz.h"
#include "common/util.h"

static const char *const org_roles[] = {
	[ORG_MEMBER] = "member", [ORG_ADMIN] = "admin", [ORG_OWNER] = "owner",
};
static const char *const coll_roles[] = {
	[COLL_VIEWER] = "viewer", [COLL_EDITOR] = "editor",
	[COLL_ADMIN] = "admin", [COLL_OWNER] = "owner",
};
static const char *const key_caps[] = {
	[CAP_READ] = "read", [CAP_READWRITE] = "read-write",
};

/* The least role each action needs; org actions use the org role. */
static const struct {
	int		 coll;		/* 1: a collection action */
	int		 key_ok;	/* 1: an API key may do it */
	int		 need;		/* enum org_role or enum coll_role */
} matrix[ACT_MAX] = {
	[ACT_ORG_READ] =	{ 0, 1, ORG_MEMBER },
	[ACT_ORG_MEMBERS] =	{ 0, 0, ORG_ADMIN },
	[ACT_ORG_DELETE] =	{ 0, 0, ORG_OWNER },
	[ACT_COLL_CREATE] =	{ 0, 0, ORG_MEMBER },
	[ACT_COLL_READ] =	{ 1, 1, COLL_VIEWER },
	[ACT_COLL_WRITE] =	{ 1, 1, COLL_EDITOR },
	[ACT_COLL_ADMIN] =	{ 1, 0, COLL_ADMIN },
	[ACT_COLL_DELETE] =	{ 1, 0, COLL_OWNER },
	[ACT_KEY_CREATE] =	{ 0, 0, ORG_MEMBER },
	[ACT_KEY_MANAGE] =	{ 0, 0, ORG_ADMIN },
	[ACT_AUDIT_READ] =	{ 0, 0, ORG_ADMIN },
};

int
authz_is_coll_action(enum authz_action a)
{
	return a < ACT_MAX && matrix[a].coll;
}

enum coll_role
authz_coll_effective(const struct authz_subject *s)
{
	enum coll_role	 eff = s->coll, limit;

	if (s->org == ORG_NONE)
		return COLL_NONE;
	/* Org owners and admins act as collection admins, never owners. */
	if (s->org >= ORG_ADMIN && eff < COLL_ADMIN)
		eff = COLL_ADMIN;
	if (s->kind == PRINCIPAL_APIKEY) {
		if (s->scope == SCOPE_OTHER)
			return COLL_NONE;
		limit = s->cap == CAP_READWRITE ? COLL_EDITOR : COLL_VIEWER;
		if (eff > limit)
			eff = limit;
	}
	return eff;
}

enum authz_result
authz_decide(const struct authz_subject *s, enum authz_action a)
{
	enum coll_role	 eff;

	if (a >= ACT_MAX || s->org == ORG_NONE)
		return AUTHZ_NOT_FOUND;
	if (matrix[a].coll) {
		if ((eff = authz_coll_effective(s)) == COLL_NONE)
			return AUTHZ_NOT_FOUND;
		if (s->kind == PRINCIPAL_APIKEY && !matrix[a].key_ok)
			return AUTHZ_FORBIDDEN;
		/* Owner is the explicit role only: admins never rise to it. */
		if (a == ACT_COLL_DELETE)
			return s->coll == COLL_OWNER &&
			    s->kind == PRINCIPAL_SESSION ?
			    AUTHZ_ALLOW : AUTHZ_FORBIDDEN;
		return (int)eff >= matrix[a].need ? AUTHZ_ALLOW :
		    AUTHZ_FORBIDDEN;
	}
	if (s->kind == PRINCIPAL_APIKEY && !matrix[a].key_ok)
		return AUTHZ_FORBIDDEN;
	return (int)s->org >= matrix[a].need ? AUTHZ_ALLOW : AUTHZ_FORBIDDEN;
}

enum authz_result
authz_org_role_change(enum org_role actor, enum org_role from,
    enum org_role to, long long owners)
{
	if (actor < ORG_ADMIN)
		return AUTHZ_FORBIDDEN;
	if ((from == ORG_OWNER || to == ORG_OWNER) && actor != ORG_OWNER)
		return AUTHZ_FORBIDDEN;
	if (from == ORG_OWNER && to != ORG_OWNER && owners <= 1)
		return AUTHZ_CONFLICT;
	return AUTHZ_ALLOW;
}

enum authz_result
authz_coll_role_change(enum coll_role actor, enum coll_role from,
    enum coll_role to, long long owners)
{
	if ((from == COLL_OWNER || to == COLL_OWNER) && actor != COLL_OWNER)
		return AUTHZ_FORBIDDEN;
	if (from == COLL_OWNER && to != COLL_OWNER && owners <= 1)
		return AUTHZ_CONFLICT;
	return AUTHZ_ALLOW;
}

static int
name_parse(const char *const *names, size_t n, const char *s)
{
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int
org_role_parse(const char *s)
{
	return name_parse(org_roles, nitems(org_roles), s);
}

const char *
org_role_name(enum org_role r)
{
	return (size_t)r < nitems(org_roles) ? org_roles[r] : NULL;
}

int
coll_role_parse(const char *s)
{
	return name_parse(coll_roles, nitems(coll_roles), s);
}

const char *
coll_role_name(enum coll_role r)
{
	return (size_t)r < nitems(coll_roles) ? coll_roles[r] : NULL;
}

int
key_cap_parse(const char *s)
{
	return name_parse(key_caps, nitems(key_caps), s);
}

const char *
key_cap_name(enum key_cap c)
{
	return (size_t)c < nitems(key_caps) ? key_caps[c] : NULL;
}

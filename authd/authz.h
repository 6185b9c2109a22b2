/*
 * The permission matrix of DESIGN.md section 3 as pure functions: no
 * database, no globals.  The handlers load the roles (the creator's roles
 * *now* for an API key) and ask these functions; tests/unit/test_authd_authz.c
 * walks the whole matrix.
 */
#ifndef BALLAST_AUTHD_AUTHZ_H
#define BALLAST_AUTHD_AUTHZ_H

/* Ordered: a higher value includes every right of the lower ones. */
enum org_role {
	ORG_NONE = 0,
	ORG_MEMBER,
	ORG_ADMIN,
	ORG_OWNER
};

enum coll_role {
	COLL_NONE = 0,
	COLL_VIEWER,
	COLL_EDITOR,
	COLL_ADMIN,
	COLL_OWNER
};

enum principal_kind {
	PRINCIPAL_SESSION = 0,
	PRINCIPAL_APIKEY
};

enum key_cap {
	CAP_READ = 0,
	CAP_READWRITE
};

/* Where a key's collection scope puts the collection at hand. */
enum key_scope {
	SCOPE_ORG = 0,		/* every collection of the org */
	SCOPE_THIS,		/* a collection key, and this is its collection */
	SCOPE_OTHER		/* a collection key, and this is another one */
};

enum authz_action {
	ACT_ORG_READ = 0,	/* read org, list its members */
	ACT_ORG_MEMBERS,	/* invite/remove members, change roles */
	ACT_ORG_DELETE,
	ACT_COLL_CREATE,
	ACT_COLL_READ,		/* read collection, list sources, search */
	ACT_COLL_WRITE,		/* push documents, add/sync/edit sources */
	ACT_COLL_ADMIN,		/* manage collection members, rename */
	ACT_COLL_DELETE,
	ACT_KEY_CREATE,
	ACT_KEY_MANAGE,		/* list all keys, revoke others' keys */
	ACT_AUDIT_READ,
	ACT_MAX
};

enum authz_result {
	AUTHZ_ALLOW = 0,
	AUTHZ_FORBIDDEN,	/* 403: it can see the resource */
	AUTHZ_NOT_FOUND,	/* 404: it cannot see the resource at all */
	AUTHZ_CONFLICT		/* 409: the last owner would go */
};

struct authz_subject {
	enum org_role		 org;	/* the user's org role (creator's for a key) */
	enum coll_role		 coll;	/* explicit collection role, if any */
	enum principal_kind	 kind;
	enum key_scope		 scope;	/* API keys only */
	enum key_cap		 cap;	/* API keys only */
};

/* 1 for actions on one collection (the collection role matters). */
int		 authz_is_coll_action(enum authz_action);
/*
 * The collection role that counts: the explicit one, raised to admin for
 * org owners and admins (never to owner), then for an API key limited by
 * its scope (COLL_NONE outside it) and cap (viewer for read, editor for
 * read-write).
 */
enum coll_role	 authz_coll_effective(const struct authz_subject *);
enum authz_result authz_decide(const struct authz_subject *, enum authz_action);

/*
 * Role changes, beyond the ACT_*_MEMBERS / ACT_COLL_ADMIN check.  from
 * and to are the target's role before and after (NONE for add/remove);
 * owners = how many owners there are now.  Only an owner grants or takes
 * away owner; the last owner cannot be removed or demoted.
 */
enum authz_result authz_org_role_change(enum org_role actor,
		    enum org_role from, enum org_role to, long long owners);
/* actor = the actor's explicit collection role (org admins are not owners). */
enum authz_result authz_coll_role_change(enum coll_role actor,
		    enum coll_role from, enum coll_role to, long long owners);

/* Names as in the schema's enums; -1 / NULL when unknown. */
int		 org_role_parse(const char *);
const char	*org_role_name(enum org_role);
int		 coll_role_parse(const char *);
const char	*coll_role_name(enum coll_role);
int		 key_cap_parse(const char *);
const char	*key_cap_name(enum key_cap);

#endif

/*
 * authd's permission matrix (DESIGN.md section 3) as a pure function:
 * every combination of org role, collection role, principal kind, key
 * scope, key cap and action against an independent statement of the
 * rules, then named cells that say the rules in words, then role changes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "authd/authz.h"

static int
is_coll(enum authz_action a)
{
	return a == ACT_COLL_READ || a == ACT_COLL_WRITE ||
	    a == ACT_COLL_ADMIN || a == ACT_COLL_DELETE;
}

/* The rules, written out again independently of authz.c's table. */
static enum authz_result
oracle(enum org_role org, enum coll_role coll, enum principal_kind kind,
    enum key_scope scope, enum key_cap cap, enum authz_action a)
{
	int	 key = kind == PRINCIPAL_APIKEY, eff;

	if (org == ORG_NONE)
		return AUTHZ_NOT_FOUND;		/* not even in the org */
	if (!is_coll(a)) {
		if (key && a != ACT_ORG_READ)
			return AUTHZ_FORBIDDEN;	/* keys never manage */
		switch (a) {
		case ACT_ORG_READ:
		case ACT_COLL_CREATE:
		case ACT_KEY_CREATE:
			return AUTHZ_ALLOW;	/* any member */
		case ACT_ORG_DELETE:
			return org == ORG_OWNER ? AUTHZ_ALLOW :
			    AUTHZ_FORBIDDEN;
		default:			/* members, keys, audit */
			return org >= ORG_ADMIN ? AUTHZ_ALLOW :
			    AUTHZ_FORBIDDEN;
		}
	}
	eff = coll;
	if ((org == ORG_ADMIN || org == ORG_OWNER) && eff < COLL_ADMIN)
		eff = COLL_ADMIN;
	if (key) {
		if (scope == SCOPE_OTHER)
			eff = COLL_NONE;
		else if (cap == CAP_READ && eff > COLL_VIEWER)
			eff = COLL_VIEWER;
		else if (cap == CAP_READWRITE && eff > COLL_EDITOR)
			eff = COLL_EDITOR;
	}
	if (eff == COLL_NONE)
		return AUTHZ_NOT_FOUND;		/* cannot see it */
	switch (a) {
	case ACT_COLL_READ:
		return AUTHZ_ALLOW;
	case ACT_COLL_WRITE:
		return eff >= COLL_EDITOR ? AUTHZ_ALLOW : AUTHZ_FORBIDDEN;
	case ACT_COLL_ADMIN:
		return !key && eff >= COLL_ADMIN ? AUTHZ_ALLOW :
		    AUTHZ_FORBIDDEN;
	default:
		return !key && coll == COLL_OWNER ? AUTHZ_ALLOW :
		    AUTHZ_FORBIDDEN;
	}
}

static enum authz_result
decide(enum org_role org, enum coll_role coll, enum principal_kind kind,
    enum key_scope scope, enum key_cap cap, enum authz_action a)
{
	struct authz_subject	 s = { org, coll, kind, scope, cap };

	return authz_decide(&s, a);
}

static void
test_whole_matrix(void **state)
{
	int	 cells = 0, allowed = 0;

	for (int o = ORG_NONE; o <= ORG_OWNER; o++)
	for (int c = COLL_NONE; c <= COLL_OWNER; c++)
	for (int k = PRINCIPAL_SESSION; k <= PRINCIPAL_APIKEY; k++)
	for (int s = SCOPE_ORG; s <= SCOPE_OTHER; s++)
	for (int cap = CAP_READ; cap <= CAP_READWRITE; cap++)
	for (int a = 0; a < ACT_MAX; a++) {
		enum authz_result want = oracle(o, c, k, s, cap, a);
		enum authz_result got = decide(o, c, k, s, cap, a);

		if (want != got)
			fail_msg("org %d coll %d kind %d scope %d cap %d "
			    "action %d: want %d got %d", o, c, k, s, cap, a,
			    want, got);
		cells++;
		allowed += got == AUTHZ_ALLOW;
	}
	assert_int_equal(cells, 4 * 5 * 2 * 3 * 2 * ACT_MAX);
	/* Neither everything nor nothing. */
	assert_true(allowed > 0 && allowed < cells / 2);
}

#define S	PRINCIPAL_SESSION
#define K	PRINCIPAL_APIKEY

static void
test_named_cells(void **state)
{
	/* Outsiders see nothing. */
	assert_int_equal(decide(ORG_NONE, COLL_OWNER, S, SCOPE_ORG, CAP_READ,
	    ACT_COLL_READ), AUTHZ_NOT_FOUND);
	assert_int_equal(decide(ORG_NONE, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_ORG_READ), AUTHZ_NOT_FOUND);
	/* A member without a collection role cannot see the collection. */
	assert_int_equal(decide(ORG_MEMBER, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_COLL_READ), AUTHZ_NOT_FOUND);
	/* Members read the org but do not manage it. */
	assert_int_equal(decide(ORG_MEMBER, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_ORG_READ), AUTHZ_ALLOW);
	assert_int_equal(decide(ORG_MEMBER, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_ORG_MEMBERS), AUTHZ_FORBIDDEN);
	assert_int_equal(decide(ORG_MEMBER, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_AUDIT_READ), AUTHZ_FORBIDDEN);
	assert_int_equal(decide(ORG_ADMIN, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_AUDIT_READ), AUTHZ_ALLOW);
	/* Only an owner deletes the org. */
	assert_int_equal(decide(ORG_ADMIN, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_ORG_DELETE), AUTHZ_FORBIDDEN);
	assert_int_equal(decide(ORG_OWNER, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_ORG_DELETE), AUTHZ_ALLOW);
	/* Org admins are collection admins, never owners. */
	assert_int_equal(decide(ORG_ADMIN, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_COLL_ADMIN), AUTHZ_ALLOW);
	assert_int_equal(decide(ORG_OWNER, COLL_NONE, S, SCOPE_ORG, CAP_READ,
	    ACT_COLL_DELETE), AUTHZ_FORBIDDEN);
	assert_int_equal(decide(ORG_MEMBER, COLL_OWNER, S, SCOPE_ORG,
	    CAP_READ, ACT_COLL_DELETE), AUTHZ_ALLOW);
	/* Viewers read, editors write, admins manage. */
	assert_int_equal(decide(ORG_MEMBER, COLL_VIEWER, S, SCOPE_ORG,
	    CAP_READ, ACT_COLL_WRITE), AUTHZ_FORBIDDEN);
	assert_int_equal(decide(ORG_MEMBER, COLL_EDITOR, S, SCOPE_ORG,
	    CAP_READ, ACT_COLL_WRITE), AUTHZ_ALLOW);
	assert_int_equal(decide(ORG_MEMBER, COLL_EDITOR, S, SCOPE_ORG,
	    CAP_READ, ACT_COLL_ADMIN), AUTHZ_FORBIDDEN);
	/* A key never has more than its creator now: a viewer's rw key. */
	assert_int_equal(decide(ORG_MEMBER, COLL_VIEWER, K, SCOPE_ORG,
	    CAP_READWRITE, ACT_COLL_WRITE), AUTHZ_FORBIDDEN);
	assert_int_equal(decide(ORG_MEMBER, COLL_EDITOR, K, SCOPE_ORG,
	    CAP_READWRITE, ACT_COLL_WRITE), AUTHZ_ALLOW);
	/* The cap narrows: an owner's read key cannot write. */
	assert_int_equal(decide(ORG_OWNER, COLL_OWNER, K, SCOPE_ORG, CAP_READ,
	    ACT_COLL_WRITE), AUTHZ_FORBIDDEN);
	/* The scope narrows: another collection is invisible. */
	assert_int_equal(decide(ORG_OWNER, COLL_OWNER, K, SCOPE_OTHER,
	    CAP_READWRITE, ACT_COLL_READ), AUTHZ_NOT_FOUND);
	assert_int_equal(decide(ORG_OWNER, COLL_OWNER, K, SCOPE_THIS,
	    CAP_READWRITE, ACT_COLL_WRITE), AUTHZ_ALLOW);
	/* Keys never manage members, keys, organizations or read audit. */
	for (int a = 0; a < ACT_MAX; a++) {
		if (a == ACT_ORG_READ || a == ACT_COLL_READ ||
		    a == ACT_COLL_WRITE)
			continue;
		assert_int_equal(decide(ORG_OWNER, COLL_OWNER, K, SCOPE_ORG,
		    CAP_READWRITE, a), AUTHZ_FORBIDDEN);
	}
	/* The creator lost its role: the key has nothing. */
	assert_int_equal(decide(ORG_MEMBER, COLL_NONE, K, SCOPE_THIS,
	    CAP_READWRITE, ACT_COLL_READ), AUTHZ_NOT_FOUND);
}

static void
test_effective(void **state)
{
	struct authz_subject	 s = { ORG_ADMIN, COLL_VIEWER, S, SCOPE_ORG,
	    CAP_READ };

	assert_int_equal(authz_coll_effective(&s), COLL_ADMIN);
	s.coll = COLL_OWNER;
	assert_int_equal(authz_coll_effective(&s), COLL_OWNER);
	s.kind = K;
	assert_int_equal(authz_coll_effective(&s), COLL_VIEWER);
	s.cap = CAP_READWRITE;
	assert_int_equal(authz_coll_effective(&s), COLL_EDITOR);
	s.scope = SCOPE_OTHER;
	assert_int_equal(authz_coll_effective(&s), COLL_NONE);
	s.scope = SCOPE_THIS;
	s.org = ORG_NONE;
	assert_int_equal(authz_coll_effective(&s), COLL_NONE);
}

static void
test_org_role_change(void **state)
{
	/* Admins manage members and admins. */
	assert_int_equal(authz_org_role_change(ORG_ADMIN, ORG_NONE,
	    ORG_MEMBER, 1), AUTHZ_ALLOW);
	assert_int_equal(authz_org_role_change(ORG_ADMIN, ORG_MEMBER,
	    ORG_ADMIN, 1), AUTHZ_ALLOW);
	assert_int_equal(authz_org_role_change(ORG_ADMIN, ORG_ADMIN,
	    ORG_NONE, 1), AUTHZ_ALLOW);
	/* Only an owner grants or removes owner. */
	assert_int_equal(authz_org_role_change(ORG_ADMIN, ORG_NONE,
	    ORG_OWNER, 1), AUTHZ_FORBIDDEN);
	assert_int_equal(authz_org_role_change(ORG_ADMIN, ORG_MEMBER,
	    ORG_OWNER, 1), AUTHZ_FORBIDDEN);
	assert_int_equal(authz_org_role_change(ORG_ADMIN, ORG_OWNER,
	    ORG_NONE, 2), AUTHZ_FORBIDDEN);
	assert_int_equal(authz_org_role_change(ORG_OWNER, ORG_MEMBER,
	    ORG_OWNER, 1), AUTHZ_ALLOW);
	assert_int_equal(authz_org_role_change(ORG_OWNER, ORG_OWNER,
	    ORG_NONE, 2), AUTHZ_ALLOW);
	/* The last owner stays. */
	assert_int_equal(authz_org_role_change(ORG_OWNER, ORG_OWNER,
	    ORG_NONE, 1), AUTHZ_CONFLICT);
	assert_int_equal(authz_org_role_change(ORG_OWNER, ORG_OWNER,
	    ORG_ADMIN, 1), AUTHZ_CONFLICT);
	assert_int_equal(authz_org_role_change(ORG_OWNER, ORG_OWNER,
	    ORG_OWNER, 1), AUTHZ_ALLOW);
	/* Members change nothing. */
	assert_int_equal(authz_org_role_change(ORG_MEMBER, ORG_NONE,
	    ORG_MEMBER, 1), AUTHZ_FORBIDDEN);
}

static void
test_coll_role_change(void **state)
{
	/* An org admin (explicit role none) is no collection owner. */
	assert_int_equal(authz_coll_role_change(COLL_NONE, COLL_NONE,
	    COLL_VIEWER, 1), AUTHZ_ALLOW);
	assert_int_equal(authz_coll_role_change(COLL_NONE, COLL_NONE,
	    COLL_OWNER, 1), AUTHZ_FORBIDDEN);
	assert_int_equal(authz_coll_role_change(COLL_ADMIN, COLL_OWNER,
	    COLL_VIEWER, 2), AUTHZ_FORBIDDEN);
	assert_int_equal(authz_coll_role_change(COLL_OWNER, COLL_OWNER,
	    COLL_VIEWER, 2), AUTHZ_ALLOW);
	assert_int_equal(authz_coll_role_change(COLL_OWNER, COLL_OWNER,
	    COLL_NONE, 1), AUTHZ_CONFLICT);
	assert_int_equal(authz_coll_role_change(COLL_OWNER, COLL_VIEWER,
	    COLL_OWNER, 1), AUTHZ_ALLOW);
}

static void
test_names(void **state)
{
	assert_int_equal(org_role_parse("owner"), ORG_OWNER);
	assert_int_equal(org_role_parse("member"), ORG_MEMBER);
	assert_int_equal(org_role_parse("Owner"), -1);
	assert_int_equal(org_role_parse("viewer"), -1);
	assert_int_equal(org_role_parse(""), -1);
	assert_int_equal(org_role_parse(NULL), -1);
	assert_int_equal(coll_role_parse("editor"), COLL_EDITOR);
	assert_int_equal(coll_role_parse("member"), -1);
	assert_int_equal(key_cap_parse("read-write"), CAP_READWRITE);
	assert_int_equal(key_cap_parse("write"), -1);
	assert_string_equal(org_role_name(ORG_ADMIN), "admin");
	assert_null(org_role_name(ORG_NONE));
	assert_string_equal(coll_role_name(COLL_VIEWER), "viewer");
	assert_string_equal(key_cap_name(CAP_READ), "read");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_matrix),
		cmocka_unit_test(test_named_cells),
		cmocka_unit_test(test_effective),
		cmocka_unit_test(test_org_role_change),
		cmocka_unit_test(test_coll_role_change),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

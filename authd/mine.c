/*
 * collection.mine (GET /v1/collections, MCP's list_collections): every
 * collection the caller may read, across its organizations.  An API key
 * sees only its organization, and only its collection when it is
 * collection-scoped: the same rule verify_all() applies to a search
 * everywhere, so the list names exactly what such a search covers.
 */
#include <string.h>

#include "authd/authd.h"
#include "common/log.h"
#include "common/util.h"

void
op_coll_mine(struct areq *r)
{
	const char		*q[2];
	struct authz_subject	 s;
	enum coll_role		 eff;
	PGresult		*res;
	json_t			*a;
	int			 o, c;

	q[0] = r->p.user;
	q[1] = r->p.kind == PRINCIPAL_APIKEY ? r->p.key_org : NULL;
	if ((res = sql("SELECT c.id, c.name, c.org_id, om.role, cm.role "
	    "FROM org_members om JOIN collections c ON c.org_id = om.org_id "
	    "LEFT JOIN collection_members cm ON cm.collection_id = c.id AND "
	    "cm.user_id = om.user_id WHERE om.user_id = $1 AND "
	    "($2::uuid IS NULL OR om.org_id = $2::uuid) "
	    "ORDER BY c.org_id, c.name, c.id", 2, q)) == NULL) {
		areq_internal(r);
		return;
	}
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		o = org_role_parse(PQgetvalue(res, i, 3));
		c = PQgetisnull(res, i, 4) ? COLL_NONE :
		    coll_role_parse(PQgetvalue(res, i, 4));
		authz_subject(r, o == -1 ? ORG_NONE : (enum org_role)o,
		    c == -1 ? COLL_NONE : (enum coll_role)c,
		    PQgetvalue(res, i, 0), &s);
		if ((eff = authz_coll_effective(&s)) < COLL_VIEWER)
			continue;
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "id",
		    PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1),
		    "org_id", PQgetvalue(res, i, 2), "role",
		    coll_role_name(eff)));
	}
	PQclear(res);
	areq_reply(r, 200, json_pack("{s:o}", "collections", a), NULL);
}

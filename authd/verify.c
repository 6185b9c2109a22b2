/*
 * Content requests (documents, search): the front asks whether the
 * caller may read or write, and where.  authd answers with a grant
 * (common/grant.h) signed with the decision key, naming the request id,
 * the principal, the collections in scope and whose personal content is
 * in scope; indexd checks the signature and applies the scope.
 *
 *   one collection      the collection, when the caller may read/write it,
 *                       with the caller's own personal content in it
 *   no collection       every collection the caller may read (read:
 *                       search everywhere, a source or job by id) or
 *                       write (write: a source or job by id, where
 *                       indexd finds its collection); a session's own
 *                       personal content, a key's only when
 *                       include_personal
 *
 * When the grant has an owner, the decision also carries that user's key
 * salt, so the front can seal a personal source's credential under the
 * user's key (keyd derives it; the salt alone opens nothing).
 */
#include <stdlib.h>
#include <string.h>

#include "authd/authd.h"
#include "common/child.h"
#include "common/grant.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"

#define USER_SALTLEN	32	/* users.key_salt */

static const struct authd_op verify_ops[] = {
	{ "content.read", NULL, NEED_ANY, 0, 0 },
	{ "content.write", NULL, NEED_ANY, 0, 0 },
};

void
verify_refuse(struct areq *r, int status, const char *body,
    const char *header)
{
	struct imsg_auth_decision	 d;
	char				*hv[1];

	memset(&d, 0, sizeof(d));
	d.status = (uint64_t)status;
	d.body = (char *)body;
	if (header != NULL) {
		hv[0] = (char *)header;
		d.headers.v = hv;
		d.headers.n = 1;
	}
	if (child_send(authd_child(), PROC_FRONT, IMSG_AUTH_DECISION, r->id,
	    &d, -1) == -1)
		log_warnx("%s: request %s: cannot answer the front",
		    __func__, r->request_id);
}

/* The key salt of the grant's owner (users.key_salt). */
static int
verify_salt(const char *user, uint8_t salt[USER_SALTLEN])
{
	const char	*q[1] = { user };
	PGresult	*res;
	int		 rv = -1;

	if ((res = sql("SELECT encode(key_salt, 'hex') FROM users WHERE "
	    "id = $1", 1, q)) == NULL)
		return -1;
	if (PQntuples(res) == 1 &&
	    hex_decode(PQgetvalue(res, 0, 0), salt, USER_SALTLEN) == 0)
		rv = 0;
	else
		log_warnx("%s: user %s has no key salt", __func__, user);
	PQclear(res);
	return rv;
}

static void
verify_grant(struct areq *r, struct grant *g)
{
	struct child			*c = authd_child();
	struct imsg_auth_decision	 d;
	uint8_t				 mac[DECISION_MACLEN];
	uint8_t				 salt[USER_SALTLEN];
	char				*json = NULL;

	if (!c->has_decision_key) {
		areq_error(r, 503, "unavailable", "no decision key yet");
		return;
	}
	if (g->owner[0] != '\0' && verify_salt(g->owner, salt) == -1) {
		areq_internal(r);
		return;
	}
	strlcpy(g->rid, r->request_id, sizeof(g->rid));
	strlcpy(g->user, r->p.user, sizeof(g->user));
	if (r->p.kind == PRINCIPAL_APIKEY)
		strlcpy(g->key, r->p.key_id, sizeof(g->key));
	if (grant_sign(c->decision_key, g, &json, mac) == -1) {
		areq_internal(r);
		return;
	}
	memset(&d, 0, sizeof(d));
	d.status = 200;
	d.body = (char *)"";
	d.grant = json;
	d.mac.data = mac;
	d.mac.len = sizeof(mac);
	if (g->owner[0] != '\0') {
		d.user_salt.data = salt;
		d.user_salt.len = sizeof(salt);
	}
	r->done = 1;
	if (child_send(c, PROC_FRONT, IMSG_AUTH_DECISION, r->id, &d, -1) == -1)
		log_warnx("%s: request %s: cannot answer the front",
		    __func__, r->request_id);
	free(json);
	explicit_bzero(mac, sizeof(mac));
}

static int
verify_add(struct grant *g, const char *id)
{
	void	*p;

	if (strlen(id) >= GRANT_IDLEN ||
	    g->ncollections >= GRANT_MAX_COLLECTIONS)
		return -1;
	p = reallocarray(g->collections, g->ncollections + 1,
	    sizeof(*g->collections));
	if (p == NULL)
		return -1;
	g->collections = p;
	strlcpy(g->collections[g->ncollections++], id, GRANT_IDLEN);
	return 0;
}

/*
 * Every collection where the caller's effective role is at least min
 * (viewer: read, editor: write), within the key's org for keys.
 */
static int
verify_all(struct areq *r, struct grant *g, enum coll_role min)
{
	const char		*q[2];
	struct authz_subject	 s;
	PGresult		*res;
	int			 o, c, rv = 0;

	q[0] = r->p.user;
	q[1] = r->p.kind == PRINCIPAL_APIKEY ? r->p.key_org : NULL;
	if ((res = sql("SELECT c.id, om.role, cm.role FROM org_members om "
	    "JOIN collections c ON c.org_id = om.org_id "
	    "LEFT JOIN collection_members cm ON cm.collection_id = c.id AND "
	    "cm.user_id = om.user_id WHERE om.user_id = $1 AND "
	    "($2::uuid IS NULL OR om.org_id = $2::uuid) ORDER BY c.id", 2,
	    q)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res) && rv == 0; i++) {
		o = org_role_parse(PQgetvalue(res, i, 1));
		c = PQgetisnull(res, i, 2) ? COLL_NONE :
		    coll_role_parse(PQgetvalue(res, i, 2));
		authz_subject(r, o == -1 ? ORG_NONE : (enum org_role)o,
		    c == -1 ? COLL_NONE : (enum coll_role)c,
		    PQgetvalue(res, i, 0), &s);
		if (authz_coll_effective(&s) >= min)
			rv = verify_add(g, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return rv;
}

static void
verify_decide(struct areq *r, const char *action, const char *coll)
{
	struct coll_info	 ci;
	struct grant		 g;
	int			 write = strcmp(action, "write") == 0;

	memset(&g, 0, sizeof(g));
	strlcpy(g.action, write ? "write" : "read", sizeof(g.action));
	/*
	 * Personal content: the caller's own, through a session or a
	 * user-scoped key; never anyone else's, whatever their roles.
	 */
	if (r->p.kind == PRINCIPAL_SESSION || r->p.key_personal)
		strlcpy(g.owner, r->p.user, sizeof(g.owner));
	if (coll != NULL) {
		if (!uuid_valid(coll)) {
			areq_error(r, 404, "not_found", "no such collection");
			return;
		}
		if (authz_coll(r, coll, write ? ACT_COLL_WRITE :
		    ACT_COLL_READ, &ci) == -1)
			return;
		strlcpy(g.org, ci.org, sizeof(g.org));
		if (verify_add(&g, coll) == -1) {
			areq_internal(r);
			return;
		}
	} else {
		/* A read-only key writes nowhere: say so, not "nothing". */
		if (write && r->p.kind == PRINCIPAL_APIKEY &&
		    r->p.key_cap != CAP_READWRITE) {
			areq_error(r, 403, "forbidden", "this credential "
			    "cannot write");
			return;
		}
		if (r->p.kind == PRINCIPAL_APIKEY)
			strlcpy(g.org, r->p.key_org, sizeof(g.org));
		if (verify_all(r, &g, write ? COLL_EDITOR : COLL_VIEWER) ==
		    -1) {
			grant_free(&g);
			areq_internal(r);
			return;
		}
	}
	verify_grant(r, &g);
	grant_free(&g);
}

/*
 * Searches are limited per principal (`search rate`): a session counts
 * for its user, an API key for itself.  0 when the search may go on;
 * else answered with 429 and Retry-After.
 */
static int
verify_rate(struct areq *r, const char *op)
{
	char		 key[128], retry[64];
	uint64_t	 wait;

	if (op == NULL || strcmp(op, "search") != 0)
		return 0;
	if (r->p.kind == PRINCIPAL_APIKEY)
		snprintf(key, sizeof(key), "k:%s", r->p.key_id);
	else
		snprintf(key, sizeof(key), "u:%s", r->p.user);
	if ((wait = ratelimit_search(key, now_ms() / 1000)) == 0)
		return 0;
	snprintf(retry, sizeof(retry), "Retry-After: %llu",
	    (unsigned long long)wait);
	areq_reply(r, 429, error_json("too_many_requests", "too many "
	    "searches; try again later"), retry);
	return -1;
}

void
authd_verify(struct child *c, struct ipc_msg *msg)
{
	struct imsg_auth_verify	*v = msg->body;
	struct areq		*r;
	int			 write;

	r = xcalloc(1, sizeof(*r));
	r->verify = 1;
	r->id = msg->id;
	r->client = xstrdup(v->client);
	r->request_id = xstrdup(v->request_id);
	r->query = xstrdup("");
	write = strcmp(v->action, "write") == 0;
	r->op = &verify_ops[write];
	if (!write && strcmp(v->action, "read") != 0)
		areq_error(r, 400, "bad_request", "unknown action");
	else if (!sql_ready())
		areq_error(r, 503, "unavailable", "the database is not "
		    "available");
	else if (v->token == NULL)
		areq_error(r, 401, "unauthorized", "credentials required");
	else if (principal_resolve(r, v->token) == 0 &&
	    verify_rate(r, v->op) == 0)
		verify_decide(r, v->action, v->collection);
	if (!r->done)
		areq_internal(r);
	areq_free(r);
}

/*
 * The audit trail: one row for every change and every refusal on an
 * organization's resources, and for failed logins.  Rows name the actor,
 * the op, the target and the outcome; never a password, token, secret or
 * hash.  GET /v1/orgs/{org}/audit reads them, newest first.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "authd/authd.h"
#include "common/log.h"

#define AUDIT_LIMIT_DEFAULT	100
#define AUDIT_LIMIT_MAX		1000
#define AUDIT_QVAL_MAX		128

void
audit(struct areq *r, const char *org, const char *target,
    const char *outcome, json_t *detail)
{
	const char	*q[9];
	char		*dtext = NULL;

	if (detail != NULL)
		dtext = json_dumps(detail, JSON_COMPACT);
	json_decref(detail);
	q[0] = org != NULL && uuid_valid(org) ? org : NULL;
	q[1] = r->p.present ? r->p.user : NULL;
	q[2] = r->p.present && r->p.kind == PRINCIPAL_APIKEY ? r->p.key_id :
	    NULL;
	q[3] = r->op != NULL ? r->op->name : "unknown";
	q[4] = target != NULL ? target : "";
	q[5] = outcome;
	q[6] = r->client;
	q[7] = r->request_id;
	q[8] = dtext != NULL ? dtext : "{}";
	if (sql_exec("INSERT INTO audit_log (org_id, actor_user, actor_key, "
	    "action, target, outcome, client, request_id, detail) VALUES "
	    "($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9, q) == -1)
		log_warnx("%s: request %s: cannot write the audit row for %s",
		    __func__, r->request_id, q[3]);
	free(dtext);
}

/* Two hex digits at s. */
static int
hex_decode_prefix(const char *s, uint8_t *b)
{
	char	 two[3] = { s[0], s[1], '\0' };

	return hex_decode(two, b, 1);
}

/* %XX and '+' decoding of one query value, in place; -1 when malformed. */
static int
audit_unescape(char *s)
{
	char	*w = s;
	uint8_t	 b;

	for (; *s != '\0'; s++) {
		if (*s == '+')
			*w++ = ' ';
		else if (*s == '%') {
			if (strnlen(s + 1, 2) < 2 || hex_decode_prefix(s + 1,
			    &b) == -1 || b == 0)
				return -1;
			*w++ = (char)b;
			s += 2;
		} else
			*w++ = *s;
	}
	*w = '\0';
	return 0;
}

struct audit_query {
	char	 limit[24];
	char	 before[24];
	char	 action[AUDIT_QVAL_MAX];
};

static int
audit_query_one(struct audit_query *aq, char *kv)
{
	char	*v, *dst;
	size_t	 size;

	if ((v = strchr(kv, '=')) == NULL)
		return -1;
	*v++ = '\0';
	if (strcmp(kv, "limit") == 0) {
		dst = aq->limit;
		size = sizeof(aq->limit);
	} else if (strcmp(kv, "before") == 0) {
		dst = aq->before;
		size = sizeof(aq->before);
	} else if (strcmp(kv, "action") == 0) {
		dst = aq->action;
		size = sizeof(aq->action);
	} else
		return -1;
	if (dst[0] != '\0' || audit_unescape(v) == -1 || v[0] == '\0' ||
	    strlcpy(dst, v, size) >= size)
		return -1;
	return 0;
}

static int
audit_query_parse(const char *query, struct audit_query *aq)
{
	char	*copy, *p, *kv;
	int	 rv = 0;

	memset(aq, 0, sizeof(*aq));
	if (strlen(query) > 1024)
		return -1;
	p = copy = strdup(query);
	if (copy == NULL)
		return -1;
	while (rv == 0 && (kv = strsep(&p, "&")) != NULL)
		if (kv[0] != '\0' && audit_query_one(aq, kv) == -1)
			rv = -1;
	free(copy);
	return rv;
}

static json_t *
audit_entry(PGresult *res, int i)
{
	const char	*errstr;
	long long	 id;

	id = strtonum(PQgetvalue(res, i, 0), 1, LLONG_MAX, &errstr);
	return json_pack("{s:I,s:s,s:o,s:o,s:s,s:s,s:s,s:s,s:s}",
	    "id", (json_int_t)id, "at", PQgetvalue(res, i, 1),
	    "actor_user", sql_json_str(res, i, 2),
	    "actor_key", sql_json_str(res, i, 3),
	    "action", PQgetvalue(res, i, 4), "target", PQgetvalue(res, i, 5),
	    "outcome", PQgetvalue(res, i, 6), "client", PQgetvalue(res, i, 7),
	    "request_id", PQgetvalue(res, i, 8));
}

void
op_audit_list(struct areq *r)
{
	struct audit_query	 aq;
	const char		*org, *errstr, *q[4];
	char			 limit[24];
	PGresult		*res;
	json_t			*entries;

	if ((org = areq_uuid_param(r, 0)) == NULL ||
	    authz_org(r, org, ACT_AUDIT_READ, NULL) == -1)
		return;
	if (audit_query_parse(r->query, &aq) == -1 ||
	    (aq.limit[0] != '\0' && (strtonum(aq.limit, 1, AUDIT_LIMIT_MAX,
	    &errstr), errstr != NULL)) ||
	    (aq.before[0] != '\0' && (strtonum(aq.before, 1, LLONG_MAX,
	    &errstr), errstr != NULL))) {
		areq_error(r, 400, "bad_request", "query: limit=1..%d, "
		    "before=<entry id>, action=<op name>", AUDIT_LIMIT_MAX);
		return;
	}
	if (aq.limit[0] != '\0')
		strlcpy(limit, aq.limit, sizeof(limit));
	else
		snprintf(limit, sizeof(limit), "%d", AUDIT_LIMIT_DEFAULT);
	q[0] = org;
	q[1] = aq.before[0] ? aq.before : NULL;
	q[2] = aq.action[0] ? aq.action : NULL;
	q[3] = limit;
	res = sql("SELECT id, " SQL_TS("at") ", actor_user, actor_key, "
	    "action, target, outcome, client, request_id FROM audit_log "
	    "WHERE org_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint) "
	    "AND ($3::text IS NULL OR action = $3::text) "
	    "ORDER BY id DESC LIMIT $4::int", 4, q);
	if (res == NULL) {
		areq_internal(r);
		return;
	}
	entries = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(entries, audit_entry(res, i));
	PQclear(res);
	areq_reply(r, 200, json_pack("{s:o}", "entries", entries), NULL);
}

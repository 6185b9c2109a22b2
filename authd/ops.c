/*
 * The op table and the life of one request: copy what the front sent,
 * find the op, resolve the caller, check the body's shape, run the
 * handler, answer.  Handlers answer with areq_reply()/areq_error(); a
 * handler that waits for keyd parks the request (authd_sign()).
 *
 * Requests are handled in batches (issue 12): authd_request() only
 * queues, and every request that arrived in one turn of the event loop
 * (one read of the front's channel holds many) is handled right after
 * it.  The credential checks of the whole batch go to PostgreSQL in one
 * pipeline, then each op runs; ops that are a single read (op->read)
 * are pipelined too.  Nothing is shared between requests: each
 * credential is still checked on its own row, as read by a statement
 * sent after its request arrived or as remembered under the
 * auth_generation that a statement sent after its request arrived
 * shows unchanged (pcache.c), and each failure is answered as it would
 * be alone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "authd/authd.h"
#include "common/child.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"

static const struct authd_op ops[] = {
	{ "auth.login",		op_login,	NEED_NONE,	0, 1 },
	{ "auth.refresh",	op_refresh,	NEED_NONE,	0, 1 },
	{ "auth.logout",	op_logout,	NEED_SESSION,	0, 0 },
	{ "auth.logout_refresh", op_logout_refresh, NEED_NONE,	0, 1 },
	{ "me",			op_me,		NEED_ANY,	0, 0 },
	{ "org.list",		op_org_list,	NEED_SESSION,	0, 0 },
	{ "org.create",		op_org_create,	NEED_SESSION,	0, 1 },
	{ "org.get",		op_org_get,	NEED_ANY,	1, 0 },
	{ "org.delete",		op_org_delete,	NEED_ANY,	1, 0 },
	{ "member.list",	op_member_list,	NEED_ANY,	1, 0 },
	{ "member.add",		op_member_add,	NEED_ANY,	1, 1 },
	{ "member.update",	op_member_update, NEED_ANY,	2, 1 },
	{ "member.remove",	op_member_remove, NEED_ANY,	2, 0 },
	{ "collection.list",	op_coll_list,	NEED_ANY,	1, 0 },
	{ "collection.mine",	op_coll_mine,	NEED_ANY,	0, 0 },
	{ "collection.create",	op_coll_create,	NEED_ANY,	1, 1 },
	{ "collection.get",	op_coll_get,	NEED_ANY,	1, 0 },
	{ "collection.update",	op_coll_update,	NEED_ANY,	1, 1 },
	{ "collection.delete",	op_coll_delete,	NEED_ANY,	1, 0 },
	{ "cmember.list",	op_cmember_list, NEED_ANY,	1, 0 },
	{ "cmember.add",	op_cmember_add,	NEED_ANY,	1, 1 },
	{ "cmember.update",	op_cmember_update, NEED_ANY,	2, 1 },
	{ "cmember.remove",	op_cmember_remove, NEED_ANY,	2, 0 },
	{ "apikey.list",	op_apikey_list,	NEED_ANY,	1, 0 },
	{ "apikey.create",	op_apikey_create, NEED_ANY,	1, 1 },
	{ "apikey.revoke",	op_apikey_revoke, NEED_ANY,	2, 0 },
	{ "apikey.rotate",	op_apikey_rotate, NEED_ANY,	2, 0 },
	{ "audit.list",		op_audit_list,	NEED_ANY,	1, 0 },
};

/*
 * Ops that are one read, in two halves: its statement (0, or -1 when it
 * answered already) and the answer from its result (NULL: it failed).
 * A batch runs these reads together in one pipeline; the op's fn does
 * the same one at a time (read, sql(), answer).
 */
static const struct op_read {
	void	(*fn)(struct areq *);
	int	(*read)(struct areq *, struct sql_item *);
	void	(*answer)(struct areq *, PGresult *);
} op_reads[] = {
	{ op_me,	op_me_read,	op_me_answer },
};

static const struct op_read *
op_read_find(const struct authd_op *op)
{
	for (size_t i = 0; i < nitems(op_reads); i++)
		if (op_reads[i].fn == op->fn)
			return &op_reads[i];
	return NULL;
}

const struct authd_op *
authd_op_find(const char *name)
{
	for (size_t i = 0; i < nitems(ops); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

json_t *
error_json(const char *code, const char *message)
{
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
	    message);
}

void
areq_free(struct areq *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nparams; i++)
		free(r->params[i]);
	free(r->query);
	free(r->client);
	free(r->request_id);
	if (r->token != NULL)
		freezero(r->token, strlen(r->token));
	if (r->rawbody != NULL)		/* may hold a password */
		freezero(r->rawbody, r->rawbodylen);
	json_decref(r->body);
	json_decref(r->pending);
	explicit_bzero(r, sizeof(*r));
	free(r);
}

void
areq_reply(struct areq *r, int status, json_t *body, const char *header)
{
	char	*text;

	/* areq_reply_text() refuses a second answer */
	text = body != NULL && !r->done ? json_dumps(body, JSON_COMPACT) :
	    NULL;
	json_decref(body);
	areq_reply_text(r, status, text, header);
	if (text != NULL)
		freezero(text, strlen(text));	/* may hold a token */
}

void
areq_reply_text(struct areq *r, int status, const char *text,
    const char *header)
{
	struct imsg_auth_rep	 rep;
	char			*hv[1];

	if (r->done) {
		log_warnx("%s: request %s: %s answered twice", __func__,
		    r->request_id, r->op ? r->op->name : "?");
		return;
	}
	r->done = 1;
	if (r->verify) {
		verify_refuse(r, text != NULL ? status : 500, text != NULL ?
		    text : "{}", header);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	rep.status = (uint64_t)status;
	rep.body = text != NULL ? (char *)text : (char *)"{\"error\":{"
	    "\"code\":\"internal_error\",\"message\":\"out of memory\"}}";
	if (text == NULL)
		rep.status = 500;
	if (header != NULL) {
		hv[0] = (char *)header;
		rep.headers.v = hv;
		rep.headers.n = 1;
	}
	if (child_send(authd_child(), PROC_FRONT, IMSG_AUTH_REP, r->id, &rep,
	    -1) == -1)
		log_warnx("%s: request %s: cannot answer the front", __func__,
		    r->request_id);
}

void
areq_error(struct areq *r, int status, const char *code, const char *fmt, ...)
{
	char	 msg[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	areq_reply(r, status, error_json(code, msg),
	    status == 401 ? "WWW-Authenticate: Bearer" : NULL);
}

/* A failure; 503 when it was the database going away (retry). */
void
areq_internal(struct areq *r)
{
	if (sql_connection_lost())
		areq_error(r, 503, "unavailable", "the database is not "
		    "available");
	else
		areq_error(r, 500, "internal_error", "internal error");
}

void
areq_ok(struct areq *r)
{
	areq_reply(r, 200, json_pack("{s:b}", "ok", 1), NULL);
}

const char *
areq_uuid_param(struct areq *r, size_t i)
{
	if (i >= r->nparams || !uuid_valid(r->params[i])) {
		areq_error(r, 404, "not_found", "no such resource");
		return NULL;
	}
	return r->params[i];
}

static int
body_type_ok(json_t *v, const struct body_field *f)
{
	switch (f->type) {
	case BF_BOOL:
		return json_is_boolean(v);
	case BF_STRING_OR_NULL:
		if (json_is_null(v))
			return 1;
		/* FALLTHROUGH */
	case BF_STRING:
		return json_is_string(v);
	}
	return 0;
}

static int
body_member(struct areq *r, const char *k, json_t *v,
    const struct body_field *fields, size_t n)
{
	const struct body_field	*f = NULL;

	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].name, k) == 0)
			f = &fields[i];
	if (f == NULL) {
		areq_error(r, 400, "bad_request", "unknown field '%.64s'", k);
		return -1;
	}
	if (!body_type_ok(v, f)) {
		areq_error(r, 400, "bad_request", "'%s' must be %s", k,
		    f->type == BF_BOOL ? "true or false" : "a string");
		return -1;
	}
	if (json_is_string(v) &&
	    (strlen(json_string_value(v)) != json_string_length(v) ||
	    (f->maxlen > 0 && json_string_length(v) > f->maxlen))) {
		areq_error(r, 400, "bad_request", "'%s' is too long or "
		    "holds a NUL", k);
		return -1;
	}
	return 0;
}

int
areq_body(struct areq *r, const struct body_field *fields, size_t n)
{
	const char	*k;
	json_t		*v;

	for (size_t i = 0; i < n; i++) {
		if (!fields[i].required)
			continue;
		if (r->body == NULL) {
			areq_error(r, 400, "bad_request",
			    "a JSON body is required");
			return -1;
		}
		if (json_object_get(r->body, fields[i].name) == NULL) {
			areq_error(r, 400, "bad_request", "'%s' is required",
			    fields[i].name);
			return -1;
		}
	}
	if (r->body == NULL)
		return 0;
	json_object_foreach(r->body, k, v)
		if (body_member(r, k, v, fields, n) == -1)
			return -1;
	return 0;
}

const char *
body_str(struct areq *r, const char *name)
{
	json_t	*v;

	if (r->body == NULL || (v = json_object_get(r->body, name)) == NULL ||
	    !json_is_string(v))
		return NULL;
	return json_string_value(v);
}

/* Copies what the request needs; the message is gone after dispatch. */
static struct areq *
areq_new(struct ipc_msg *msg)
{
	struct imsg_auth_req	*a = msg->body;
	struct areq		*r;

	r = xcalloc(1, sizeof(*r));
	r->id = msg->id;
	r->op = authd_op_find(a->op);
	for (size_t i = 0; i < a->params.n && i < nitems(r->params); i++)
		r->params[r->nparams++] = xstrdup(a->params.v[i]);
	r->query = xstrdup(a->query);
	r->client = xstrdup(a->client);
	r->request_id = xstrdup(a->request_id);
	r->badop = r->op == NULL || a->params.n != r->op->nparams;
	if (a->token != NULL)
		r->token = xstrdup(a->token);
	if (a->body.data != NULL && a->body.len > 0) {
		r->rawbody = xcalloc(1, a->body.len);
		memcpy(r->rawbody, a->body.data, a->body.len);
		r->rawbodylen = a->body.len;
	}
	return r;
}

static int
areq_parse_body(struct areq *r)
{
	json_error_t	 err;

	if (r->rawbody == NULL)
		return 0;
	r->body = json_loadb((const char *)r->rawbody, r->rawbodylen,
	    JSON_REJECT_DUPLICATES, &err);
	/* The parser's message may quote the body: say only where. */
	if (r->body == NULL) {
		log_info("%s: request %s: %s: the body is not JSON",
		    __func__, r->request_id, r->op->name);
		areq_error(r, 400, "bad_request", "the body is not valid JSON "
		    "(line %d, column %d)", err.line, err.column);
		return -1;
	}
	if (!json_is_object(r->body)) {
		log_info("%s: request %s: %s: the body is not an object",
		    __func__, r->request_id, r->op->name);
		areq_error(r, 400, "bad_request",
		    "the body must be a JSON object");
		return -1;
	}
	if (!r->op->body && json_object_size(r->body) != 0) {
		log_info("%s: request %s: %s takes no body", __func__,
		    r->request_id, r->op->name);
		areq_error(r, 400, "bad_request",
		    "this operation takes no body");
		return -1;
	}
	return 0;
}

/* The op's need of a caller, checked once the principal is known. */
static int
areq_session_only(struct areq *r)
{
	if (r->op->need == NEED_SESSION && r->p.kind != PRINCIPAL_SESSION) {
		audit(r, r->p.key_org, "", "denied", NULL);
		areq_error(r, 403, "forbidden", "this needs a session, not an "
		    "API key");
		return -1;
	}
	return 0;
}

static struct {
	TAILQ_HEAD(, areq)	 queue;
	struct event		*ev;
} batch = { TAILQ_HEAD_INITIALIZER(batch.queue), NULL };

/* At most this many requests a batch; the rest wait for the next. */
#define AUTHD_BATCH	256

/* The credentials' statements' results, as principal_end() takes them. */
static void
batch_principal_results(struct sql_item *items, struct areq **w, size_t m)
{
	for (size_t i = 0; i < m; i++) {
		if (items[i].unavailable || items[i].res == NULL)
			pcache_drop();
		if (items[i].unavailable) {
			explicit_bzero(w[i]->pc.secret,
			    sizeof(w[i]->pc.secret));
			areq_error(w[i], 503, "unavailable", "the database is "
			    "not available");
		} else if (principal_end(w[i], items[i].res) == 0)
			(void)areq_session_only(w[i]);
	}
}

/*
 * Phase A: the checks that need no database per request, then the
 * batch's auth_generation and every credential's statement in one
 * pipeline.  A credential the cache has sends no statement: its entry
 * answers when the generation read first is still the entry's, else its
 * statement runs in a second pipeline.  A request answered here is
 * done; the others have r->p.
 */
static void
batch_principals(struct areq **rs, size_t n)
{
	struct sql_item	 items[AUTHD_BATCH + 1], cq[AUTHD_BATCH];
	struct areq	*w[AUTHD_BATCH + 1], *c[AUTHD_BATCH];
	size_t		 m = 1, nc = 0, k = 0;
	int		 ready = sql_ready(), rv;

	for (size_t i = 0; i < n; i++) {
		struct areq	*r = rs[i];

		if (r->badop) {
			log_warnx("%s: request %s: unknown op or parameters "
			    "from the front", __func__, r->request_id);
			areq_error(r, 404, "not_found", "no such operation");
		} else if (!ready)
			areq_error(r, 503, "unavailable", "the database is "
			    "not available");
		else if (r->op->need == NEED_NONE)
			continue;
		else if (r->token == NULL)
			areq_error(r, 401, "unauthorized",
			    "credentials required");
		else if (principal_begin(r, r->token, &items[m]) == 0) {
			if (principal_cached(r)) {
				cq[nc] = items[m];
				c[nc++] = r;
			} else
				w[m++] = r;
		}
	}
	if (m == 1 && nc == 0)
		return;
	pcache_gen_item(&items[0]);	/* first: read before the rows */
	sql_pipeline(items, m);
	(void)pcache_gen_read(&items[0]);
	batch_principal_results(items + 1, w + 1, m - 1);
	for (size_t i = 0; i < nc; i++) {
		if ((rv = principal_from_cache(c[i])) == 0)
			(void)areq_session_only(c[i]);
		else if (rv == 1) {
			cq[k] = cq[i];
			c[k++] = c[i];
		}
	}
	sql_pipeline(cq, k);
	batch_principal_results(cq, c, k);
}

/* Phase B: each op; those that are one read share a pipeline. */
static void
batch_ops(struct areq **rs, size_t n)
{
	struct sql_item		 items[AUTHD_BATCH];
	struct areq		*w[AUTHD_BATCH];
	const struct op_read	*rd[AUTHD_BATCH];
	size_t			 m = 0;

	for (size_t i = 0; i < n; i++) {
		struct areq	*r = rs[i];

		if (r->done || areq_parse_body(r) == -1)
			continue;
		if ((rd[m] = op_read_find(r->op)) != NULL) {
			if (rd[m]->read(r, &items[m]) == 0)
				w[m++] = r;
		} else if (!sql_ready())	/* a handler left it broken */
			areq_error(r, 503, "unavailable", "the database is "
			    "not available");
		else {
			/* It may write: the generation is no longer known. */
			pcache_gen_end();
			r->op->fn(r);
		}
	}
	sql_pipeline(items, m);
	for (size_t i = 0; i < m; i++) {
		if (items[i].unavailable || items[i].res == NULL)
			pcache_drop();
		if (items[i].unavailable)
			areq_error(w[i], 503, "unavailable", "the database is "
			    "not available");
		else
			rd[i]->answer(w[i], items[i].res);
	}
}

static void
batch_finish(struct areq *r)
{
	if (r->parked)
		return;
	if (!r->done) {
		log_warnx("%s: request %s: %s did not answer", __func__,
		    r->request_id, r->op ? r->op->name : "?");
		areq_internal(r);
	}
	areq_free(r);
}

static void
authd_batch(int fd, short ev, void *arg)
{
	struct areq	*rs[AUTHD_BATCH], *r;
	size_t		 n;

	while (!TAILQ_EMPTY(&batch.queue)) {
		for (n = 0; n < AUTHD_BATCH &&
		    (r = TAILQ_FIRST(&batch.queue)) != NULL; n++) {
			TAILQ_REMOVE(&batch.queue, r, entry);
			rs[n] = r;
		}
		batch_principals(rs, n);
		batch_ops(rs, n);
		pcache_gen_end();
		for (size_t i = 0; i < n; i++)
			batch_finish(rs[i]);
	}
}

void
authd_batch_init(struct event_base *base)
{
	if ((batch.ev = event_new(base, -1, 0, authd_batch, NULL)) == NULL)
		fatalx("%s: event_new", __func__);
}

void
authd_request(struct child *c, struct ipc_msg *msg)
{
	struct areq	*r = areq_new(msg);

	TAILQ_INSERT_TAIL(&batch.queue, r, entry);
	/* Runs once the loop is done with what it is dispatching now. */
	if (!event_pending(batch.ev, EV_TIMEOUT, NULL))
		event_active(batch.ev, EV_TIMEOUT, 1);
}

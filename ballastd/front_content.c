/*
 * Content requests (documents, search): two asks.  authd decides and, if
 * it allows, returns a grant it signed for this request id; indexd gets
 * the request with the grant and checks the signature itself, so the
 * front can neither widen a scope nor reuse a grant.
 *
 * front_content_run() is that path for any caller (the REST routes below,
 * MCP's tools, the credential-sealing routes of front_source.c): it ends
 * in the caller's callback with indexd's status and JSON, authd's
 * refusal, or which peer failed.  A caller that must do something between
 * the decision and indexd (seal a credential) sets before_index.
 *
 * Routes without a collection in the path (/v1/sources/{id},
 * /v1/jobs/{id}) ask for a grant over every collection the caller may
 * read or write; indexd finds the resource's collection in it or answers
 * 404.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ballastd/front.h"
#include "ballastd/front_mcp.h"
#include "common/log.h"
#include "common/util.h"

static void
run_done(struct front_req *req, struct front_content_run *run, int status,
    const char *hdrs, const char *body)
{
	struct front_content_result	 res;

	memset(&res, 0, sizeof(res));
	res.status = status;
	res.how = FRONT_REPLY;
	res.hdrs = hdrs;
	res.body = body;
	run->cb(req, run, &res);
}

static void
run_failed(struct front_req *req, struct front_content_run *run,
    enum proc_id peer, enum front_reply how)
{
	struct front_content_result	 res;

	memset(&res, 0, sizeof(res));
	res.status = how == FRONT_TIMEOUT ? 504 : 503;
	res.how = how;
	res.peer = peer;
	run->cb(req, run, &res);
}

/* indexd's answer goes back as it is. */
static void
run_index_reply(struct front_req *req, enum proc_id peer,
    enum front_reply how, struct ipc_msg *msg, void *arg)
{
	struct front_content_run	*run = arg;
	const struct imsg_auth_rep	*rep;

	if (how != FRONT_REPLY) {
		run_failed(req, run, peer, how);
		return;
	}
	if (msg->type != IMSG_INDEX_REP) {
		run_done(req, run, 502, NULL, "{\"error\":{\"code\":"
		    "\"bad_gateway\",\"message\":\"unexpected answer\"}}");
		return;
	}
	rep = msg->body;
	run_done(req, run, (int)rep->status, NULL, rep->body);
}

static void
run_refused(struct front_req *req, struct front_content_run *run,
    const struct imsg_auth_decision *d)
{
	char	 hdrs[256] = "";

	/* authd may ask for WWW-Authenticate or Retry-After, nothing else. */
	for (size_t i = 0; i < d->headers.n; i++) {
		const char *h = d->headers.v[i];

		if (strpbrk(h, "\r\n") == NULL &&
		    (strncasecmp(h, "WWW-Authenticate:", 17) == 0 ||
		    strncasecmp(h, "Retry-After:", 12) == 0)) {
			strlcat(hdrs, h, sizeof(hdrs));
			strlcat(hdrs, "\r\n", sizeof(hdrs));
		}
	}
	run_done(req, run, (int)d->status, hdrs[0] ? hdrs : NULL, d->body);
}

void
front_content_index(struct front_req *req, struct front_content_run *run,
    const char *grant, const uint8_t *mac, size_t maclen)
{
	struct imsg_index_req	 r;

	memset(&r, 0, sizeof(r));
	r.op = (char *)run->op;
	r.params.v = run->params;
	r.params.n = run->nparams;
	r.query = (char *)(run->query != NULL ? run->query : "");
	r.request_id = req->id;
	if (run->bodylen > 0) {
		r.body.data = (uint8_t *)run->body;
		r.body.len = run->bodylen;
	}
	r.grant = (char *)grant;
	r.mac.data = (uint8_t *)mac;
	r.mac.len = maclen;
	if (front_ask(req, PROC_INDEXD, IMSG_INDEX_REQ, &r, -1,
	    front_req_ipc_timeout(req), run_index_reply, run) == -1)
		run_failed(req, run, PROC_INDEXD, FRONT_DOWN);
}

static void
run_decision(struct front_req *req, enum proc_id peer, enum front_reply how,
    struct ipc_msg *msg, void *arg)
{
	struct front_content_run	*run = arg;
	const struct imsg_auth_decision	*d;

	if (how != FRONT_REPLY) {
		run_failed(req, run, peer, how);
		return;
	}
	d = msg->type == IMSG_AUTH_DECISION ? msg->body : NULL;
	if (d == NULL || (d->status == 200 && (d->grant == NULL ||
	    d->mac.data == NULL))) {
		run_done(req, run, 502, NULL, "{\"error\":{\"code\":"
		    "\"bad_gateway\",\"message\":\"authorization answered "
		    "without a grant\"}}");
		return;
	}
	if (d->status != 200) {
		run_refused(req, run, d);
		return;
	}
	if (run->before_index != NULL) {
		run->before_index(req, run, d);
		return;
	}
	if (run->op == NULL) {
		run_done(req, run, 200, NULL, "{}");
		return;
	}
	front_content_index(req, run, d->grant, d->mac.data, d->mac.len);
}

void
front_content_run(struct front_req *req, struct front_content_run *run)
{
	struct imsg_auth_verify	 v;

	memset(&v, 0, sizeof(v));
	v.token = (char *)run->token;
	v.client = req->client;
	v.request_id = req->id;
	v.action = (char *)run->action;
	v.collection = (char *)run->collection;
	v.op = (char *)run->op;
	if (front_ask(req, PROC_AUTHD, IMSG_AUTH_VERIFY, &v, -1,
	    front_req_ipc_timeout(req), run_decision, run) == -1)
		run_failed(req, run, PROC_AUTHD, FRONT_DOWN);
}

/* The REST routes: the run's state lives with the request. */
struct content {
	char			*params[FRONT_MAX_PARAMS];
	char			*query;
	char			*token;
	struct front_content_run run;
};

static void
content_free(void *arg)
{
	struct content	*ct = arg;

	for (size_t i = 0; i < FRONT_MAX_PARAMS; i++)
		free(ct->params[i]);
	free(ct->query);
	if (ct->token != NULL)
		freezero(ct->token, strlen(ct->token));
	free(ct);
}

static void
content_done(struct front_req *req, struct front_content_run *run,
    const struct front_content_result *res)
{
	if (res->how != FRONT_REPLY) {
		front_reply_failed(req, res->peer, res->how);
		return;
	}
	front_respond_text(req, res->status, res->hdrs, res->body,
	    strlen(res->body));
}

void
front_content(struct front_req *req)
{
	struct content		*ct;

	if (!front_body_is_json(req)) {
		front_error(req, 415, "unsupported_media_type",
		    "send the body as application/json");
		return;
	}
	ct = xcalloc(1, sizeof(*ct));
	req->hstate = ct;
	req->hstate_free = content_free;
	for (size_t i = 0; i < req->nparams; i++)
		if ((ct->params[i] = front_slice_str(&req->params[i])) ==
		    NULL) {
			front_error(req, 400, "bad_request",
			    "the path is not valid UTF-8");
			return;
		}
	if ((ct->query = front_slice_str(&req->http.query)) == NULL ||
	    front_req_token(req, &ct->token) == -1) {
		front_error(req, 400, "bad_request",
		    "malformed query or credential");
		return;
	}
	ct->run.op = req->route->op;
	ct->run.action = req->route->action;
	ct->run.params = ct->params;
	ct->run.nparams = req->nparams;
	ct->run.query = ct->query;
	ct->run.token = ct->token;
	ct->run.cb = content_done;
	ct->run.arg = ct;
	if (req->bodylen > 0) {
		ct->run.body = req->body;
		ct->run.bodylen = req->bodylen;
	}
	/* /v1/collections/{id}/...: the decision is about that collection. */
	if (strncmp(req->route->pattern, "/v1/collections/*", 17) == 0)
		ct->run.collection = ct->params[0];
	front_content_run(req, &ct->run);
}

/*
 * Content requests (documents, search): two asks.  authd decides and, if
 * it allows, returns a grant it signed for this request id; indexd gets
 * the request with the grant and checks the signature itself, so the
 * front can neither widen a scope nor reuse a grant.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ballastd/front.h"
#include "common/log.h"
#include "common/util.h"

struct content {
	char	*params[FRONT_MAX_PARAMS];
	char	*query;
	char	*token;
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

/* indexd's answer goes back as it is. */
static void
content_index_reply(struct front_req *req, enum proc_id peer,
    enum front_reply how, struct ipc_msg *msg, void *arg)
{
	const struct imsg_auth_rep	*rep;

	if (how != FRONT_REPLY) {
		front_reply_failed(req, peer, how);
		return;
	}
	rep = msg->body;
	front_respond_text(req, (int)rep->status, NULL, rep->body,
	    strlen(rep->body));
}

static void
content_refused(struct front_req *req, const struct imsg_auth_decision *d)
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
	front_respond_text(req, (int)d->status, hdrs[0] ? hdrs : NULL,
	    d->body, strlen(d->body));
}

static void
content_decision(struct front_req *req, enum proc_id peer,
    enum front_reply how, struct ipc_msg *msg, void *arg)
{
	struct content			*ct = req->hstate;
	const struct imsg_auth_decision	*d;
	struct imsg_index_req		 r;

	if (how != FRONT_REPLY) {
		front_reply_failed(req, peer, how);
		return;
	}
	d = msg->body;
	if (d->status != 200 || d->grant == NULL || d->mac.data == NULL) {
		if (d->status == 200) {
			front_error(req, 502, "bad_gateway",
			    "authorization answered without a grant");
			return;
		}
		content_refused(req, d);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.op = (char *)req->route->op;
	r.params.v = ct->params;
	r.params.n = req->nparams;
	r.query = ct->query;
	r.request_id = req->id;
	if (req->bodylen > 0) {
		r.body.data = req->body;
		r.body.len = req->bodylen;
	}
	r.grant = d->grant;
	r.mac = d->mac;
	if (front_ask(req, PROC_INDEXD, IMSG_INDEX_REQ, &r, -1,
	    front_req_ipc_timeout(req), content_index_reply, NULL) == -1)
		front_reply_failed(req, PROC_INDEXD, FRONT_DOWN);
}

void
front_content(struct front_req *req)
{
	struct imsg_auth_verify	 v;
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
	memset(&v, 0, sizeof(v));
	v.token = ct->token;
	v.client = req->client;
	v.request_id = req->id;
	v.action = (char *)req->route->action;
	/* /v1/collections/{id}/...: the decision is about that collection. */
	if (strncmp(req->route->pattern, "/v1/collections/*", 17) == 0)
		v.collection = ct->params[0];
	if (front_ask(req, PROC_AUTHD, IMSG_AUTH_VERIFY, &v, -1,
	    front_req_ipc_timeout(req), content_decision, NULL) == -1)
		front_reply_failed(req, PROC_AUTHD, FRONT_DOWN);
}

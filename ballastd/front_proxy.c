/*
 * Identity requests go to authd as they are: the route's operation name,
 * the matched path segments, the caller's credential and the JSON body.
 * The front checks only what HTTP says (content type, sizes, UTF-8 of what
 * it forwards as text) and enforces nothing: authd decides, and its status
 * and body come back unchanged, with only the headers authd may set.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ballastd/front.h"
#include "common/log.h"
#include "common/util.h"

/* Response headers authd may ask for. */
static const char *const proxy_headers[] = {
	"Retry-After:", "WWW-Authenticate:", "Location:",
};

struct proxy {
	char	*params[FRONT_MAX_PARAMS];
	char	*query;
	char	*token;
};

static void
proxy_free(void *arg)
{
	struct proxy	*px = arg;

	for (size_t i = 0; i < FRONT_MAX_PARAMS; i++)
		free(px->params[i]);
	free(px->query);
	if (px->token != NULL)
		freezero(px->token, strlen(px->token));
	free(px);
}

/* A copy of a slice as a C string, or NULL if it is not valid UTF-8. */
char *
front_slice_str(const struct http_slice *s)
{
	if (s->len == 0)
		return xstrdup("");
	if (!utf8_valid(s->p, s->len))
		return NULL;
	return xstrndup(s->p, s->len);
}

/* "Authorization: Bearer X" or "X-API-Key: X"; NULL for none. */
int
front_req_token(struct front_req *req, char **token)
{
	const struct http_slice	*h;
	struct http_slice	 v;

	*token = NULL;
	if ((h = http_header_get(&req->http, "Authorization")) != NULL) {
		if (h->len < 8 || strncasecmp(h->p, "Bearer ", 7) != 0)
			return -1;
		v.p = h->p + 7;
		v.len = h->len - 7;
	} else if ((h = http_header_get(&req->http, "X-API-Key")) != NULL)
		v = *h;
	else
		return 0;
	if (v.len == 0 || v.len > 8192 || (*token = front_slice_str(&v)) == NULL)
		return -1;
	return 0;
}

static int
proxy_header_allowed(const char *h)
{
	if (strpbrk(h, "\r\n") != NULL)
		return 0;
	for (size_t i = 0; i < nitems(proxy_headers); i++)
		if (strncasecmp(h, proxy_headers[i],
		    strlen(proxy_headers[i])) == 0)
			return 1;
	return 0;
}

static void
proxy_reply(struct front_req *req, enum proc_id peer, enum front_reply how,
    struct ipc_msg *msg, void *arg)
{
	const struct imsg_auth_rep	*rep;
	char				 hdrs[1024] = "";

	if (how != FRONT_REPLY) {
		front_reply_failed(req, peer, how);
		return;
	}
	if (msg->type != IMSG_AUTH_REP) {
		front_error(req, 502, "bad_gateway", "unexpected answer");
		return;
	}
	rep = msg->body;
	for (size_t i = 0; i < rep->headers.n; i++) {
		if (!proxy_header_allowed(rep->headers.v[i])) {
			log_warnx("%s: authd asked for a header we do not send",
			    __func__);
			continue;
		}
		strlcat(hdrs, rep->headers.v[i], sizeof(hdrs));
		strlcat(hdrs, "\r\n", sizeof(hdrs));
	}
	front_respond_text(req, (int)rep->status, hdrs[0] ? hdrs : NULL,
	    rep->body, strlen(rep->body));
}

int
front_body_is_json(const struct front_req *req)
{
	const struct http_slice	*ct;

	if (req->bodylen == 0)
		return 1;
	ct = http_header_get(&req->http, "Content-Type");
	return ct != NULL && ct->len >= 16 &&
	    strncasecmp(ct->p, "application/json", 16) == 0 &&
	    (ct->len == 16 || ct->p[16] == ';' || ct->p[16] == ' ');
}

void
front_proxy_authd(struct front_req *req)
{
	struct imsg_auth_req	 a;
	struct proxy		*px;

	if (req->bodylen > AUTH_MAX_BODY) {
		front_error(req, 413, "payload_too_large",
		    "the request body is too large");
		return;
	}
	if (!front_body_is_json(req)) {
		front_error(req, 415, "unsupported_media_type",
		    "send the body as application/json");
		return;
	}
	px = xcalloc(1, sizeof(*px));
	req->hstate = px;
	req->hstate_free = proxy_free;
	memset(&a, 0, sizeof(a));
	for (size_t i = 0; i < req->nparams; i++)
		if ((px->params[i] = front_slice_str(&req->params[i])) == NULL) {
			front_error(req, 400, "bad_request",
			    "the path is not valid UTF-8");
			return;
		}
	if ((px->query = front_slice_str(&req->http.query)) == NULL ||
	    front_req_token(req, &px->token) == -1) {
		front_error(req, 400, "bad_request",
		    "malformed query or credential");
		return;
	}
	a.op = (char *)req->route->op;
	a.params.v = px->params;
	a.params.n = req->nparams;
	a.query = px->query;
	a.token = px->token;
	a.client = req->client;
	a.request_id = req->id;
	if (req->bodylen > 0) {
		a.body.data = req->body;
		a.body.len = req->bodylen;
	}
	if (front_ask(req, PROC_AUTHD, IMSG_AUTH_REQ, &a, -1,
	    front_req_ipc_timeout(req), proxy_reply, NULL) == -1)
		front_reply_failed(req, PROC_AUTHD, FRONT_DOWN);
}

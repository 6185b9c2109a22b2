/*
 * The route table and its handlers.  A route is a method and a path
 * pattern whose "*" segments match any one non-empty segment (captured in
 * req->params).  No matching path: 404; a matching path but not for this
 * method: 405 with Allow.  A GET route also answers HEAD.
 *
 * Adding a route: write a handler that answers with front_respond() or
 * front_error(), now or from a front_ask() callback, and add a line below.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ballastd/front.h"
#include "ballastd/front_mcp.h"
#include "ballastd/front_static.h"
#include "common/log.h"
#include "common/util.h"

static void	route_healthz(struct front_req *);

#define AUTHD(m, path, op)	{ m, path, front_proxy_authd, op, NULL }
#define CONTENT(m, path, op, act) { m, path, front_content, op, act }
/* The web console's files: not REST, so not in docs/openapi.json. */
#define CONSOLE(path)		{ HTTP_GET, path, front_static, NULL, NULL }
/* Sessions: JSON tokens, or the console's cookie mode (front_session.c). */
#define SESSION(m, path, op)	{ m, path, front_session, op, NULL }

/* docs/api.md describes each; authd decides every one of them. */
static const struct front_route routes[] = {
	{ HTTP_GET,	"/healthz",	route_healthz, NULL, NULL },
	{ HTTP_GET,	"/v1/openapi.json", front_openapi, NULL, NULL },

	CONSOLE("/"),
	CONSOLE("/assets/*"),

	SESSION(HTTP_POST, "/v1/auth/login",			"auth.login"),
	SESSION(HTTP_POST, "/v1/auth/refresh",			"auth.refresh"),
	SESSION(HTTP_POST, "/v1/auth/logout",			"auth.logout"),
	AUTHD(HTTP_GET,    "/v1/me",				"me"),
	AUTHD(HTTP_GET,    "/v1/orgs",				"org.list"),
	AUTHD(HTTP_POST,   "/v1/orgs",				"org.create"),
	AUTHD(HTTP_GET,    "/v1/orgs/*",			"org.get"),
	AUTHD(HTTP_DELETE, "/v1/orgs/*",			"org.delete"),
	AUTHD(HTTP_GET,    "/v1/orgs/*/members",		"member.list"),
	AUTHD(HTTP_POST,   "/v1/orgs/*/members",		"member.add"),
	AUTHD(HTTP_PATCH,  "/v1/orgs/*/members/*",		"member.update"),
	AUTHD(HTTP_DELETE, "/v1/orgs/*/members/*",		"member.remove"),
	AUTHD(HTTP_GET,    "/v1/collections",			"collection.mine"),
	AUTHD(HTTP_GET,    "/v1/orgs/*/collections",		"collection.list"),
	AUTHD(HTTP_POST,   "/v1/orgs/*/collections",		"collection.create"),
	AUTHD(HTTP_GET,    "/v1/collections/*",			"collection.get"),
	AUTHD(HTTP_PATCH,  "/v1/collections/*",			"collection.update"),
	AUTHD(HTTP_DELETE, "/v1/collections/*",			"collection.delete"),
	AUTHD(HTTP_GET,    "/v1/collections/*/members",		"cmember.list"),
	AUTHD(HTTP_POST,   "/v1/collections/*/members",		"cmember.add"),
	AUTHD(HTTP_PATCH,  "/v1/collections/*/members/*",	"cmember.update"),
	AUTHD(HTTP_DELETE, "/v1/collections/*/members/*",	"cmember.remove"),
	AUTHD(HTTP_GET,    "/v1/orgs/*/api-keys",		"apikey.list"),
	AUTHD(HTTP_POST,   "/v1/orgs/*/api-keys",		"apikey.create"),
	AUTHD(HTTP_DELETE, "/v1/orgs/*/api-keys/*",		"apikey.revoke"),
	AUTHD(HTTP_POST,   "/v1/orgs/*/api-keys/*/rotate",	"apikey.rotate"),
	AUTHD(HTTP_GET,    "/v1/orgs/*/audit",			"audit.list"),

	CONTENT(HTTP_POST,   "/v1/collections/*/documents",	"doc.push", "write"),
	CONTENT(HTTP_GET,    "/v1/collections/*/documents/*",	"doc.get", "read"),
	CONTENT(HTTP_DELETE, "/v1/collections/*/documents/*",	"doc.delete", "write"),
	CONTENT(HTTP_POST,   "/v1/collections/*/search",	"search", "read"),
	CONTENT(HTTP_POST,   "/v1/search",			"search", "read"),

	/* sources and sync jobs; the credential's two routes seal first */
	CONTENT(HTTP_GET,    "/v1/collections/*/sources",	"source.list", "read"),
	{ HTTP_POST, "/v1/collections/*/sources", front_source_create,
	    "source.create", "write" },
	CONTENT(HTTP_GET,    "/v1/sources/*",			"source.get", "read"),
	CONTENT(HTTP_PATCH,  "/v1/sources/*",			"source.update", "write"),
	CONTENT(HTTP_DELETE, "/v1/sources/*",			"source.delete", "write"),
	{ HTTP_PUT, "/v1/sources/*/credentials", front_source_credentials,
	    "source.credentials", "write" },
	CONTENT(HTTP_POST,   "/v1/sources/*/sync",		"source.sync", "write"),
	CONTENT(HTTP_GET,    "/v1/sources/*/jobs",		"job.list", "read"),
	CONTENT(HTTP_GET,    "/v1/jobs/*",			"job.get", "read"),
	CONTENT(HTTP_POST,   "/v1/jobs/*/cancel",		"job.cancel", "write"),
	/* OAuth sources (gmail, gdrive): the code exchange runs in indexd */
	CONTENT(HTTP_POST,   "/v1/sources/*/oauth/start",	"source.oauth_start", "write"),
	CONTENT(HTTP_GET,    "/v1/oauth/callback",		"source.oauth_callback", "write"),

	/* MCP (front_mcp.c): POST only; GET and DELETE get 405 */
	{ HTTP_POST,	"/mcp",		front_mcp, NULL, NULL },
};

/* Segment by segment: "*" matches one non-empty segment. */
int
front_route_match(const char *pattern, const struct http_slice *path,
    struct http_slice *params, size_t *nparams)
{
	const char	*p = pattern, *s = path->p, *end = path->p + path->len;

	*nparams = 0;
	while (*p != '\0' && s < end) {
		if (*p == '*' && p > pattern && p[-1] == '/' &&
		    (p[1] == '/' || p[1] == '\0')) {
			const char *seg = s;

			while (s < end && *s != '/')
				s++;
			if (s == seg || *nparams == FRONT_MAX_PARAMS)
				return 0;
			params[*nparams].p = seg;
			params[(*nparams)++].len = (size_t)(s - seg);
			p++;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *p == '\0' && s == end;
}

static void
route_not_allowed(struct front_req *req, unsigned allowed)
{
	char	 hdr[128] = "Allow: ";
	int	 first = 1;

	if (allowed & (1u << HTTP_GET))
		allowed |= 1u << HTTP_HEAD;
	for (int m = 0; m < HTTP_METHOD_MAX; m++) {
		if (!(allowed & (1u << m)))
			continue;
		if (!first)
			strlcat(hdr, ", ", sizeof(hdr));
		strlcat(hdr, http_method_name((enum http_method)m), sizeof(hdr));
		first = 0;
	}
	strlcat(hdr, "\r\n", sizeof(hdr));
	front_respond(req, 405, front_json_error("method_not_allowed",
	    "this path does not accept this method"), hdr);
}

void
front_route(struct front_req *req)
{
	enum http_method	 m = req->http.method;
	unsigned		 allowed = 0;

	if (m == HTTP_HEAD)
		m = HTTP_GET;
	for (size_t i = 0; i < nitems(routes); i++) {
		if (!front_route_match(routes[i].pattern, &req->http.path,
		    req->params, &req->nparams))
			continue;
		if (routes[i].method == m) {
			req->route = &routes[i];
			routes[i].handler(req);
			return;
		}
		allowed |= 1u << routes[i].method;
	}
	req->nparams = 0;
	if (allowed != 0)
		route_not_allowed(req, allowed);
	else
		front_error(req, 404, "not_found", "no such path");
}

/*
 * GET /healthz: ask keyd, authd and indexd for their health (IMSG_PING)
 * and answer once all have answered, or after the healthz deadline.
 */
static const enum proc_id healthz_peers[] = {
	PROC_KEYD, PROC_AUTHD, PROC_INDEXD
};

struct healthz {
	int		 answered[PROC_MAX];
	char		*state[PROC_MAX];	/* NULL: down */
	uint64_t	 pid[PROC_MAX];
};

static void
healthz_free(void *arg)
{
	struct healthz	*h = arg;

	for (size_t i = 0; i < PROC_MAX; i++)
		free(h->state[i]);
	free(h);
}

static void
healthz_answer(struct front_req *req, struct healthz *h)
{
	json_t	*procs, *body;
	int	 ok = 1;

	procs = json_pack("{s:{s:s,s:I}}", "front", "state", "ok", "pid",
	    (json_int_t)getpid());
	for (size_t i = 0; procs != NULL && i < nitems(healthz_peers); i++) {
		enum proc_id	 p = healthz_peers[i];
		json_t		*one;

		if (h->state[p] == NULL)
			one = json_pack("{s:s}", "state", "down");
		else
			one = json_pack("{s:s,s:I}", "state", h->state[p],
			    "pid", (json_int_t)h->pid[p]);
		if (h->state[p] == NULL || strcmp(h->state[p], "ok") != 0)
			ok = 0;
		json_object_set_new(procs, proc_name(p), one);
	}
	body = json_pack("{s:s,s:o*}", "status", ok ? "ok" : "degraded",
	    "processes", procs);
	front_respond(req, ok ? 200 : 503, body, NULL);
}

static void
healthz_reply(struct front_req *req, enum proc_id peer, enum front_reply what,
    struct ipc_msg *msg, void *arg)
{
	struct healthz		*h = req->hstate;
	struct imsg_pong	*pong;

	if (what == FRONT_REPLY && msg->type == IMSG_PONG) {
		pong = msg->body;
		/* A short word from our own process, but keep it short. */
		h->state[peer] = xstrndup(pong->state, 64);
		h->pid[peer] = pong->pid;
	} else if (what == FRONT_REPLY)
		log_warnx("%s: %s answered a ping with %s", __func__,
		    proc_name(peer), ipc_type_name(msg->type));
	h->answered[peer] = 1;
	if (req->npending == 0)
		healthz_answer(req, h);
}

static void
route_healthz(struct front_req *req)
{
	struct healthz		*h;
	struct imsg_empty	 ping;
	unsigned		 timeout;

	h = xcalloc(1, sizeof(*h));
	req->hstate = h;
	req->hstate_free = healthz_free;
	timeout = front_req_ipc_timeout(req);
	if (timeout > FRONT_HEALTHZ_TIMEOUT)
		timeout = FRONT_HEALTHZ_TIMEOUT;
	memset(&ping, 0, sizeof(ping));
	for (size_t i = 0; i < nitems(healthz_peers); i++) {
		/* A peer whose channel is not up is simply down. */
		if (front_ask(req, healthz_peers[i], IMSG_PING, &ping, -1,
		    timeout, healthz_reply, NULL) == -1)
			h->answered[healthz_peers[i]] = 1;
	}
	if (req->npending == 0)
		healthz_answer(req, h);
}

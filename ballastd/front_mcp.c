/*
 * POST /mcp: the Model Context Protocol over Streamable HTTP, stateless
 * (no session ids) and answering with one JSON object, never a stream.
 * Both eras are served on the one endpoint: 2025-11-25 (initialize,
 * notifications/initialized, ping) and 2026-07-28 (per-request _meta and
 * headers, server/discover).  GET and DELETE get the route table's 405.
 *
 * Before a method runs: a browser Origin must be one of "mcp origin";
 * the body must be application/json and the client must accept it; a
 * credential must be there (401 otherwise) and authd must accept it.
 * Tool calls and resource reads take the same two asks as a REST content
 * request (front_content_run), so a key's scope and cap hold here too.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ballastd/front.h"
#include "ballastd/front_mcp.h"
#include "common/log.h"
#include "common/util.h"

#define MCP_SERVER_NAME		"ballast"
#define MCP_SERVER_VERSION	"0.1"
#define MCP_WWW_AUTH		"WWW-Authenticate: Bearer realm=\"ballast\""
#define MCP_INSTRUCTIONS	"Search and read the documents of Ballast " \
	"collections this credential may read. Use search to find " \
	"documents, fetch (or the ballast://documents/{id} resource) to " \
	"read one, list_collections to see which collections exist."

static void
mcp_call_free(void *arg)
{
	struct mcp_call	*mc = arg;

	mcp_msg_free(&mc->msg);
	if (mc->token != NULL)
		freezero(mc->token, strlen(mc->token));
	free(mc->coll);
	free(mc->params[0]);
	free(mc->body);
	free(mc->uri);
	free(mc);
}

static void
mcp_send(struct front_req *req, int status, json_t *msg, const char *hdrs)
{
	if (msg == NULL) {
		front_error(req, 500, "internal_error", "out of memory");
		return;
	}
	front_respond(req, status, msg, hdrs);
}

static json_t *
server_info(void)
{
	return json_pack("{s:s,s:s,s:s}", "name", MCP_SERVER_NAME, "title",
	    "Ballast", "version", MCP_SERVER_VERSION);
}

void
mcp_result(struct front_req *req, struct mcp_call *mc, json_t *result)
{
	if (result != NULL && mc->msg.modern) {
		json_object_set_new(result, "resultType",
		    json_string("complete"));
		json_object_set_new(result, "_meta", json_pack("{s:o}",
		    "io.modelcontextprotocol/serverInfo", server_info()));
	}
	mcp_send(req, 200, result == NULL ? NULL : json_pack("{s:s,s:O,s:o}",
	    "jsonrpc", "2.0", "id", mc->msg.id, "result", result), NULL);
}

void
mcp_error(struct front_req *req, struct mcp_call *mc, int status, int code,
    const char *message)
{
	mcp_send(req, status, mcp_error_json(code, message,
	    mc != NULL ? mc->msg.id : NULL, 0), NULL);
}

/* No credential, a malformed one, or one authd refused. */
void
mcp_unauthorized(struct front_req *req, struct mcp_call *mc, int presented)
{
	mcp_send(req, 401, mcp_error_json(RPC_INVALID_REQUEST,
	    presented ? "the credential was not accepted" :
	    "a credential is required: Authorization: Bearer <API key>",
	    mc != NULL ? mc->msg.id : NULL, 0), presented ?
	    MCP_WWW_AUTH ", error=\"invalid_token\"\r\n" : MCP_WWW_AUTH "\r\n");
}

/* No Origin (not a browser), or one the configuration names. */
static int
origin_ok(const struct front_req *req)
{
	const struct ballast_conf	*cf = &front->c->conf;
	const struct http_slice		*o;

	if ((o = http_header_get(&req->http, "Origin")) == NULL)
		return 1;
	for (uint64_t i = 0; i < cf->mcp_norigins; i++)
		if (http_slice_caseeq(o, cf->mcp_origin[i]))
			return 1;
	return 0;
}

/*
 * The client must take application/json: that type, a wildcard
 * for all application types, or for every type (q=0 excluded).  Clients list
 * text/event-stream too; we never need it.
 */
static int
accept_ok(const struct front_req *req)
{
	const struct http_slice	*a;
	const char		*p, *end, *e, *semi;

	if ((a = http_header_get(&req->http, "Accept")) == NULL)
		return 0;
	for (p = a->p, end = a->p + a->len; p < end; p = e + 1) {
		size_t	 n;

		if ((e = memchr(p, ',', end - p)) == NULL)
			e = end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if ((semi = memchr(p, ';', e - p)) == NULL)
			semi = e;
		for (n = semi - p; n > 0 && (p[n - 1] == ' ' ||
		    p[n - 1] == '\t'); n--)
			;
		if (!((n == 16 && strncasecmp(p, "application/json", 16) ==
		    0) || (n == 13 && strncasecmp(p, "application/*", 13) ==
		    0) || (n == 3 && strncmp(p, "*/*", 3) == 0)))
			continue;
		/* "q=0", "q=0.0", ...: explicitly not acceptable */
		if (semi < e) {
			const char *q = semi + 1;

			while (q < e && (*q == ' ' || *q == ';'))
				q++;
			if (e - q >= 3 && strncasecmp(q, "q=0", 3) == 0 &&
			    strspn(q + 3, ".0") >= (size_t)(e - q - 3))
				continue;
		}
		return 1;
	}
	return 0;
}

static int
content_type_ok(const struct front_req *req)
{
	return http_header_get(&req->http, "Content-Type") != NULL &&
	    front_body_is_json(req);
}

/* A header's value as a C string (NULL when absent or not UTF-8). */
static char *
header_str(const struct front_req *req, const char *name)
{
	const struct http_slice	*h;

	if ((h = http_header_get(&req->http, name)) == NULL || h->len > 4096)
		return NULL;
	return front_slice_str(h);
}

static json_t *
capabilities(void)
{
	return json_pack("{s:{s:b},s:{s:b,s:b}}", "tools", "listChanged", 0,
	    "resources", "subscribe", 0, "listChanged", 0);
}

static void
do_initialize(struct front_req *req, struct mcp_call *mc)
{
	json_t		*v;
	const char	*want;

	v = mc->msg.params != NULL ?
	    json_object_get(mc->msg.params, "protocolVersion") : NULL;
	if (!json_is_string(v)) {
		mcp_error(req, mc, 200, RPC_INVALID_PARAMS,
		    "initialize needs params.protocolVersion");
		return;
	}
	/* Echo a version we speak; else offer our latest. */
	want = json_string_value(v);
	mcp_result(req, mc, json_pack("{s:s,s:o,s:o,s:s}", "protocolVersion",
	    mcp_legacy_version(want) ? want : MCP_LEGACY_LATEST,
	    "capabilities", capabilities(), "serverInfo", server_info(),
	    "instructions", MCP_INSTRUCTIONS));
}

static void
do_discover(struct front_req *req, struct mcp_call *mc)
{
	json_t	*r;

	r = json_pack("{s:[s,s,s,s],s:o,s:s,s:i,s:s}", "supportedVersions",
	    MCP_MODERN, "2025-11-25", "2025-06-18", "2025-03-26",
	    "capabilities", capabilities(), "instructions", MCP_INSTRUCTIONS,
	    "ttlMs", 300000, "cacheScope", "public");
	mcp_result(req, mc, r);
}

/* A list result; the modern era wants to know how long it may keep it. */
static void
do_list(struct front_req *req, struct mcp_call *mc, json_t *r)
{
	if (r != NULL && mc->msg.modern) {
		json_object_set_new(r, "ttlMs", json_integer(60000));
		json_object_set_new(r, "cacheScope", json_string("private"));
	}
	mcp_result(req, mc, r);
}

/* After authd accepted the credential. */
static void
dispatch_plain(struct front_req *req, struct mcp_call *mc)
{
	const char	*m = mc->msg.method;
	int		 modern = mc->msg.modern;

	if (mc->msg.kind != MCP_REQUEST) {
		/* Notifications and responses are taken, never answered. */
		front_respond_text(req, 202, NULL, "", 0);
		return;
	}
	/* These ask again, for the grant their own request needs. */
	memset(&mc->run, 0, sizeof(mc->run));
	if (strcmp(m, "tools/call") == 0)
		mcp_tools_call(req, mc);
	else if (strcmp(m, "resources/read") == 0)
		mcp_resources_read(req, mc);
	else if (strcmp(m, "initialize") == 0 && !modern)
		do_initialize(req, mc);
	else if (strcmp(m, "ping") == 0 && !modern)
		mcp_result(req, mc, json_object());
	else if (strcmp(m, "server/discover") == 0)
		do_discover(req, mc);
	else if (strcmp(m, "tools/list") == 0)
		do_list(req, mc, mcp_tools_list());
	else if (strcmp(m, "resources/list") == 0)
		do_list(req, mc, mcp_resources_list());
	else if (strcmp(m, "resources/templates/list") == 0)
		do_list(req, mc, mcp_templates_list());
	else
		mcp_error(req, mc, modern ? 404 : 200, RPC_METHOD_NOT_FOUND,
		    "method not found");
}

static void
authenticated(struct front_req *req, struct front_content_run *run,
    const struct front_content_result *res)
{
	struct mcp_call	*mc = run->arg;

	if (res->how != FRONT_REPLY)
		mcp_error(req, mc, res->status, RPC_INTERNAL_ERROR,
		    "an internal service is unavailable; try again later");
	else if (res->status == 401)
		mcp_unauthorized(req, mc, 1);
	else if (res->status != 200)
		mcp_error(req, mc, res->status >= 500 ? res->status : 403,
		    RPC_INTERNAL_ERROR, "the credential may not be used here");
	else
		dispatch_plain(req, mc);
}

/* Every message: authd checks the credential before anything runs. */
static void
dispatch(struct front_req *req, struct mcp_call *mc)
{
	memset(&mc->run, 0, sizeof(mc->run));
	mc->run.action = "read";
	mc->run.token = mc->token;
	mc->run.cb = authenticated;
	mc->run.arg = mc;
	front_content_run(req, &mc->run);
}

/* The transport's checks, in the order a client should fix them. */
static int
transport_ok(struct front_req *req)
{
	if (!origin_ok(req)) {
		mcp_error(req, NULL, 403, RPC_INVALID_REQUEST,
		    "this Origin is not allowed");
		return 0;
	}
	if (req->bodylen > MCP_MAX_BODY) {
		mcp_error(req, NULL, 413, RPC_INVALID_REQUEST,
		    "the message is too large");
		return 0;
	}
	if (!content_type_ok(req)) {
		mcp_error(req, NULL, 415, RPC_INVALID_REQUEST,
		    "send the message as application/json");
		return 0;
	}
	if (!accept_ok(req)) {
		mcp_error(req, NULL, 406, RPC_INVALID_REQUEST, "the client "
		    "must accept application/json and text/event-stream");
		return 0;
	}
	return 1;
}

void
front_mcp(struct front_req *req)
{
	struct mcp_call		*mc;
	struct mcp_headers	 h;
	struct mcp_err		 e;
	int			 rv;

	if (!transport_ok(req))
		return;
	mc = xcalloc(1, sizeof(*mc));
	mc->tool = -1;
	req->hstate = mc;
	req->hstate_free = mcp_call_free;
	if (front_req_token(req, &mc->token) == -1 || mc->token == NULL) {
		mcp_unauthorized(req, NULL, mc->token != NULL ||
		    http_header_get(&req->http, "Authorization") != NULL ||
		    http_header_get(&req->http, "X-API-Key") != NULL);
		return;
	}
	memset(&h, 0, sizeof(h));
	h.version = header_str(req, "MCP-Protocol-Version");
	h.method = header_str(req, "Mcp-Method");
	h.name = header_str(req, "Mcp-Name");
	rv = mcp_parse(req->body, req->bodylen, &h, &mc->msg, &e);
	if (rv == -1)
		mcp_send(req, e.status, mcp_error_json(e.code, e.message, e.id,
		    e.supported), NULL);
	free((char *)h.version);
	free((char *)h.method);
	free((char *)h.name);
	if (rv == 0)
		dispatch(req, mc);
}

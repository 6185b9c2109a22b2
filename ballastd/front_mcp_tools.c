/*
 * MCP's tools and resources.  search and fetch are content requests:
 * authd's grant, then indexd (front_content_run), exactly as the REST
 * routes; list_collections is authd's collection.mine.  What a tool
 * could not do is an isError result the model can act on; a call that
 * is not a call (unknown tool, params not an object) is -32602.
 *
 *   search            POST /v1/search or /v1/collections/{id}/search
 *   fetch             doc.fetch: a document by id within the grant
 *   list_collections  GET /v1/collections
 *   ballast://documents/{id}   resources/read, as fetch
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ballastd/front.h"
#include "ballastd/front_mcp.h"
#include "common/log.h"
#include "common/util.h"

#define DOC_URI		"ballast://documents/"
#define DOC_URI_LEN	(sizeof(DOC_URI) - 1)

enum { TOOL_SEARCH, TOOL_FETCH, TOOL_LIST };

/* The tools, in a fixed order; their schemas are part of the protocol. */
static const char tools_json[] =
"{\"tools\":["
 "{\"name\":\"search\",\"title\":\"Search documents\","
  "\"description\":\"Search the documents this credential may read: "
  "hybrid (full text and vectors), keyword or vector. Without "
  "collection, every readable collection is searched.\","
  "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
   "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1024,"
    "\"description\":\"what to look for\"},"
   "\"collection\":{\"type\":\"string\",\"description\":\"a collection id "
    "from list_collections; omit to search them all\"},"
   "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100,"
    "\"default\":10},"
   "\"offset\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10000,"
    "\"default\":0},"
   "\"mode\":{\"type\":\"string\",\"enum\":[\"hybrid\",\"keyword\","
    "\"vector\"],\"default\":\"hybrid\"},"
   "\"filters\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{\"source\":{\"type\":\"string\"},"
    "\"metadata\":{\"type\":\"object\",\"description\":\"metadata the "
    "documents must contain\"},"
    "\"updated_after\":{\"type\":\"string\",\"description\":\"RFC 3339\"},"
    "\"updated_before\":{\"type\":\"string\",\"description\":\"RFC 3339\"}"
    "}}},"
   "\"required\":[\"query\"],\"additionalProperties\":false},"
  "\"outputSchema\":{\"type\":\"object\",\"properties\":{"
   "\"results\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"document_id\":{\"type\":\"string\"},"
    "\"uri\":{\"type\":\"string\"},\"collection_id\":{\"type\":\"string\"},"
    "\"title\":{\"type\":\"string\"},\"url\":{\"type\":\"string\"},"
    "\"snippet\":{\"type\":\"string\"},\"score\":{\"type\":\"number\"},"
    "\"source\":{\"type\":\"string\"},\"external_id\":{\"type\":\"string\"},"
    "\"chunk_id\":{\"type\":\"integer\"}},"
    "\"required\":[\"document_id\",\"uri\",\"collection_id\",\"title\","
    "\"snippet\",\"score\"]}},"
   "\"took_ms\":{\"type\":\"integer\"}},\"required\":[\"results\"]},"
  "\"annotations\":{\"readOnlyHint\":true,\"destructiveHint\":false,"
   "\"idempotentHint\":true,\"openWorldHint\":false}},"
 "{\"name\":\"fetch\",\"title\":\"Fetch a document\","
  "\"description\":\"One document by its id (document_id from search), "
  "with its full text and metadata.\","
  "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
   "\"id\":{\"type\":\"string\",\"description\":\"the document id\"}},"
   "\"required\":[\"id\"],\"additionalProperties\":false},"
  "\"outputSchema\":{\"type\":\"object\",\"properties\":{"
   "\"id\":{\"type\":\"string\"},\"uri\":{\"type\":\"string\"},"
   "\"collection_id\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"
   "\"url\":{\"type\":\"string\"},\"text\":{\"type\":\"string\"},"
   "\"source\":{\"type\":\"string\"},\"external_id\":{\"type\":\"string\"},"
   "\"updated_at\":{\"type\":\"string\"},"
   "\"content_hash\":{\"type\":\"string\"},"
   "\"metadata\":{\"type\":\"object\"},\"owner_user\":{\"type\":\"string\"}},"
   "\"required\":[\"id\",\"uri\",\"collection_id\",\"title\",\"text\"]},"
  "\"annotations\":{\"readOnlyHint\":true,\"destructiveHint\":false,"
   "\"idempotentHint\":true,\"openWorldHint\":false}},"
 "{\"name\":\"list_collections\",\"title\":\"List collections\","
  "\"description\":\"The collections this credential may read.\","
  "\"inputSchema\":{\"type\":\"object\",\"properties\":{},"
   "\"additionalProperties\":false},"
  "\"outputSchema\":{\"type\":\"object\",\"properties\":{"
   "\"collections\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"id\":{\"type\":\"string\"},"
    "\"name\":{\"type\":\"string\"},\"org_id\":{\"type\":\"string\"},"
    "\"role\":{\"type\":\"string\"}},"
    "\"required\":[\"id\",\"name\",\"org_id\",\"role\"]}}},"
   "\"required\":[\"collections\"]},"
  "\"annotations\":{\"readOnlyHint\":true,\"destructiveHint\":false,"
   "\"idempotentHint\":true,\"openWorldHint\":false}}"
"]}";

json_t *
mcp_tools_list(void)
{
	return json_loads(tools_json, 0, NULL);
}

/* Documents cannot be listed wholesale; the template names them. */
json_t *
mcp_resources_list(void)
{
	return json_pack("{s:[]}", "resources");
}

json_t *
mcp_templates_list(void)
{
	return json_pack("{s:[{s:s,s:s,s:s,s:s,s:s}]}", "resourceTemplates",
	    "uriTemplate", DOC_URI "{id}", "name", "document", "title",
	    "A Ballast document", "description", "The text of one document "
	    "the credential may read, by id", "mimeType", "text/plain");
}

static json_t *
doc_uri(const char *id)
{
	char	 buf[128];

	if ((size_t)snprintf(buf, sizeof(buf), DOC_URI "%s", id) >=
	    sizeof(buf))
		return json_string(DOC_URI);
	return json_string(buf);
}

/* A successful tool result: structured, and the same JSON as text. */
static void
tool_ok(struct front_req *req, struct mcp_call *mc, json_t *structured)
{
	char	*text;

	if (structured == NULL || (text = json_dumps(structured,
	    JSON_COMPACT)) == NULL) {
		json_decref(structured);
		mcp_result(req, mc, NULL);
		return;
	}
	mcp_result(req, mc, json_pack("{s:[{s:s,s:s}],s:o,s:b}", "content",
	    "type", "text", "text", text, "structuredContent", structured,
	    "isError", 0));
	free(text);
}

static void
tool_fail(struct front_req *req, struct mcp_call *mc, const char *what,
    const char *why)
{
	char	 msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", what, why);
	mcp_result(req, mc, json_pack("{s:[{s:s,s:s}],s:b}", "content", "type",
	    "text", "text", msg, "isError", 1));
}

/* The message of a peer's {"error":{"message":...}} (fixed texts). */
static const char *
peer_message(json_t *o, const char *dflt)
{
	json_t	*m = json_object_get(json_object_get(o, "error"), "message");

	return json_is_string(m) ? json_string_value(m) : dflt;
}

static const char *const tool_names[] = {
	"search", "fetch", "list_collections"
};

/*
 * A content answer for a tool: 401 stays HTTP, a peer that failed or any
 * refusal is an isError result; 1 with *body when it went through.
 */
static int
tool_answer(struct front_req *req, struct mcp_call *mc,
    const struct front_content_result *res, json_t **body)
{
	const char	*what = tool_names[mc->tool];

	*body = NULL;
	if (res->how != FRONT_REPLY) {
		tool_fail(req, mc, what, "an internal service is unavailable; "
		    "try again later");
		return 0;
	}
	if (res->status == 401) {
		mcp_unauthorized(req, mc, 1);
		return 0;
	}
	*body = json_loads(res->body, 0, NULL);
	if (res->status != 200 || !json_is_object(*body)) {
		tool_fail(req, mc, what, res->status == 404 ?
		    (mc->tool == TOOL_FETCH ? "no such document within this "
		    "credential's scope" : "no such collection within this "
		    "credential's scope") : peer_message(*body,
		    "the request failed"));
		json_decref(*body);
		*body = NULL;
		return 0;
	}
	return 1;
}

static void
search_done(struct front_req *req, struct front_content_run *run,
    const struct front_content_result *res)
{
	struct mcp_call	*mc = run->arg;
	json_t		*o, *results, *hit;
	size_t		 i;

	if (!tool_answer(req, mc, res, &o))
		return;
	results = json_object_get(o, "results");
	json_array_foreach(results, i, hit) {
		json_t *id = json_object_get(hit, "document_id");

		if (json_is_string(id))
			json_object_set_new(hit, "uri",
			    doc_uri(json_string_value(id)));
	}
	tool_ok(req, mc, o);
}

static void
fetch_done(struct front_req *req, struct front_content_run *run,
    const struct front_content_result *res)
{
	struct mcp_call	*mc = run->arg;
	json_t		*o, *id;

	if (!tool_answer(req, mc, res, &o))
		return;
	/* The chunks repeat the text: a model needs it once. */
	json_object_del(o, "chunks");
	if (json_is_string(id = json_object_get(o, "id")))
		json_object_set_new(o, "uri", doc_uri(json_string_value(id)));
	tool_ok(req, mc, o);
}

/* The run every content tool shares: read, with the caller's key. */
static void
run_read(struct front_req *req, struct mcp_call *mc, const char *op,
    front_content_cb cb)
{
	mc->run.op = op;
	mc->run.action = "read";
	mc->run.token = mc->token;
	mc->run.cb = cb;
	mc->run.arg = mc;
	if (mc->body != NULL) {
		mc->run.body = (const uint8_t *)mc->body;
		mc->run.bodylen = strlen(mc->body);
	}
	front_content_run(req, &mc->run);
}

static void
tool_search(struct front_req *req, struct mcp_call *mc, json_t *args)
{
	json_t	*coll, *body;

	coll = json_object_get(args, "collection");
	if (coll != NULL && (!json_is_string(coll) ||
	    json_string_length(coll) == 0 || json_string_length(coll) > 64)) {
		tool_fail(req, mc, "search", "\"collection\" must be a "
		    "collection id");
		return;
	}
	/* indexd checks the rest of the arguments, member by member. */
	if ((body = json_deep_copy(args)) == NULL) {
		mcp_result(req, mc, NULL);
		return;
	}
	json_object_del(body, "collection");
	mc->body = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (mc->body == NULL) {
		mcp_result(req, mc, NULL);
		return;
	}
	if (coll != NULL) {
		mc->coll = xstrdup(json_string_value(coll));
		mc->params[0] = xstrdup(mc->coll);
		mc->run.collection = mc->coll;
		mc->run.params = mc->params;
		mc->run.nparams = 1;
	}
	run_read(req, mc, "search", search_done);
}

/* {"id":id} for doc.fetch; 0 when id is not a plausible document id. */
static int
fetch_body(struct mcp_call *mc, const char *id)
{
	size_t	 n = strlen(id);
	json_t	*o;

	if (n == 0 || n > 64 || strspn(id, "0123456789abcdefABCDEF-") != n)
		return 0;
	if ((o = json_pack("{s:s}", "id", id)) == NULL)
		return 0;
	mc->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return mc->body != NULL;
}

static void
tool_fetch(struct front_req *req, struct mcp_call *mc, json_t *args)
{
	json_t		*id = json_object_get(args, "id");

	if (!json_is_string(id) || json_object_size(args) != 1) {
		tool_fail(req, mc, "fetch", "the only argument is \"id\", "
		    "a document id");
		return;
	}
	if (!fetch_body(mc, json_string_value(id))) {
		tool_fail(req, mc, "fetch", "no such document within this "
		    "credential's scope");
		return;
	}
	run_read(req, mc, "doc.fetch", fetch_done);
}

static void
list_reply(struct front_req *req, enum proc_id peer, enum front_reply how,
    struct ipc_msg *msg, void *arg)
{
	struct mcp_call			*mc = arg;
	struct front_content_result	 res;
	json_t				*o;

	memset(&res, 0, sizeof(res));
	res.how = how;
	res.peer = peer;
	if (how == FRONT_REPLY && msg->type == IMSG_AUTH_REP) {
		const struct imsg_auth_rep *rep = msg->body;

		res.status = (int)rep->status;
		res.body = rep->body;
	} else if (how == FRONT_REPLY) {
		res.status = 502;
		res.body = "{}";
	}
	if (tool_answer(req, mc, &res, &o))
		tool_ok(req, mc, o);
}

static void
tool_list(struct front_req *req, struct mcp_call *mc, json_t *args)
{
	struct imsg_auth_req	 a;

	if (json_object_size(args) != 0) {
		tool_fail(req, mc, "list_collections", "this tool takes no "
		    "arguments");
		return;
	}
	memset(&a, 0, sizeof(a));
	a.op = (char *)"collection.mine";
	a.query = (char *)"";
	a.token = mc->token;
	a.client = req->client;
	a.request_id = req->id;
	if (front_ask(req, PROC_AUTHD, IMSG_AUTH_REQ, &a, -1,
	    front_req_ipc_timeout(req), list_reply, mc) == -1)
		list_reply(req, PROC_AUTHD, FRONT_DOWN, NULL, mc);
}

void
mcp_tools_call(struct front_req *req, struct mcp_call *mc)
{
	json_t		*name, *args, *empty = NULL;
	size_t		 i;

	name = mc->msg.params != NULL ?
	    json_object_get(mc->msg.params, "name") : NULL;
	args = mc->msg.params != NULL ?
	    json_object_get(mc->msg.params, "arguments") : NULL;
	for (i = 0; json_is_string(name) && i < nitems(tool_names); i++)
		if (strcmp(json_string_value(name), tool_names[i]) == 0)
			break;
	if (!json_is_string(name) || i == nitems(tool_names)) {
		mcp_error(req, mc, mc->msg.modern ? 400 : 200,
		    RPC_INVALID_PARAMS, "unknown tool");
		return;
	}
	if (args != NULL && !json_is_object(args)) {
		mcp_error(req, mc, mc->msg.modern ? 400 : 200,
		    RPC_INVALID_PARAMS, "\"arguments\" must be an object");
		return;
	}
	if (args == NULL)
		args = empty = json_object();
	mc->tool = (int)i;
	if (i == TOOL_SEARCH)
		tool_search(req, mc, args);
	else if (i == TOOL_FETCH)
		tool_fetch(req, mc, args);
	else
		tool_list(req, mc, args);
	json_decref(empty);
}

static void
resource_not_found(struct front_req *req, struct mcp_call *mc)
{
	/*
	 * -32002 until 2026-07-28, -32602 from then on; 400, not 404, which
	 * clients take for "no MCP endpoint here".
	 */
	mcp_error(req, mc, mc->msg.modern ? 400 : 200, mc->msg.modern ?
	    RPC_INVALID_PARAMS : MCP_RESOURCE_NOT_FOUND, "resource not found");
}

static void
read_done(struct front_req *req, struct front_content_run *run,
    const struct front_content_result *res)
{
	struct mcp_call	*mc = run->arg;
	json_t		*o, *text, *c;

	if (res->how != FRONT_REPLY) {
		mcp_error(req, mc, res->status, RPC_INTERNAL_ERROR,
		    "an internal service is unavailable; try again later");
		return;
	}
	if (res->status == 401) {
		mcp_unauthorized(req, mc, 1);
		return;
	}
	o = json_loads(res->body, 0, NULL);
	if (res->status != 200 || !json_is_string(text =
	    json_object_get(o, "text"))) {
		json_decref(o);
		resource_not_found(req, mc);
		return;
	}
	c = json_pack("{s:[{s:s,s:s,s:O}]}", "contents", "uri", mc->uri,
	    "mimeType", "text/plain", "text", text);
	json_decref(o);
	if (c != NULL && mc->msg.modern) {
		json_object_set_new(c, "ttlMs", json_integer(0));
		json_object_set_new(c, "cacheScope", json_string("private"));
	}
	mcp_result(req, mc, c);
}

void
mcp_resources_read(struct front_req *req, struct mcp_call *mc)
{
	json_t	*uri;

	uri = mc->msg.params != NULL ?
	    json_object_get(mc->msg.params, "uri") : NULL;
	if (!json_is_string(uri)) {
		mcp_error(req, mc, mc->msg.modern ? 400 : 200,
		    RPC_INVALID_PARAMS, "\"uri\" must be a string");
		return;
	}
	mc->uri = xstrdup(json_string_value(uri));
	if (strncmp(mc->uri, DOC_URI, DOC_URI_LEN) != 0 ||
	    !fetch_body(mc, mc->uri + DOC_URI_LEN)) {
		resource_not_found(req, mc);
		return;
	}
	run_read(req, mc, "doc.fetch", read_done);
}

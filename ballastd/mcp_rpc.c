/*
 * One MCP message as a client POSTs it: a JSON-RPC 2.0 request,
 * notification or response, checked member by member, and the version
 * rules of the era it belongs to (see /mcp in ballastd(8)).
 *
 *   legacy (2025-11-25 and before)  MCP-Protocol-Version, when present,
 *                  names a version we speak; initialize negotiates.
 *   modern (2026-07-28)  params._meta carries the version; the
 *                  MCP-Protocol-Version header must repeat it, Mcp-Method
 *                  the method, Mcp-Name the tool or resource.
 *
 * Pure: no I/O, no global state, so fuzz_mcp runs it on anything.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "ballastd/front_mcp.h"
#include "common/util.h"

#define META_VERSION	"io.modelcontextprotocol/protocolVersion"
#define META_CAPS	"io.modelcontextprotocol/clientCapabilities"
#define HEADER_MAX	4096

static const char *const legacy_versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26"
};

int
mcp_legacy_version(const char *v)
{
	for (size_t i = 0; v != NULL && i < nitems(legacy_versions); i++)
		if (strcmp(v, legacy_versions[i]) == 0)
			return 1;
	return 0;
}

json_t *
mcp_error_json(int code, const char *message, json_t *id, int supported)
{
	json_t	*err, *data;

	err = json_pack("{s:i,s:s}", "code", code, "message", message);
	if (err != NULL && supported) {
		data = json_pack("{s:[s,s,s,s]}", "supported", MCP_MODERN,
		    legacy_versions[0], legacy_versions[1],
		    legacy_versions[2]);
		json_object_set_new(err, "data", data);
	}
	return json_pack("{s:s,s:O?,s:o*}", "jsonrpc", "2.0", "id",
	    id != NULL ? id : json_null(), "error", err);
}

static int
fail(struct mcp_err *e, int status, int code, const char *message)
{
	e->status = status;
	e->code = code;
	e->message = message;
	return -1;
}

/* A JSON-RPC id as MCP allows it: a string or an integer, never null. */
static int
id_valid(json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

/* Only the members named may be there. */
static int
members_only(json_t *o, const char *const *keys, size_t n)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(o, k, v) {
		size_t	 i;

		for (i = 0; i < n && strcmp(k, keys[i]) != 0; i++)
			;
		if (i == n)
			return 0;
	}
	return 1;
}

static const char *const request_keys[] = {
	"jsonrpc", "id", "method", "params"
};
static const char *const response_keys[] = {
	"jsonrpc", "id", "result", "error"
};

static int
rpc_shape(struct mcp_msg *m, struct mcp_err *e)
{
	json_t	*o = m->root, *v, *method;

	if (json_is_array(o))
		return fail(e, 400, RPC_INVALID_REQUEST, "batches are not "
		    "supported: send one JSON-RPC message per request");
	if (!json_is_object(o))
		return fail(e, 400, RPC_INVALID_REQUEST, "the body must be "
		    "a JSON-RPC object");
	if ((v = json_object_get(o, "id")) != NULL && id_valid(v))
		m->id = e->id = v;
	if ((v = json_object_get(o, "jsonrpc")) == NULL ||
	    !json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		return fail(e, 400, RPC_INVALID_REQUEST, "\"jsonrpc\" must "
		    "be \"2.0\"");
	if ((v = json_object_get(o, "id")) != NULL && !id_valid(v))
		return fail(e, 400, RPC_INVALID_REQUEST, "\"id\" must be a "
		    "string or an integer");
	if ((method = json_object_get(o, "method")) == NULL) {
		/* A client's answer to a server request: we never ask. */
		if (v == NULL || !members_only(o, response_keys,
		    nitems(response_keys)) ||
		    (json_object_get(o, "result") == NULL) ==
		    (json_object_get(o, "error") == NULL))
			return fail(e, 400, RPC_INVALID_REQUEST, "not a "
			    "JSON-RPC request, notification or response");
		m->kind = MCP_RESPONSE;
		return 0;
	}
	if (!members_only(o, request_keys, nitems(request_keys)))
		return fail(e, 400, RPC_INVALID_REQUEST, "unknown member in "
		    "the JSON-RPC request");
	if (!json_is_string(method) || json_string_length(method) == 0 ||
	    json_string_length(method) > 128 ||
	    strlen(json_string_value(method)) != json_string_length(method))
		return fail(e, 400, RPC_INVALID_REQUEST, "\"method\" must be "
		    "a non-empty string");
	m->method = json_string_value(method);
	m->kind = v != NULL ? MCP_REQUEST : MCP_NOTIFICATION;
	if ((m->params = json_object_get(o, "params")) != NULL &&
	    !json_is_object(m->params))
		return fail(e, 400, RPC_INVALID_REQUEST, "\"params\" must be "
		    "an object");
	return 0;
}

/* A header's value, decoded from "=?base64?...?=" when so sent. */
char *
mcp_header_decode(const char *h)
{
	size_t		 len = strlen(h), n, pad = 0;
	unsigned char	*out;
	int		 got;

	if (len < 12 || strncmp(h, "=?base64?", 9) != 0 ||
	    strcmp(h + len - 2, "?=") != 0)
		return xstrdup(h);
	h += 9;
	n = len - 11;
	if (n % 4 != 0 || n > HEADER_MAX)
		return NULL;
	if (n > 0 && h[n - 1] == '=')
		pad++;
	if (n > 1 && h[n - 2] == '=')
		pad++;
	out = xcalloc(1, n / 4 * 3 + 1);
	got = EVP_DecodeBlock(out, (const unsigned char *)h, (int)n);
	if (got < 0 || (size_t)got < pad ||
	    memchr(out, '\0', (size_t)got - pad) != NULL ||
	    !utf8_valid((char *)out, (size_t)got - pad)) {
		free(out);
		return NULL;
	}
	out[got - pad] = '\0';
	return (char *)out;
}

/* Header h must be there and say exactly want. */
static int
header_is(const char *h, const char *want)
{
	char	*v;
	int	 ok;

	if (h == NULL || want == NULL || (v = mcp_header_decode(h)) == NULL)
		return 0;
	ok = strcmp(v, want) == 0;
	free(v);
	return ok;
}

/* The tool or resource a request names, which Mcp-Name repeats. */
static const char *
named_target(const struct mcp_msg *m, int *needs)
{
	const char	*key = NULL;
	json_t		*v;

	*needs = 1;
	if (strcmp(m->method, "tools/call") == 0 ||
	    strcmp(m->method, "prompts/get") == 0)
		key = "name";
	else if (strcmp(m->method, "resources/read") == 0)
		key = "uri";
	else {
		*needs = 0;
		return NULL;
	}
	v = m->params != NULL ? json_object_get(m->params, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
era_modern(struct mcp_msg *m, json_t *ver, json_t *meta,
    const struct mcp_headers *h, struct mcp_err *e)
{
	const char	*target;
	int		 needs;

	if (!json_is_string(ver))
		return fail(e, 400, RPC_INVALID_PARAMS, "_meta protocol "
		    "version must be a string");
	if (!header_is(h->version, json_string_value(ver)))
		return fail(e, 400, MCP_HEADER_MISMATCH, "MCP-Protocol-"
		    "Version must be sent and equal the _meta protocol "
		    "version");
	if (strcmp(json_string_value(ver), MCP_MODERN) != 0) {
		e->supported = 1;
		return fail(e, 400, MCP_UNSUPPORTED_VERSION, "unsupported "
		    "protocol version");
	}
	if (!header_is(h->method, m->method))
		return fail(e, 400, MCP_HEADER_MISMATCH, "Mcp-Method must be "
		    "sent and equal the method");
	target = named_target(m, &needs);
	if (needs && (target == NULL || !header_is(h->name, target)))
		return fail(e, 400, MCP_HEADER_MISMATCH, "Mcp-Name must be "
		    "sent and equal params.name or params.uri");
	if (m->kind == MCP_REQUEST &&
	    !json_is_object(json_object_get(meta, META_CAPS)))
		return fail(e, 400, RPC_INVALID_PARAMS, "_meta needs the "
		    "client capabilities");
	m->modern = 1;
	strlcpy(m->version, MCP_MODERN, sizeof(m->version));
	return 0;
}

static int
era_legacy(struct mcp_msg *m, const struct mcp_headers *h,
    struct mcp_err *e)
{
	/* server/discover may come bare: it is how a client finds out. */
	if (m->method != NULL && strcmp(m->method, "server/discover") == 0 &&
	    (h->version == NULL || strcmp(h->version, MCP_MODERN) == 0 ||
	    mcp_legacy_version(h->version))) {
		m->modern = 1;
		strlcpy(m->version, MCP_MODERN, sizeof(m->version));
		return 0;
	}
	if (h->version != NULL && strcmp(h->version, MCP_MODERN) == 0)
		return fail(e, 400, MCP_HEADER_MISMATCH, "MCP-Protocol-"
		    "Version 2026-07-28 needs the version in params._meta");
	if (h->version != NULL && !mcp_legacy_version(h->version)) {
		e->supported = 1;
		return fail(e, 400, MCP_UNSUPPORTED_VERSION, "unsupported "
		    "protocol version");
	}
	/* No header: 2025-03-26, as the transport says. */
	strlcpy(m->version, h->version != NULL ? h->version : "2025-03-26",
	    sizeof(m->version));
	return 0;
}

static int
rpc_era(struct mcp_msg *m, const struct mcp_headers *h, struct mcp_err *e)
{
	json_t	*meta, *ver = NULL;

	if (m->kind == MCP_RESPONSE)
		return era_legacy(m, h, e);
	meta = m->params != NULL ? json_object_get(m->params, "_meta") : NULL;
	if (meta != NULL && !json_is_object(meta))
		return fail(e, 400, RPC_INVALID_PARAMS, "params._meta must "
		    "be an object");
	if (meta != NULL)
		ver = json_object_get(meta, META_VERSION);
	if (ver != NULL)
		return era_modern(m, ver, meta, h, e);
	return era_legacy(m, h, e);
}

int
mcp_parse(const uint8_t *body, size_t len, const struct mcp_headers *h,
    struct mcp_msg *m, struct mcp_err *e)
{
	json_error_t	 jerr;

	memset(m, 0, sizeof(*m));
	memset(e, 0, sizeof(*e));
	if (len > MCP_MAX_BODY)
		return fail(e, 413, RPC_INVALID_REQUEST, "the message is too "
		    "large");
	if (len == 0)
		return fail(e, 400, RPC_PARSE_ERROR, "the body is empty");
	/* The parser's text may quote the body: it is not passed on. */
	if ((m->root = json_loadb((const char *)body, len,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr)) == NULL)
		return fail(e, 400, RPC_PARSE_ERROR, "the body is not valid "
		    "JSON");
	if (rpc_shape(m, e) == -1)
		return -1;
	return rpc_era(m, h, e);
}

void
mcp_msg_free(struct mcp_msg *m)
{
	json_decref(m->root);
	memset(m, 0, sizeof(*m));
}

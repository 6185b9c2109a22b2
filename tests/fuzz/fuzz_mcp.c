/*
 * Fuzz MCP's JSON-RPC message parser (ballastd/mcp_rpc.c) with the three
 * headers it compares against.  Input: "version\0method\0name\0body" (an
 * empty header is absent); without three NULs the whole input is the
 * body and no header is sent.  What must always hold: an accepted
 * message is well formed for its kind, a refusal names a status and a
 * code we send, and the error object for it can be built and encoded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ballastd/front_mcp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_ok(const struct mcp_msg *m)
{
	if (m->root == NULL || m->version[0] == '\0')
		abort();
	switch (m->kind) {
	case MCP_REQUEST:
		if (m->id == NULL || m->method == NULL)
			abort();
		break;
	case MCP_NOTIFICATION:
		if (m->id != NULL || m->method == NULL)
			abort();
		break;
	case MCP_RESPONSE:
		if (m->id == NULL || m->method != NULL)
			abort();
		break;
	}
	if (m->id != NULL && !json_is_string(m->id) && !json_is_integer(m->id))
		abort();
	if (m->params != NULL && !json_is_object(m->params))
		abort();
	if (m->modern && strcmp(m->version, MCP_MODERN) != 0)
		abort();
	if (!m->modern && !mcp_legacy_version(m->version))
		abort();
}

static void
check_err(const struct mcp_err *e)
{
	json_t	*j;
	char	*s;

	if ((e->status != 400 && e->status != 413) || e->message == NULL)
		abort();
	switch (e->code) {
	case RPC_PARSE_ERROR: case RPC_INVALID_REQUEST:
	case RPC_INVALID_PARAMS: case MCP_HEADER_MISMATCH:
	case MCP_UNSUPPORTED_VERSION:
		break;
	default:
		abort();
	}
	if ((j = mcp_error_json(e->code, e->message, e->id, e->supported)) ==
	    NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		abort();
	free(s);
	json_decref(j);
}

/* The next NUL-terminated field, or NULL when there is no NUL left. */
static char *
field(const uint8_t **p, size_t *left)
{
	const uint8_t	*nul = memchr(*p, '\0', *left);
	char		*s;
	size_t		 n;

	if (nul == NULL)
		return NULL;
	n = (size_t)(nul - *p);
	if ((s = malloc(n + 1)) == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + 1;
	*left -= n + 1;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct mcp_headers	 h;
	struct mcp_msg		 m;
	struct mcp_err		 e;
	const uint8_t		*p = data;
	size_t			 left = len;
	char			*f[3] = { NULL, NULL, NULL }, *d;
	int			 i;

	for (i = 0; i < 3 && (f[i] = field(&p, &left)) != NULL; i++)
		;
	if (i < 3) {		/* no headers: the whole input is the body */
		for (i = 0; i < 3; i++)
			free(f[i]);
		memset(f, 0, sizeof(f));
		p = data;
		left = len;
	}
	memset(&h, 0, sizeof(h));
	h.version = f[0] != NULL && f[0][0] != '\0' ? f[0] : NULL;
	h.method = f[1] != NULL && f[1][0] != '\0' ? f[1] : NULL;
	h.name = f[2] != NULL && f[2][0] != '\0' ? f[2] : NULL;
	if (h.name != NULL && (d = mcp_header_decode(h.name)) != NULL) {
		if (strlen(d) > strlen(h.name))
			abort();
		free(d);
	}
	if (mcp_parse(p, left, &h, &m, &e) == 0)
		check_ok(&m);
	else
		check_err(&e);
	mcp_msg_free(&m);
	for (i = 0; i < 3; i++)
		free(f[i]);
	return 0;
}

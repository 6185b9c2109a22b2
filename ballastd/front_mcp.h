/*
 * MCP (Model Context Protocol) on the HTTPS listener, and the content
 * path it shares with the REST routes.
 *
 *   front_content.c	verify with authd, then one indexd op: for routes
 *			(front_content) and for any other caller
 *			(front_content_run)
 *   mcp_rpc.c		one JSON-RPC message and the protocol-version
 *			rules of both MCP eras (pure: fuzz_mcp)
 *   front_mcp.c	POST /mcp: transport checks, credential, dispatch
 *   front_mcp_tools.c	tools (search, fetch, list_collections), resources
 */
#ifndef BALLAST_FRONT_MCP_H
#define BALLAST_FRONT_MCP_H

#include <stddef.h>
#include <stdint.h>

#include "ballastd/front.h"

/* ---- front_content.c ------------------------------------------------ */

struct front_content_result {
	int			 status;	/* HTTP status */
	enum front_reply	 how;		/* not FRONT_REPLY: peer failed */
	enum proc_id		 peer;		/* ... this one */
	const char		*hdrs;		/* NULL, or authd's header lines */
	const char		*body;		/* JSON text (how == FRONT_REPLY) */
};

struct front_content_run;
typedef void (*front_content_cb)(struct front_req *,
    struct front_content_run *, const struct front_content_result *);

/*
 * One content request for a caller that is not a route: ask authd for a
 * grant (action, on collection or on everything readable), then indexd
 * for op with params and body.  The caller owns the struct and every
 * string in it until cb runs; cb runs exactly once, unless the request
 * goes away first (its asks are cancelled then).  With op NULL only the
 * decision is asked: cb gets 200 and "{}" when authd allows.
 */
struct front_content_run {
	const char		*op;
	const char		*action;	/* "read", "write" */
	const char		*collection;	/* NULL: every readable */
	char			**params;
	size_t			 nparams;
	const char		*query;		/* NULL: "" */
	const uint8_t		*body;
	size_t			 bodylen;
	const char		*token;		/* the caller's credential */
	front_content_cb	 cb;
	void			*arg;
	/*
	 * optional: runs on an allowing decision instead of the ask to
	 * indexd (the sealing paths, front_source.c).  It copies from the
	 * decision what it needs (the message is freed when it returns),
	 * and then answers the request itself or calls
	 * front_content_index(), now or later.
	 */
	void			(*before_index)(struct front_req *,
				    struct front_content_run *,
				    const struct imsg_auth_decision *);
};
void	front_content_run(struct front_req *, struct front_content_run *);
/* Ask indexd for run->op with the run's params, query and body. */
void	front_content_index(struct front_req *, struct front_content_run *,
	    const char *grant, const uint8_t *mac, size_t maclen);

/* ---- mcp_rpc.c ------------------------------------------------------ */

#define MCP_MAX_BODY		(1024 * 1024)	/* bytes, on top of the front's */
#define MCP_LEGACY_LATEST	"2025-11-25"
#define MCP_MODERN		"2026-07-28"

/* JSON-RPC and MCP error codes. */
#define RPC_PARSE_ERROR		-32700
#define RPC_INVALID_REQUEST	-32600
#define RPC_METHOD_NOT_FOUND	-32601
#define RPC_INVALID_PARAMS	-32602
#define RPC_INTERNAL_ERROR	-32603
#define MCP_RESOURCE_NOT_FOUND	-32002		/* 2025-11-25 */
#define MCP_HEADER_MISMATCH	-32020		/* 2026-07-28 */
#define MCP_UNSUPPORTED_VERSION	-32022		/* 2026-07-28 */

enum mcp_kind {
	MCP_REQUEST,		/* method and id */
	MCP_NOTIFICATION,	/* method, no id */
	MCP_RESPONSE		/* result or error and id: a client's answer */
};

/* The transport headers that matter to the message. */
struct mcp_headers {
	const char	*version;	/* MCP-Protocol-Version, or NULL */
	const char	*method;	/* Mcp-Method, or NULL */
	const char	*name;		/* Mcp-Name, or NULL */
};

/* A checked message; root holds everything the pointers point into. */
struct mcp_msg {
	json_t		*root;
	enum mcp_kind	 kind;
	json_t		*id;		/* borrowed; NULL for notifications */
	const char	*method;
	json_t		*params;	/* borrowed object, or NULL */
	int		 modern;	/* 2026-07-28 request (_meta version) */
	char		 version[16];	/* the era's negotiated version */
};

/* Why a message was refused: the HTTP status and the JSON-RPC error. */
struct mcp_err {
	int		 status;
	int		 code;
	const char	*message;	/* a fixed text */
	json_t		*id;		/* borrowed from the message, or NULL */
	int		 supported;	/* data.supported belongs in the error */
};

/*
 * Parse and check one POST body: JSON (no duplicate keys, bounded size
 * and depth), one JSON-RPC 2.0 object (no batches), and the version and
 * header rules of its era.  0 fills m (mcp_msg_free it); -1 fills e (and
 * m->root may still hold the id e points to: free m either way).
 */
int	mcp_parse(const uint8_t *body, size_t len, const struct mcp_headers *,
	    struct mcp_msg *m, struct mcp_err *e);
void	mcp_msg_free(struct mcp_msg *);
/* 1 for a protocol version this server speaks in the legacy era. */
int	mcp_legacy_version(const char *);
/* The JSON-RPC error object for e (with data.supported when asked). */
json_t	*mcp_error_json(int code, const char *message, json_t *id,
	    int supported);
/* "=?base64?...?=" header values decoded; NULL when malformed. */
char	*mcp_header_decode(const char *);

/* ---- front_mcp.c ---------------------------------------------------- */

/* The route handler of POST /mcp. */
void	front_mcp(struct front_req *);

/* The state of one MCP request (req->hstate). */
struct mcp_call {
	struct mcp_msg		 msg;
	char			*token;
	struct front_content_run run;
	/* tool and resource calls: their own copies */
	char			*coll;
	char			*params[1];
	char			*body;
	char			*uri;
	int			 tool;		/* which tool, or -1 */
};

/* Answer the call's request with a result (stolen; NULL: out of memory). */
void	mcp_result(struct front_req *, struct mcp_call *, json_t *result);
/* Answer with a JSON-RPC error and the HTTP status. */
void	mcp_error(struct front_req *, struct mcp_call *, int status,
	    int code, const char *message);
/* A 401 with WWW-Authenticate. */
void	mcp_unauthorized(struct front_req *, struct mcp_call *, int presented);

/* ---- front_mcp_tools.c ---------------------------------------------- */

/* tools/list, resources/list, resources/templates/list results. */
json_t	*mcp_tools_list(void);
json_t	*mcp_resources_list(void);
json_t	*mcp_templates_list(void);
/* tools/call and resources/read: they answer the request themselves. */
void	mcp_tools_call(struct front_req *, struct mcp_call *);
void	mcp_resources_read(struct front_req *, struct mcp_call *);

#endif

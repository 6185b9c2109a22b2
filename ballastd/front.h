/*
 * The front process: TLS termination, HTTP/1.1, routing, request
 * validation and the access log (DESIGN.md section 1).  It holds no key
 * and no database connection; everything it answers beyond its own
 * health comes from asking its peers over IPC.
 *
 *   front.c		front_main(): boot, TLS, sandbox, listener, loop
 *   front_tls.c	the SSL_CTX from the fds the parent sent
 *   front_conn.c	one client connection: deadlines, head, body, writes
 *   front_pending.c	requests waiting for a peer's reply (504/503)
 *   front_routes.c	the route table and its handlers (/healthz)
 *   front_json.c	JSON bodies, error bodies
 *   front_access.c	the access log: a line per request, a write per turn
 *   http.c		the request-head parser (pure)
 *
 * A handler gets a struct front_req and must, now or later, call
 * front_respond() or front_error() exactly once.  To ask a peer it calls
 * front_ask(): the reply (or its timeout, or the peer going down) comes
 * back to the callback it names, and the request stays open meanwhile.
 * If the client goes away first, every ask of the request is cancelled
 * and the late reply is ignored.  Handlers never see the connection.
 */
#ifndef BALLAST_FRONT_H
#define BALLAST_FRONT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "ballastd/http.h"
#include "common/child.h"
#include "common/ipc.h"

struct evconnlistener;
struct front_conn;
struct front_pending;
typedef struct json_t json_t;
typedef struct ssl_ctx_st SSL_CTX;

__attribute__((noreturn)) void front_main(int argc, char **argv);

#define FRONT_MAX_PARAMS	4
#define FRONT_HEALTHZ_TIMEOUT	2	/* seconds, at most */

/* Limits a connection takes from the configuration when it starts. */
struct front_limits {
	uint64_t	 max_header_size;
	uint64_t	 max_body_size;
	uint64_t	 header_timeout;
	uint64_t	 body_timeout;
	uint64_t	 idle_timeout;
	uint64_t	 ipc_timeout;
};

/* The process-wide state. */
struct front {
	struct child		*c;
	SSL_CTX			*ssl_ctx;
	struct evconnlistener	*listener;
	uint64_t		 nconns;
	int			 paused;	/* accept paused at the limit */
};
extern struct front	*front;

/* One HTTP request, from its first byte until its response is queued. */
struct front_req {
	struct front_conn	*conn;
	struct http_request	 http;		/* slices point into head */
	char			*head;
	size_t			 headlen;
	uint8_t			*body;
	size_t			 bodylen;
	size_t			 bodygot;
	char			 id[17];	/* X-Request-Id */
	char			 client[64];
	uint64_t		 start_ms;	/* monotonic */
	int64_t			 start_wall_ms;	/* for the log's time */
	int			 parsed;	/* http is valid */
	int			 status;	/* once responded */
	size_t			 resp_bytes;
	int			 responded;

	/* routing */
	const struct front_route *route;
	struct http_slice	 params[FRONT_MAX_PARAMS];	/* "*" segments */
	size_t			 nparams;

	/* asks to peers still outstanding */
	TAILQ_HEAD(, front_pending) pending;
	unsigned		 npending;

	/* a handler's own state, freed with the request */
	void			*hstate;
	void			(*hstate_free)(void *);
};

typedef void (*front_handler)(struct front_req *);

struct front_route {
	enum http_method	 method;	/* GET routes also answer HEAD */
	const char		*pattern;	/* "/v1/x/ * /y": '*' = a segment */
	front_handler		 handler;
	const char		*op;		/* the peer's operation, if any */
	const char		*action;	/* content routes: read, write */
};

/* front_proxy.c: forward the request to authd as route->op. */
void	front_proxy_authd(struct front_req *);
/* The credential: "Authorization: Bearer X" or "X-API-Key: X"; -1 if bad. */
int	front_req_token(struct front_req *, char **token);
/* A slice as a C string; NULL when it is not UTF-8. */
char	*front_slice_str(const struct http_slice *);
/* 415 unless a body, if any, is application/json. */
int	front_body_is_json(const struct front_req *);
/*
 * front_content.c: ask authd for a grant (route->action on the collection
 * of the path, if any), then forward the request and the grant to indexd.
 */
void	front_content(struct front_req *);
/*
 * front_source.c: the routes that carry a source's credential in clear
 * (POST /v1/collections/{cid}/sources, PUT /v1/sources/{id}/credentials):
 * authd's write decision, keyd seals the credential, indexd gets only the
 * sealed bytes.  The pure parts below are for tests.
 */
#define FRONT_UUID_LEN		36
#define FRONT_SOURCE_MAX_CRED	(16u * 1024)	/* compact JSON text */
void	front_source_create(struct front_req *);
void	front_source_credentials(struct front_req *);
/* A random UUID v4, lower case. */
void	front_source_uuid(char out[FRONT_UUID_LEN + 1]);
/* 1 for a lower-case canonical UUID. */
int	front_source_uuid_valid(const char *);
/*
 * The client's body, parsed (duplicates refused): an object without "id"
 * or "sealed_credentials"; its "credentials" (a string or an object, at
 * most FRONT_SOURCE_MAX_CRED bytes as compact JSON) taken out into *cred
 * (malloc'd text, freezero it) and the rest left in *rest.  With
 * cred_only the body must be exactly {"credentials": ...}.  0, or -1 with
 * a message for the client in err (never bytes of the body).
 */
int	front_source_split(const uint8_t *body, size_t len, int cred_only,
	    json_t **rest, char **cred, size_t *credlen, char *err,
	    size_t errlen);
/* rest plus "id" and "sealed_credentials" (each if not NULL), compact. */
char	*front_source_forward(json_t *rest, const char *id,
	    const char *sealed, size_t *len);
/* A grant's org and owner (GRANT_IDLEN bytes each); -1 if unreadable. */
int	front_source_grant(const char *grant, char *org, char *owner);
/* front_openapi.c: GET /v1/openapi.json, docs/openapi.json compiled in. */
void	front_openapi(struct front_req *);

/* front.c */
void	front_conn_closed(const char *client);

/*
 * front_tls.c: closes the fds; NULL (logged) if they are broken.  With a
 * client CA bundle (fd_ca != -1) every client must present a certificate
 * it signed.
 */
SSL_CTX	*front_tls_ctx(int fd_cert, int fd_key, int fd_ca);

/* front_conn.c */
void	front_conn_accept(int fd, const char *client);
/* Queue the response of the connection's current request. */
void	front_conn_respond(struct front_req *, int status, const char *hdrs,
	    const char *body, size_t bodylen);
/* The connection's ipc_timeout, for a handler's asks. */
unsigned front_req_ipc_timeout(const struct front_req *);

/* front_routes.c: find and run the handler for a parsed request. */
void	front_route(struct front_req *);
int	front_route_match(const char *pattern, const struct http_slice *path,
	    struct http_slice *params, size_t *nparams);

/* Answer the request: body is consumed (json_decref'd); hdrs may be NULL. */
void	front_respond(struct front_req *, int status, json_t *body,
	    const char *hdrs);
/* Answer with a ready JSON text (a peer's answer). */
void	front_respond_text(struct front_req *, int status, const char *hdrs,
	    const char *text, size_t len);
/* {"error":{"code":code,"message":message}}; never put request bytes in it. */
void	front_error(struct front_req *, int status, const char *code,
	    const char *message);

/* front_pending.c */
enum front_reply {
	FRONT_REPLY,	/* msg is the peer's answer */
	FRONT_TIMEOUT,	/* no answer in time: msg is NULL */
	FRONT_DOWN	/* channel not up or went down: msg is NULL */
};
typedef void (*front_reply_cb)(struct front_req *, enum proc_id peer,
    enum front_reply, struct ipc_msg *msg, void *arg);

/*
 * Send a request to a peer and wait for the reply with the same id, for
 * at most timeout seconds.  0 on success; -1 when the peer's channel is
 * not up or the message cannot be queued (the callback is not called:
 * the caller treats the peer as down).
 */
int	front_ask(struct front_req *, enum proc_id peer, enum ipc_type,
	    const void *body, int fd, unsigned timeout, front_reply_cb,
	    void *arg);
/* Drop every ask of a request (it was answered, or its client left). */
void	front_pending_cancel(struct front_req *);
/* A peer's channel went down: every ask on it gets FRONT_DOWN. */
void	front_pending_peer_down(enum proc_id peer);
/* c->dispatch[] for keyd, authd and indexd. */
void	front_pending_dispatch(struct child *, struct ipc_chan *,
	    struct ipc_msg *);
/* 504 for a timeout, 503 for a peer that is down. */
void	front_reply_failed(struct front_req *, enum proc_id peer,
	    enum front_reply);

/* front_json.c */
char	*front_json_dump(json_t *, size_t *len);
json_t	*front_json_error(const char *code, const char *message);
void	 front_date(char *buf, size_t len);	/* IMF-fixdate, now */

/* front_access.c */
struct event_base;
/* The end-of-turn flush; before this, every line is written at once. */
void	 front_access_init(struct event_base *);
void	 front_access_log(const struct front_req *);
/* Write access lines to fd from now on (-1: to the daemon's log). */
void	 front_access_log_fd(int fd);

#endif

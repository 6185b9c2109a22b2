/*
 * The message catalogue: every IPC message type of the suite, one enum,
 * grouped by direction, with one body struct each and a field table from
 * which the single validating decoder and the encoder work.
 *
 * On the wire a message is a msgpack array [type, request_id, body] where
 * body is a map of string keys.  Decoding checks, before any handler sees
 * the message: the array shape, a known type, the exact key set of the
 * body (no extras, no duplicates, every required key), each value's type,
 * string/bin lengths, integer ranges, and that strings are UTF-8 without
 * NUL.  Bump IPC_VERSION on any incompatible change.
 */
#ifndef BALLAST_IPC_MSG_H
#define BALLAST_IPC_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/proc.h"

#define IPC_VERSION	1
/* Hard cap on one encoded message; larger frames are refused unread. */
#define IPC_MAX_MSG	(32u * 1024 * 1024)
/* Caps that apply to every field unless its table entry says less. */
#define IPC_MAX_STR	(IPC_MAX_MSG - 64)
#define IPC_MAX_STRV	4096

enum ipc_type {
	IMSG_NONE = 0,

	/* parent -> child, start-up and reload */
	IMSG_CONF,		/* normalised config text */
	IMSG_FD,		/* a resource fd the parent opened */
	IMSG_SECRET,		/* a start-up secret: the decision key */
	IMSG_CONF_END,		/* start-up data complete */
	IMSG_CHANNEL,		/* socketpair end to another child */
	IMSG_RELOAD,		/* new normalised config text */

	/* child -> parent */
	IMSG_READY,		/* sandboxed, serving */

	/* health: parent or front -> child, and the answer */
	IMSG_PING,
	IMSG_PONG,

	/* ballastctl <-> parent on the control socket */
	IMSG_CTL_STATUS,
	IMSG_CTL_PROC,		/* one per process, then IMSG_CTL_RESULT */
	IMSG_CTL_RELOAD,
	IMSG_CTL_STOP,
	IMSG_CTL_RESULT,

	/*
	 * keyd.  front may only seal; indexd seals, opens and rewraps;
	 * authd signs tokens and fetches the public key; the parent asks
	 * for the key list.  Every request is answered by its reply type or
	 * by IMSG_KEY_ERROR.
	 */
	IMSG_KEY_SEAL,		/* imsg_key_req, data = plaintext */
	IMSG_KEY_OPEN,		/* imsg_key_req, data = sealed */
	IMSG_KEY_REWRAP,	/* imsg_key_req, data = sealed */
	IMSG_KEY_RESULT,	/* imsg_key_data: sealed or plaintext */
	IMSG_KEY_SIGN,		/* imsg_key_sign */
	IMSG_KEY_SIGNED,	/* imsg_key_token */
	IMSG_KEY_PUBKEY,	/* empty */
	IMSG_KEY_PUBKEY_REP,	/* imsg_key_pubkey */
	IMSG_KEY_LIST,		/* empty, parent -> keyd */
	IMSG_KEY_INFO,		/* one per key; last = 1 on the final one */
	IMSG_KEY_ERROR,		/* imsg_key_error */

	/*
	 * authd.  The front forwards each identity request as an operation
	 * name, the path parameters, the caller's credential and the JSON
	 * body; authd decides and answers with the HTTP status and body.
	 */
	IMSG_AUTH_REQ,		/* imsg_auth_req, front -> authd */
	IMSG_AUTH_REP,		/* imsg_auth_rep, authd -> front */
	/*
	 * Content requests: the front asks authd for a decision, which comes
	 * back as a grant authd signed with the decision key (HMAC-SHA256)
	 * that only authd and indexd hold, and forwards the grant to indexd.
	 * A compromised front can replay nothing: a grant names its request
	 * id and expires within seconds.
	 */
	IMSG_AUTH_VERIFY,	/* imsg_auth_verify, front -> authd */
	IMSG_AUTH_DECISION,	/* imsg_auth_decision, authd -> front */
	IMSG_INDEX_REQ,		/* imsg_index_req, front -> indexd */
	IMSG_INDEX_REP,		/* imsg_auth_rep shape, indexd -> front */

	/*
	 * GET /metrics: the front asks the parent for the metric lines only
	 * the parent knows (child restarts, which children are up) and
	 * indexd for its own (sync jobs, documents, database errors).
	 */
	IMSG_METRICS_REQ,	/* empty, front -> parent, indexd */
	IMSG_METRICS_REP,	/* imsg_metrics, parent, indexd -> front */

	/*
	 * Sync runs.  indexd asks the parent for a fetcher (only the parent
	 * can start a process under another uid); the parent answers with
	 * the fetcher's end of a fresh socketpair's twin: the fetcher gets
	 * one end as fd 3, indexd the other with IMSG_FETCH_SPAWNED.  The
	 * parent keeps no channel to a fetcher and kills one only when
	 * indexd asks (IMSG_FETCH_KILL) or indexd itself goes.
	 */
	IMSG_FETCH_SPAWN,	/* imsg_fetch_spawn, indexd -> parent */
	IMSG_FETCH_SPAWNED,	/* imsg_fetch_spawned + fd, parent -> indexd */
	IMSG_FETCH_FAILED,	/* imsg_fetch_failed, parent -> indexd */
	IMSG_FETCH_KILL,	/* imsg_fetch_kill, indexd -> parent */
	/* indexd <-> fetcher: one job in, documents and an end out */
	IMSG_FETCH_START,	/* imsg_fetch_start, indexd -> fetcher */
	IMSG_FETCH_DOC,		/* imsg_fetch_doc, fetcher -> indexd */
	IMSG_FETCH_KEEP,	/* imsg_fetch_keep, fetcher -> indexd */
	IMSG_FETCH_DONE,	/* imsg_fetch_done, fetcher -> indexd */
	IMSG_FETCH_ERROR,	/* imsg_fetch_error, fetcher -> indexd */

	/*
	 * ballastctl's requests that indexd answers (key rewrap, secret
	 * counts, sync run): ballastctl -> parent, which forwards the same
	 * message to indexd and the answer back.
	 */
	IMSG_CTL_ADMIN,		/* imsg_ctl_admin */
	IMSG_CTL_ADMIN_REP,	/* imsg_ctl_result */

	/*
	 * OAuth sources: a fetcher that refreshed (or first obtained) its
	 * source's tokens sends the whole new credential so indexd has keyd
	 * seal it and stores it before the run ends.
	 */
	IMSG_FETCH_TOKENS,	/* imsg_fetch_tokens, fetcher -> indexd */

	IMSG_MAX
};

/* A byte string; data is NUL-terminated for convenience, len excludes it. */
struct ipc_bin {
	uint8_t		*data;
	size_t		 len;
};

/* An array of strings. */
struct ipc_strv {
	char		**v;
	size_t		  n;
};

/* Bodies.  Strings are heap copies owned by the decoded message. */
struct imsg_empty {
	int		 unused;
};

struct imsg_conf {
	char		*text;
};

struct imsg_fd {
	char		*what;		/* "keyring", "tls-cert", "tls-key", "listen",
					   "metrics-listen", "access-log" */
};

struct imsg_channel {
	uint64_t	 peer;		/* enum proc_id */
};

struct imsg_ready {
	uint64_t	 pid;
	uint64_t	 uid;
	uint64_t	 gid;
};

struct imsg_pong {
	uint64_t	 pid;
	char		*state;		/* "ok" or a short reason */
};

struct imsg_ctl_proc {
	char		*name;
	char		*state;		/* "running", "starting", "restarting" */
	uint64_t	 pid;
	uint64_t	 uid;
	uint64_t	 uptime;	/* seconds */
	uint64_t	 restarts;
};

struct imsg_ctl_result {
	int		 ok;
	char		*message;
};

/* The owner context of a sealed secret (keyd/crypto.h, struct seal_ctx). */
struct imsg_key_req {
	char		*org;
	char		*source;
	char		*user;		/* optional: personal secrets only */
	struct ipc_bin	 user_salt;	/* optional: with user */
	struct ipc_bin	 data;
};

struct imsg_key_data {
	struct ipc_bin	 data;
};

struct imsg_key_sign {
	char		*claims;	/* JSON object, see jwt_claims_check */
};

struct imsg_key_token {
	char		*token;
};

struct imsg_key_pubkey {
	uint64_t	 kid;
	struct ipc_bin	 pub;		/* 32-byte Ed25519 public key */
};

struct imsg_key_info {
	uint64_t	 id;
	uint64_t	 created;
	int		 newest;
	int		 last;
};

struct imsg_key_error {
	char		*code;		/* "bad_message", "invalid", "refused", "internal" */
	char		*message;	/* never about the secret */
};

#define AUTH_MAX_BODY	(1024 * 1024)

struct imsg_auth_req {
	char		*op;		/* "auth.login", "org.get", ... */
	struct ipc_strv	 params;	/* path segments the route matched */
	char		*query;		/* raw query string, may be "" */
	char		*token;		/* optional: Bearer value or X-API-Key */
	char		*client;	/* client address */
	char		*request_id;	/* X-Request-Id, for logs and audit */
	struct ipc_bin	 body;		/* optional: JSON request body */
};

#define DECISION_KEYLEN	32
#define DECISION_MACLEN	32

struct imsg_secret {
	char		*what;		/* "decision-key" */
	struct ipc_bin	 data;
};

struct imsg_auth_verify {
	char		*token;		/* optional */
	char		*client;
	char		*request_id;
	char		*action;	/* "read", "write" */
	char		*collection;	/* optional: one collection's id */
	char		*op;		/* optional: indexd's op ("search"
					   is rate limited per principal) */
};

struct imsg_auth_decision {
	uint64_t	 status;	/* 200: granted; else the HTTP status */
	char		*body;		/* error JSON when refused, else "" */
	char		*grant;		/* JSON, when granted (see grant.h) */
	struct ipc_bin	 mac;		/* HMAC-SHA256(decision key, grant) */
	struct ipc_strv	 headers;	/* optional, as in imsg_auth_rep */
	/*
	 * optional: the key salt of the grant's owner, so the front can
	 * seal a personal source's credential under that user's key (a
	 * salt is not a secret; the master key never leaves keyd)
	 */
	struct ipc_bin	 user_salt;
};

struct imsg_index_req {
	char		*op;		/* "doc.push", "search", ... */
	struct ipc_strv	 params;
	char		*query;
	char		*request_id;
	struct ipc_bin	 body;		/* optional */
	char		*grant;
	struct ipc_bin	 mac;
};

struct imsg_auth_rep {
	uint64_t	 status;	/* HTTP status */
	char		*body;		/* JSON text */
	struct ipc_strv	 headers;	/* optional "Name: value" lines */
};

/* Prometheus text format lines, HELP and TYPE included. */
#define METRICS_MAX_TEXT	(64 * 1024)
struct imsg_metrics {
	char		*text;
};

/* Sync runs (see IMSG_FETCH_*). */
#define FETCH_MAX_JOBID		64
#define FETCH_MAX_TYPE		32
#define FETCH_MAX_CONFIG	(64u * 1024)	/* JSON text */
#define FETCH_MAX_CREDENTIAL	(16u * 1024)	/* JSON text */
#define FETCH_MAX_CURSOR	4096
#define FETCH_MAX_BODY		(4u * 1024 * 1024)	/* = DOC_MAX_TEXT */
#define FETCH_MAX_KEEP		1000	/* ids in one IMSG_FETCH_KEEP */

struct imsg_fetch_spawn {
	char		*job;
};

struct imsg_fetch_spawned {
	char		*job;
	uint64_t	 pid;
};

struct imsg_fetch_failed {
	char		*job;
	char		*message;
};

struct imsg_fetch_kill {
	uint64_t	 pid;
};

struct imsg_fetch_start {
	char		*job;
	char		*type;		/* connector: "files", "http", ... */
	char		*config;	/* the source's config, JSON object */
	struct ipc_bin	 credential;	/* optional: JSON text, plaintext */
	char		*cursor;	/* "" on a first run */
	/*
	 * optional: an OAuth code exchange instead of a sync, JSON text
	 * {"code", "verifier"}; the run answers IMSG_FETCH_TOKENS and DONE
	 */
	struct ipc_bin	 oauth;
};

/* One document; indexd checks it again like a pushed one. */
struct imsg_fetch_doc {
	char		*external_id;	/* 1..512 bytes */
	char		*title;		/* may be "" */
	char		*url;		/* may be "" */
	char		*text;		/* the body as plain text */
	char		*metadata;	/* JSON object text, "{}" for none */
	char		*updated_at;	/* RFC 3339 or "" */
};

/* Documents still at the source and unchanged since the cursor. */
struct imsg_fetch_keep {
	struct ipc_strv	 ids;
};

struct imsg_fetch_done {
	char		*cursor;	/* to store for the next run */
	/*
	 * 1: every document at the source was sent as a DOC or a KEEP, so
	 * what was not is gone and indexd deletes it
	 */
	int		 complete;
};

struct imsg_fetch_error {
	char		*message;	/* never a secret */
	int		 transient;	/* 1: worth retrying later */
	/*
	 * optional: 1 when the provider revoked the source's OAuth grant;
	 * indexd marks the source needs_reauth and never retries
	 */
	int		 reauth;
};

/* The source's whole new credential (JSON text), to be sealed. */
#define FETCH_MAX_OAUTH		4096
struct imsg_fetch_tokens {
	struct ipc_bin	 credential;
};

struct imsg_ctl_admin {
	char		*op;		/* "rewrap", "secrets", "sync", ... */
	char		*arg;		/* "sync": the source id; else "" */
	struct ipc_bin	 data;		/* optional: "secret-set": the value */
};

enum ipc_kind {
	IPC_K_U64,
	IPC_K_I64,
	IPC_K_BOOL,		/* stored as int */
	IPC_K_STR,		/* char *, UTF-8, no NUL */
	IPC_K_BIN,		/* struct ipc_bin */
	IPC_K_STRV		/* struct ipc_strv */
};

struct ipc_field {
	const char	*key;
	enum ipc_kind	 kind;
	size_t		 off;		/* offset in the body struct */
	uint64_t	 min;		/* U64: min value; STR/BIN: min length */
	uint64_t	 max;		/* U64: max value; STR/BIN: max length; STRV: max count */
	int		 optional;
};

struct ipc_msgdef {
	const char		*name;
	size_t			 bodysize;
	const struct ipc_field	*fields;
	size_t			 nfields;
	uint32_t		 senders;	/* PROC_BIT set */
	uint32_t		 receivers;	/* PROC_BIT set */
	int			 wants_fd;	/* 1: exactly one fd rides along */
};

/* A decoded message. */
struct ipc_msg {
	enum ipc_type	 type;
	uint64_t	 id;		/* request id, echoed in replies */
	int		 fd;		/* passed fd or -1; closed by ipc_msg_clear */
	void		*body;		/* struct imsg_* of the type */
};

const struct ipc_msgdef	*ipc_msgdef(enum ipc_type);
const char		*ipc_type_name(enum ipc_type);

/* 1 when `from` may send `type` to `to` (the trust table). */
int	ipc_policy_allows(enum ipc_type type, enum proc_id from, enum proc_id to);

/*
 * Encode into a malloc'd buffer (*out, *outlen), msgpack only (no frame
 * header).  Fails (-1) when the body does not satisfy its own field table,
 * so a process can never send what its peer would refuse.
 */
int	ipc_encode(enum ipc_type, uint64_t id, const void *body,
	    uint8_t **out, size_t *outlen);

/*
 * Decode one complete msgpack message.  On failure returns -1 and writes
 * a short reason (never message contents) into err.
 */
int	ipc_decode(const uint8_t *buf, size_t len, struct ipc_msg *msg,
	    char *err, size_t errlen);

/* Wipe and free a decoded body, close its fd; msg can be reused. */
void	ipc_msg_clear(struct ipc_msg *);
/* Wipe and free a body struct of the given type (not the struct itself). */
void	ipc_body_wipe(enum ipc_type, void *body);

#endif

/*
 * The message catalogue and its single encoder/decoder.  Every body is
 * described by a field table; ipc_encode() and ipc_decode() walk that
 * table, so a new message type is one table entry and no new code.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

#include "common/conf.h"
#include "common/ipc_msg.h"
#include "common/util.h"

/* Containers deeper than this are refused before msgpack sees them. */
#define IPC_MAX_DEPTH	8
/*
 * Elements of all containers of one message together.  A real message
 * has a handful of keys and at most a few IPC_MAX_STRV arrays; the cap
 * bounds what msgpack allocates per message (about 48 bytes an element).
 */
#define IPC_MAX_ELEMS	(16 * IPC_MAX_STRV)
/* A body has at most this many fields (the seen-key bitmask). */
#define IPC_MAX_FIELDS	32

#define FLD(st, k, kind, mn, mx) \
	{ #k, kind, offsetof(st, k), mn, mx, 0 }

static const struct ipc_field conf_fields[] = {
	FLD(struct imsg_conf, text, IPC_K_STR, 0, CONF_MAX_SIZE),
};
static const struct ipc_field fd_fields[] = {
	FLD(struct imsg_fd, what, IPC_K_STR, 1, 32),
};
static const struct ipc_field channel_fields[] = {
	FLD(struct imsg_channel, peer, IPC_K_U64, 1, PROC_MAX - 1),
};
static const struct ipc_field ready_fields[] = {
	FLD(struct imsg_ready, pid, IPC_K_U64, 1, INT32_MAX),
	FLD(struct imsg_ready, uid, IPC_K_U64, 0, UINT32_MAX - 1),
	FLD(struct imsg_ready, gid, IPC_K_U64, 0, UINT32_MAX - 1),
};
static const struct ipc_field pong_fields[] = {
	FLD(struct imsg_pong, pid, IPC_K_U64, 1, INT32_MAX),
	FLD(struct imsg_pong, state, IPC_K_STR, 1, 64),
};
static const struct ipc_field ctl_proc_fields[] = {
	FLD(struct imsg_ctl_proc, name, IPC_K_STR, 1, 32),
	FLD(struct imsg_ctl_proc, state, IPC_K_STR, 1, 32),
	FLD(struct imsg_ctl_proc, pid, IPC_K_U64, 0, INT32_MAX),
	FLD(struct imsg_ctl_proc, uid, IPC_K_U64, 0, UINT32_MAX - 1),
	FLD(struct imsg_ctl_proc, uptime, IPC_K_U64, 0, 0),
	FLD(struct imsg_ctl_proc, restarts, IPC_K_U64, 0, 0),
};
static const struct ipc_field ctl_result_fields[] = {
	FLD(struct imsg_ctl_result, ok, IPC_K_BOOL, 0, 0),
	/* status listings can be long; the parent is the only sender */
	FLD(struct imsg_ctl_result, message, IPC_K_STR, 0, 0),
};

#define OPT(st, k, kind, mn, mx) \
	{ #k, kind, offsetof(st, k), mn, mx, 1 }

/* Sizes from keyd/crypto.h, repeated so common/ needs no keyd header. */
#define KEY_MAX_FIELD		1024
#define KEY_SALTLEN		32
#define KEY_MAX_DATA		(1024u * 1024 + 64)

static const struct ipc_field key_req_fields[] = {
	FLD(struct imsg_key_req, org, IPC_K_STR, 1, KEY_MAX_FIELD),
	FLD(struct imsg_key_req, source, IPC_K_STR, 1, KEY_MAX_FIELD),
	OPT(struct imsg_key_req, user, IPC_K_STR, 0, KEY_MAX_FIELD),
	OPT(struct imsg_key_req, user_salt, IPC_K_BIN, KEY_SALTLEN,
	    KEY_SALTLEN),
	FLD(struct imsg_key_req, data, IPC_K_BIN, 0, KEY_MAX_DATA),
};
static const struct ipc_field key_data_fields[] = {
	FLD(struct imsg_key_data, data, IPC_K_BIN, 0, KEY_MAX_DATA),
};
static const struct ipc_field key_sign_fields[] = {
	FLD(struct imsg_key_sign, claims, IPC_K_STR, 2, 4096),
};
static const struct ipc_field key_token_fields[] = {
	FLD(struct imsg_key_token, token, IPC_K_STR, 1, 8192),
};
static const struct ipc_field key_pubkey_fields[] = {
	FLD(struct imsg_key_pubkey, kid, IPC_K_U64, 1, UINT32_MAX),
	FLD(struct imsg_key_pubkey, pub, IPC_K_BIN, 32, 32),
};
static const struct ipc_field key_info_fields[] = {
	FLD(struct imsg_key_info, id, IPC_K_U64, 1, UINT32_MAX),
	FLD(struct imsg_key_info, created, IPC_K_U64, 0, 0),
	FLD(struct imsg_key_info, newest, IPC_K_BOOL, 0, 0),
	FLD(struct imsg_key_info, last, IPC_K_BOOL, 0, 0),
};
static const struct ipc_field key_error_fields[] = {
	FLD(struct imsg_key_error, code, IPC_K_STR, 1, 32),
	FLD(struct imsg_key_error, message, IPC_K_STR, 0, 256),
};

static const struct ipc_field auth_req_fields[] = {
	FLD(struct imsg_auth_req, op, IPC_K_STR, 1, 64),
	FLD(struct imsg_auth_req, params, IPC_K_STRV, 0, 4),
	FLD(struct imsg_auth_req, query, IPC_K_STR, 0, 8192),
	OPT(struct imsg_auth_req, token, IPC_K_STR, 1, 8192),
	FLD(struct imsg_auth_req, client, IPC_K_STR, 1, 64),
	FLD(struct imsg_auth_req, request_id, IPC_K_STR, 1, 32),
	OPT(struct imsg_auth_req, body, IPC_K_BIN, 0, AUTH_MAX_BODY),
};
static const struct ipc_field auth_rep_fields[] = {
	FLD(struct imsg_auth_rep, status, IPC_K_U64, 100, 599),
	FLD(struct imsg_auth_rep, body, IPC_K_STR, 0, 0),
	OPT(struct imsg_auth_rep, headers, IPC_K_STRV, 0, 8),
};

static const struct ipc_field secret_fields[] = {
	FLD(struct imsg_secret, what, IPC_K_STR, 1, 32),
	FLD(struct imsg_secret, data, IPC_K_BIN, DECISION_KEYLEN,
	    DECISION_KEYLEN),
};
static const struct ipc_field auth_verify_fields[] = {
	OPT(struct imsg_auth_verify, token, IPC_K_STR, 1, 8192),
	FLD(struct imsg_auth_verify, client, IPC_K_STR, 1, 64),
	FLD(struct imsg_auth_verify, request_id, IPC_K_STR, 1, 32),
	FLD(struct imsg_auth_verify, action, IPC_K_STR, 1, 16),
	OPT(struct imsg_auth_verify, collection, IPC_K_STR, 1, 64),
	OPT(struct imsg_auth_verify, op, IPC_K_STR, 1, 64),
};
static const struct ipc_field auth_decision_fields[] = {
	FLD(struct imsg_auth_decision, status, IPC_K_U64, 100, 599),
	FLD(struct imsg_auth_decision, body, IPC_K_STR, 0, 65536),
	OPT(struct imsg_auth_decision, grant, IPC_K_STR, 2, 1024 * 1024),
	OPT(struct imsg_auth_decision, mac, IPC_K_BIN, DECISION_MACLEN,
	    DECISION_MACLEN),
	OPT(struct imsg_auth_decision, headers, IPC_K_STRV, 0, 8),
	OPT(struct imsg_auth_decision, user_salt, IPC_K_BIN, KEY_SALTLEN,
	    KEY_SALTLEN),
};
static const struct ipc_field index_req_fields[] = {
	FLD(struct imsg_index_req, op, IPC_K_STR, 1, 64),
	FLD(struct imsg_index_req, params, IPC_K_STRV, 0, 4),
	FLD(struct imsg_index_req, query, IPC_K_STR, 0, 8192),
	FLD(struct imsg_index_req, request_id, IPC_K_STR, 1, 32),
	OPT(struct imsg_index_req, body, IPC_K_BIN, 0, IPC_MAX_MSG / 2),
	FLD(struct imsg_index_req, grant, IPC_K_STR, 2, 1024 * 1024),
	FLD(struct imsg_index_req, mac, IPC_K_BIN, DECISION_MACLEN,
	    DECISION_MACLEN),
};

static const struct ipc_field metrics_fields[] = {
	FLD(struct imsg_metrics, text, IPC_K_STR, 0, METRICS_MAX_TEXT),
};

static const struct ipc_field fetch_spawn_fields[] = {
	FLD(struct imsg_fetch_spawn, job, IPC_K_STR, 1, FETCH_MAX_JOBID),
};
static const struct ipc_field fetch_spawned_fields[] = {
	FLD(struct imsg_fetch_spawned, job, IPC_K_STR, 1, FETCH_MAX_JOBID),
	FLD(struct imsg_fetch_spawned, pid, IPC_K_U64, 1, INT32_MAX),
};
static const struct ipc_field fetch_failed_fields[] = {
	FLD(struct imsg_fetch_failed, job, IPC_K_STR, 1, FETCH_MAX_JOBID),
	FLD(struct imsg_fetch_failed, message, IPC_K_STR, 0, 256),
};
static const struct ipc_field fetch_kill_fields[] = {
	FLD(struct imsg_fetch_kill, pid, IPC_K_U64, 1, INT32_MAX),
};
static const struct ipc_field fetch_start_fields[] = {
	FLD(struct imsg_fetch_start, job, IPC_K_STR, 1, FETCH_MAX_JOBID),
	FLD(struct imsg_fetch_start, type, IPC_K_STR, 1, FETCH_MAX_TYPE),
	FLD(struct imsg_fetch_start, config, IPC_K_STR, 2, FETCH_MAX_CONFIG),
	OPT(struct imsg_fetch_start, credential, IPC_K_BIN, 0,
	    FETCH_MAX_CREDENTIAL),
	FLD(struct imsg_fetch_start, cursor, IPC_K_STR, 0, FETCH_MAX_CURSOR),
	OPT(struct imsg_fetch_start, oauth, IPC_K_BIN, 2, FETCH_MAX_OAUTH),
};
static const struct ipc_field fetch_doc_fields[] = {
	FLD(struct imsg_fetch_doc, external_id, IPC_K_STR, 1, 512),
	FLD(struct imsg_fetch_doc, title, IPC_K_STR, 0, 1024),
	FLD(struct imsg_fetch_doc, url, IPC_K_STR, 0, 2048),
	FLD(struct imsg_fetch_doc, text, IPC_K_STR, 0, FETCH_MAX_BODY),
	FLD(struct imsg_fetch_doc, metadata, IPC_K_STR, 2, 64 * 1024),
	FLD(struct imsg_fetch_doc, updated_at, IPC_K_STR, 0, 64),
};
static const struct ipc_field fetch_keep_fields[] = {
	FLD(struct imsg_fetch_keep, ids, IPC_K_STRV, 1, FETCH_MAX_KEEP),
};
static const struct ipc_field fetch_done_fields[] = {
	FLD(struct imsg_fetch_done, cursor, IPC_K_STR, 0, FETCH_MAX_CURSOR),
	FLD(struct imsg_fetch_done, complete, IPC_K_BOOL, 0, 0),
};
static const struct ipc_field fetch_error_fields[] = {
	FLD(struct imsg_fetch_error, message, IPC_K_STR, 0, 1024),
	FLD(struct imsg_fetch_error, transient, IPC_K_BOOL, 0, 0),
	OPT(struct imsg_fetch_error, reauth, IPC_K_BOOL, 0, 0),
};
static const struct ipc_field fetch_tokens_fields[] = {
	FLD(struct imsg_fetch_tokens, credential, IPC_K_BIN, 2,
	    FETCH_MAX_CREDENTIAL),
};
static const struct ipc_field ctl_admin_fields[] = {
	FLD(struct imsg_ctl_admin, op, IPC_K_STR, 1, 32),
	FLD(struct imsg_ctl_admin, arg, IPC_K_STR, 0, 64),
	OPT(struct imsg_ctl_admin, data, IPC_K_BIN, 1, 4096),
};

#define P(x)		PROC_BIT(PROC_##x)
#define BODY(st, f)	sizeof(st), f, nitems(f)
#define EMPTY		sizeof(struct imsg_empty), NULL, 0

static const struct ipc_msgdef ipc_msgdefs[IMSG_MAX] = {
	[IMSG_NONE] = { "IMSG_NONE", EMPTY, 0, 0, 0 },
	[IMSG_CONF] = { "IMSG_CONF", BODY(struct imsg_conf, conf_fields),
	    P(PARENT), PROC_CHILDREN, 0 },
	[IMSG_FD] = { "IMSG_FD", BODY(struct imsg_fd, fd_fields),
	    P(PARENT), PROC_CHILDREN, 1 },
	[IMSG_SECRET] = { "IMSG_SECRET", BODY(struct imsg_secret, secret_fields),
	    P(PARENT), P(AUTHD) | P(INDEXD), 0 },
	[IMSG_CONF_END] = { "IMSG_CONF_END", EMPTY,
	    P(PARENT), PROC_CHILDREN, 0 },
	[IMSG_CHANNEL] = { "IMSG_CHANNEL",
	    BODY(struct imsg_channel, channel_fields),
	    P(PARENT), PROC_CHILDREN, 1 },
	[IMSG_RELOAD] = { "IMSG_RELOAD", BODY(struct imsg_conf, conf_fields),
	    P(PARENT), PROC_CHILDREN, 0 },
	[IMSG_READY] = { "IMSG_READY", BODY(struct imsg_ready, ready_fields),
	    PROC_CHILDREN, P(PARENT), 0 },
	/* the parent pings every child; the front pings its peers */
	[IMSG_PING] = { "IMSG_PING", EMPTY,
	    P(PARENT) | P(FRONT), PROC_CHILDREN, 0 },
	[IMSG_PONG] = { "IMSG_PONG", BODY(struct imsg_pong, pong_fields),
	    PROC_CHILDREN, P(PARENT) | P(FRONT), 0 },
	[IMSG_CTL_STATUS] = { "IMSG_CTL_STATUS", EMPTY,
	    P(CTL), P(PARENT), 0 },
	[IMSG_CTL_PROC] = { "IMSG_CTL_PROC",
	    BODY(struct imsg_ctl_proc, ctl_proc_fields),
	    P(PARENT), P(CTL), 0 },
	[IMSG_CTL_RELOAD] = { "IMSG_CTL_RELOAD", EMPTY,
	    P(CTL), P(PARENT), 0 },
	[IMSG_CTL_STOP] = { "IMSG_CTL_STOP", EMPTY,
	    P(CTL), P(PARENT), 0 },
	[IMSG_CTL_RESULT] = { "IMSG_CTL_RESULT",
	    BODY(struct imsg_ctl_result, ctl_result_fields),
	    P(PARENT), P(CTL), 0 },
	/* keyd: the trust table of DESIGN.md, "who may ask whom" */
	[IMSG_KEY_SEAL] = { "IMSG_KEY_SEAL",
	    BODY(struct imsg_key_req, key_req_fields),
	    P(FRONT) | P(INDEXD), P(KEYD), 0 },
	[IMSG_KEY_OPEN] = { "IMSG_KEY_OPEN",
	    BODY(struct imsg_key_req, key_req_fields),
	    P(INDEXD), P(KEYD), 0 },
	[IMSG_KEY_REWRAP] = { "IMSG_KEY_REWRAP",
	    BODY(struct imsg_key_req, key_req_fields),
	    P(INDEXD), P(KEYD), 0 },
	[IMSG_KEY_RESULT] = { "IMSG_KEY_RESULT",
	    BODY(struct imsg_key_data, key_data_fields),
	    P(KEYD), P(FRONT) | P(INDEXD), 0 },
	[IMSG_KEY_SIGN] = { "IMSG_KEY_SIGN",
	    BODY(struct imsg_key_sign, key_sign_fields),
	    P(AUTHD), P(KEYD), 0 },
	[IMSG_KEY_SIGNED] = { "IMSG_KEY_SIGNED",
	    BODY(struct imsg_key_token, key_token_fields),
	    P(KEYD), P(AUTHD), 0 },
	[IMSG_KEY_PUBKEY] = { "IMSG_KEY_PUBKEY", EMPTY,
	    P(AUTHD), P(KEYD), 0 },
	[IMSG_KEY_PUBKEY_REP] = { "IMSG_KEY_PUBKEY_REP",
	    BODY(struct imsg_key_pubkey, key_pubkey_fields),
	    P(KEYD), P(AUTHD), 0 },
	[IMSG_KEY_LIST] = { "IMSG_KEY_LIST", EMPTY,
	    P(PARENT), P(KEYD), 0 },
	[IMSG_KEY_INFO] = { "IMSG_KEY_INFO",
	    BODY(struct imsg_key_info, key_info_fields),
	    P(KEYD), P(PARENT), 0 },
	[IMSG_KEY_ERROR] = { "IMSG_KEY_ERROR",
	    BODY(struct imsg_key_error, key_error_fields),
	    P(KEYD), P(FRONT) | P(AUTHD) | P(INDEXD) | P(PARENT), 0 },
	[IMSG_AUTH_REQ] = { "IMSG_AUTH_REQ",
	    BODY(struct imsg_auth_req, auth_req_fields),
	    P(FRONT), P(AUTHD), 0 },
	[IMSG_AUTH_REP] = { "IMSG_AUTH_REP",
	    BODY(struct imsg_auth_rep, auth_rep_fields),
	    P(AUTHD), P(FRONT), 0 },
	[IMSG_AUTH_VERIFY] = { "IMSG_AUTH_VERIFY",
	    BODY(struct imsg_auth_verify, auth_verify_fields),
	    P(FRONT), P(AUTHD), 0 },
	[IMSG_AUTH_DECISION] = { "IMSG_AUTH_DECISION",
	    BODY(struct imsg_auth_decision, auth_decision_fields),
	    P(AUTHD), P(FRONT), 0 },
	[IMSG_INDEX_REQ] = { "IMSG_INDEX_REQ",
	    BODY(struct imsg_index_req, index_req_fields),
	    P(FRONT), P(INDEXD), 0 },
	[IMSG_INDEX_REP] = { "IMSG_INDEX_REP",
	    BODY(struct imsg_auth_rep, auth_rep_fields),
	    P(INDEXD), P(FRONT), 0 },
	/* GET /metrics: the front asks the parent and indexd */
	[IMSG_METRICS_REQ] = { "IMSG_METRICS_REQ", EMPTY,
	    P(FRONT), P(PARENT) | P(AUTHD) | P(INDEXD), 0 },
	[IMSG_METRICS_REP] = { "IMSG_METRICS_REP",
	    BODY(struct imsg_metrics, metrics_fields),
	    P(PARENT) | P(AUTHD) | P(INDEXD), P(FRONT), 0 },
	[IMSG_FETCH_SPAWN] = { "IMSG_FETCH_SPAWN",
	    BODY(struct imsg_fetch_spawn, fetch_spawn_fields),
	    P(INDEXD), P(PARENT), 0 },
	[IMSG_FETCH_SPAWNED] = { "IMSG_FETCH_SPAWNED",
	    BODY(struct imsg_fetch_spawned, fetch_spawned_fields),
	    P(PARENT), P(INDEXD), 1 },
	[IMSG_FETCH_FAILED] = { "IMSG_FETCH_FAILED",
	    BODY(struct imsg_fetch_failed, fetch_failed_fields),
	    P(PARENT), P(INDEXD), 0 },
	[IMSG_FETCH_KILL] = { "IMSG_FETCH_KILL",
	    BODY(struct imsg_fetch_kill, fetch_kill_fields),
	    P(INDEXD), P(PARENT), 0 },
	[IMSG_FETCH_START] = { "IMSG_FETCH_START",
	    BODY(struct imsg_fetch_start, fetch_start_fields),
	    P(INDEXD), P(FETCHER), 0 },
	[IMSG_FETCH_DOC] = { "IMSG_FETCH_DOC",
	    BODY(struct imsg_fetch_doc, fetch_doc_fields),
	    P(FETCHER), P(INDEXD), 0 },
	[IMSG_FETCH_KEEP] = { "IMSG_FETCH_KEEP",
	    BODY(struct imsg_fetch_keep, fetch_keep_fields),
	    P(FETCHER), P(INDEXD), 0 },
	[IMSG_FETCH_DONE] = { "IMSG_FETCH_DONE",
	    BODY(struct imsg_fetch_done, fetch_done_fields),
	    P(FETCHER), P(INDEXD), 0 },
	[IMSG_FETCH_ERROR] = { "IMSG_FETCH_ERROR",
	    BODY(struct imsg_fetch_error, fetch_error_fields),
	    P(FETCHER), P(INDEXD), 0 },
	/* ballastctl -> parent -> indexd, and the answer back */
	[IMSG_CTL_ADMIN] = { "IMSG_CTL_ADMIN",
	    BODY(struct imsg_ctl_admin, ctl_admin_fields),
	    P(CTL) | P(PARENT), P(PARENT) | P(INDEXD), 0 },
	[IMSG_CTL_ADMIN_REP] = { "IMSG_CTL_ADMIN_REP",
	    BODY(struct imsg_ctl_result, ctl_result_fields),
	    P(INDEXD) | P(PARENT), P(PARENT) | P(CTL), 0 },
	/* fetcher -> indexd only: the fetcher has no other peer */
	[IMSG_FETCH_TOKENS] = { "IMSG_FETCH_TOKENS",
	    BODY(struct imsg_fetch_tokens, fetch_tokens_fields),
	    P(FETCHER), P(INDEXD), 0 },
};

#undef P
#undef BODY
#undef EMPTY
#undef FLD
#undef OPT

const struct ipc_msgdef *
ipc_msgdef(enum ipc_type type)
{
	if ((int)type <= IMSG_NONE || type >= IMSG_MAX)
		return NULL;
	return &ipc_msgdefs[type];
}

const char *
ipc_type_name(enum ipc_type type)
{
	if ((int)type < 0 || type >= IMSG_MAX)
		return "unknown";
	return ipc_msgdefs[type].name;
}

int
ipc_policy_allows(enum ipc_type type, enum proc_id from, enum proc_id to)
{
	const struct ipc_msgdef	*def;

	if ((def = ipc_msgdef(type)) == NULL)
		return 0;
	/* No channel joins a process to itself (the front pings, say). */
	if ((int)from < 0 || from >= PROC_MAX || (int)to < 0 ||
	    to >= PROC_MAX || from == to)
		return 0;
	return (def->senders & PROC_BIT(from)) != 0 &&
	    (def->receivers & PROC_BIT(to)) != 0;
}

static uint64_t
field_max(const struct ipc_field *f)
{
	if (f->max != 0)
		return f->max;
	switch (f->kind) {
	case IPC_K_STR:
	case IPC_K_BIN:
		return IPC_MAX_STR;
	case IPC_K_STRV:
		return IPC_MAX_STRV;
	default:
		return UINT64_MAX;
	}
}

static int
fail(char *err, size_t errlen, const char *fmt, const char *key)
{
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, fmt, key);
	return -1;
}

/* Wipe and free a heap copy of len bytes plus its terminating NUL. */
static void
wipe_free(void *p, size_t len)
{
	if (p != NULL)
		freezero(p, len + 1);
}

void
ipc_body_wipe(enum ipc_type type, void *body)
{
	const struct ipc_msgdef	*def;

	if (body == NULL || (def = ipc_msgdef(type)) == NULL)
		return;
	for (size_t i = 0; i < def->nfields; i++) {
		const struct ipc_field	*f = &def->fields[i];
		void			*p = (char *)body + f->off;

		switch (f->kind) {
		case IPC_K_STR: {
			char	*s = *(char **)p;

			if (s != NULL)
				wipe_free(s, strlen(s));
			break;
		}
		case IPC_K_BIN: {
			struct ipc_bin	*b = p;

			wipe_free(b->data, b->len);
			break;
		}
		case IPC_K_STRV: {
			struct ipc_strv	*sv = p;

			for (size_t k = 0; sv->v != NULL && k < sv->n; k++)
				if (sv->v[k] != NULL)
					wipe_free(sv->v[k], strlen(sv->v[k]));
			free(sv->v);
			break;
		}
		default:
			break;
		}
	}
	explicit_bzero(body, def->bodysize);
}

void
ipc_msg_clear(struct ipc_msg *msg)
{
	if (msg->body != NULL) {
		ipc_body_wipe(msg->type, msg->body);
		free(msg->body);
	}
	if (msg->fd >= 0)
		(void)close(msg->fd);
	msg->type = IMSG_NONE;
	msg->id = 0;
	msg->fd = -1;
	msg->body = NULL;
}

/*
 * Encoding.
 */

/*
 * The packer writes into this buffer instead of a msgpack_sbuffer: the
 * encoded bytes may hold secrets, and sbuffer's realloc() would leave
 * unwiped copies behind in freed memory.  Growth here copies and wipes.
 */
struct encbuf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
};

static int
encbuf_write(void *arg, const char *buf, size_t len)
{
	struct encbuf	*eb = arg;
	uint8_t		*n;
	size_t		 cap;

	if (len == 0)
		return 0;
	if (len > IPC_MAX_MSG - eb->len)
		return -1;
	if (eb->cap - eb->len < len) {
		cap = eb->cap ? eb->cap : 256;
		while (cap - eb->len < len)
			cap *= 2;
		if ((n = malloc(cap)) == NULL)
			return -1;
		if (eb->len > 0)
			memcpy(n, eb->data, eb->len);
		if (eb->data != NULL)
			freezero(eb->data, eb->cap);
		eb->data = n;
		eb->cap = cap;
	}
	memcpy(eb->data + eb->len, buf, len);
	eb->len += len;
	return 0;
}

static int
str_ok(const char *s, const struct ipc_field *f, int strv)
{
	size_t	 len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (strv)
		return len <= IPC_MAX_STR && utf8_valid(s, len);
	return len >= f->min && len <= field_max(f) && utf8_valid(s, len);
}

/* 1 when the field is absent: an optional pointer field left NULL. */
static int
field_absent(const struct ipc_field *f, const void *p)
{
	if (!f->optional)
		return 0;
	switch (f->kind) {
	case IPC_K_STR:
		return *(char *const *)p == NULL;
	case IPC_K_BIN:
		return ((const struct ipc_bin *)p)->data == NULL;
	case IPC_K_STRV:
		return ((const struct ipc_strv *)p)->v == NULL;
	default:
		return 0;
	}
}

/* The sender's own check: the same limits the receiver applies. */
static int
field_valid(const struct ipc_field *f, const void *p)
{
	switch (f->kind) {
	case IPC_K_U64: {
		uint64_t	 v = *(const uint64_t *)p;

		return v >= f->min && v <= field_max(f);
	}
	case IPC_K_I64:
	case IPC_K_BOOL:
		return 1;
	case IPC_K_STR:
		return str_ok(*(char *const *)p, f, 0);
	case IPC_K_BIN: {
		const struct ipc_bin	*b = p;

		return (b->data != NULL || b->len == 0) &&
		    b->len >= f->min && b->len <= field_max(f);
	}
	case IPC_K_STRV: {
		const struct ipc_strv	*sv = p;

		if ((sv->v == NULL && sv->n != 0) || sv->n > field_max(f) ||
		    sv->n < f->min)
			return 0;
		for (size_t k = 0; k < sv->n; k++)
			if (!str_ok(sv->v[k], f, 1))
				return 0;
		return 1;
	}
	}
	return 0;
}

static int
pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	return msgpack_pack_str(pk, len) || msgpack_pack_str_body(pk, s, len);
}

static int
pack_field(msgpack_packer *pk, const struct ipc_field *f, const void *p)
{
	if (pack_str(pk, f->key, strlen(f->key)) != 0)
		return -1;
	switch (f->kind) {
	case IPC_K_U64:
		return msgpack_pack_uint64(pk, *(const uint64_t *)p);
	case IPC_K_I64:
		return msgpack_pack_int64(pk, *(const int64_t *)p);
	case IPC_K_BOOL:
		return *(const int *)p ? msgpack_pack_true(pk) :
		    msgpack_pack_false(pk);
	case IPC_K_STR: {
		const char	*s = *(char *const *)p;

		return pack_str(pk, s, strlen(s));
	}
	case IPC_K_BIN: {
		const struct ipc_bin	*b = p;

		return msgpack_pack_bin(pk, b->len) ||
		    msgpack_pack_bin_body(pk, b->data, b->len);
	}
	case IPC_K_STRV: {
		const struct ipc_strv	*sv = p;

		if (msgpack_pack_array(pk, sv->n) != 0)
			return -1;
		for (size_t k = 0; k < sv->n; k++)
			if (pack_str(pk, sv->v[k], strlen(sv->v[k])) != 0)
				return -1;
		return 0;
	}
	}
	return -1;
}

/* Envelope: fixarray, two uint64, map32. */
#define ENC_ENVELOPE	(1 + 9 + 9 + 5)
/* A str/bin/array header, a uint64: at most this many bytes. */
#define ENC_HDR		5
#define ENC_INT		9

/*
 * At least the bytes pack_field() writes for a valid field, so that the
 * buffer is allocated once at its final size: growing it copies and
 * wipes the old one.
 */
static size_t
field_bound(const struct ipc_field *f, const void *p)
{
	size_t	 n = ENC_HDR + strlen(f->key);

	switch (f->kind) {
	case IPC_K_U64:
	case IPC_K_I64:
		return n + ENC_INT;
	case IPC_K_BOOL:
		return n + 1;
	case IPC_K_STR:
		return n + ENC_HDR + strlen(*(char *const *)p);
	case IPC_K_BIN:
		return n + ENC_HDR + ((const struct ipc_bin *)p)->len;
	case IPC_K_STRV: {
		const struct ipc_strv	*sv = p;

		n += ENC_HDR;
		for (size_t k = 0; k < sv->n; k++)
			n += ENC_HDR + strlen(sv->v[k]);
		return n;
	}
	}
	return n;
}

int
ipc_encode(enum ipc_type type, uint64_t id, const void *body,
    uint8_t **out, size_t *outlen)
{
	const struct ipc_msgdef	*def;
	struct encbuf		 eb = { NULL, 0, 0 };
	msgpack_packer		 pk;
	size_t			 npresent = 0, bound = ENC_ENVELOPE;

	*out = NULL;
	*outlen = 0;
	if ((def = ipc_msgdef(type)) == NULL)
		return -1;
	if (body == NULL && def->nfields > 0)
		return -1;
	for (size_t i = 0; i < def->nfields; i++) {
		const void	*p = (const char *)body + def->fields[i].off;

		if (field_absent(&def->fields[i], p))
			continue;
		if (!field_valid(&def->fields[i], p))
			return -1;
		npresent++;
		bound += field_bound(&def->fields[i], p);
	}
	/* Too big is refused by encbuf_write as before; no hint then. */
	if (bound <= IPC_MAX_MSG && (eb.data = malloc(bound)) != NULL)
		eb.cap = bound;

	msgpack_packer_init(&pk, &eb, encbuf_write);
	if (msgpack_pack_array(&pk, 3) != 0 ||
	    msgpack_pack_uint64(&pk, (uint64_t)type) != 0 ||
	    msgpack_pack_uint64(&pk, id) != 0 ||
	    msgpack_pack_map(&pk, npresent) != 0)
		goto bad;
	for (size_t i = 0; i < def->nfields; i++) {
		const void	*p = (const char *)body + def->fields[i].off;

		if (field_absent(&def->fields[i], p))
			continue;
		if (pack_field(&pk, &def->fields[i], p) != 0)
			goto bad;
	}
	*out = eb.data;
	*outlen = eb.len;
	return 0;
 bad:
	if (eb.data != NULL)
		freezero(eb.data, eb.cap);
	return -1;
}

/*
 * Decoding.
 */

static uint64_t
be(const uint8_t *p, size_t n)
{
	uint64_t	 v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Walk the raw msgpack bytes of one object before msgpack's unpacker
 * sees them.  The unpacker allocates storage for an array or map from
 * its declared count, so six bytes (0xdd ff ff ff ff ...) could make it
 * ask for gigabytes.  Here every container count is checked against the
 * bytes left (each element needs at least one byte), every str/bin/ext
 * length likewise, nesting is capped at IPC_MAX_DEPTH and the elements of
 * all containers together at IPC_MAX_ELEMS.  Only shape is checked; the
 * decoder checks meaning afterwards.  Returns 0 and advances *pos, or -1.
 */
static int
precheck(const uint8_t *b, size_t len, size_t *pos, int depth,
    size_t *elems, const char **why)
{
	uint8_t		 c;
	uint64_t	 n = 0, skip = 0, count = 0;
	size_t		 hdr;

	if (*pos >= len) {
		*why = "message: truncated";
		return -1;
	}
	c = b[(*pos)++];
	hdr = 0;
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return 0;				/* fixint, nil, bool */
	if (c >= 0x80 && c <= 0x8f)
		count = 2 * (uint64_t)(c & 0x0f);	/* fixmap */
	else if (c >= 0x90 && c <= 0x9f)
		count = c & 0x0f;			/* fixarray */
	else if (c >= 0xa0 && c <= 0xbf)
		skip = c & 0x1f;			/* fixstr */
	else {
		switch (c) {
		case 0xc4: case 0xd9: hdr = 1; break;	/* bin8, str8 */
		case 0xc5: case 0xda: hdr = 2; break;	/* bin16, str16 */
		case 0xc6: case 0xdb: hdr = 4; break;	/* bin32, str32 */
		case 0xc7: hdr = 1; skip = 1; break;	/* ext8: len, type */
		case 0xc8: hdr = 2; skip = 1; break;	/* ext16 */
		case 0xc9: hdr = 4; skip = 1; break;	/* ext32 */
		case 0xca: skip = 4; break;		/* float32 */
		case 0xcb: skip = 8; break;		/* float64 */
		case 0xcc: case 0xd0: skip = 1; break;	/* (u)int8 */
		case 0xcd: case 0xd1: skip = 2; break;
		case 0xce: case 0xd2: skip = 4; break;
		case 0xcf: case 0xd3: skip = 8; break;
		case 0xd4: skip = 2; break;		/* fixext1..16 */
		case 0xd5: skip = 3; break;
		case 0xd6: skip = 5; break;
		case 0xd7: skip = 9; break;
		case 0xd8: skip = 17; break;
		case 0xdc: hdr = 2; count = 1; break;	/* array16 */
		case 0xdd: hdr = 4; count = 1; break;	/* array32 */
		case 0xde: hdr = 2; count = 2; break;	/* map16 */
		case 0xdf: hdr = 4; count = 2; break;	/* map32 */
		default:
			*why = "message: malformed";	/* 0xc1 */
			return -1;
		}
		if (len - *pos < hdr) {
			*why = "message: truncated";
			return -1;
		}
		n = be(b + *pos, hdr);
		*pos += hdr;
		if (c >= 0xdc)
			count *= n;	/* elements: n, or 2n for a map */
		else if (hdr > 0)
			skip += n;	/* payload length (+ ext type byte) */
	}
	if (skip > len - *pos) {
		*why = "message: truncated";
		return -1;
	}
	*pos += skip;
	if (count == 0)
		return 0;
	if (depth >= IPC_MAX_DEPTH) {
		*why = "message: nested too deep";
		return -1;
	}
	if (count > len - *pos || count > IPC_MAX_ELEMS - *elems) {
		*why = "message: container too large";
		return -1;
	}
	*elems += count;
	for (uint64_t i = 0; i < count; i++)
		if (precheck(b, len, pos, depth + 1, elems, why) == -1)
			return -1;
	return 0;
}

static int
dup_bytes(const char *p, size_t len, void **out)
{
	char	*s;

	if ((s = malloc(len + 1)) == NULL)
		return -1;
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	*out = s;
	return 0;
}

static int
decode_str(const msgpack_object *o, const struct ipc_field *f, char **out,
    char *err, size_t errlen)
{
	const char	*key = f->key;
	uint32_t	 len;

	if (o->type != MSGPACK_OBJECT_STR)
		return fail(err, errlen, "field '%s': wrong type", key);
	len = o->via.str.size;
	if (len < f->min)
		return fail(err, errlen, "field '%s': too short", key);
	if (len > field_max(f))
		return fail(err, errlen, "field '%s': too long", key);
	if (!utf8_valid(o->via.str.ptr, len))
		return fail(err, errlen, "field '%s': not UTF-8 or has NUL",
		    key);
	if (dup_bytes(o->via.str.ptr, len, (void **)out) == -1)
		return fail(err, errlen, "field '%s': out of memory", key);
	return 0;
}

static int
decode_bin(const msgpack_object *o, const struct ipc_field *f,
    struct ipc_bin *out, char *err, size_t errlen)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		return fail(err, errlen, "field '%s': wrong type", f->key);
	if (o->via.bin.size < f->min)
		return fail(err, errlen, "field '%s': too short", f->key);
	if (o->via.bin.size > field_max(f))
		return fail(err, errlen, "field '%s': too long", f->key);
	if (dup_bytes(o->via.bin.ptr, o->via.bin.size,
	    (void **)&out->data) == -1)
		return fail(err, errlen, "field '%s': out of memory", f->key);
	out->len = o->via.bin.size;
	return 0;
}

static int
decode_strv(const msgpack_object *o, const struct ipc_field *f,
    struct ipc_strv *out, char *err, size_t errlen)
{
	const msgpack_object_array	*a = &o->via.array;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(err, errlen, "field '%s': wrong type", f->key);
	if (a->size < f->min)
		return fail(err, errlen, "field '%s': too few", f->key);
	if (a->size > field_max(f))
		return fail(err, errlen, "field '%s': too many", f->key);
	if ((out->v = calloc(a->size + 1, sizeof(char *))) == NULL)
		return fail(err, errlen, "field '%s': out of memory", f->key);
	for (uint32_t k = 0; k < a->size; k++) {
		const msgpack_object	*e = &a->ptr[k];

		if (e->type != MSGPACK_OBJECT_STR)
			return fail(err, errlen, "field '%s': wrong type",
			    f->key);
		if (e->via.str.size > IPC_MAX_STR)
			return fail(err, errlen, "field '%s': too long",
			    f->key);
		if (!utf8_valid(e->via.str.ptr, e->via.str.size))
			return fail(err, errlen,
			    "field '%s': not UTF-8 or has NUL", f->key);
		if (dup_bytes(e->via.str.ptr, e->via.str.size,
		    (void **)&out->v[k]) == -1)
			return fail(err, errlen, "field '%s': out of memory",
			    f->key);
		out->n = k + 1;
	}
	return 0;
}

static int
decode_field(const msgpack_object *o, const struct ipc_field *f, void *p,
    char *err, size_t errlen)
{
	switch (f->kind) {
	case IPC_K_U64:
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return fail(err, errlen, "field '%s': wrong type",
			    f->key);
		if (o->via.u64 < f->min || o->via.u64 > field_max(f))
			return fail(err, errlen, "field '%s': out of range",
			    f->key);
		*(uint64_t *)p = o->via.u64;
		return 0;
	case IPC_K_I64:
		if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			*(int64_t *)p = o->via.i64;
		else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    o->via.u64 <= INT64_MAX)
			*(int64_t *)p = (int64_t)o->via.u64;
		else
			return fail(err, errlen, "field '%s': wrong type",
			    f->key);
		return 0;
	case IPC_K_BOOL:
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return fail(err, errlen, "field '%s': wrong type",
			    f->key);
		*(int *)p = o->via.boolean ? 1 : 0;
		return 0;
	case IPC_K_STR:
		return decode_str(o, f, p, err, errlen);
	case IPC_K_BIN:
		return decode_bin(o, f, p, err, errlen);
	case IPC_K_STRV:
		return decode_strv(o, f, p, err, errlen);
	}
	return fail(err, errlen, "field '%s': bad table", f->key);
}

static const struct ipc_field *
find_field(const struct ipc_msgdef *def, const msgpack_object *k, size_t *idx)
{
	for (size_t i = 0; i < def->nfields; i++) {
		const char	*key = def->fields[i].key;

		if (strlen(key) == k->via.str.size &&
		    memcmp(key, k->via.str.ptr, k->via.str.size) == 0) {
			*idx = i;
			return &def->fields[i];
		}
	}
	return NULL;
}

static int
decode_body(const struct ipc_msgdef *def, const msgpack_object *o, void *body,
    char *err, size_t errlen)
{
	const msgpack_object_map	*m = &o->via.map;
	uint32_t			 seen = 0;

	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(err, errlen, "%s", "body: not a map");
	if (m->size > def->nfields)
		return fail(err, errlen, "%s", "body: too many keys");
	for (uint32_t i = 0; i < m->size; i++) {
		const msgpack_object_kv	*kv = &m->ptr[i];
		const struct ipc_field	*f;
		size_t			 idx;

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return fail(err, errlen, "%s", "body: key not a string");
		if ((f = find_field(def, &kv->key, &idx)) == NULL)
			return fail(err, errlen, "%s", "body: unknown key");
		if (seen & (1U << idx))
			return fail(err, errlen, "%s", "body: duplicate key");
		seen |= 1U << idx;
		if (decode_field(&kv->val, f, (char *)body + f->off,
		    err, errlen) == -1)
			return -1;
	}
	for (size_t i = 0; i < def->nfields; i++)
		if (!def->fields[i].optional && !(seen & (1U << i)))
			return fail(err, errlen, "field '%s': missing",
			    def->fields[i].key);
	return 0;
}

/* The [type, id, body] envelope; sets msg->type as soon as it is known. */
static int
decode_msg(const msgpack_object *o, struct ipc_msg *msg, char *err,
    size_t errlen)
{
	const msgpack_object		*a;
	const struct ipc_msgdef		*def;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
		return fail(err, errlen, "%s", "message: not an array of 3");
	a = o->via.array.ptr;
	if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(err, errlen, "%s", "message: bad type");
	if (a[0].via.u64 == IMSG_NONE || a[0].via.u64 >= IMSG_MAX)
		return fail(err, errlen, "%s", "message: unknown type");
	msg->type = (enum ipc_type)a[0].via.u64;
	def = ipc_msgdef(msg->type);
	if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(err, errlen, "%s", "message: bad id");
	msg->id = a[1].via.u64;
	if (def->nfields > IPC_MAX_FIELDS)
		return fail(err, errlen, "%s", "message: bad table");
	if ((msg->body = calloc(1, def->bodysize)) == NULL)
		return fail(err, errlen, "%s", "message: out of memory");
	return decode_body(def, &a[2], msg->body, err, errlen);
}

/*
 * The unpacker's object tree goes into one zone per thread, kept and
 * cleared after each message, rather than a zone allocated and freed for
 * every message (a malloc of a whole chunk and its free, a measurable
 * share of a small message's decoding).  It holds msgpack_object nodes
 * only: types, sizes, integers and pointers into the frame; the C
 * unpacker points a str's or bin's object at its bytes in place and never
 * copies them into the zone, so nothing secret stays in it.  Clearing
 * frees every chunk but the first, so a large message leaves no large
 * zone behind.
 */
static msgpack_zone *
decode_zone(void)
{
	static _Thread_local msgpack_zone	 zone;
	static _Thread_local int		 ready;

	if (!ready) {
		if (!msgpack_zone_init(&zone, MSGPACK_ZONE_CHUNK_SIZE))
			return NULL;
		ready = 1;
	}
	return &zone;
}

/*
 * On failure msg holds no body and no fd, but msg->type is left at the
 * decoded type when the envelope got that far, so a caller can name the
 * message in its log.
 */
int
ipc_decode(const uint8_t *buf, size_t len, struct ipc_msg *msg,
    char *err, size_t errlen)
{
	msgpack_zone		*zone;
	msgpack_object		 obj;
	const char		*why = NULL;
	size_t			 pos = 0, elems = 0, off = 0;
	int			 rv;

	memset(msg, 0, sizeof(*msg));
	msg->fd = -1;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len == 0 || len > IPC_MAX_MSG)
		return fail(err, errlen, "%s", "message: bad length");
	if (precheck(buf, len, &pos, 0, &elems, &why) == -1)
		return fail(err, errlen, "%s", why);
	if (pos != len)
		return fail(err, errlen, "%s", "message: trailing bytes");

	if ((zone = decode_zone()) == NULL)
		return fail(err, errlen, "%s", "message: out of memory");
	switch (msgpack_unpack((const char *)buf, len, &off, zone, &obj)) {
	case MSGPACK_UNPACK_SUCCESS:
		if (off != len)
			rv = fail(err, errlen, "%s", "message: trailing bytes");
		else
			rv = decode_msg(&obj, msg, err, errlen);
		break;
	case MSGPACK_UNPACK_EXTRA_BYTES:
		rv = fail(err, errlen, "%s", "message: trailing bytes");
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		rv = fail(err, errlen, "%s", "message: out of memory");
		break;
	default:
		rv = fail(err, errlen, "%s", "message: malformed");
		break;
	}
	msgpack_zone_clear(zone);
	if (rv == -1) {
		enum ipc_type	 type = msg->type;

		ipc_msg_clear(msg);
		msg->type = type;
	}
	return rv;
}

/*
 * authd's inner interfaces.  authd.c is the process (peers, dispatch,
 * keyd); ops.c the op table and a request's life; sql.c the database;
 * principal.c who is asking; authz.c (authz.h) what they may do; one file
 * per area of handlers (session.c, org.c, collection.c, apikey.c, audit.c).
 */
#ifndef BALLAST_AUTHD_H
#define BALLAST_AUTHD_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "authd/authz.h"
#include "authd/check.h"

struct child;
struct event_base;
struct ipc_msg;

__attribute__((noreturn)) void	authd_main(int argc, char **argv);

/* Who is asking, once the credential checked out. */
struct principal {
	int			 present;
	enum principal_kind	 kind;
	char			 user[UUID_LEN + 1];
	char			 session[UUID_LEN + 1];	/* sessions */
	char			 key_id[APIKEY_IDLEN + 1];	/* API keys */
	char			 key_org[UUID_LEN + 1];
	char			 key_coll[UUID_LEN + 1];	/* "" = whole org */
	int			 key_personal;
	enum key_cap		 key_cap;
};

struct authd_op;

/*
 * One statement of a batch run in a pipeline (sql_pipeline()): the
 * query's text, its parameters (pointers the caller keeps alive), and
 * what came back.
 */
#define SQL_ITEM_MAXPARAMS	4
struct sql_item {
	const char		*query;
	int			 n;
	const char		*params[SQL_ITEM_MAXPARAMS];
	PGresult		*res;		/* result; NULL: failed */
	int			 unavailable;	/* no database: answer 503 */
	int			 again;		/* sql.c: run it alone */
};

/* A credential's check while its statement is in flight (principal.c). */
struct pcheck {
	int			 apikey;
	char			 id[APIKEY_IDLEN + 1];
	uint8_t			 secret[APIKEY_SECRETLEN];
	char			 sub[UUID_LEN + 1];
	char			 sid[UUID_LEN + 1];
};

/* One REST call forwarded by the front. */
struct areq {
	TAILQ_ENTRY(areq)	 entry;
	uint64_t		 id;		/* the front's message id */
	uint64_t		 sign_id;	/* our IMSG_KEY_SIGN, when parked */
	const struct authd_op	*op;
	char			*params[4];
	size_t			 nparams;
	char			*query;
	char			*client;
	char			*request_id;
	json_t			*body;		/* the parsed object, or NULL */
	/* queued: what is read once its turn comes (wiped when freed) */
	char			*token;
	uint8_t			*rawbody;
	size_t			 rawbodylen;
	int			 badop;		/* unknown op or parameters */
	struct pcheck		 pc;
	struct principal	 p;
	/* parked for a token: the answer, and the session it is for */
	json_t			*pending;
	int			 pending_status;
	char			 pending_sid[UUID_LEN + 1];
	int			 done;
	int			 parked;
	int			 verify;	/* IMSG_AUTH_VERIFY: answer a decision */
};

enum principal_need {
	NEED_NONE = 0,		/* anyone (login, refresh) */
	NEED_ANY,		/* a session or an API key */
	NEED_SESSION		/* a session only */
};

struct authd_op {
	const char		*name;
	void			(*fn)(struct areq *);
	enum principal_need	 need;
	size_t			 nparams;
	int			 body;		/* 0: no body, or "{}" */
};

/* Settings authd uses, from the configuration. */
struct authd_settings {
	uint64_t		 token_lifetime;
	uint64_t		 session_lifetime;
	uint64_t		 login_attempts;
	uint64_t		 login_window;
	uint32_t		 pw_memory;
	uint32_t		 pw_iterations;
};
extern struct authd_settings	 authd_settings;

/* ops.c */
const struct authd_op	*authd_op_find(const char *);
/*
 * Queues the request; every request queued in one turn of the event
 * loop is handled together right after it (authd_batch()), their
 * database reads pipelined.
 */
void	 authd_request(struct child *, struct ipc_msg *);
void	 authd_batch_init(struct event_base *);
/* Send the answer (body is stolen; header may be NULL) and mark done. */
void	 areq_reply(struct areq *, int status, json_t *body,
	    const char *header);
/* The same with the body's JSON text (NULL: a 500, out of memory). */
void	 areq_reply_text(struct areq *, int status, const char *text,
	    const char *header);
void	 areq_error(struct areq *, int status, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 areq_internal(struct areq *);
void	 areq_ok(struct areq *);
json_t	*error_json(const char *code, const char *message);
void	 areq_free(struct areq *);

/* A body member: name, JSON type, required. */
enum bf_type { BF_STRING, BF_BOOL, BF_STRING_OR_NULL };
struct body_field {
	const char	*name;
	enum bf_type	 type;
	int		 required;
	size_t		 maxlen;	/* strings: bytes, 0 = no check */
};
/* Checks r->body against the fields; on failure answers 400 and -1. */
int	 areq_body(struct areq *, const struct body_field *, size_t n);
/* The string member or NULL. */
const char *body_str(struct areq *, const char *name);
/* A path parameter that must be a UUID; answers 404 when it is not. */
const char *areq_uuid_param(struct areq *, size_t i);

/* authd.c: ask keyd to sign an access token and park the request. */
void	 authd_sign(struct areq *, const char *uid, const char *sid,
	    json_t *answer, int status);
/* keyd's token keys, newest first: how many (0 until keyd answered). */
int	 authd_pubkey(uint8_t pub[2][32]);
struct child *authd_child(void);

/* sql.c: synchronous libpq, every query parameterised. */
void	 sql_init(PGconn *);
int	 sql_ready(void);
/* The connection is gone (until sql_ready() makes it again). */
int	 sql_connection_lost(void);
/*
 * Runs a query; NULL on failure (logged, without parameters).  state,
 * when not NULL, receives the SQLSTATE of a failure ("" otherwise).
 */
PGresult *sql(const char *query, int n, const char *const *params);
PGresult *sql_state(const char *query, int n, const char *const *params,
	    char state[6]);
int	 sql_exec(const char *query, int n, const char *const *params);
/*
 * Runs n independent statements, sent together with one sync (libpq
 * pipeline mode): one round trip for all.  Each item ends with res (to
 * PQclear) or res NULL: failed (logged), or unavailable set when the
 * database could not be reached.  A statement the pipeline could not
 * run (the connection broke, an earlier one failed) is run alone, as
 * sql() would, after sql_ready().
 */
void	 sql_pipeline(struct sql_item *, size_t n);
/* How many statements went in a pipeline with others (a metric). */
uint64_t sql_pipelined(void);
int	 sql_begin(void);
int	 sql_commit(void);
void	 sql_rollback(void);
/* Times as RFC 3339 UTC text, in SQL. */
#define SQL_TS(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* A result column as JSON: NULL -> null, else the string. */
json_t	*sql_json_str(PGresult *, int row, int col);

/*
 * pcache.c: credential rows and /v1/me answers remembered by
 * auth_generation (see there why they answer as the database would).
 * Times are microseconds since the epoch, as the database has them.
 */
struct pc_key {
	char		 id[APIKEY_IDLEN + 1];	/* "" = empty slot */
	int64_t		 gen;
	char		 org[UUID_LEN + 1];
	char		 user[UUID_LEN + 1];
	char		 coll[UUID_LEN + 1];	/* "" = whole org */
	int		 personal;
	enum key_cap	 cap;
	uint8_t		 hash[SHA256_LEN];
	uint8_t		 prev[SHA256_LEN];
	int		 has_prev;
	int64_t		 prev_until;	/* INT64_MIN: none */
	int64_t		 expires;	/* INT64_MAX: never */
	int64_t		 used;		/* INT64_MIN: never */
};
struct pc_session {
	char		 id[UUID_LEN + 1];	/* "" = empty slot */
	int64_t		 gen;
	char		 user[UUID_LEN + 1];
	int64_t		 expires;
	int64_t		 used;		/* INT64_MIN: never */
};
/* A timestamptz column as microseconds (NULL stays NULL). */
#define SQL_US(col) \
	"CASE WHEN " col " IS NULL THEN NULL WHEN isfinite(" col ") THEN " \
	"(extract(epoch from " col ") * 1000000)::bigint WHEN " col \
	" > 'epoch' THEN 9223372036854775807 ELSE -9223372036854775807 END"
/* The generation statement, first of a batch's principal pipeline. */
void	 pcache_gen_item(struct sql_item *);
/* Takes its result: 0, the batch's gen is current; -1 (cache dropped). */
int	 pcache_gen_read(struct sql_item *);
/* Nothing is used or filled until the next batch's generation. */
void	 pcache_gen_end(void);
/* The batch's gen and the database's now(): 0, or -1 when none. */
int	 pcache_gen(int64_t *gen, int64_t *now);
/* 0 (a hit, *now set) when an entry of generation gen may be used. */
int	 pcache_usable(int64_t gen, int64_t *now);
void	 pcache_drop(void);
uint64_t pcache_hits(void);
int	 pcache_us(PGresult *, int row, int col, int64_t dflt, int64_t *);
/* The entry for id or NULL; with fill, its slot (wiped) for id. */
struct pc_key *pcache_key(const char *id, int fill);
struct pc_session *pcache_session(const char *id, int fill);
void	 pcache_forget(const char *key_id, const char *session_id);
/* /v1/me's "user" and "orgs" members as JSON text, borrowed. */
const char *pcache_me(const char *user, const char *org);
void	 pcache_me_put(const char *user, const char *org, const char *text);

/* principal.c */
/* 0 when r->p is set; else answers 401/503/500 and -1. */
int	 principal_resolve(struct areq *, const char *token);
/*
 * The same in two steps around the database: begin checks what needs
 * no database (format, signature, claims) and fills q with the
 * credential's statement (0), or answers (-1); end takes that
 * statement's result (NULL: it failed; res is cleared) and does the
 * rest, as principal_resolve().
 */
int	 principal_begin(struct areq *, const char *token, struct sql_item *q);
int	 principal_end(struct areq *, PGresult *res);
/* 1 when the cache has an entry for the credential principal_begin read. */
int	 principal_cached(const struct areq *);
/*
 * After the batch's generation: 1 when the entry is not current (run
 * the statement), else as principal_end.
 */
int	 principal_from_cache(struct areq *);

/* authz.c's database half (authz_db.c) */
struct coll_info {
	char		 id[UUID_LEN + 1];
	char		 org[UUID_LEN + 1];
	enum org_role	 org_role;
	enum coll_role	 coll_role;	/* explicit */
	enum coll_role	 eff;		/* authz_coll_effective */
};
/* The caller's org role (ORG_NONE when none); -1 on a database error. */
int	 authz_load_org_role(const char *org, const char *user,
	    enum org_role *);
/*
 * Decide action on org for r->p; on deny answers 403/404 (and audits),
 * on error 500; returns 0 only when allowed, with the role in *role.
 */
int	 authz_org(struct areq *, const char *org, enum authz_action,
	    enum org_role *role);
/* Same for a collection; fills *ci. */
int	 authz_coll(struct areq *, const char *coll, enum authz_action,
	    struct coll_info *ci);
/* The subject for r->p and an org/collection role pair. */
void	 authz_subject(const struct areq *, enum org_role, enum coll_role,
	    const char *coll, struct authz_subject *);

/* audit.c */
/* outcome "ok", "denied" or "error"; detail stolen, may be NULL. */
void	 audit(struct areq *, const char *org, const char *target,
	    const char *outcome, json_t *detail);
void	 op_audit_list(struct areq *);

/* verify.c: content requests (IMSG_AUTH_VERIFY -> IMSG_AUTH_DECISION) */
void	 authd_verify(struct child *, struct ipc_msg *);
/* The refusal of a verify request: status, error body, header. */
void	 verify_refuse(struct areq *, int status, const char *body,
	    const char *header);

/* session.c */
void	 op_login(struct areq *);
void	 op_refresh(struct areq *);
void	 op_logout(struct areq *);
void	 op_logout_refresh(struct areq *);
void	 op_me(struct areq *);
int	 op_me_read(struct areq *, struct sql_item *);
void	 op_me_answer(struct areq *, PGresult *);
int	 session_dummy_init(void);

/* ratelimit.c: failed logins per key (an account or a client address). */
/* Seconds to wait (> 0) when key is over the limit, else 0. */
uint64_t ratelimit_check(const char *key, uint64_t now);
void	 ratelimit_fail(const char *key, uint64_t now);
void	 ratelimit_clear(const char *key);
void	 ratelimit_setup(uint64_t attempts, uint64_t window);
/* Searches per principal: counts one; seconds to wait (> 0) when over. */
uint64_t ratelimit_search(const char *principal, uint64_t now);
void	 ratelimit_search_setup(uint64_t searches, uint64_t window);

/* org.c */
void	 op_org_list(struct areq *);
void	 op_org_create(struct areq *);
void	 op_org_get(struct areq *);
void	 op_org_delete(struct areq *);
void	 op_member_list(struct areq *);
void	 op_member_add(struct areq *);
void	 op_member_update(struct areq *);
void	 op_member_remove(struct areq *);

/* collection.c */
void	 op_coll_list(struct areq *);
void	 op_coll_create(struct areq *);
void	 op_coll_get(struct areq *);
void	 op_coll_update(struct areq *);
void	 op_coll_delete(struct areq *);
void	 op_cmember_list(struct areq *);
void	 op_cmember_add(struct areq *);
void	 op_cmember_update(struct areq *);
void	 op_cmember_remove(struct areq *);
/* mine.c */
void	 op_coll_mine(struct areq *);

/* apikey.c */
void	 op_apikey_list(struct areq *);
void	 op_apikey_create(struct areq *);
void	 op_apikey_revoke(struct areq *);
void	 op_apikey_rotate(struct areq *);

#endif

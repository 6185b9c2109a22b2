/*
 * authd: verifies passwords, tokens and API keys, owns the identity
 * tables and answers every "may P do A on R?".
 *
 * Peers:
 *   parent   configuration, reload, health
 *   front    IMSG_AUTH_REQ: one REST call each, answered by IMSG_AUTH_REP;
 *            IMSG_AUTH_VERIFY: may this caller read/write content, answered
 *            by IMSG_AUTH_DECISION with a signed grant (verify.c)
 *   keyd     IMSG_KEY_PUBKEY when the channel comes up (to verify access
 *            tokens), IMSG_KEY_SIGN for each token we issue; a request
 *            waiting for its token is parked here until keyd answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "authd/authd.h"
#include "common/child.h"
#include "common/db.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "keyd/crypto.h"

#define AUTHD_MAX_PARKED	1024

struct authd_settings	 authd_settings;

static struct {
	struct child		*c;
	PGconn			*db;
	uint64_t		 pg_errors;	/* failed statements */
	/* keyd's token key and, after a change, the one before it */
	int			 npub;
	uint8_t			 pub[2][ED25519_PUBLEN];
	TAILQ_HEAD(, areq)	 parked;
	size_t			 nparked;
} authd;

struct child *
authd_child(void)
{
	return authd.c;
}

static const char *
authd_health(struct child *c)
{
	return db_health(authd.db);
}

static void
authd_settings_load(const struct ballast_conf *conf)
{
	authd_settings.token_lifetime = conf->token_lifetime;
	authd_settings.session_lifetime = conf->session_lifetime;
	authd_settings.login_attempts = conf->login_attempts;
	authd_settings.login_window = conf->login_window;
	authd_settings.pw_memory = (uint32_t)conf->password_memory;
	authd_settings.pw_iterations = (uint32_t)conf->password_iterations;
	ratelimit_setup(conf->login_attempts, conf->login_window);
	ratelimit_search_setup(conf->search_rate, conf->search_window);
}

/* How many keys were copied (0..2), the newest first. */
int
authd_pubkey(uint8_t pub[2][ED25519_PUBLEN])
{
	memcpy(pub, authd.pub, sizeof(authd.pub));
	return authd.npub;
}

static void
authd_ask_pubkey(void)
{
	struct imsg_empty	 e;

	memset(&e, 0, sizeof(e));
	if (child_send(authd.c, PROC_KEYD, IMSG_KEY_PUBKEY, ipc_next_id(),
	    &e, -1) == -1)
		log_warnx("%s: cannot ask keyd for its key", __func__);
}

static void
authd_unpark(struct areq *r)
{
	TAILQ_REMOVE(&authd.parked, r, entry);
	authd.nparked--;
	r->parked = 0;
}

/* No token after all: the session we made for it is of no use. */
static void
authd_sign_failed(struct areq *r, int status, const char *why)
{
	const char	*q[1] = { r->pending_sid };

	(void)sql_exec("UPDATE sessions SET revoked_at = now(), "
	    "revoke_reason = 'no access token' WHERE id = $1", 1, q);
	areq_error(r, status, status == 503 ? "unavailable" :
	    "internal_error", "%s", why);
}

void
authd_sign(struct areq *r, const char *uid, const char *sid, json_t *answer,
    int status)
{
	struct imsg_key_sign	 s;
	uint8_t			 jti[16];
	char			 jtis[B64URL_ENCLEN(16) + 1];
	int64_t			 now = (int64_t)time(NULL);
	json_t			*claims;
	char			*text;

	strlcpy(r->pending_sid, sid, sizeof(r->pending_sid));
	r->pending = answer;
	r->pending_status = status;
	arc4random_buf(jti, sizeof(jti));
	(void)b64url_encode(jti, sizeof(jti), jtis, sizeof(jtis));
	claims = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "iss", "ballast",
	    "aud", "ballast-api", "sub", uid, "sid", sid, "iat",
	    (json_int_t)now, "exp",
	    (json_int_t)(now + (int64_t)authd_settings.token_lifetime),
	    "jti", jtis);
	text = claims != NULL ? json_dumps(claims, JSON_COMPACT) : NULL;
	json_decref(claims);
	if (text == NULL) {
		authd_sign_failed(r, 500, "internal error");
		return;
	}
	s.claims = text;
	/*
	 * keyd answers in order: asking for its public key first means we
	 * hold the key of this token, even after a rotation, before the
	 * client can present it.
	 */
	authd_ask_pubkey();
	r->sign_id = ipc_next_id();
	if (authd.nparked >= AUTHD_MAX_PARKED ||
	    child_send(authd.c, PROC_KEYD, IMSG_KEY_SIGN, r->sign_id, &s,
	    -1) == -1)
		authd_sign_failed(r, 503, "the key service is not available");
	else {
		r->parked = 1;
		TAILQ_INSERT_TAIL(&authd.parked, r, entry);
		authd.nparked++;
	}
	free(text);
}

static struct areq *
authd_parked(uint64_t id)
{
	struct areq	*r;

	TAILQ_FOREACH(r, &authd.parked, entry)
		if (r->sign_id == id)
			return r;
	return NULL;
}

static void
authd_signed(struct areq *r, const struct imsg_key_token *t)
{
	json_t	*answer = r->pending;

	r->pending = NULL;
	if (json_object_set_new(answer, "access_token",
	    json_string(t->token)) == -1) {
		json_decref(answer);
		authd_sign_failed(r, 500, "internal error");
		return;
	}
	areq_reply(r, r->pending_status, answer, NULL);
}

static void
authd_pubkey_rep(struct ipc_msg *msg)
{
	const struct imsg_key_pubkey	*p = msg->body;

	if (authd.npub > 0 &&
	    memcmp(authd.pub[0], p->pub.data, ED25519_PUBLEN) == 0)
		return;
	/* A new key: tokens of the previous one stay good until expiry. */
	memcpy(authd.pub[1], authd.pub[0], ED25519_PUBLEN);
	memcpy(authd.pub[0], p->pub.data, ED25519_PUBLEN);
	authd.npub = authd.npub == 0 ? 1 : 2;
	log_info("%s: keyd's signing key %llu", __func__,
	    (unsigned long long)p->kid);
}

static void
dispatch_keyd(struct child *c, struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct areq	*r;

	/* Only keyd sends it, and only when asked: any answer is current. */
	if (msg->type == IMSG_KEY_PUBKEY_REP) {
		authd_pubkey_rep(msg);
		return;
	}
	if ((r = authd_parked(msg->id)) == NULL) {
		log_warnx("%s: %s for no request", __func__,
		    ipc_type_name(msg->type));
		return;
	}
	authd_unpark(r);
	if (msg->type == IMSG_KEY_SIGNED)
		authd_signed(r, msg->body);
	else {
		log_warnx("%s: request %s: keyd refused to sign: %s",
		    __func__, r->request_id, msg->type == IMSG_KEY_ERROR ?
		    ((struct imsg_key_error *)msg->body)->code : "?");
		authd_sign_failed(r, 500, "cannot issue a token");
	}
	areq_free(r);
}

/* GET /metrics: what only authd knows, in the Prometheus text format. */
static void
authd_metrics(struct ipc_chan *chan, uint64_t id)
{
	struct imsg_metrics	 m;
	char			 text[2048];

	snprintf(text, sizeof(text),
	    "# HELP ballast_authd_postgres_errors_total Statements of authd "
	    "that PostgreSQL failed (or that could not reach it).\n"
	    "# TYPE ballast_authd_postgres_errors_total counter\n"
	    "ballast_authd_postgres_errors_total %llu\n"
	    "# HELP ballast_authd_pipelined_statements_total Statements of "
	    "authd sent to PostgreSQL together with others in one round trip "
	    "(requests that arrived together).\n"
	    "# TYPE ballast_authd_pipelined_statements_total counter\n"
	    "ballast_authd_pipelined_statements_total %llu\n"
	    "# HELP ballast_authd_cache_hits_total Credential checks and "
	    "/v1/me answers taken from what authd read before, unchanged "
	    "since by the database's auth_generation.\n"
	    "# TYPE ballast_authd_cache_hits_total counter\n"
	    "ballast_authd_cache_hits_total %llu\n",
	    (unsigned long long)authd.pg_errors,
	    (unsigned long long)sql_pipelined(),
	    (unsigned long long)pcache_hits());
	m.text = text;
	if (ipc_send(chan, IMSG_METRICS_REP, id, &m, -1) == -1)
		log_warnx("%s: cannot answer the front", __func__);
}

static void
dispatch_front(struct child *c, struct ipc_chan *chan, struct ipc_msg *msg)
{
	switch (msg->type) {
	case IMSG_AUTH_REQ:
		authd_request(c, msg);
		break;
	case IMSG_AUTH_VERIFY:
		authd_verify(c, msg);
		break;
	case IMSG_METRICS_REQ:
		authd_metrics(chan, msg->id);
		break;
	default:
		log_warnx("%s: unexpected %s", __func__,
		    ipc_type_name(msg->type));
		break;
	}
}

static void
authd_peer_change(struct child *c, enum proc_id peer, int up)
{
	struct areq		*r;

	if (peer != PROC_KEYD)
		return;
	if (up) {
		authd_ask_pubkey();
		return;
	}
	/* keyd went away: nobody will sign what is parked. */
	while ((r = TAILQ_FIRST(&authd.parked)) != NULL) {
		authd_unpark(r);
		authd_sign_failed(r, 503, "the key service is not available");
		areq_free(r);
	}
}

static void
authd_reload(struct child *c, const struct ballast_conf *old)
{
	authd_settings_load(&c->conf);
}

void
authd_main(int argc, char **argv)
{
	static struct child	 c;
	char			 promises[64] = "stdio";

	child_boot(&c, PROC_AUTHD, argc, argv);
	authd.c = &c;
	TAILQ_INIT(&authd.parked);
	authd_settings_load(&c.conf);
	/* The database connection is made while we may still read files. */
	authd.db = db_connect(c.conf.db_auth, "authd");
	(void)db_count_errors(authd.db, &authd.pg_errors);
	/* what libpq needs to connect again from inside the sandbox */
	if (db_sandbox(c.conf.db_auth, promises, sizeof(promises), 1) == -1)
		fatalx("authd: cannot sandbox the database connection");
	explicit_bzero(c.conf.db_auth, sizeof(c.conf.db_auth));
	sql_init(authd.db);
	/* Unknown users are verified against this, at the same cost. */
	if (session_dummy_init() == -1)
		fatalx("authd: cannot make the dummy password hash");

	/* No chroot: libpq must find PostgreSQL's socket again on reset. */
	if (priv_drop(c.conf.user[PROC_AUTHD], NULL) == -1)
		fatalx("authd: cannot drop privileges");
	/*
	 * stdio: the event loop and IPC on open channels.
	 * db_sandbox(): what libpq's reconnects need for the conninfo:
	 *   unix (a socket directory), inet and dns (TCP, a host name),
	 *   rpath (TLS files such as sslrootcert, unveiled read-only).
	 */
	if (sandbox_pledge(promises) == -1)
		fatal("authd: sandbox");
	authd_batch_init(c.base);
	c.health = authd_health;
	c.dispatch[PROC_FRONT] = dispatch_front;
	c.dispatch[PROC_KEYD] = dispatch_keyd;
	c.peer_change = authd_peer_change;
	c.reload = authd_reload;
	child_serve(&c);
}

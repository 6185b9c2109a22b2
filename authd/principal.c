/*
 * Who is asking: an access JWT (a session) or an API key.  Anything that
 * does not check out is the same 401 with WWW-Authenticate: Bearer; the
 * reason goes to the debug log only, never the credential.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authd/authd.h"
#include "common/log.h"
#include "common/util.h"
#include "keyd/crypto.h"

#include <openssl/crypto.h>

static int
principal_refuse(struct areq *r, const char *why)
{
	log_debug("%s: request %s: %s", __func__, r->request_id, why);
	areq_error(r, 401, "unauthorized", "invalid or expired credentials");
	return -1;
}

/*
 * Last use is bookkeeping, not a check: it is written at most once per
 * PRINCIPAL_TOUCH seconds per key or session, so that a busy credential
 * costs a read per request, not a write (a dead row version, WAL and a
 * commit each time, issue 12).  The write is committed without waiting
 * for the WAL flush (synchronous_commit off for that statement's own
 * transaction only): losing the last few seconds of it in a crash is
 * harmless.  Every liveness check (revoked, expired, user disabled) is
 * still as fresh as a read on every request: from the database, or from
 * a row that the batch's auth_generation shows unchanged (pcache.c).
 * The touch returns the time it wrote, which the cache keeps.
 */
#define PRINCIPAL_TOUCH	"60"
#define PRINCIPAL_STALE(col) \
	"(" col " IS NULL OR " col " < now() - interval '" PRINCIPAL_TOUCH \
	" seconds')"
#define PRINCIPAL_TOUCH_US	(60 * INT64_C(1000000))
#define PRINCIPAL_ASYNC \
	"(SELECT set_config('synchronous_commit', 'off', true)) nosync"
#define PRINCIPAL_TOUCHED " RETURNING " SQL_US("last_used_at")

/* The last use written, INT64_MIN when it was not. */
static int64_t
principal_touch(struct areq *r, const char *query, const char *id)
{
	const char	*q[1] = { id };
	PGresult	*res;
	int64_t		 used = INT64_MIN;

	/* The request stands: the credential was checked. */
	if ((res = sql(query, 1, q)) == NULL) {
		log_warnx("%s: request %s: cannot record the last use",
		    __func__, r->request_id);
		return used;
	}
	if (PQntuples(res) != 1 ||
	    pcache_us(res, 0, 0, INT64_MIN, &used) == -1)
		used = INT64_MIN;
	PQclear(res);
	return used;
}

#define PRINCIPAL_SESSION_TOUCH "UPDATE sessions SET last_used_at = now() " \
	"FROM " PRINCIPAL_ASYNC " WHERE id = $1" PRINCIPAL_TOUCHED
#define PRINCIPAL_APIKEY_TOUCH "UPDATE api_keys SET last_used_at = now() " \
	"FROM " PRINCIPAL_ASYNC " WHERE id = $1" PRINCIPAL_TOUCHED

/* The session must exist, be live, and belong to sub. */
#define PRINCIPAL_SESSION_SQL \
	"SELECT " PRINCIPAL_STALE("s.last_used_at") ", " \
	SQL_US("s.expires_at") ", " SQL_US("s.last_used_at") " FROM " \
	"sessions s JOIN users u ON u.id = s.user_id " \
	"WHERE s.id = $1 AND s.user_id = $2 AND " \
	"s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled"

static void
principal_session_fill(struct areq *r)
{
	r->p.present = 1;
	r->p.kind = PRINCIPAL_SESSION;
	strlcpy(r->p.user, r->pc.sub, sizeof(r->p.user));
	strlcpy(r->p.session, r->pc.sid, sizeof(r->p.session));
}

/* A live session's row, remembered under the batch's generation. */
static struct pc_session *
principal_session_remember(struct areq *r, PGresult *res)
{
	struct pc_session	*e;
	int64_t			 gen;

	if (pcache_gen(&gen, NULL) == -1)
		return NULL;
	e = pcache_session(r->pc.sid, 1);
	strlcpy(e->user, r->pc.sub, sizeof(e->user));
	if (pcache_us(res, 0, 1, INT64_MAX, &e->expires) == -1 ||
	    pcache_us(res, 0, 2, INT64_MIN, &e->used) == -1) {
		pcache_forget(NULL, r->pc.sid);
		return NULL;
	}
	e->gen = gen;
	return e;
}

static int
principal_session(struct areq *r, PGresult *res)
{
	struct pc_session	*e = NULL;
	int			 n, stale = 0;
	int64_t			 used;

	if ((n = PQntuples(res)) == 1) {
		stale = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		e = principal_session_remember(r, res);
	} else
		pcache_forget(NULL, r->pc.sid);
	PQclear(res);
	if (n != 1)
		return principal_refuse(r, "no live session");
	principal_session_fill(r);
	if (stale) {
		used = principal_touch(r, PRINCIPAL_SESSION_TOUCH, r->pc.sid);
		if (e != NULL)
			e->used = used;
	}
	return 0;
}

/* The same checks as PRINCIPAL_SESSION_SQL's, on a current entry. */
static int
principal_session_hit(struct areq *r, struct pc_session *e, int64_t now)
{
	if (strcmp(e->user, r->pc.sub) != 0 || e->expires <= now) {
		pcache_forget(NULL, r->pc.sid);
		return principal_refuse(r, "no live session");
	}
	principal_session_fill(r);
	if (e->used == INT64_MIN || e->used < now - PRINCIPAL_TOUCH_US)
		e->used = principal_touch(r, PRINCIPAL_SESSION_TOUCH,
		    r->pc.sid);
	return 0;
}

/*
 * Tokens whose signature checked out, by SHA-256 of the token: an
 * Ed25519 verification is most of authd's CPU for a session's request
 * (~60 %, issue 12), and the same bytes under the same key verify the
 * same way every time.  Only the signature is remembered: the claims
 * (expiry included) are checked on every use, the session and its user
 * in the database, and a hit counts only while the key that verified it
 * is still one of keyd's current keys.  Direct-mapped, so a busy client
 * can only evict, never make a token pass.
 */
#define JWT_SEEN_SLOTS	256

static struct jwt_seen {
	uint8_t	 hash[SHA256_LEN];
	uint8_t	 pub[ED25519_PUBLEN];
	char	*claims;
	size_t	 clen;
} jwt_seen[JWT_SEEN_SLOTS];

static struct jwt_seen *
principal_jwt_slot(const uint8_t hash[SHA256_LEN])
{
	return &jwt_seen[(hash[0] | (unsigned int)hash[1] << 8) %
	    JWT_SEEN_SLOTS];
}

/* A copy of the claims of a token verified before under a current key. */
static int
principal_jwt_seen(const uint8_t hash[SHA256_LEN],
    uint8_t pub[2][ED25519_PUBLEN], int npub, char **claims, size_t *clen)
{
	struct jwt_seen	*e = principal_jwt_slot(hash);

	if (e->claims == NULL ||
	    CRYPTO_memcmp(e->hash, hash, SHA256_LEN) != 0)
		return -1;
	for (int i = 0; i < npub; i++)
		if (memcmp(e->pub, pub[i], ED25519_PUBLEN) == 0) {
			*claims = xcalloc(1, e->clen + 1);
			memcpy(*claims, e->claims, e->clen + 1);
			*clen = e->clen;
			return 0;
		}
	return -1;
}

static void
principal_jwt_remember(const uint8_t hash[SHA256_LEN],
    const uint8_t pub[ED25519_PUBLEN], const char *claims, size_t clen)
{
	struct jwt_seen	*e = principal_jwt_slot(hash);

	free(e->claims);
	memcpy(e->hash, hash, SHA256_LEN);
	memcpy(e->pub, pub, ED25519_PUBLEN);
	e->claims = xcalloc(1, clen + 1);
	memcpy(e->claims, claims, clen + 1);
	e->clen = clen;
}

static int
principal_jwt_verify(const char *token, uint8_t pub[2][ED25519_PUBLEN],
    int npub, char **claims, size_t *clen)
{
	uint8_t	 hash[SHA256_LEN];
	size_t	 len = strlen(token);

	if (len > JWT_MAX_TOKEN || sha256(token, len, hash) == -1)
		return -1;
	if (principal_jwt_seen(hash, pub, npub, claims, clen) == 0)
		return 0;
	for (int i = 0; i < npub; i++)
		if (jwt_verify_eddsa(pub[i], token, len, claims, clen) == 0) {
			principal_jwt_remember(hash, pub[i], *claims, *clen);
			return 0;
		}
	return -1;
}

static int
principal_jwt(struct areq *r, const char *token, struct sql_item *q)
{
	uint8_t		 pub[2][ED25519_PUBLEN];
	char		*claims = NULL, err[128];
	size_t		 clen = 0;
	int		 npub, rv;

	if ((npub = authd_pubkey(pub)) == 0) {
		areq_error(r, 503, "unavailable", "tokens cannot be checked "
		    "yet; try again");
		return -1;
	}
	if (principal_jwt_verify(token, pub, npub, &claims, &clen) == -1)
		return principal_refuse(r, "bad token or signature");
	rv = claims_check(claims, clen, (int64_t)time(NULL), r->pc.sub,
	    r->pc.sid, err, sizeof(err));
	freezero(claims, clen);
	if (rv == -1)
		return principal_refuse(r, err);
	q->query = PRINCIPAL_SESSION_SQL;
	q->n = 2;
	q->params[0] = r->pc.sid;
	q->params[1] = r->pc.sub;
	return 0;
}

/* Compares in constant time (CRYPTO_memcmp; libbsd has no
 * timingsafe_bcmp) against the current and (prev not NULL) the
 * previous hash. */
static int
principal_hash_match(const uint8_t secret[APIKEY_SECRETLEN],
    const uint8_t cur[SHA256_LEN], const uint8_t *prev)
{
	uint8_t	 h[SHA256_LEN];
	int	 ok = 0;

	if (sha256(secret, APIKEY_SECRETLEN, h) == -1)
		return 0;
	if (CRYPTO_memcmp(h, cur, sizeof(h)) == 0)
		ok = 1;
	if (prev != NULL && CRYPTO_memcmp(h, prev, sizeof(h)) == 0)
		ok = 1;
	explicit_bzero(h, sizeof(h));
	return ok;
}

static int
principal_key_match(PGresult *res, const uint8_t secret[APIKEY_SECRETLEN])
{
	uint8_t	 cur[SHA256_LEN], prev[SHA256_LEN];
	int	 ok = 0, hasprev;

	hasprev = !PQgetisnull(res, 0, 6) &&
	    hex_decode(PQgetvalue(res, 0, 6), prev, sizeof(prev)) == 0;
	if (hex_decode(PQgetvalue(res, 0, 5), cur, sizeof(cur)) == 0)
		ok = principal_hash_match(secret, cur, hasprev ? prev : NULL);
	explicit_bzero(cur, sizeof(cur));
	explicit_bzero(prev, sizeof(prev));
	return ok;
}

static void
principal_key_fill(struct areq *r, PGresult *res, const char *id)
{
	r->p.present = 1;
	r->p.kind = PRINCIPAL_APIKEY;
	strlcpy(r->p.key_id, id, sizeof(r->p.key_id));
	strlcpy(r->p.key_org, PQgetvalue(res, 0, 0), sizeof(r->p.key_org));
	strlcpy(r->p.user, PQgetvalue(res, 0, 1), sizeof(r->p.user));
	strlcpy(r->p.key_coll, PQgetisnull(res, 0, 2) ? "" :
	    PQgetvalue(res, 0, 2), sizeof(r->p.key_coll));
	r->p.key_personal = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	r->p.key_cap = key_cap_parse(PQgetvalue(res, 0, 4)) == CAP_READWRITE ?
	    CAP_READWRITE : CAP_READ;
}

#define PRINCIPAL_APIKEY_SQL \
	"SELECT k.org_id, k.created_by, k.collection_id, " \
	"k.include_personal, k.cap, encode(k.secret_hash, 'hex'), " \
	"CASE WHEN k.prev_valid_until > now() THEN " \
	"encode(k.prev_secret_hash, 'hex') END, " \
	PRINCIPAL_STALE("k.last_used_at") ", " \
	SQL_US("k.prev_valid_until") ", " SQL_US("k.expires_at") ", " \
	SQL_US("k.last_used_at") ", encode(k.prev_secret_hash, 'hex') " \
	"FROM api_keys k JOIN users u ON u.id = k.created_by " \
	"WHERE k.id = $1 AND k.revoked_at IS NULL AND " \
	"(k.expires_at IS NULL OR k.expires_at > now()) AND NOT u.disabled"

static int
principal_apikey(struct areq *r, const char *token, struct sql_item *q)
{
	if (apikey_parse(token, r->pc.id, r->pc.secret) == -1) {
		explicit_bzero(r->pc.secret, sizeof(r->pc.secret));
		return principal_refuse(r, "malformed API key");
	}
	r->pc.apikey = 1;
	q->query = PRINCIPAL_APIKEY_SQL;
	q->n = 1;
	q->params[0] = r->pc.id;
	return 0;
}

/*
 * A live key's row (r->p filled from it), remembered under the batch's
 * generation: both hashes and the times, so that the checks the
 * statement makes can be made again against a later now().
 */
static struct pc_key *
principal_key_remember(struct areq *r, PGresult *res)
{
	struct pc_key	*e;
	int64_t		 gen;
	int		 ok;

	if (pcache_gen(&gen, NULL) == -1)
		return NULL;
	e = pcache_key(r->pc.id, 1);
	strlcpy(e->org, r->p.key_org, sizeof(e->org));
	strlcpy(e->user, r->p.user, sizeof(e->user));
	strlcpy(e->coll, r->p.key_coll, sizeof(e->coll));
	e->personal = r->p.key_personal;
	e->cap = r->p.key_cap;
	e->has_prev = !PQgetisnull(res, 0, 11);
	ok = hex_decode(PQgetvalue(res, 0, 5), e->hash, sizeof(e->hash)) ==
	    0 && (!e->has_prev || hex_decode(PQgetvalue(res, 0, 11), e->prev,
	    sizeof(e->prev)) == 0) &&
	    pcache_us(res, 0, 8, INT64_MIN, &e->prev_until) == 0 &&
	    pcache_us(res, 0, 9, INT64_MAX, &e->expires) == 0 &&
	    pcache_us(res, 0, 10, INT64_MIN, &e->used) == 0;
	if (!ok) {
		pcache_forget(r->pc.id, NULL);
		return NULL;
	}
	e->gen = gen;
	return e;
}

/* The key's row, when there is one, and its secret's hash must match. */
static int
principal_apikey_end(struct areq *r, PGresult *res)
{
	struct pc_key	*e = NULL;
	int		 ok, stale = 0;
	int64_t		 used;

	ok = PQntuples(res) == 1 && principal_key_match(res, r->pc.secret);
	explicit_bzero(r->pc.secret, sizeof(r->pc.secret));
	if (ok) {
		principal_key_fill(r, res, r->pc.id);
		stale = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
		e = principal_key_remember(r, res);
	} else if (PQntuples(res) != 1)
		pcache_forget(r->pc.id, NULL);
	PQclear(res);
	if (!ok)
		return principal_refuse(r, "unknown, revoked or expired key");
	if (stale) {
		used = principal_touch(r, PRINCIPAL_APIKEY_TOUCH, r->pc.id);
		if (e != NULL)
			e->used = used;
	}
	return 0;
}

/* The same checks as PRINCIPAL_APIKEY_SQL's, on a current entry. */
static int
principal_key_hit(struct areq *r, struct pc_key *e, int64_t now)
{
	int	 ok;

	if (e->expires <= now) {
		explicit_bzero(r->pc.secret, sizeof(r->pc.secret));
		pcache_forget(r->pc.id, NULL);
		return principal_refuse(r, "unknown, revoked or expired key");
	}
	ok = principal_hash_match(r->pc.secret, e->hash,
	    e->has_prev && e->prev_until > now ? e->prev : NULL);
	explicit_bzero(r->pc.secret, sizeof(r->pc.secret));
	if (!ok)
		return principal_refuse(r, "unknown, revoked or expired key");
	r->p.present = 1;
	r->p.kind = PRINCIPAL_APIKEY;
	strlcpy(r->p.key_id, e->id, sizeof(r->p.key_id));
	strlcpy(r->p.key_org, e->org, sizeof(r->p.key_org));
	strlcpy(r->p.user, e->user, sizeof(r->p.user));
	strlcpy(r->p.key_coll, e->coll, sizeof(r->p.key_coll));
	r->p.key_personal = e->personal;
	r->p.key_cap = e->cap;
	if (e->used == INT64_MIN || e->used < now - PRINCIPAL_TOUCH_US)
		e->used = principal_touch(r, PRINCIPAL_APIKEY_TOUCH, r->pc.id);
	return 0;
}

int
principal_cached(const struct areq *r)
{
	if (r->pc.apikey)
		return pcache_key(r->pc.id, 0) != NULL;
	return pcache_session(r->pc.sid, 0) != NULL;
}

int
principal_from_cache(struct areq *r)
{
	struct pc_key		*k;
	struct pc_session	*s;
	int64_t			 now;

	if (r->pc.apikey) {
		if ((k = pcache_key(r->pc.id, 0)) == NULL ||
		    pcache_usable(k->gen, &now) == -1)
			return 1;
		return principal_key_hit(r, k, now);
	}
	if ((s = pcache_session(r->pc.sid, 0)) == NULL ||
	    pcache_usable(s->gen, &now) == -1)
		return 1;
	return principal_session_hit(r, s, now);
}

int
principal_begin(struct areq *r, const char *token, struct sql_item *q)
{
	memset(&r->p, 0, sizeof(r->p));
	memset(&r->pc, 0, sizeof(r->pc));
	memset(q, 0, sizeof(*q));
	if (strncmp(token, APIKEY_PREFIX, strlen(APIKEY_PREFIX)) == 0)
		return principal_apikey(r, token, q);
	return principal_jwt(r, token, q);
}

int
principal_end(struct areq *r, PGresult *res)
{
	int	 rv;

	if (res == NULL) {
		explicit_bzero(r->pc.secret, sizeof(r->pc.secret));
		areq_internal(r);
		return -1;
	}
	rv = r->pc.apikey ? principal_apikey_end(r, res) :
	    principal_session(r, res);
	explicit_bzero(r->pc.secret, sizeof(r->pc.secret));
	return rv;
}

int
principal_resolve(struct areq *r, const char *token)
{
	struct sql_item	 q;

	if (principal_begin(r, token, &q) == -1)
		return -1;
	return principal_end(r, sql(q.query, q.n, q.params));
}

/*
 * Who is asking: an access JWT (a session) or an API key.  Anything that
 * does not check out is the same 401 with WWW-Authenticate: Bearer; the
 * reason goes to the debug log only, never the credential.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authd/authd.h"
#include "common/log.h"
#include "keyd/crypto.h"

#include <openssl/crypto.h>

static int
principal_refuse(struct areq *r, const char *why)
{
	log_debug("%s: request %s: %s", __func__, r->request_id, why);
	areq_error(r, 401, "unauthorized", "invalid or expired credentials");
	return -1;
}

/* The session must exist, be live, and belong to sub. */
static int
principal_session(struct areq *r, const char *sub, const char *sid)
{
	const char	*q[2] = { sid, sub };
	PGresult	*res;
	int		 n;

	res = sql("UPDATE sessions s SET last_used_at = now() FROM users u "
	    "WHERE s.id = $1 AND s.user_id = $2 AND u.id = s.user_id AND "
	    "s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled "
	    "RETURNING s.id", 2, q);
	if (res == NULL) {
		areq_internal(r);
		return -1;
	}
	n = PQntuples(res);
	PQclear(res);
	if (n != 1)
		return principal_refuse(r, "no live session");
	r->p.present = 1;
	r->p.kind = PRINCIPAL_SESSION;
	strlcpy(r->p.user, sub, sizeof(r->p.user));
	strlcpy(r->p.session, sid, sizeof(r->p.session));
	return 0;
}

static int
principal_jwt(struct areq *r, const char *token)
{
	uint8_t		 pub[2][ED25519_PUBLEN];
	char		*claims = NULL, err[128];
	char		 sub[UUID_LEN + 1], sid[UUID_LEN + 1];
	size_t		 clen = 0;
	int		 npub, i, rv = -1;

	if ((npub = authd_pubkey(pub)) == 0) {
		areq_error(r, 503, "unavailable", "tokens cannot be checked "
		    "yet; try again");
		return -1;
	}
	for (i = 0; i < npub && rv == -1 && strlen(token) <= JWT_MAX_TOKEN;
	    i++)
		rv = jwt_verify_eddsa(pub[i], token, strlen(token), &claims,
		    &clen);
	if (rv == -1)
		return principal_refuse(r, "bad token or signature");
	rv = claims_check(claims, clen, (int64_t)time(NULL), sub, sid, err,
	    sizeof(err));
	freezero(claims, clen);
	if (rv == -1)
		return principal_refuse(r, err);
	return principal_session(r, sub, sid);
}

/* Compares in constant time (CRYPTO_memcmp; libbsd has no
 * timingsafe_bcmp) against the current and the previous hash. */
static int
principal_key_match(PGresult *res, const uint8_t secret[APIKEY_SECRETLEN])
{
	uint8_t	 h[SHA256_LEN], want[SHA256_LEN];
	int	 ok = 0;

	if (sha256(secret, APIKEY_SECRETLEN, h) == -1)
		return 0;
	if (hex_decode(PQgetvalue(res, 0, 5), want, sizeof(want)) == 0 &&
	    CRYPTO_memcmp(h, want, sizeof(h)) == 0)
		ok = 1;
	if (!PQgetisnull(res, 0, 6) &&
	    hex_decode(PQgetvalue(res, 0, 6), want, sizeof(want)) == 0 &&
	    CRYPTO_memcmp(h, want, sizeof(h)) == 0)
		ok = 1;
	explicit_bzero(h, sizeof(h));
	explicit_bzero(want, sizeof(want));
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

static int
principal_apikey(struct areq *r, const char *token)
{
	char		 id[APIKEY_IDLEN + 1];
	uint8_t		 secret[APIKEY_SECRETLEN];
	const char	*q[1] = { id };
	PGresult	*res;
	int		 ok;

	if (apikey_parse(token, id, secret) == -1)
		return principal_refuse(r, "malformed API key");
	res = sql("SELECT k.org_id, k.created_by, k.collection_id, "
	    "k.include_personal, k.cap, encode(k.secret_hash, 'hex'), "
	    "CASE WHEN k.prev_valid_until > now() THEN "
	    "encode(k.prev_secret_hash, 'hex') END "
	    "FROM api_keys k JOIN users u ON u.id = k.created_by "
	    "WHERE k.id = $1 AND k.revoked_at IS NULL AND "
	    "(k.expires_at IS NULL OR k.expires_at > now()) AND NOT u.disabled",
	    1, q);
	if (res == NULL) {
		explicit_bzero(secret, sizeof(secret));
		areq_internal(r);
		return -1;
	}
	ok = PQntuples(res) == 1 && principal_key_match(res, secret);
	explicit_bzero(secret, sizeof(secret));
	if (ok)
		principal_key_fill(r, res, id);
	PQclear(res);
	if (!ok)
		return principal_refuse(r, "unknown, revoked or expired key");
	if (sql_exec("UPDATE api_keys SET last_used_at = now() WHERE id = $1",
	    1, q) == -1) {
		areq_internal(r);
		return -1;
	}
	return 0;
}

int
principal_resolve(struct areq *r, const char *token)
{
	memset(&r->p, 0, sizeof(r->p));
	if (strncmp(token, APIKEY_PREFIX, strlen(APIKEY_PREFIX)) == 0)
		return principal_apikey(r, token);
	return principal_jwt(r, token);
}

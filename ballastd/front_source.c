/*
 * The two routes that carry a source's credential in clear (docs/api.md,
 * "Sources and sync jobs"):
 *
 *   POST /v1/collections/{cid}/sources	authd (write, cid) -> keyd seal
 *					-> indexd source.create
 *   PUT  /v1/sources/{id}/credentials	indexd source.get (read) -> authd
 *					(write, its collection) -> keyd seal
 *					-> indexd source.credentials
 *
 * The front is the only process that sees a credential on its way in.  It
 * seals the credential's compact JSON text with keyd (IMSG_KEY_SEAL, the
 * one keyd request the front may make) bound to the grant's org, the
 * source id and, for a personal source, the grant's owner and that user's
 * key salt; indexd gets only the sealed bytes.  Every buffer that held the
 * plaintext is wiped as soon as keyd has it, and it is never logged.
 *
 * The source id is chosen here (a random UUID v4) because it is part of
 * the sealing context and the row does not exist yet.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "ballastd/front.h"
#include "ballastd/front_mcp.h"
#include "common/grant.h"
#include "common/log.h"
#include "common/util.h"

#define SOURCE_SALTLEN	32	/* users.key_salt */

/* One request's state, freed (and wiped) with the request. */
struct source {
	char			*params[FRONT_MAX_PARAMS];
	char			*query;
	char			*token;
	char			 id[FRONT_UUID_LEN + 1];
	char			 coll[GRANT_IDLEN];	/* PUT: the source's */
	int			 personal;
	char			 org[GRANT_IDLEN];
	char			 owner[GRANT_IDLEN];
	uint8_t			 salt[SOURCE_SALTLEN];
	char			*grant;
	uint8_t			*mac;
	size_t			 maclen;
	json_t			*rest;		/* the client's body, no credential */
	char			*cred;		/* its compact JSON text, or NULL */
	size_t			 credlen;
	char			*fwd;		/* the body indexd gets */
	size_t			 fwdlen;
	struct front_content_run run;
};

/*
 * jansson frees through these once a credential was parsed: every block
 * it frees (the parsed strings, the lexer's buffers, a dump's text) is
 * wiped first, so no plaintext stays in freed heap.  They wrap malloc and
 * free, so blocks allocated before are freed correctly.
 */
static void *
source_json_malloc(size_t n)
{
	return malloc(n);
}

static void
source_json_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void
source_json_wiping(void)
{
	static int	 done;

	if (!done) {
		json_set_alloc_funcs(source_json_malloc, source_json_free);
		done = 1;
	}
}

static void
source_wipe_cred(struct source *s)
{
	if (s->cred != NULL)
		freezero(s->cred, s->credlen);
	s->cred = NULL;
	s->credlen = 0;
}

static void
source_free(void *arg)
{
	struct source	*s = arg;

	for (size_t i = 0; i < FRONT_MAX_PARAMS; i++)
		free(s->params[i]);
	free(s->query);
	if (s->token != NULL)
		freezero(s->token, strlen(s->token));
	free(s->grant);
	free(s->mac);
	json_decref(s->rest);
	source_wipe_cred(s);
	free(s->fwd);
	freezero(s, sizeof(*s));
}

void
front_source_uuid(char out[FRONT_UUID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			 b[16];
	size_t			 o = 0;

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* variant 10 */
	for (size_t i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
}

int
front_source_uuid_valid(const char *s)
{
	for (size_t i = 0; i < FRONT_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[FRONT_UUID_LEN] == '\0';
}

/* The credential's compact JSON text; -1 if not a string or object. */
static int
source_cred_text(json_t *v, char **cred, size_t *credlen, char *err,
    size_t errlen)
{
	if (!json_is_string(v) && !json_is_object(v)) {
		strlcpy(err, "credentials must be a string or an object",
		    errlen);
		return -1;
	}
	if ((*cred = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		strlcpy(err, "credentials cannot be encoded", errlen);
		return -1;
	}
	*credlen = strlen(*cred);
	if (*credlen > FRONT_SOURCE_MAX_CRED) {
		freezero(*cred, *credlen);
		*cred = NULL;
		*credlen = 0;
		strlcpy(err, "credentials are too large (at most 16 KiB as "
		    "compact JSON)", errlen);
		return -1;
	}
	return 0;
}

int
front_source_split(const uint8_t *body, size_t len, int cred_only,
    json_t **rest, char **cred, size_t *credlen, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*o, *v;

	*rest = NULL;
	*cred = NULL;
	*credlen = 0;
	o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY, &je);
	explicit_bzero(&je, sizeof(je));	/* it may quote the body */
	if (o == NULL) {
		strlcpy(err, "the body is not valid JSON", errlen);
		return -1;
	}
	if (!json_is_object(o)) {
		strlcpy(err, "the body must be a JSON object", errlen);
		goto bad;
	}
	if (json_object_get(o, "id") != NULL ||
	    json_object_get(o, "sealed_credentials") != NULL) {
		strlcpy(err, "id and sealed_credentials cannot be set", errlen);
		goto bad;
	}
	v = json_object_get(o, "credentials");
	if (cred_only && (v == NULL || json_object_size(o) != 1)) {
		strlcpy(err, "the body must be {\"credentials\": ...}", errlen);
		goto bad;
	}
	if (v != NULL) {
		if (source_cred_text(v, cred, credlen, err, errlen) == -1)
			goto bad;
		json_object_del(o, "credentials");
	}
	*rest = o;
	return 0;
 bad:
	json_decref(o);
	return -1;
}

char *
front_source_forward(json_t *rest, const char *id, const char *sealed,
    size_t *len)
{
	json_t	*o;
	char	*text;

	if ((o = json_deep_copy(rest)) == NULL)
		return NULL;
	if ((id != NULL && json_object_set_new(o, "id",
	    json_string(id)) == -1) || (sealed != NULL &&
	    json_object_set_new(o, "sealed_credentials",
	    json_string(sealed)) == -1)) {
		json_decref(o);
		return NULL;
	}
	text = front_json_dump(o, len);
	json_decref(o);
	return text;
}

int
front_source_grant(const char *grant, char *org, char *owner)
{
	json_t		*g;
	const char	*o, *w;
	int		 rv = -1;

	if ((g = json_loads(grant, 0, NULL)) == NULL)
		return -1;
	o = json_string_value(json_object_get(g, "org"));
	w = json_string_value(json_object_get(g, "owner"));
	if (o != NULL && w != NULL && strlcpy(org, o, GRANT_IDLEN) <
	    GRANT_IDLEN && strlcpy(owner, w, GRANT_IDLEN) < GRANT_IDLEN)
		rv = 0;
	json_decref(g);
	return rv;
}

/* The base64 (standard, padded) of sealed bytes; NULL on failure. */
static char *
source_b64(const uint8_t *data, size_t len)
{
	char	*out;

	if (len > 3 * (size_t)(INT32_MAX / 4 - 1))
		return NULL;
	out = xcalloc(1, 4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* ---- both routes ---------------------------------------------------- */

static void
source_done(struct front_req *req, struct front_content_run *run,
    const struct front_content_result *res)
{
	(void)run;
	if (res->how != FRONT_REPLY) {
		front_reply_failed(req, res->peer, res->how);
		return;
	}
	front_respond_text(req, res->status, res->hdrs, res->body,
	    strlen(res->body));
}

static void
source_unsealed(struct front_req *req)
{
	front_error(req, 503, "unavailable",
	    "the credential could not be sealed");
}

/* Keep what sealing and indexd need from the decision. */
static int
source_take(struct front_req *req, struct source *s,
    const struct imsg_auth_decision *d)
{
	if (front_source_grant(d->grant, s->org, s->owner) == -1) {
		front_error(req, 502, "bad_gateway",
		    "authorization answered an unreadable grant");
		return -1;
	}
	if (s->owner[0] != '\0' && d->user_salt.len == sizeof(s->salt))
		memcpy(s->salt, d->user_salt.data, sizeof(s->salt));
	else if (s->personal && s->owner[0] != '\0') {
		front_error(req, 502, "bad_gateway",
		    "authorization answered without the owner's key salt");
		return -1;
	}
	s->grant = xstrdup(d->grant);
	s->mac = xcalloc(1, d->mac.len);
	memcpy(s->mac, d->mac.data, d->mac.len);
	s->maclen = d->mac.len;
	return 0;
}

/* The sealed credential (or none) goes to indexd in the new body. */
static void
source_forward(struct front_req *req, struct source *s, const char *sealed)
{
	if (s->rest != NULL)
		s->fwd = front_source_forward(s->rest,
		    strcmp(s->run.op, "source.create") == 0 ? s->id : NULL,
		    sealed, &s->fwdlen);
	if (s->fwd == NULL) {
		front_error(req, 500, "internal_error", "internal error");
		return;
	}
	s->run.body = (const uint8_t *)s->fwd;
	s->run.bodylen = s->fwdlen;
	front_content_index(req, &s->run, s->grant, s->mac, s->maclen);
}

static void
source_sealed(struct front_req *req, enum proc_id peer, enum front_reply how,
    struct ipc_msg *msg, void *arg)
{
	struct source			*s = arg;
	const struct imsg_key_data	*kd;
	char				*b64;

	(void)peer;
	source_wipe_cred(s);	/* keyd answered or failed: it is done */
	if (how != FRONT_REPLY || msg->type != IMSG_KEY_RESULT) {
		if (how == FRONT_REPLY && msg->type == IMSG_KEY_ERROR)
			log_warnx("%s: request %s: keyd refused to seal: %s",
			    __func__, req->id, ((struct imsg_key_error *)
			    msg->body)->code);
		source_unsealed(req);
		return;
	}
	kd = msg->body;
	if ((b64 = source_b64(kd->data.data, kd->data.len)) == NULL) {
		source_unsealed(req);
		return;
	}
	source_forward(req, s, b64);
	free(b64);
}

/* Seal s->cred for org, id and (personal) owner + salt. */
static void
source_seal(struct front_req *req, struct source *s)
{
	struct imsg_key_req	 k;

	memset(&k, 0, sizeof(k));
	k.org = s->org;
	k.source = s->id;
	if (s->personal) {
		k.user = s->owner;
		k.user_salt.data = s->salt;
		k.user_salt.len = sizeof(s->salt);
	}
	k.data.data = (uint8_t *)s->cred;
	k.data.len = s->credlen;
	if (front_ask(req, PROC_KEYD, IMSG_KEY_SEAL, &k, -1,
	    front_req_ipc_timeout(req), source_sealed, s) == -1) {
		source_wipe_cred(s);
		source_unsealed(req);
	}
}

/* The client's body: parsed, split, and the raw bytes wiped. */
static int
source_body(struct front_req *req, struct source *s, int cred_only)
{
	char	 err[128];
	int	 rv;

	source_json_wiping();
	rv = front_source_split(req->body, req->bodylen, cred_only, &s->rest,
	    &s->cred, &s->credlen, err, sizeof(err));
	if (req->body != NULL)
		explicit_bzero(req->body, req->bodylen);
	if (rv == -1) {
		front_error(req, 400, strncmp(err, "the body is not valid",
		    21) == 0 ? "bad_json" : "bad_request", err);
		return -1;
	}
	return 0;
}

static struct source *
source_start(struct front_req *req)
{
	struct source	*s;

	if (!front_body_is_json(req)) {
		front_error(req, 415, "unsupported_media_type",
		    "send the body as application/json");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	req->hstate = s;
	req->hstate_free = source_free;
	for (size_t i = 0; i < req->nparams; i++)
		if ((s->params[i] = front_slice_str(&req->params[i])) ==
		    NULL) {
			front_error(req, 400, "bad_request",
			    "the path is not valid UTF-8");
			return NULL;
		}
	if ((s->query = front_slice_str(&req->http.query)) == NULL ||
	    front_req_token(req, &s->token) == -1) {
		front_error(req, 400, "bad_request",
		    "malformed query or credential");
		return NULL;
	}
	s->run.params = s->params;
	s->run.nparams = req->nparams;
	s->run.query = s->query;
	s->run.token = s->token;
	s->run.cb = source_done;
	s->run.arg = s;
	return s;
}

/* ---- POST /v1/collections/{cid}/sources ------------------------------ */

static void
create_decided(struct front_req *req, struct front_content_run *run,
    const struct imsg_auth_decision *d)
{
	struct source	*s = run->arg;

	if (source_body(req, s, 0) == -1)
		return;
	s->personal = json_is_true(json_object_get(s->rest, "personal"));
	/* gmail and gdrive default to personal (indexd does the same) */
	if (json_object_get(s->rest, "personal") == NULL) {
		const char *t = json_string_value(json_object_get(s->rest,
		    "type"));
		if (t != NULL && (strcmp(t, "gmail") == 0 ||
		    strcmp(t, "gdrive") == 0)) {
			s->personal = 1;
			json_object_set_new(s->rest, "personal", json_true());
		}
	}
	if (source_take(req, s, d) == -1)
		return;
	if (s->personal && s->owner[0] == '\0') {
		front_error(req, 403, "forbidden",
		    "this credential cannot create personal sources");
		return;
	}
	if (s->org[0] == '\0') {
		front_error(req, 400, "bad_request",
		    "a source needs an organization's collection");
		return;
	}
	front_source_uuid(s->id);
	if (s->cred != NULL)
		source_seal(req, s);
	else
		source_forward(req, s, NULL);
}

void
front_source_create(struct front_req *req)
{
	struct source	*s;

	if ((s = source_start(req)) == NULL)
		return;
	if (req->bodylen == 0) {
		front_error(req, 400, "bad_request", "a source needs a body");
		return;
	}
	s->run.op = "source.create";
	s->run.action = "write";
	s->run.collection = s->params[0];
	s->run.before_index = create_decided;
	front_content_run(req, &s->run);
}

/* ---- PUT /v1/sources/{id}/credentials -------------------------------- */

static void
cred_decided(struct front_req *req, struct front_content_run *run,
    const struct imsg_auth_decision *d)
{
	struct source	*s = run->arg;

	if (source_take(req, s, d) == -1)
		return;
	/* source.get found it with this principal's read grant. */
	if ((s->personal && s->owner[0] == '\0') || s->org[0] == '\0') {
		front_error(req, 404, "not_found", "no such source");
		return;
	}
	if (source_body(req, s, 1) == -1)
		return;
	json_decref(s->rest);
	/* indexd gets sealed_credentials alone */
	s->rest = json_object();
	source_seal(req, s);
}

/* indexd's source: its canonical id, collection and personal flag. */
static int
cred_source(struct source *s, const char *text)
{
	json_t		*o;
	const char	*id, *coll;
	json_t		*p;
	int		 rv = -1;

	if ((o = json_loads(text, 0, NULL)) == NULL)
		return -1;
	id = json_string_value(json_object_get(o, "id"));
	coll = json_string_value(json_object_get(o, "collection_id"));
	p = json_object_get(o, "personal");
	if (id != NULL && coll != NULL && json_is_boolean(p) &&
	    front_source_uuid_valid(id) && front_source_uuid_valid(coll)) {
		strlcpy(s->id, id, sizeof(s->id));
		strlcpy(s->coll, coll, sizeof(s->coll));
		s->personal = json_is_true(p);
		rv = 0;
	}
	json_decref(o);
	return rv;
}

static void
cred_got(struct front_req *req, struct front_content_run *run,
    const struct front_content_result *res)
{
	struct source	*s = run->arg;

	if (res->how != FRONT_REPLY || res->status != 200) {
		source_done(req, run, res);
		return;
	}
	if (cred_source(s, res->body) == -1) {
		front_error(req, 502, "bad_gateway",
		    "the index answered an unreadable source");
		return;
	}
	/* The write decision is about the source's own collection. */
	s->run.op = "source.credentials";
	s->run.action = "write";
	s->run.collection = s->coll;
	s->run.cb = source_done;
	s->run.before_index = cred_decided;
	front_content_run(req, &s->run);
}

void
front_source_credentials(struct front_req *req)
{
	struct source	*s;

	if ((s = source_start(req)) == NULL)
		return;
	if (req->bodylen == 0) {
		front_error(req, 400, "bad_request",
		    "the body must be {\"credentials\": ...}");
		return;
	}
	s->run.op = "source.get";
	s->run.action = "read";
	s->run.cb = cred_got;
	front_content_run(req, &s->run);
}

/* OAuth 2.0 for the Google connectors (see oauth.h). */
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/log.h"
#include "common/util.h"
#include "fetcher/gjson.h"
#include "fetcher/oauth.h"

static const char *const shared_members[] = {
	"client_id", "redirect_uri", "auth_url", "token_url", "api_base",
	"scope", "ca_file", "timeout", "max_bytes", NULL,
};

/* -- config ---------------------------------------------------------- */

static int
is_local(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 ||
	    strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0;
}

/* https://, or http:// to this machine; no query or fragment. */
static int
check_url(const char *k, const char *url, char *err, size_t errlen)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *q = NULL;
	int	 rc = -1;

	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		snprintf(err, errlen, "config.%s: not a valid URL", k);
	else if (strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 && is_local(host)))
		snprintf(err, errlen, "config.%s: must be https:// (http:// "
		    "only for 127.0.0.1, localhost or ::1)", k);
	else if (curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK)
		snprintf(err, errlen, "config.%s: no query string", k);
	else
		rc = 0;
	curl_free(scheme);
	curl_free(host);
	curl_free(q);
	curl_url_cleanup(u);
	return rc;
}

static int
members_check(json_t *config, const char *const *extra, char *err,
    size_t errlen)
{
	const char	*k;
	json_t		*v;

	if (!json_is_object(config)) {
		snprintf(err, errlen, "config: must be a JSON object");
		return -1;
	}
	json_object_foreach(config, k, v) {
		size_t	 i, j;

		for (i = 0; shared_members[i] != NULL &&
		    strcmp(shared_members[i], k) != 0; i++)
			;
		for (j = 0; extra != NULL && extra[j] != NULL &&
		    strcmp(extra[j], k) != 0; j++)
			;
		if (shared_members[i] == NULL && (extra == NULL ||
		    extra[j] == NULL)) {
			snprintf(err, errlen, "config.%.64s: unknown member",
			    k);
			return -1;
		}
	}
	return 0;
}

int
gconf_load(json_t *config, const char *type, const char *const *extra,
    const char *def_api, const char *def_scope, struct gconf *c, char *err,
    size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->type = type;
	if (members_check(config, extra, err, errlen) == -1 ||
	    conf_str(config, "client_id", 1, 512, &c->client_id, err,
	    errlen) == -1 ||
	    conf_str(config, "redirect_uri", 0, GOAUTH_MAX_URL,
	    &c->redirect_uri, err, errlen) == -1 ||
	    conf_str(config, "auth_url", 0, GOAUTH_MAX_URL, &c->auth_url, err,
	    errlen) == -1 ||
	    conf_str(config, "token_url", 0, GOAUTH_MAX_URL, &c->token_url,
	    err, errlen) == -1 ||
	    conf_str(config, "api_base", 0, GOAUTH_MAX_URL, &c->api_base, err,
	    errlen) == -1 ||
	    conf_str(config, "scope", 0, 1024, &c->scope, err, errlen) == -1 ||
	    conf_path(config, "ca_file", &c->ca_file, err, errlen) ==
	    -1 ||
	    conf_int(config, "timeout", 1, 300, 30, &c->timeout, err,
	    errlen) == -1 ||
	    conf_int(config, "max_bytes", 1024, 33554432, 16777216,
	    &c->max_bytes, err, errlen) == -1)
		return -1;
	if (c->auth_url == NULL)
		c->auth_url = GOAUTH_AUTH_URL;
	if (c->token_url == NULL)
		c->token_url = GOAUTH_TOKEN_URL;
	if (c->api_base == NULL)
		c->api_base = def_api;
	if (c->scope == NULL)
		c->scope = def_scope;
	if (check_url("auth_url", c->auth_url, err, errlen) == -1 ||
	    check_url("token_url", c->token_url, err, errlen) == -1 ||
	    check_url("api_base", c->api_base, err, errlen) == -1 ||
	    (c->redirect_uri != NULL && check_url("redirect_uri",
	    c->redirect_uri, err, errlen) == -1))
		return -1;
	if (c->api_base[strlen(c->api_base) - 1] == '/') {
		snprintf(err, errlen, "config.api_base: no trailing \"/\"");
		return -1;
	}
	return 0;
}

int
gconf_sandbox(const struct gconf *c, struct fetch_sandbox *sb, char *err,
    size_t errlen)
{
	return sandbox_add_net(sb, c->ca_file, err, errlen);
}

char *
goauth_escape(const char *s)
{
	char	*e, *out;

	if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
		fatalx("%s: out of memory", __func__);
	out = xstrdup(e);
	explicit_bzero(e, strlen(e));
	curl_free(e);
	return out;
}

void
goauth_challenge(const char *verifier, char out[GOAUTH_STATE_LEN + 1])
{
	uint8_t		 h[SHA256_DIGEST_LENGTH];
	char		 b64[64];
	size_t		 n;

	SHA256((const unsigned char *)verifier, strlen(verifier), h);
	EVP_EncodeBlock((unsigned char *)b64, h, sizeof(h));
	for (n = 0; b64[n] != '\0' && b64[n] != '='; n++)
		b64[n] = b64[n] == '+' ? '-' : b64[n] == '/' ? '_' : b64[n];
	b64[n] = '\0';
	strlcpy(out, b64, GOAUTH_STATE_LEN + 1);
}

char *
goauth_authorize_url(const char *type, json_t *config, const char *state,
    const char *verifier, char *err, size_t errlen)
{
	const struct connector	*cn = connector_find(type);
	struct gconf		 c;
	char			 ch[GOAUTH_STATE_LEN + 1], *url, *e[5];
	size_t			 len;

	if (cn == NULL || cn->check(config, err, errlen) == -1)
		return NULL;
	/* the check passed: the shared members are well-formed */
	memset(&c, 0, sizeof(c));
	(void)conf_str(config, "client_id", 1, 512, &c.client_id, err, errlen);
	(void)conf_str(config, "redirect_uri", 0, GOAUTH_MAX_URL,
	    &c.redirect_uri, err, errlen);
	(void)conf_str(config, "auth_url", 0, GOAUTH_MAX_URL, &c.auth_url,
	    err, errlen);
	(void)conf_str(config, "scope", 0, 1024, &c.scope, err, errlen);
	if (c.redirect_uri == NULL) {
		snprintf(err, errlen, "config.redirect_uri: required to "
		    "authorize (this server's /v1/oauth/callback URL)");
		return NULL;
	}
	if (c.scope == NULL)
		c.scope = strcmp(type, "gmail") == 0 ?
		    "https://www.googleapis.com/auth/gmail.readonly" :
		    "https://www.googleapis.com/auth/drive.readonly";
	goauth_challenge(verifier, ch);
	e[0] = goauth_escape(c.client_id);
	e[1] = goauth_escape(c.redirect_uri);
	e[2] = goauth_escape(c.scope);
	e[3] = goauth_escape(state);
	e[4] = goauth_escape(ch);
	len = strlen(c.auth_url ? c.auth_url : GOAUTH_AUTH_URL) + 512;
	for (int i = 0; i < 5; i++)
		len += strlen(e[i]);
	url = xcalloc(1, len);
	snprintf(url, len, "%s?response_type=code&client_id=%s&"
	    "redirect_uri=%s&scope=%s&state=%s&code_challenge=%s&"
	    "code_challenge_method=S256&access_type=offline&prompt=consent",
	    c.auth_url ? c.auth_url : GOAUTH_AUTH_URL, e[0], e[1], e[2],
	    e[3], e[4]);
	for (int i = 0; i < 5; i++)
		free(e[i]);
	return url;
}

/* -- HTTP ------------------------------------------------------------- */

void
gresp_free(struct gresp *p)
{
	if (p->body != NULL)
		freezero(p->body, p->len + 1);
	memset(p, 0, sizeof(*p));
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct gresp	*p = arg;
	size_t		 len = size * n;
	char		*nb;

	if (len > p->max - p->len) {
		p->too_big = 1;
		return 0;
	}
	/* bodies may hold tokens: never leave a copy in freed memory */
	nb = xcalloc(1, p->len + len + 1);
	if (p->body != NULL) {
		memcpy(nb, p->body, p->len);
		freezero(p->body, p->len + 1);
	}
	memcpy(nb + p->len, data, len);
	p->body = nb;
	p->len += len;
	return len;
}

int
gclient_fail(struct gclient *g, int transient, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[FETCH_ERR_MAX - 64];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(g->res->error, sizeof(g->res->error), "%s: %s",
	    g->host ? g->host : g->c->type, msg);
	g->res->transient = transient;
	return -1;
}

static void
headers_free(struct curl_slist *h)
{
	for (struct curl_slist *s = h; s != NULL; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(h);
}

static int
curl_fail(struct gclient *g, CURLcode code, const struct gresp *p)
{
	if (p->too_big || code == CURLE_FILESIZE_EXCEEDED)
		return gclient_fail(g, 0, "a response is larger than "
		    "config.max_bytes");
	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return gclient_fail(g, 1, "%s", curl_easy_strerror(code));
	default:
		/* never curl's error buffer: it may quote a URL */
		return gclient_fail(g, 0, "%s", curl_easy_strerror(code));
	}
}

/* One request: GET (form NULL) or POST form; 0 with p, or -1. */
static int
perform(struct gclient *g, const char *url, const char *auth,
    const char *form, struct gresp *p)
{
	struct curl_slist	*h = NULL, *n;
	CURLcode		 code;

	memset(p, 0, sizeof(*p));
	p->max = (size_t)g->c->max_bytes;
	if ((n = curl_slist_append(h, "Accept: application/json")) == NULL)
		return gclient_fail(g, 1, "out of memory");
	h = n;
	if (auth != NULL) {
		if ((n = curl_slist_append(h, auth)) == NULL) {
			headers_free(h);
			return gclient_fail(g, 1, "out of memory");
		}
		h = n;
	}
	if (curl_easy_setopt(g->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(g->curl, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(g->curl, CURLOPT_WRITEDATA, p) != CURLE_OK ||
	    (form != NULL ? curl_easy_setopt(g->curl, CURLOPT_POSTFIELDS,
	    form) : curl_easy_setopt(g->curl, CURLOPT_HTTPGET, 1L)) !=
	    CURLE_OK) {
		headers_free(h);
		return gclient_fail(g, 0, "cannot set up a request");
	}
	code = curl_easy_perform(g->curl);
	curl_easy_setopt(g->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(g->curl, CURLOPT_POSTFIELDS, NULL);
	headers_free(h);
	if (code != CURLE_OK) {
		curl_fail(g, code, p);
		gresp_free(p);
		return -1;
	}
	curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &p->status);
	return 0;
}

static char *
host_of(const char *url)
{
	CURLU	*u;
	char	*h = NULL, *out;

	if ((u = curl_url()) == NULL)
		return xstrdup("google");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
		h = NULL;
	out = xstrdup(h ? h : "google");
	curl_free(h);
	curl_url_cleanup(u);
	return out;
}

static int
curl_setup(struct gclient *g)
{
	CURL	*c;

	if ((g->curl = c = curl_easy_init()) == NULL)
		return gclient_fail(g, 1, "cannot start libcurl");
	/* never CURLOPT_VERBOSE: it would print the Authorization header */
	if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http") !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (g->c->ca_file != NULL && curl_easy_setopt(c, CURLOPT_CAINFO,
	    g->c->ca_file) != CURLE_OK) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)g->c->timeout) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)g->c->max_bytes) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "Ballast fetcher") !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, g->errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK)
		return gclient_fail(g, 0, "cannot set up libcurl");
	return 0;
}

/* -- tokens ----------------------------------------------------------- */

static void
str_wipe(char **s)
{
	if (*s != NULL)
		freezero(*s, strlen(*s));
	*s = NULL;
}

static void
json_wipe(json_t *v)
{
	const char	*k;
	json_t		*m;

	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v),
		    json_string_length(v));
	else if (json_is_object(v))
		json_object_foreach(v, k, m)
			json_wipe(m);
	json_decref(v);
}

/* The whole credential to the sink, for indexd to seal. */
static int
tokens_emit(struct gclient *g)
{
	json_t	*o;
	char	*text;
	int	 rv = 0;

	if (g->sink == NULL || g->sink->tokens == NULL)
		return 0;
	o = json_pack("{s:s,s:s,s:s,s:I}", "client_secret", g->client_secret,
	    "refresh_token", g->refresh_token, "access_token",
	    g->access_token, "expires_at", (json_int_t)g->expires_at);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_wipe(o);
		return gclient_fail(g, 1, "out of memory");
	}
	json_wipe(o);
	if (g->sink->tokens(g->sink, text, strlen(text)) == -1)
		rv = gclient_fail(g, 1, "the new tokens could not be stored");
	freezero(text, strlen(text));
	return rv;
}

/* The token endpoint's refusal as a message; reauth on invalid_grant. */
static int
token_refused(struct gclient *g, const struct gresp *p, const char *what)
{
	char	 code[64];

	gjson_error(p->body, p->len, code, sizeof(code));
	if (strcmp(code, "invalid_grant") == 0) {
		g->res->reauth = 1;
		return gclient_fail(g, 0, "the authorization was revoked or "
		    "has expired (invalid_grant): authorize the source again "
		    "(POST /v1/sources/{id}/oauth/start)");
	}
	if (p->status >= 500 || p->status == 429)
		return gclient_fail(g, 1, "the token endpoint answered HTTP "
		    "%ld during %s", p->status, what);
	return gclient_fail(g, 0, "the token endpoint refused %s (HTTP %ld%s"
	    "%s)", what, p->status, code[0] ? ", " : "", code);
}

/* POST form to the token endpoint; the tokens into g. */
static int
token_post(struct gclient *g, const char *form, const char *what,
    int need_refresh)
{
	struct gresp	 p;
	struct gtoken	 t;
	int		 rv;

	rv = perform(g, g->c->token_url, NULL, form, &p);
	if (rv == -1)
		return -1;
	if (p.status != 200) {
		rv = token_refused(g, &p, what);
		gresp_free(&p);
		return rv;
	}
	rv = gjson_token(p.body, p.len, &t);
	gresp_free(&p);
	if (rv == -1 || (need_refresh && t.refresh_token == NULL)) {
		gjson_token_free(&t);
		return gclient_fail(g, 0, "the token endpoint answered %s "
		    "without usable tokens", what);
	}
	str_wipe(&g->access_token);
	g->access_token = t.access_token;
	t.access_token = NULL;
	if (t.refresh_token != NULL) {
		str_wipe(&g->refresh_token);
		g->refresh_token = t.refresh_token;
		t.refresh_token = NULL;
	}
	g->expires_at = (long long)time(NULL) + t.expires_in;
	gjson_token_free(&t);
	return tokens_emit(g);
}

/* A form of name=value pairs (values escaped); wipe it after use. */
static char *
form_make(const char *const *kv, size_t n)
{
	char	*out = NULL, *e;
	size_t	 len = 0, off = 0;

	for (size_t i = 0; i < n; i += 2) {
		e = goauth_escape(kv[i + 1]);
		len = off + strlen(kv[i]) + strlen(e) + 3;
		out = xreallocarray(out, 1, len);
		off += snprintf(out + off, len - off, "%s%s=%s", off ? "&" :
		    "", kv[i], e);
		freezero(e, strlen(e));
	}
	return out;
}

static int
token_refresh(struct gclient *g)
{
	const char	*kv[8];
	char		*form;
	int		 rv;

	if (g->refresh_token == NULL) {
		g->res->reauth = 1;
		return gclient_fail(g, 0, "the source is not authorized yet: "
		    "POST /v1/sources/{id}/oauth/start");
	}
	kv[0] = "grant_type"; kv[1] = "refresh_token";
	kv[2] = "refresh_token"; kv[3] = g->refresh_token;
	kv[4] = "client_id"; kv[5] = g->c->client_id;
	kv[6] = "client_secret"; kv[7] = g->client_secret;
	form = form_make(kv, 8);
	rv = token_post(g, form, "the token refresh", 0);
	freezero(form, strlen(form));
	return rv;
}

/* -- the client ------------------------------------------------------- */

static char *
cred_opt(json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return xstrdup(json_string_value(v));
}

/* client_secret, refresh_token, access_token, expires_at of the job. */
static int
cred_load(struct gclient *g, const struct fetch_job *job)
{
	json_error_t	 jerr;
	json_t		*o;

	if (job->credential == NULL || job->credential_len == 0)
		return gclient_fail(g, 0, "the source has no credentials: set "
		    "{\"client_secret\": ...} first");
	o = json_loadb(job->credential, job->credential_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	explicit_bzero(&jerr, sizeof(jerr));
	if (!json_is_object(o)) {
		json_wipe(o);
		return gclient_fail(g, 0, "the credentials must be a JSON "
		    "object with \"client_secret\"");
	}
	g->client_secret = cred_opt(o, "client_secret");
	g->refresh_token = cred_opt(o, "refresh_token");
	g->access_token = cred_opt(o, "access_token");
	g->expires_at = json_integer_value(json_object_get(o, "expires_at"));
	json_wipe(o);
	if (g->client_secret == NULL)
		return gclient_fail(g, 0, "the credentials must be a JSON "
		    "object with \"client_secret\"");
	return 0;
}

int
gclient_open(struct gclient *g, const struct gconf *c,
    const struct fetch_job *job, struct fetch_sink *sink,
    struct fetch_result *res)
{
	memset(g, 0, sizeof(*g));
	g->c = c;
	g->sink = sink;
	g->res = res;
	g->host = host_of(c->api_base);
	if (cred_load(g, job) == -1 || curl_setup(g) == -1)
		return -1;
	return 0;
}

void
gclient_close(struct gclient *g)
{
	if (g->curl != NULL)
		curl_easy_cleanup(g->curl);
	str_wipe(&g->client_secret);
	str_wipe(&g->refresh_token);
	str_wipe(&g->access_token);
	free(g->host);
	explicit_bzero(g, sizeof(*g));
}

static int
api_status(struct gclient *g, struct gresp *p)
{
	char	 code[64];
	long	 st = p->status;

	gjson_error(p->body, p->len, code, sizeof(code));
	gresp_free(p);
	if (st == 429 || st >= 500)
		return gclient_fail(g, 1, "the API answered HTTP %ld%s%s", st,
		    code[0] ? " " : "", code);
	return gclient_fail(g, 0, "the API answered HTTP %ld%s%s", st,
	    code[0] ? " " : "", code);
}

int
gclient_get(struct gclient *g, const char *path, struct gresp *p)
{
	char	*url, *auth;
	size_t	 ulen, alen;
	int	 tries, rv;

	ulen = strlen(g->c->api_base) + strlen(path) + 1;
	url = xcalloc(1, ulen);
	snprintf(url, ulen, "%s%s", g->c->api_base, path);
	for (tries = 0; tries < 2; tries++) {
		if ((g->access_token == NULL || g->expires_at <
		    (long long)time(NULL) + GOAUTH_REFRESH_MARGIN || tries > 0)
		    && token_refresh(g) == -1) {
			free(url);
			return -1;
		}
		alen = strlen(g->access_token) + 32;
		auth = xcalloc(1, alen);
		snprintf(auth, alen, "Authorization: Bearer %s",
		    g->access_token);
		rv = perform(g, url, auth, NULL, p);
		freezero(auth, alen);
		if (rv == -1) {
			free(url);
			return -1;
		}
		/* 401: the token expired early or was revoked; refresh once */
		if (p->status != 401)
			break;
		gresp_free(p);
	}
	free(url);
	if (tries == 2)
		return gclient_fail(g, 0, "the API refused a fresh access "
		    "token (HTTP 401)");
	if (p->status >= 200 && p->status <= 299)
		return 0;
	if (p->status == 404) {
		gresp_free(p);
		return 1;
	}
	return api_status(g, p);
}

int
goauth_exchange(const struct gconf *c, const struct fetch_job *job,
    const char *code, const char *verifier, struct fetch_sink *sink,
    struct fetch_result *res)
{
	struct gclient	 g;
	const char	*kv[12];
	char		*form;
	int		 rv;

	if (gclient_open(&g, c, job, sink, res) == -1) {
		gclient_close(&g);
		return -1;
	}
	free(g.host);
	g.host = host_of(c->token_url);
	if (c->redirect_uri == NULL) {
		gclient_close(&g);
		snprintf(res->error, sizeof(res->error), "config.redirect_uri: "
		    "required to authorize");
		return -1;
	}
	kv[0] = "grant_type"; kv[1] = "authorization_code";
	kv[2] = "code"; kv[3] = code;
	kv[4] = "redirect_uri"; kv[5] = c->redirect_uri;
	kv[6] = "client_id"; kv[7] = c->client_id;
	kv[8] = "client_secret"; kv[9] = g.client_secret;
	kv[10] = "code_verifier"; kv[11] = verifier;
	form = form_make(kv, 12);
	rv = token_post(&g, form, "the authorization code", 1);
	freezero(form, strlen(form));
	gclient_close(&g);
	return rv;
}

/*
 * The session routes in the console's cookie mode (docs/api.md,
 * "Sessions in a browser").  A request with "X-Ballast-Session: cookie"
 * must also carry "X-CSRF: 1" and an Origin equal to https://<Host>: a
 * page of another site can send neither a custom header (that needs a
 * CORS preflight we never grant) nor our Origin, and SameSite=Strict
 * keeps the cookie off its requests anyway.  Then:
 *
 *   login    authd's answer loses "refresh_token"; it goes into the cookie
 *   refresh  the cookie is the refresh token; the new one replaces it
 *   logout   the cookie's session is revoked (or, without a cookie, the
 *            Bearer token's) and the cookie cleared
 *
 * The cookie is HttpOnly, Secure, SameSite=Strict and scoped to
 * Path=/v1/auth, so no script reads it and no other route receives it.
 * Without the header the routes are plain front_proxy_authd().
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ballastd/front.h"
#include "ballastd/front_static.h"
#include "common/log.h"
#include "common/util.h"

#define COOKIE_ATTRS	"; Path=/v1/auth; Secure; HttpOnly; SameSite=Strict"
#define COOKIE_MAX	128	/* a refresh token is 48 characters */

struct session {
	char	*token;		/* the Bearer credential, if any */
	char	*body;		/* what authd gets */
	size_t	 bodylen;
	int	 refresh;	/* the answer may carry a new token */
};

static void
session_free(void *arg)
{
	struct session	*s = arg;

	if (s->token != NULL)
		freezero(s->token, strlen(s->token));
	if (s->body != NULL)
		freezero(s->body, s->bodylen);
	free(s);
}

/* 1: cookie mode; 0: JSON mode; -1: a header we do not know. */
static int
session_mode(const struct front_req *req)
{
	const struct http_slice	*h;

	if ((h = http_header_get(&req->http, "X-Ballast-Session")) == NULL)
		return 0;
	return http_slice_caseeq(h, "cookie") ? 1 : -1;
}

int
front_session_csrf_ok(const struct front_req *req)
{
	const struct http_slice	*csrf, *origin, *host, *site;

	csrf = http_header_get(&req->http, "X-CSRF");
	origin = http_header_get(&req->http, "Origin");
	host = http_header_get(&req->http, "Host");
	if (csrf == NULL || csrf->len != 1 || csrf->p[0] != '1' ||
	    origin == NULL || host == NULL || host->len == 0)
		return 0;
	/* Fetch metadata, when the browser sends it, must agree. */
	site = http_header_get(&req->http, "Sec-Fetch-Site");
	if (site != NULL && !http_slice_caseeq(site, "same-origin"))
		return 0;
	return origin->len == 8 + host->len &&
	    strncasecmp(origin->p, "https://", 8) == 0 &&
	    strncasecmp(origin->p + 8, host->p, host->len) == 0;
}

/* A refresh token's characters: "blsr_" and base64url. */
static int
session_token_chars(const char *p, size_t len)
{
	if (len == 0 || len > COOKIE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '_'))
			return 0;
	return 1;
}

char *
front_session_cookie(const struct front_req *req)
{
	const struct http_slice	*h;
	const char		*p, *end, *v;
	size_t			 nlen = strlen(FRONT_SESSION_COOKIE);

	if ((h = http_header_get(&req->http, "Cookie")) == NULL)
		return NULL;
	p = h->p;
	end = h->p + h->len;
	while (p < end) {
		const char *next = memchr(p, ';', (size_t)(end - p));

		if (next == NULL)
			next = end;
		while (p < next && *p == ' ')
			p++;
		if ((size_t)(next - p) > nlen + 1 &&
		    memcmp(p, FRONT_SESSION_COOKIE, nlen) == 0 &&
		    p[nlen] == '=') {
			v = p + nlen + 1;
			if (!session_token_chars(v, (size_t)(next - v)))
				return NULL;
			return xstrndup(v, (size_t)(next - v));
		}
		p = next + 1;
	}
	return NULL;
}

/* The refresh token out of authd's answer, into a Set-Cookie header. */
static char *
session_take_token(const char *text, char *hdrs, size_t hdrslen,
    size_t *outlen)
{
	json_t		*o;
	const char	*tok;
	char		*out = NULL;

	if ((o = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return NULL;
	tok = json_string_value(json_object_get(o, "refresh_token"));
	if (tok != NULL && session_token_chars(tok, strlen(tok)) &&
	    strlcpy(hdrs, "Set-Cookie: " FRONT_SESSION_COOKIE "=", hdrslen) <
	    hdrslen && strlcat(hdrs, tok, hdrslen) < hdrslen &&
	    strlcat(hdrs, COOKIE_ATTRS "\r\n", hdrslen) < hdrslen) {
		/* jansson's copy of the token dies with the object. */
		explicit_bzero((char *)tok, strlen(tok));
		json_object_del(o, "refresh_token");
		out = front_json_dump(o, outlen);
	}
	json_decref(o);
	return out;
}

static void
session_reply(struct front_req *req, enum proc_id peer, enum front_reply how,
    struct ipc_msg *msg, void *arg)
{
	const struct imsg_auth_rep	*rep;
	struct session			*s = req->hstate;
	char				 hdrs[512] = "", *text;
	size_t				 len;

	if (how != FRONT_REPLY) {
		front_reply_failed(req, peer, how);
		return;
	}
	if (msg->type != IMSG_AUTH_REP) {
		front_error(req, 502, "bad_gateway", "unexpected answer");
		return;
	}
	rep = msg->body;
	for (size_t i = 0; i < rep->headers.n; i++)
		if (strncasecmp(rep->headers.v[i], "Retry-After:", 12) == 0 &&
		    strpbrk(rep->headers.v[i], "\r\n") == NULL) {
			strlcat(hdrs, rep->headers.v[i], sizeof(hdrs));
			strlcat(hdrs, "\r\n", sizeof(hdrs));
		}
	if (s->refresh && rep->status == 200) {
		if ((text = session_take_token(rep->body, hdrs, sizeof(hdrs),
		    &len)) == NULL) {
			front_error(req, 502, "bad_gateway",
			    "unexpected answer");
			return;
		}
		front_respond_text(req, 200, hdrs, text, len);
		freezero(text, len);
		return;
	}
	/* Signed out, or the cookie is no good: forget it. */
	if (!s->refresh || rep->status == 401)
		strlcat(hdrs, "Set-Cookie: " FRONT_SESSION_COOKIE "=" COOKIE_ATTRS
		    "; Max-Age=0\r\n", sizeof(hdrs));
	front_respond_text(req, (int)rep->status, hdrs, rep->body,
	    strlen(rep->body));
}

static void
session_ask(struct front_req *req, const char *op)
{
	struct session		*s = req->hstate;
	struct imsg_auth_req	 a;

	memset(&a, 0, sizeof(a));
	a.op = (char *)op;
	a.query = (char *)"";
	a.token = s->token;
	a.client = req->client;
	a.request_id = req->id;
	if (s->bodylen > 0) {
		a.body.data = (uint8_t *)s->body;
		a.body.len = s->bodylen;
	}
	if (front_ask(req, PROC_AUTHD, IMSG_AUTH_REQ, &a, -1,
	    front_req_ipc_timeout(req), session_reply, NULL) == -1)
		front_reply_failed(req, PROC_AUTHD, FRONT_DOWN);
}

/* {"refresh_token": cookie}, from the cookie; 0 or -1 (none). */
static int
session_cookie_body(struct front_req *req, struct session *s)
{
	char	*c;
	json_t	*o;

	if ((c = front_session_cookie(req)) == NULL)
		return -1;
	o = json_pack("{s:s}", "refresh_token", c);
	freezero(c, strlen(c));
	if (o == NULL)
		return -1;
	s->body = front_json_dump(o, &s->bodylen);
	/* jansson's copy. */
	c = (char *)json_string_value(json_object_get(o, "refresh_token"));
	if (c != NULL)
		explicit_bzero(c, strlen(c));
	json_decref(o);
	return s->body == NULL ? -1 : 0;
}

void
front_session(struct front_req *req)
{
	struct session	*s;
	const char	*op = req->route->op;
	int		 mode;

	if ((mode = session_mode(req)) == 0) {
		front_proxy_authd(req);
		return;
	}
	if (mode == -1) {
		front_error(req, 400, "bad_request",
		    "X-Ballast-Session must be \"cookie\"");
		return;
	}
	if (!front_session_csrf_ok(req)) {
		front_error(req, 403, "csrf",
		    "a cookie session needs X-CSRF: 1 and this site's Origin");
		return;
	}
	if (req->bodylen > AUTH_MAX_BODY || !front_body_is_json(req)) {
		front_error(req, 415, "unsupported_media_type",
		    "send the body as application/json");
		return;
	}
	s = xcalloc(1, sizeof(*s));
	req->hstate = s;
	req->hstate_free = session_free;
	if (front_req_token(req, &s->token) == -1) {
		front_error(req, 400, "bad_request", "malformed credential");
		return;
	}
	if (strcmp(op, "auth.login") == 0) {
		s->refresh = 1;
		s->bodylen = req->bodylen;
		s->body = xcalloc(1, s->bodylen + 1);
		if (s->bodylen > 0)
			memcpy(s->body, req->body, s->bodylen);
		session_ask(req, op);
	} else if (strcmp(op, "auth.refresh") == 0) {
		s->refresh = 1;
		if (session_cookie_body(req, s) == -1) {
			front_error(req, 401, "unauthorized",
			    "no refresh cookie");
			return;
		}
		session_ask(req, op);
	} else if (session_cookie_body(req, s) == 0)
		session_ask(req, "auth.logout_refresh");
	else
		session_ask(req, op);
}

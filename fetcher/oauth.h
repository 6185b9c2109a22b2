/*
 * OAuth 2.0 for the Google connectors (gmail, gdrive): their shared
 * config, the authorization URL indexd hands out, the code exchange and
 * an API client that refreshes its access token before it expires and
 * once on a 401, handing every new credential to the sink (indexd seals
 * and stores it).
 *
 * The source's credential is a JSON object: "client_secret" (set by the
 * user), and once authorized "refresh_token", "access_token" and
 * "expires_at" (Unix seconds).  config.client_id names the OAuth client;
 * config.redirect_uri is the server's GET /v1/oauth/callback as
 * registered with the provider.  auth_url, token_url and api_base default
 * to Google's and may point elsewhere (a test stand-in).
 *
 * Nothing here logs or returns a token: error messages name the host and
 * the provider's error code only.
 */
#ifndef BALLAST_FETCHER_OAUTH_H
#define BALLAST_FETCHER_OAUTH_H

#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fetcher/connector.h"

#define GOAUTH_AUTH_URL		"https://accounts.google.com/o/oauth2/v2/auth"
#define GOAUTH_TOKEN_URL	"https://oauth2.googleapis.com/token"
#define GOAUTH_MAX_URL		2048
#define GOAUTH_REFRESH_MARGIN	120	/* seconds before expiry */
#define GOAUTH_STATE_LEN	43	/* base64url of 32 bytes */

struct gconf {
	const char	*type;			/* "gmail", "gdrive" */
	const char	*client_id;
	const char	*redirect_uri;		/* NULL: not set */
	const char	*auth_url, *token_url, *api_base;
	const char	*scope;
	const char	*ca_file;
	long long	 timeout, max_bytes;
};

/*
 * The shared members plus the connector's own (NULL-terminated); 0 or
 * -1 with "config.<k>: ..." in err.
 */
int	gconf_load(json_t *config, const char *type,
	    const char *const *extra, const char *def_api,
	    const char *def_scope, struct gconf *, char *err, size_t errlen);
/* The fetcher's sandbox for a run against c's hosts. */
int	gconf_sandbox(const struct gconf *, struct fetch_sandbox *, char *err,
	    size_t errlen);

/*
 * indexd: the provider URL for POST /v1/sources/{id}/oauth/start, with
 * state and the S256 challenge of verifier (malloc'd), or NULL with err.
 */
char	*goauth_authorize_url(const char *type, json_t *config,
	    const char *state, const char *verifier, char *err, size_t errlen);
/* base64url(SHA-256(verifier)) without padding (RFC 7636, S256). */
void	goauth_challenge(const char *verifier,
	    char out[GOAUTH_STATE_LEN + 1]);

/* One HTTP answer. */
struct gresp {
	char	*body;
	size_t	 len, max;
	int	 too_big;
	long	 status;
};
void	gresp_free(struct gresp *);

struct gclient {
	const struct gconf	*c;
	CURL			*curl;
	char			*client_secret, *refresh_token, *access_token;
	long long		 expires_at;
	char			*host;		/* for messages */
	char			 errbuf[CURL_ERROR_SIZE];
	struct fetch_sink	*sink;
	struct fetch_result	*res;
};

/* 0, or -1 with res->error (the credential is not usable). */
int	gclient_open(struct gclient *, const struct gconf *,
	    const struct fetch_job *, struct fetch_sink *,
	    struct fetch_result *);
void	gclient_close(struct gclient *);
/*
 * GET api_base + path (path with its query), authorized.  0: a 2xx in p;
 * 1: 404 (p freed); -1: failed (res->error, ->transient, ->reauth).
 */
int	gclient_get(struct gclient *, const char *path, struct gresp *p);
/* res->error from a format; returns -1. */
int	gclient_fail(struct gclient *, int transient, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * The code exchange of the callback: POST token_url with the code, the
 * PKCE verifier and the client's credentials; the tokens go to the sink
 * with the client secret.  0, or -1 with res->error.
 */
int	goauth_exchange(const struct gconf *, const struct fetch_job *,
	    const char *code, const char *verifier, struct fetch_sink *,
	    struct fetch_result *);

/* A percent-encoded copy of s for a URL query (malloc'd). */
char	*goauth_escape(const char *s);

#endif

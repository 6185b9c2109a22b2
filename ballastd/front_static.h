/*
 * The web console (issue 13): its files, compiled into ballastd by
 * scripts/embed-web from web/ (the front is chrooted with no file
 * system), and the cookie mode of the session routes it signs in with.
 */
#ifndef BALLAST_FRONT_STATIC_H
#define BALLAST_FRONT_STATIC_H

#include <stddef.h>

struct front_req;

/* One file of web/, by the path it is served at. */
struct front_static_file {
	const char		*path;		/* "/", "/assets/app.js" */
	const char		*type;		/* Content-Type */
	const unsigned char	*data;
	size_t			 len;
};

/* $(BUILD)/gen/web.c */
extern const struct front_static_file	front_static_files[];
extern const size_t			front_static_nfiles;

/* The headers every console response carries (CSP and friends). */
#define FRONT_CONSOLE_HEADERS						\
	"Content-Security-Policy: default-src 'self'; script-src 'self'; "	\
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; "	\
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n"	\
	"X-Frame-Options: DENY\r\n"					\
	"Referrer-Policy: no-referrer\r\n"				\
	"Cross-Origin-Opener-Policy: same-origin\r\n"

/* front_static.c: GET a console file; 404 for any other path. */
void	front_static(struct front_req *);
const struct front_static_file *front_static_find(const char *path,
	    size_t len);

/*
 * front_session.c: POST /v1/auth/{login,refresh,logout}.  Without
 * "X-Ballast-Session: cookie" they go to authd as they are (JSON tokens);
 * with it the refresh token travels in an HttpOnly cookie, and the
 * request must pass the CSRF checks of front_session_csrf_ok().
 */
#define FRONT_SESSION_COOKIE	"__Secure-ballast_refresh"
void	front_session(struct front_req *);
/* "X-CSRF: 1", and Origin equal to https:// and the request's Host. */
int	front_session_csrf_ok(const struct front_req *);
/* The refresh cookie's value (malloc'd), or NULL. */
char	*front_session_cookie(const struct front_req *);

#endif

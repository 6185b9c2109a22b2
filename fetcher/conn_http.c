/*
 * The http connector: an RSS, Atom or JSON feed over HTTPS (libcurl's
 * easy interface; the fetcher runs one job at a time, so blocking is
 * fine).
 *
 * The credential goes in one request header and nowhere else: curl is
 * never verbose, redirects are not followed (a custom header would go to
 * whatever host a Location names) and next-page URLs must stay on the
 * feed's own scheme, host and port.  Messages name the host, never the
 * URL (its query may hold a key) nor anything the server sent.
 *
 * The cursor is {"etag", "last_modified"} of the first page: the next
 * run asks with If-None-Match / If-Modified-Since, and a 304 ends it with
 * no documents and the same cursor.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/util.h"
#include "fetcher/connector.h"
#include "fetcher/feed.h"

#define HTTP_MAX_URL		2048
#define HTTP_MAX_FIELD		256
#define HTTP_MAX_ETAG		1024
#define HTTP_MAX_HEADER		8192	/* one response header line */

static const char *const http_members[] = {
	"url", "format", "auth", "auth_header", "ca_file", "items", "id_field",
	"title_field", "text_field", "url_field", "updated_field",
	"next_field", "max_pages", "timeout", "max_bytes", "delete_missing",
	NULL,
};

struct http_conf {
	const char		*url;
	enum feed_format	 format;
	int			 auth;		/* 0 none, 1 bearer, 2 header */
	const char		*auth_header;
	const char		*ca_file;
	struct feed_json_opts	 json;
	long long		 max_pages, timeout, max_bytes;
	int			 delete_missing;
};

/* What one response left behind. */
struct http_resp {
	char	*body;
	size_t	 len, max;
	int	 too_big;
	long	 status;
	char	*etag, *last_modified, *content_type, *link_next;
};

/* -- config ---------------------------------------------------------- */

static int
is_local(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 ||
	    strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0;
}

/* Scheme, host and port of an absolute URL; 0 or -1. */
static int
url_origin(const char *url, char **scheme, char **host, char **port)
{
	CURLU	*u;
	int	 rc = -1;

	*scheme = *host = *port = NULL;
	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		rc = 0;
	curl_url_cleanup(u);
	return rc;
}

static void
origin_free(char *scheme, char *host, char *port)
{
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
}

static int
check_url(const char *url, char *err, size_t errlen)
{
	char	*scheme, *host, *port;
	int	 rc = -1;

	if (url_origin(url, &scheme, &host, &port) == -1)
		snprintf(err, errlen, "config.url: not a valid URL");
	else if (strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 && is_local(host)))
		snprintf(err, errlen, "config.url: must be https:// (http:// "
		    "only for 127.0.0.1, localhost or ::1)");
	else
		rc = 0;
	origin_free(scheme, host, port);
	return rc;
}

static int
check_header_name(const char *h, char *err, size_t errlen)
{
	for (const char *p = h; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
			snprintf(err, errlen, "config.auth_header: must be a "
			    "header name (letters, digits, '-', '_')");
			return -1;
		}
	if (strcasecmp(h, "Host") == 0 || strcasecmp(h, "Content-Length") == 0 ||
	    strcasecmp(h, "Transfer-Encoding") == 0 ||
	    strcasecmp(h, "Cookie") == 0) {
		snprintf(err, errlen, "config.auth_header: cannot be %s", h);
		return -1;
	}
	return 0;
}

static int
conf_enum(json_t *config, const char *k, const char *const *vals, int def,
    int *out, char *err, size_t errlen)
{
	const char	*s;

	*out = def;
	if (conf_str(config, k, 0, 16, &s, err, errlen) == -1)
		return -1;
	if (s == NULL)
		return 0;
	for (int i = 0; vals[i] != NULL; i++)
		if (strcmp(vals[i], s) == 0) {
			*out = i;
			return 0;
		}
	snprintf(err, errlen, "config.%s: unknown value", k);
	return -1;
}

static int
conf_fields(json_t *config, struct feed_json_opts *j, char *err,
    size_t errlen)
{
	return conf_str(config, "items", 0, HTTP_MAX_FIELD, &j->items, err,
	    errlen) == -1 ||
	    conf_str(config, "id_field", 0, HTTP_MAX_FIELD, &j->id_field, err,
	    errlen) == -1 ||
	    conf_str(config, "title_field", 0, HTTP_MAX_FIELD, &j->title_field,
	    err, errlen) == -1 ||
	    conf_str(config, "text_field", 0, HTTP_MAX_FIELD, &j->text_field,
	    err, errlen) == -1 ||
	    conf_str(config, "url_field", 0, HTTP_MAX_FIELD, &j->url_field,
	    err, errlen) == -1 ||
	    conf_str(config, "updated_field", 0, HTTP_MAX_FIELD,
	    &j->updated_field, err, errlen) == -1 ||
	    conf_str(config, "next_field", 0, HTTP_MAX_FIELD, &j->next_field,
	    err, errlen) == -1 ? -1 : 0;
}

static int
conf_load(json_t *config, struct http_conf *c, char *err, size_t errlen)
{
	static const char *const formats[] = { "auto", "rss", "atom", "json",
	    NULL };
	static const char *const auths[] = { "none", "bearer", "header",
	    NULL };
	int	 fmt;

	memset(c, 0, sizeof(*c));
	if (conf_only(config, http_members, err, errlen) == -1 ||
	    conf_str(config, "url", 1, HTTP_MAX_URL, &c->url, err, errlen) ==
	    -1 || check_url(c->url, err, errlen) == -1 ||
	    conf_enum(config, "format", formats, 0, &fmt, err, errlen) == -1 ||
	    conf_enum(config, "auth", auths, 0, &c->auth, err, errlen) == -1 ||
	    conf_str(config, "auth_header", 0, 64, &c->auth_header, err,
	    errlen) == -1 ||
	    conf_path(config, "ca_file", &c->ca_file, err, errlen) ==
	    -1 || conf_fields(config, &c->json, err, errlen) == -1 ||
	    conf_int(config, "max_pages", 1, 1000, 100, &c->max_pages, err,
	    errlen) == -1 ||
	    conf_int(config, "timeout", 1, 300, 30, &c->timeout, err,
	    errlen) == -1 ||
	    conf_int(config, "max_bytes", 1, 33554432, 16777216,
	    &c->max_bytes, err, errlen) == -1 ||
	    conf_bool(config, "delete_missing", 0, &c->delete_missing, err,
	    errlen) == -1)
		return -1;
	c->format = fmt == 1 ? FEED_RSS : fmt == 2 ? FEED_ATOM :
	    fmt == 3 ? FEED_JSON : FEED_AUTO;
	if (c->auth_header != NULL && c->auth != 2) {
		snprintf(err, errlen, "config.auth_header: only with "
		    "\"auth\": \"header\"");
		return -1;
	}
	if (c->auth == 2 && c->auth_header == NULL)
		c->auth_header = "X-API-Key";
	if (c->auth == 2 && check_header_name(c->auth_header, err, errlen) ==
	    -1)
		return -1;
	return 0;
}

static int
http_check(json_t *config, char *err, size_t errlen)
{
	struct http_conf	 c;

	return conf_load(config, &c, err, errlen);
}

static int
http_sandbox(json_t *config, struct fetch_sandbox *sb, char *err,
    size_t errlen)
{
	struct http_conf	 c;

	if (conf_load(config, &c, err, errlen) == -1)
		return -1;
	return sandbox_add_net(sb, c.ca_file, err, errlen);
}

/* -- one run --------------------------------------------------------- */

struct http_run {
	struct http_conf	 c;
	CURL			*curl;
	char			*auth;		/* "Name: credential" */
	char			*cred;
	char			*host;		/* for messages */
	char			*feed;		/* the URL without its query */
	char			*scheme, *ohost, *port;	/* the origin */
	char			 errbuf[CURL_ERROR_SIZE];
	struct fetch_result	*res;
};

static int
fail(struct http_run *r, int transient, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct http_run *r, int transient, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[FETCH_ERR_MAX - 64];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->res->error, sizeof(r->res->error), "%s: %s",
	    r->host ? r->host : "http", msg);
	r->res->transient = transient;
	return -1;
}

static void
resp_free(struct http_resp *p)
{
	free(p->body);
	free(p->etag);
	free(p->last_modified);
	free(p->content_type);
	free(p->link_next);
	memset(p, 0, sizeof(*p));
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_resp	*p = arg;
	size_t			 len = size * n;

	if (len > p->max - p->len) {
		p->too_big = 1;
		return 0;		/* curl stops with CURLE_WRITE_ERROR */
	}
	p->body = xreallocarray(p->body, 1, p->len + len + 1);
	memcpy(p->body + p->len, data, len);
	p->len += len;
	p->body[p->len] = '\0';
	return len;
}

/* rel="next" in a Link header value: a malloc'd URI, or NULL. */
static char *
link_next(const char *v)
{
	const char	*lt, *gt, *end, *rel;

	while ((lt = strchr(v, '<')) != NULL &&
	    (gt = strchr(lt, '>')) != NULL) {
		if ((end = strchr(gt, ',')) == NULL)
			end = gt + strlen(gt);
		for (rel = gt; (rel = strcasestr(rel, "rel=")) != NULL &&
		    rel < end; rel += 4) {
			const char	*t = rel + 4 + (rel[4] == '"');
			size_t		 i;

			/* rel may list several types: "next last" */
			while (t < end && *t != '"' && *t != ';' && *t != ',') {
				for (i = 0; t + i < end && isalpha(
				    (unsigned char)t[i]); i++)
					;
				if (i == 4 && strncasecmp(t, "next", 4) == 0)
					return xstrndup(lt + 1, gt - lt - 1);
				t += i ? i : 1;
			}
		}
		v = end;
	}
	return NULL;
}

static void
header_set(char **dst, const char *v, size_t len, size_t max)
{
	free(*dst);
	*dst = len > 0 && len <= max ? xstrndup(v, len) : NULL;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct http_resp	*p = arg;
	size_t			 len = size * n, klen;
	const char		*colon, *v;
	char			*line;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after a 100 Continue): start over */
		header_set(&p->etag, NULL, 0, 0);
		header_set(&p->last_modified, NULL, 0, 0);
		header_set(&p->content_type, NULL, 0, 0);
		header_set(&p->link_next, NULL, 0, 0);
		return len;
	}
	if (len > HTTP_MAX_HEADER || (colon = memchr(data, ':', len)) == NULL)
		return len;
	line = xstrndup(data, len);	/* NUL-terminated for strchr */
	klen = colon - data;
	for (v = line + klen + 1; *v == ' ' || *v == '\t'; v++)
		;
	len = strcspn(v, "\r\n");
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (klen == 4 && strncasecmp(line, "ETag", 4) == 0)
		header_set(&p->etag, v, len, HTTP_MAX_ETAG);
	else if (klen == 13 && strncasecmp(line, "Last-Modified", 13) == 0)
		header_set(&p->last_modified, v, len, 64);
	else if (klen == 12 && strncasecmp(line, "Content-Type", 12) == 0)
		header_set(&p->content_type, v, len, 256);
	else if (klen == 4 && strncasecmp(line, "Link", 4) == 0 &&
	    p->link_next == NULL) {
		line[klen + 1 + (v - (line + klen + 1)) + len] = '\0';
		p->link_next = link_next(v);
	}
	free(line);
	return size * n;
}

/* Wipes every header (one holds the credential) before freeing. */
static void
headers_free(struct curl_slist *h)
{
	for (struct curl_slist *s = h; s != NULL; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(h);
}

static struct curl_slist *
headers_add(struct curl_slist *h, const char *line)
{
	struct curl_slist	*n;

	if ((n = curl_slist_append(h, line)) == NULL) {
		headers_free(h);
		return NULL;
	}
	return n;
}

static struct curl_slist *
headers_make(struct http_run *r, const char *etag, const char *lm)
{
	struct curl_slist	*h = NULL;
	char			 line[HTTP_MAX_ETAG + 64];

	h = headers_add(h, "Accept: application/feed+json, application/json, "
	    "application/atom+xml, application/rss+xml, application/xml;q=0.9, "
	    "text/xml;q=0.9, */*;q=0.5");
	if (h != NULL && r->auth != NULL)
		h = headers_add(h, r->auth);
	if (h != NULL && etag != NULL) {
		snprintf(line, sizeof(line), "If-None-Match: %s", etag);
		h = headers_add(h, line);
	}
	if (h != NULL && lm != NULL) {
		snprintf(line, sizeof(line), "If-Modified-Since: %s", lm);
		h = headers_add(h, line);
	}
	return h;
}

/* curl's error text, when it cannot hold a secret or a query string. */
static const char *
curl_detail(struct http_run *r, CURLcode code)
{
	if (r->errbuf[0] == '\0' || strchr(r->errbuf, '?') != NULL ||
	    (r->cred != NULL && strstr(r->errbuf, r->cred) != NULL))
		return curl_easy_strerror(code);
	r->errbuf[strcspn(r->errbuf, "\r\n")] = '\0';
	return r->errbuf;
}

static int
curl_fail(struct http_run *r, CURLcode code, const struct http_resp *p)
{
	if (p->too_big || code == CURLE_FILESIZE_EXCEEDED)
		return fail(r, 0, "the response is larger than config.max_bytes "
		    "(%lld bytes)", r->c.max_bytes);
	switch (code) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return fail(r, 0, "TLS error: %s", curl_detail(r, code));
	case CURLE_SSL_CONNECT_ERROR:
		return fail(r, 1, "TLS error: %s", curl_detail(r, code));
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return fail(r, 1, "%s", curl_detail(r, code));
	default:
		return fail(r, 0, "%s", curl_detail(r, code));
	}
}

static int
status_fail(struct http_run *r, long st)
{
	if (st == 401 || st == 403)
		return fail(r, 0, "the server refused the credentials (HTTP "
		    "%ld)", st);
	if (st == 408 || st == 429 || (st >= 500 && st <= 599))
		return fail(r, 1, "the server answered HTTP %ld", st);
	if (st >= 300 && st <= 399)
		return fail(r, 0, "the server redirected (HTTP %ld); redirects "
		    "are not followed: set config.url to the feed's own URL",
		    st);
	return fail(r, 0, "the server answered HTTP %ld", st);
}

/* GET url into p: 0 (p->status says what came back), or -1 failed. */
static int
get(struct http_run *r, const char *url, const char *etag, const char *lm,
    struct http_resp *p)
{
	struct curl_slist	*h;
	CURLcode		 code;

	memset(p, 0, sizeof(*p));
	p->max = (size_t)r->c.max_bytes;
	if ((h = headers_make(r, etag, lm)) == NULL)
		return fail(r, 1, "out of memory");
	r->errbuf[0] = '\0';
	if (curl_easy_setopt(r->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, p) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_HEADERDATA, p) != CURLE_OK) {
		headers_free(h);
		return fail(r, 0, "cannot set up the request");
	}
	code = curl_easy_perform(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, NULL);
	headers_free(h);
	if (code != CURLE_OK) {
		curl_fail(r, code, p);
		resp_free(p);
		return -1;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &p->status);
	return 0;
}

static int
curl_setup(struct http_run *r)
{
	CURL	*c;
	int	 https = strcmp(r->scheme, "https") == 0;

	if ((r->curl = c = curl_easy_init()) == NULL)
		return fail(r, 1, "cannot start libcurl");
	/* never CURLOPT_VERBOSE: it would print the credential header */
	if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, https ? "https" :
	    "http") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    (r->c.ca_file != NULL && curl_easy_setopt(c, CURLOPT_CAINFO,
	    r->c.ca_file) != CURLE_OK) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)r->c.timeout) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)r->c.max_bytes) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "Ballast feed fetcher") !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK)
		return fail(r, 0, "cannot set up libcurl");
	return 0;
}

/* The credential as a header line; refuses line breaks. */
static int
auth_setup(struct http_run *r, const struct fetch_job *job)
{
	char	 err[FETCH_ERR_MAX];
	size_t	 len;

	if (r->c.auth == 0)
		return 0;
	if ((r->cred = cred_string(job, err, sizeof(err))) == NULL)
		return fail(r, 0, "%s", err);
	if (strpbrk(r->cred, "\r\n") != NULL)
		return fail(r, 0, "the credentials contain a line break");
	len = strlen(r->cred) + 128;
	r->auth = xcalloc(1, len);
	if (r->c.auth == 1)
		snprintf(r->auth, len, "Authorization: Bearer %s", r->cred);
	else
		snprintf(r->auth, len, "%s: %s", r->c.auth_header, r->cred);
	return 0;
}

/* The configured URL without query or fragment, for metadata. */
static char *
feed_name(const char *url)
{
	size_t	 n = strcspn(url, "?#");

	return xstrndup(url, n);
}

static int
cursor_load(const char *cursor, char **etag, char **lm)
{
	json_t	*o, *e, *l;

	*etag = *lm = NULL;
	if (cursor == NULL || *cursor == '\0' ||
	    (o = json_loads(cursor, 0, NULL)) == NULL)
		return 0;	/* no cursor, or an old one: fetch in full */
	e = json_object_get(o, "etag");
	l = json_object_get(o, "last_modified");
	if (json_is_string(e) && json_string_length(e) <= HTTP_MAX_ETAG &&
	    strpbrk(json_string_value(e), "\r\n") == NULL)
		*etag = xstrdup(json_string_value(e));
	if (json_is_string(l) && json_string_length(l) <= 64 &&
	    strpbrk(json_string_value(l), "\r\n") == NULL)
		*lm = xstrdup(json_string_value(l));
	json_decref(o);
	return 0;
}

static void
cursor_save(struct fetch_result *res, const struct http_resp *p)
{
	json_t	*o;
	char	*s;

	res->cursor[0] = '\0';
	if (p->etag == NULL && p->last_modified == NULL)
		return;
	o = json_object();
	if (p->etag != NULL)
		json_object_set_new(o, "etag", json_string(p->etag));
	if (p->last_modified != NULL)
		json_object_set_new(o, "last_modified",
		    json_string(p->last_modified));
	if ((s = json_dumps(o, JSON_COMPACT)) != NULL &&
	    strlen(s) < sizeof(res->cursor))
		strlcpy(res->cursor, s, sizeof(res->cursor));
	free(s);
	json_decref(o);
}

static int
emit(struct http_run *r, struct fetch_sink *sink, const struct feed_item *it)
{
	struct fetch_doc	 d;
	json_t			*meta;
	char			*ms;
	int			 rc;

	meta = json_pack("{s:s}", "feed", r->feed);
	if (meta != NULL && it->author != NULL)
		json_object_set_new(meta, "author", json_string(it->author));
	ms = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
	json_decref(meta);
	memset(&d, 0, sizeof(d));
	d.external_id = it->id;
	d.title = it->title;
	d.url = it->url;
	/* an item with only a title is still found by it */
	d.text = it->text ? it->text : (it->title ? it->title : "");
	d.text_len = strlen(d.text);
	d.metadata = ms;
	d.updated_at = it->updated;
	rc = sink->doc(sink, &d);
	free(ms);
	return rc;
}

/*
 * The next page's absolute URL (next resolved against url), or NULL
 * with the run failed when it leaves the feed's origin.
 */
static char *
next_url(struct http_run *r, const char *url, const char *next)
{
	CURLU	*u;
	char	*abs = NULL, *scheme, *host, *port, *out = NULL;

	if ((u = curl_url()) == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, next, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &abs, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		fail(r, 0, "the next page's URL is not valid");
		return NULL;
	}
	curl_url_cleanup(u);
	if (strlen(abs) > HTTP_MAX_URL ||
	    url_origin(abs, &scheme, &host, &port) == -1) {
		curl_free(abs);
		fail(r, 0, "the next page's URL is not valid");
		return NULL;
	}
	if (strcmp(scheme, r->scheme) != 0 || strcasecmp(host, r->ohost) != 0 ||
	    strcmp(port, r->port) != 0)
		fail(r, 0, "the next page's URL is on another host, scheme or "
		    "port than config.url: refused");
	else
		out = xstrdup(abs);
	origin_free(scheme, host, port);
	curl_free(abs);
	return out;
}

/* Pages from config.url on: 0 done, -1 failed. */
static int
pages(struct http_run *r, const struct fetch_job *job,
    struct fetch_sink *sink, struct fetch_result *res)
{
	struct http_resp	 p;
	struct feed		 f;
	char			*url = xstrdup(r->c.url), *etag, *lm, *next;
	char			 err[FETCH_ERR_MAX - 64];
	long long		 page;
	int			 rc = -1, more = 0, cut = 0;

	cursor_load(job->cursor, &etag, &lm);
	for (page = 1; page <= r->c.max_pages; page++) {
		if (get(r, url, page == 1 ? etag : NULL, page == 1 ? lm : NULL,
		    &p) == -1)
			goto out;
		if (page == 1 && p.status == 304 && (etag || lm)) {
			/* unchanged: nothing to say about any item */
			strlcpy(res->cursor, job->cursor, sizeof(res->cursor));
			res->complete = 0;
			resp_free(&p);
			rc = 0;
			goto out;
		}
		if (p.status < 200 || p.status > 299) {
			status_fail(r, p.status);
			resp_free(&p);
			goto out;
		}
		if (page == 1)
			cursor_save(res, &p);
		if (feed_parse(p.body ? p.body : "", p.len, r->c.format ==
		    FEED_AUTO ? feed_sniff(p.content_type, p.body ? p.body : "",
		    p.len) : r->c.format, &r->c.json, &f, err,
		    sizeof(err)) == -1) {
			feed_free(&f);
			resp_free(&p);
			fail(r, 0, "page %lld: %s", page, err);
			goto out;
		}
		cut |= f.truncated;
		for (size_t i = 0; i < f.nitems; i++)
			if (emit(r, sink, &f.items[i]) == -1) {
				feed_free(&f);
				resp_free(&p);
				goto out;
			}
		next = f.next ? f.next : r->c.json.next_field ? NULL :
		    p.link_next;
		more = next != NULL && *next != '\0' &&
		    strcmp(next, url) != 0;
		if (more) {
			char	*n = next_url(r, url, next);

			if (n == NULL) {
				feed_free(&f);
				resp_free(&p);
				goto out;
			}
			free(url);
			url = n;
		}
		feed_free(&f);
		resp_free(&p);
		if (!more)
			break;
	}
	/* a window cut short (max_pages, item cap) says nothing of the rest */
	res->complete = r->c.delete_missing && !more && !cut;
	rc = 0;
out:
	free(url);
	free(etag);
	free(lm);
	return rc;
}

static int
http_run(const struct fetch_job *job, struct fetch_sink *sink,
    struct fetch_result *res)
{
	struct http_run	 r;
	char		*port;
	int		 rc = -1;

	memset(&r, 0, sizeof(r));
	r.res = res;
	res->cursor[0] = '\0';
	res->complete = 0;
	if (conf_load(job->config, &r.c, res->error, sizeof(res->error)) ==
	    -1)
		return -1;
	if (url_origin(r.c.url, &r.scheme, &r.ohost, &port) == -1) {
		origin_free(r.scheme, r.ohost, port);
		return fail(&r, 0, "config.url: not a valid URL");
	}
	r.port = port;
	r.host = r.ohost;
	r.feed = feed_name(r.c.url);
	if (auth_setup(&r, job) == 0 && curl_setup(&r) == 0)
		rc = pages(&r, job, sink, res);
	if (r.curl != NULL)
		curl_easy_cleanup(r.curl);
	if (r.auth != NULL)
		freezero(r.auth, strlen(r.auth));
	if (r.cred != NULL)
		freezero(r.cred, strlen(r.cred));
	explicit_bzero(r.errbuf, sizeof(r.errbuf));
	free(r.feed);
	origin_free(r.scheme, r.ohost, r.port);
	return rc;
}

const struct connector conn_http = {
	"http", http_check, http_sandbox, http_run,
};

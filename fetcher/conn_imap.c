/*
 * The imap connector: one mailbox over IMAPS, each message a document.
 *
 * libcurl speaks IMAP; this file only says what to ask.  One easy handle
 * keeps one connection for the whole run:
 *
 *   1. EXAMINE the mailbox (libcurl SELECTs it first, then our EXAMINE
 *      makes the session read-only, so fetching a message never sets its
 *      \Seen flag).  The untagged answers give UIDVALIDITY and EXISTS.
 *   2. UID SEARCH over sequence numbers, in chunks, lists every UID (a
 *      chunk keeps each answer line well under libcurl's line limit).
 *   3. Messages at or below the cursor's UID (same UIDVALIDITY) are
 *      kept; newer ones are fetched (imaps://host/MAILBOX;UID=n, libcurl
 *      sends UID FETCH n BODY[]<0.max>) and parsed by fetcher/mail.c.
 *
 * The cursor is "<uidvalidity>:<highest uid seen>".  Every UID is listed
 * on every run, so the run is complete and indexd deletes messages no
 * longer in the mailbox, unless the server reported an expunge while we
 * listed or the mailbox held more than max_messages.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/util.h"
#include "fetcher/connector.h"
#include "fetcher/mail.h"

#define IMAP_SEARCH_CHUNK	10000	/* sequence numbers per UID SEARCH */
#define IMAP_MAX_LISTING	(4u * 1024 * 1024)	/* one SEARCH answer */
#define IMAP_BUFSIZE		(512L * 1024)	/* libcurl's line limit / 2 */
#define IMAP_MAX_TITLE		1024	/* = DOC_MAX_TITLE (indexd) */

_Static_assert(MAIL_MAX_TEXT <= FETCH_MAX_BODY, "mail text over the body cap");

struct imap_conf {
	const char	*host;
	const char	*mailbox;
	const char	*username;
	const char	*ca_file;
	long long	 port;
	long long	 max_messages;
	long long	 max_size;
	long long	 timeout;
	int		 xoauth2;
};

/* What one request brought back: the body, or the untagged answers. */
struct imap_data {
	char		*p;
	size_t		 len;
	size_t		 max;
	int		 over;
};

struct imap_run {
	struct imap_conf	 c;
	CURL			*curl;
	char			*base;		/* imaps://host:port/MAILBOX */
	char			 ebuf[CURL_ERROR_SIZE];
	struct imap_data	 data;
	uint32_t		 validity;
	uint32_t		 exists;
	uint32_t		*uids;
	size_t			 nuids;
	int			 expunged;	/* seen while listing */
};

static const char *const imap_known[] = {
	"host", "port", "mailbox", "username", "auth", "ca_file",
	"max_messages", "max_message_size", "timeout", NULL,
};

/* A host name or address that can sit in a URL as it is. */
static int
host_ok(const char *h)
{
	size_t	 n = strlen(h);

	if (h[0] == '[')	/* an IPv6 literal */
		return n > 2 && h[n - 1] == ']' &&
		    strspn(h + 1, "0123456789abcdefABCDEF:.") == n - 2;
	for (; *h != '\0'; h++)
		if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-')
			return 0;
	return 1;
}

static int
imap_conf(json_t *config, struct imap_conf *c, char *err, size_t errlen)
{
	const char	*auth;

	memset(c, 0, sizeof(*c));
	if (conf_only(config, imap_known, err, errlen) == -1 ||
	    conf_str(config, "host", 1, 255, &c->host, err, errlen) == -1 ||
	    conf_int(config, "port", 1, 65535, 993, &c->port, err,
	    errlen) == -1 ||
	    conf_str(config, "mailbox", 0, 255, &c->mailbox, err,
	    errlen) == -1 ||
	    conf_str(config, "username", 1, 255, &c->username, err,
	    errlen) == -1 ||
	    conf_str(config, "auth", 0, 16, &auth, err, errlen) == -1 ||
	    conf_path(config, "ca_file", &c->ca_file, err, errlen) == -1 ||
	    conf_int(config, "max_messages", 1, 1000000, 100000,
	    &c->max_messages, err, errlen) == -1 ||
	    conf_int(config, "max_message_size", 1024, 100LL * 1024 * 1024,
	    10LL * 1024 * 1024, &c->max_size, err, errlen) == -1 ||
	    conf_int(config, "timeout", 1, 300, 60, &c->timeout, err,
	    errlen) == -1)
		return -1;
	if (!host_ok(c->host)) {
		snprintf(err, errlen, "config.host: must be a host name or "
		    "an IP address");
		return -1;
	}
	if (c->mailbox == NULL)
		c->mailbox = "INBOX";
	else if (strpbrk(c->mailbox, "\r\n") != NULL) {
		snprintf(err, errlen, "config.mailbox: must not contain line "
		    "breaks");
		return -1;
	}
	if (auth != NULL && strcmp(auth, "xoauth2") == 0)
		c->xoauth2 = 1;
	else if (auth != NULL && strcmp(auth, "password") != 0) {
		snprintf(err, errlen, "config.auth: must be \"password\" or "
		    "\"xoauth2\"");
		return -1;
	}
	return 0;
}

static int
imap_check(json_t *config, char *err, size_t errlen)
{
	struct imap_conf	c;

	return imap_conf(config, &c, err, errlen);
}

static int
imap_sandbox(json_t *config, struct fetch_sandbox *sb, char *err,
    size_t errlen)
{
	struct imap_conf	c;

	if (imap_conf(config, &c, err, errlen) == -1)
		return -1;
	memset(sb, 0, sizeof(*sb));
	return sandbox_add_net(sb, c.ca_file, err, errlen);
}

/* ---- libcurl ------------------------------------------------------ */

static size_t
imap_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct imap_data	*d = arg;
	size_t			 n = size * nmemb;

	if (n > d->max - d->len) {
		d->over = 1;
		return 0;	/* stops the transfer */
	}
	d->p = xreallocarray(d->p, 1, d->len + n + 1);
	memcpy(d->p + d->len, ptr, n);
	d->len += n;
	d->p[d->len] = '\0';
	return n;
}

static void
imap_fail(struct fetch_result *res, int transient, const char *fmt,
    const char *arg)
{
	snprintf(res->error, sizeof(res->error), fmt, arg);
	res->transient = transient;
}

/*
 * A failed request as a result.  libcurl's messages name no credential
 * (they never are in the URL), but a refused login gets a fixed text all
 * the same.
 */
static void
imap_curl_error(struct imap_run *r, CURLcode rc, struct fetch_result *res)
{
	const char	*why = r->ebuf[0] ? r->ebuf : curl_easy_strerror(rc);

	switch (rc) {
	case CURLE_LOGIN_DENIED:
		if (strncmp(r->ebuf, "Select failed", 13) == 0)
			imap_fail(res, 0, "the IMAP server could not open "
			    "mailbox \"%.255s\"", r->c.mailbox);
		else
			imap_fail(res, 0, "the IMAP server refused the login%s",
			    "");
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_USE_SSL_FAILED:
		imap_fail(res, 0, "imap: TLS: %.400s", why);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_AGAIN:
	case CURLE_WEIRD_SERVER_REPLY:
		imap_fail(res, 1, "imap: %.400s", why);
		break;
	default:
		imap_fail(res, 0, "imap: %.400s", why);
		break;
	}
}

/* One request on the run's handle; its answer is in r->data. */
static CURLcode
imap_request(struct imap_run *r, const char *url, const char *custom,
    size_t max)
{
	free(r->data.p);
	memset(&r->data, 0, sizeof(r->data));
	r->data.max = max;
	r->ebuf[0] = '\0';
	if (curl_easy_setopt(r->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, custom) !=
	    CURLE_OK)
		return CURLE_OUT_OF_MEMORY;
	return curl_easy_perform(r->curl);
}

static int
imap_setup(struct imap_run *r, const char *secret, struct fetch_result *res)
{
	CURL		*h;
	char		*mb;
	size_t		 n;
	int		 ok;

	if ((h = r->curl = curl_easy_init()) == NULL) {
		imap_fail(res, 1, "imap: %s", "cannot start libcurl");
		return -1;
	}
	if ((mb = curl_easy_escape(h, r->c.mailbox, 0)) == NULL) {
		imap_fail(res, 1, "imap: %s", "out of memory");
		return -1;
	}
	n = strlen(r->c.host) + strlen(mb) + 32;
	r->base = xcalloc(1, n);
	ok = snprintf(r->base, n, "imaps://%s:%lld/%s", r->c.host, r->c.port,
	    mb) < (int)n;
	curl_free(mb);
	/* TLS from the first byte, verified: never an option */
	ok = ok &&
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "imaps") == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) ==
	    CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	    (r->c.ca_file == NULL ||
	    curl_easy_setopt(h, CURLOPT_CAINFO, r->c.ca_file) == CURLE_OK) &&
	    curl_easy_setopt(h, CURLOPT_USERNAME, r->c.username) == CURLE_OK &&
	    (r->c.xoauth2 ?
	    curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, secret) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2") ==
	    CURLE_OK :
	    curl_easy_setopt(h, CURLOPT_PASSWORD, secret) == CURLE_OK) &&
	    curl_easy_setopt(h, CURLOPT_SASL_IR, 1L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)r->c.timeout) ==
	    CURLE_OK &&
	    /* a stall, not a slow large message, is a timeout */
	    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)r->c.timeout) ==
	    CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, IMAP_BUFSIZE) ==
	    CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->ebuf) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, imap_write) ==
	    CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->data) == CURLE_OK;
	if (!ok) {
		imap_fail(res, 0, "imap: %s", "libcurl refused an option");
		return -1;
	}
	return 0;
}

/* ---- the mailbox -------------------------------------------------- */

/* A number 1..UINT32_MAX at *s, which moves past it; 0 if none. */
static uint32_t
imap_num(const char **s)
{
	uint64_t	 v = 0;
	int		 n = 0;

	while (isdigit((unsigned char)**s) && n < 11) {
		v = v * 10 + (uint64_t)(**s - '0');
		(*s)++;
		n++;
	}
	if (n == 0 || n > 10 || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

/* "Mailbox" as an IMAP quoted string, for EXAMINE. */
static char *
imap_quote(const char *s)
{
	char	*q = xcalloc(2, strlen(s) + 2), *p = q;

	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	return q;
}

/* The untagged answers of EXAMINE: "* OK [UIDVALIDITY n]", "* n EXISTS". */
static int
imap_examine(struct imap_run *r, struct fetch_result *res)
{
	char		*cmd, *q = imap_quote(r->c.mailbox);
	const char	*p, *s;
	size_t		 n = strlen(q) + 16;
	CURLcode	 rc;
	uint32_t	 v;

	cmd = xcalloc(1, n);
	snprintf(cmd, n, "EXAMINE %s", q);
	free(q);
	rc = imap_request(r, r->base, cmd, 1024 * 1024);
	free(cmd);
	if (rc != CURLE_OK) {
		imap_curl_error(r, rc, res);
		return -1;
	}
	r->validity = 0;
	for (p = r->data.p; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p ? p + 1 : NULL) {
		if (strncmp(p, "* OK [UIDVALIDITY ", 18) == 0) {
			s = p + 18;
			r->validity = imap_num(&s);
		} else if (strncmp(p, "* ", 2) == 0) {
			s = p + 2;
			if ((v = imap_num(&s)) > 0 &&
			    strncasecmp(s, " EXISTS", 7) == 0)
				r->exists = v;
		}
	}
	if (r->validity == 0) {
		imap_fail(res, 0, "imap: the server gave no UIDVALIDITY for "
		    "mailbox \"%.255s\"", r->c.mailbox);
		return -1;
	}
	return 0;
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The UIDs of one "* SEARCH" answer appended to r->uids. */
static void
imap_search_line(struct imap_run *r, const char *s, size_t cap)
{
	uint32_t	 uid;

	while (*s == ' ') {
		s++;
		if ((uid = imap_num(&s)) == 0 || r->nuids >= cap)
			break;
		r->uids[r->nuids++] = uid;
	}
}

/* Every UID of messages first..last (sequence numbers), in chunks. */
static int
imap_list(struct imap_run *r, uint32_t first, struct fetch_result *res)
{
	char		 cmd[64];
	const char	*p, *s;
	size_t		 cap = r->exists - first + 1;
	uint32_t	 a, b;
	CURLcode	 rc;

	r->uids = xreallocarray(NULL, cap ? cap : 1, sizeof(*r->uids));
	for (a = first; a >= first && a <= r->exists; a = b + 1) {
		b = r->exists - a < IMAP_SEARCH_CHUNK ? r->exists :
		    a + IMAP_SEARCH_CHUNK - 1;
		snprintf(cmd, sizeof(cmd), "UID SEARCH %u:%u", a, b);
		if ((rc = imap_request(r, r->base, cmd, IMAP_MAX_LISTING)) !=
		    CURLE_OK) {
			imap_curl_error(r, rc, res);
			return -1;
		}
		for (p = r->data.p; p != NULL && *p != '\0';
		    p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
			s = p + 2;
			if (strncmp(p, "* SEARCH", 8) == 0)
				imap_search_line(r, p + 8, cap);
			else if (strncmp(p, "* ", 2) == 0 && imap_num(&s) > 0 &&
			    strncasecmp(s, " EXPUNGE", 8) == 0)
				r->expunged = 1;
		}
	}
	qsort(r->uids, r->nuids, sizeof(*r->uids), uid_cmp);
	return 0;
}

/* The cursor "v:uid"; 0 and 0 when there is none or it is not ours. */
static void
imap_cursor(const char *cur, uint32_t *validity, uint32_t *last)
{
	const char	*s = cur;

	*validity = *last = 0;
	if ((*validity = imap_num(&s)) == 0 || *s++ != ':')
		goto bad;
	if (strcmp(s, "0") == 0)
		return;
	if ((*last = imap_num(&s)) == 0 || *s != '\0')
		goto bad;
	return;
bad:
	*validity = *last = 0;
}

static char *
imap_metadata(struct imap_run *r, const struct mail_msg *m)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "from", m->from, "to", m->to,
	    "date", m->date, "message_id", m->message_id, "mailbox",
	    r->c.mailbox);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* A subject cut to what a document title may hold, on a character. */
static void
imap_title(char *s)
{
	size_t	 n = strlen(s);

	if (n <= IMAP_MAX_TITLE)
		return;
	n = IMAP_MAX_TITLE;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

/* Fetches and hands over one message; 0, or -1 to stop the run. */
static int
imap_message(struct imap_run *r, uint32_t uid, struct fetch_sink *sink,
    struct fetch_result *res)
{
	struct fetch_doc	 d;
	struct mail_msg		 m;
	char			 url[1024], id[32], *meta;
	CURLcode		 rc;
	long			 nconn = 0;
	int			 ret;

	if (snprintf(url, sizeof(url), "%s;UIDVALIDITY=%u/;UID=%u;"
	    "PARTIAL=0.%lld", r->base, r->validity, uid, r->c.max_size) >=
	    (int)sizeof(url)) {
		imap_fail(res, 0, "imap: %s", "the mailbox name is too long");
		return -1;
	}
	rc = imap_request(r, url, NULL, (size_t)r->c.max_size + 1024);
	/*
	 * A new connection would be a read-write SELECT again (fetching
	 * would mark mail read): stop and let the retry start over.
	 */
	if (curl_easy_getinfo(r->curl, CURLINFO_NUM_CONNECTS, &nconn) !=
	    CURLE_OK || nconn > 0) {
		imap_fail(res, 1, "imap: %s", "the connection to the IMAP "
		    "server was lost");
		return -1;
	}
	if (rc == CURLE_REMOTE_FILE_NOT_FOUND)
		return 0;	/* expunged since the listing: gone */
	if (rc != CURLE_OK) {
		imap_curl_error(r, rc, res);
		return -1;
	}
	if (mail_parse(r->data.p ? r->data.p : "", r->data.len,
	    (size_t)r->c.max_size + 1024, &m) == -1)
		return 0;
	snprintf(id, sizeof(id), "%u:%u", r->validity, uid);
	if (snprintf(url, sizeof(url), "%s;UIDVALIDITY=%u/;UID=%u", r->base,
	    r->validity, uid) >= (int)sizeof(url))
		url[0] = '\0';
	if ((meta = imap_metadata(r, &m)) == NULL) {
		mail_free(&m);
		imap_fail(res, 0, "imap: %s", "out of memory");
		return -1;
	}
	imap_title(m.subject);
	memset(&d, 0, sizeof(d));
	d.external_id = id;
	d.title = m.subject;
	d.url = url;
	d.text = m.text;
	d.text_len = m.text_len;
	d.metadata = meta;
	d.updated_at = m.updated_at;
	ret = sink->doc(sink, &d);
	free(meta);
	mail_free(&m);
	return ret;
}

static int
imap_sync(struct imap_run *r, const char *cursor, struct fetch_sink *sink,
    struct fetch_result *res)
{
	uint32_t	 cv, clast, first = 1, high;
	char		 id[32];

	if (imap_examine(r, res) == -1)
		return -1;
	/* newest max_messages only: the rest stays as it is in the index */
	if (r->exists > r->c.max_messages)
		first = r->exists - (uint32_t)r->c.max_messages + 1;
	if (r->exists > 0 && imap_list(r, first, res) == -1)
		return -1;
	imap_cursor(cursor, &cv, &clast);
	if (cv != r->validity)
		clast = 0;	/* new mailbox or UIDs renumbered: all new */
	high = clast;
	for (size_t i = 0; i < r->nuids; i++) {
		if (i > 0 && r->uids[i] == r->uids[i - 1])
			continue;
		if (r->uids[i] <= clast) {
			snprintf(id, sizeof(id), "%u:%u", r->validity,
			    r->uids[i]);
			if (sink->keep(sink, id) == -1)
				goto sinkfail;
			continue;
		}
		if (imap_message(r, r->uids[i], sink, res) == -1) {
			if (res->error[0] == '\0')
				goto sinkfail;
			return -1;
		}
		high = r->uids[i];
	}
	snprintf(res->cursor, sizeof(res->cursor), "%u:%u", r->validity,
	    high);
	res->complete = first == 1 && !r->expunged;
	return 0;
sinkfail:
	strlcpy(res->error, sink->sink_error, sizeof(res->error));
	res->transient = 0;
	return -1;
}

static int
imap_run(const struct fetch_job *job, struct fetch_sink *sink,
    struct fetch_result *res)
{
	struct imap_run	 r;
	char		 err[FETCH_ERR_MAX], *secret;
	int		 ret = -1;

	memset(&r, 0, sizeof(r));
	if (imap_conf(job->config, &r.c, err, sizeof(err)) == -1) {
		imap_fail(res, 0, "%s", err);
		return -1;
	}
	if ((secret = cred_string(job, err, sizeof(err))) == NULL) {
		imap_fail(res, 0, "%s", err);
		return -1;
	}
	if (imap_setup(&r, secret, res) == 0)
		ret = imap_sync(&r, job->cursor ? job->cursor : "", sink, res);
	if (r.curl != NULL)
		curl_easy_cleanup(r.curl);
	freezero(secret, strlen(secret));
	free(r.base);
	free(r.data.p);
	free(r.uids);
	return ret;
}

const struct connector conn_imap = {
	"imap", imap_check, imap_sandbox, imap_run,
};

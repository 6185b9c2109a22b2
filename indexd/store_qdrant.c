/*
 * The "qdrant" vector store: one Qdrant collection per deployment over
 * its REST API (libcurl).  Points carry the chunk id and the scope's
 * columns (collection, owner, source, document), never text; every
 * query carries the caller's scope as a "must" filter (qdrant_json.c).
 *
 * indexd is single-threaded and answers content requests synchronously,
 * so a request to Qdrant is bounded: all its attempts together (retries
 * with backoff on 429, 503 and connection errors, Retry-After honoured)
 * fit in "qdrant timeout" seconds.  After QS_BREAK_AFTER failures in a
 * row a circuit breaker opens and every request fails at once for a
 * cool-down, then one request may try again.
 *
 * Writes: put upserts at once (wait=true) inside the caller's database
 * transaction, so a failed upsert fails the transaction; point ids come
 * from the chunk ids, which PostgreSQL never reuses, so points of a
 * rolled-back transaction name chunks that do not exist (searches drop
 * them; rollback deletes them when it can).  Removals wait for the
 * commit; one that fails is retried on the next commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/util.h"
#include "indexd/metrics.h"
#include "indexd/qdrant_json.h"
#include "indexd/secret.h"
#include "indexd/store.h"

#define QS_ATTEMPTS	3	/* per request, time allowing */
#define QS_BACKOFF_MS	200	/* first pause; doubles */
#define QS_BREAK_AFTER	3	/* failures in a row that open the breaker */
#define QS_BATCH	256	/* points per upsert */
#define QS_STALE_MAX	100000	/* removals kept for a retry */

static struct {
	char		 url[CONF_STR_MAX];
	char		 coll[64];
	char		 ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	uint64_t	 timeout_ms;
	int		 outage_keyword;
	int		 set;
} qconf;

struct idlist {
	int64_t		*v;
	size_t		 n, cap;
};

struct qstore {
	CURL		*curl;
	int		 ready;		/* the collection is known good */
	unsigned	 fails;		/* in a row */
	uint64_t	 open_until;	/* breaker: fail fast until (ms) */
	struct idlist	 rm;		/* chunks to remove on commit */
	struct idlist	 stale;		/* removals that failed */
	char		(*added)[UUID_STR_LEN];	/* points of this transaction */
	size_t		 nadded, capadded;
};

struct qresp {
	char		*body;
	size_t		 len;
	int		 toolong;
	long		 retry_after;	/* seconds, -1 none */
};

void
store_qdrant_setup(const struct ballast_conf *c)
{
	size_t	 l;

	memset(&qconf, 0, sizeof(qconf));
	strlcpy(qconf.url, c->qdrant_url, sizeof(qconf.url));
	/* Qdrant normalises trailing slashes away; so do we */
	while ((l = strlen(qconf.url)) > 0 && qconf.url[l - 1] == '/')
		qconf.url[l - 1] = '\0';
	strlcpy(qconf.coll, c->qdrant_collection, sizeof(qconf.coll));
	strlcpy(qconf.ca, c->qdrant_ca, sizeof(qconf.ca));
	strlcpy(qconf.cert, c->qdrant_cert, sizeof(qconf.cert));
	strlcpy(qconf.key, c->qdrant_key, sizeof(qconf.key));
	qconf.timeout_ms = (c->qdrant_timeout ? c->qdrant_timeout : 10) * 1000;
	qconf.outage_keyword = strcmp(c->qdrant_outage, "keyword") == 0;
	qconf.set = 1;
}

/* "http://127.0.0.1:6333/x" -> is the host a literal address? */
static int
url_host_literal(const char *url)
{
	const char	*h = strstr(url, "://");
	size_t		 n;

	h = h ? h + 3 : url;
	if (*h == '[')
		return 1;
	n = strcspn(h, ":/");
	return n > 0 && strspn(h, "0123456789.") == n;
}

static int
url_local(const char *url)
{
	return strncmp(url, "http://127.", 11) == 0 ||
	    strncmp(url, "http://localhost", 16) == 0 ||
	    strncmp(url, "http://[::1]", 12) == 0;
}

int
store_qdrant_sandbox(const struct ballast_conf *c, char *promises, size_t len)
{
	const char	*files[] = { c->qdrant_ca, c->qdrant_cert, c->qdrant_key };
	int		 rv = 0;

	if (strcmp(c->vectors, "qdrant") != 0)
		return 0;
	/*
	 * inet: the connections to Qdrant.  dns and thread: curl resolves a
	 * host name in a thread of its own (not for a literal address).
	 * rpath: the CA bundle and client certificate, read at each
	 * handshake.
	 */
	if (strlcat(promises, " inet", len) >= len)
		return -1;
	if (!url_host_literal(c->qdrant_url) &&
	    (strlcat(promises, " dns thread", len) >= len ||
	    sandbox_unveil_existing(sandbox_resolver_files) == -1))
		return -1;
	if (strncmp(c->qdrant_url, "https:", 6) != 0)
		return 0;
	if (strlcat(promises, " rpath", len) >= len)
		return -1;
	for (size_t i = 0; i < nitems(files); i++)
		if (files[i][0] != '\0' && sandbox_unveil(files[i], "r") == -1)
			rv = -1;
	if (c->qdrant_ca[0] == '\0' &&
	    sandbox_unveil_existing(sandbox_system_ca) == -1)
		rv = -1;
	return rv;
}

static size_t
collect(char *p, size_t sz, size_t nm, void *arg)
{
	struct qresp	*r = arg;
	size_t		 n = sz * nm;

	if (r->len + n > QJ_MAX_RESPONSE) {
		r->toolong = 1;
		return 0;	/* curl stops: CURLE_WRITE_ERROR */
	}
	r->body = xreallocarray(r->body, r->len + n + 1, 1);
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static size_t
header(char *p, size_t sz, size_t nm, void *arg)
{
	struct qresp	*r = arg;
	size_t		 n = sz * nm;
	char		 buf[64];

	if (n > 12 && n < sizeof(buf) && strncasecmp(p, "retry-after:", 12) == 0) {
		memcpy(buf, p + 12, n - 12);
		buf[n - 12] = '\0';
		r->retry_after = qj_retry_after(buf);
	}
	return n;
}

/* The headers of one request; the api-key one is wiped by the caller. */
static struct curl_slist *
headers(char *keyhdr, size_t keylen)
{
	struct curl_slist	*h = NULL;
	const char		*k = secret_get("qdrant-api-key");

	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	keyhdr[0] = '\0';
	if (k == NULL || k[0] == '\0')
		return h;
	/* never over plain http but to this host */
	if (strncmp(qconf.url, "https:", 6) != 0 && !url_local(qconf.url)) {
		log_warnx("%s: not sending the API key over plain http",
		    __func__);
		return h;
	}
	if ((size_t)snprintf(keyhdr, keylen, "api-key: %s", k) >= keylen)
		log_warnx("%s: the API key is too long", __func__);
	else
		h = curl_slist_append(h, keyhdr);
	return h;
}

static void
setup(CURL *c, const char *method, const char *url, const char *body,
    struct curl_slist *h, struct qresp *r, long ms)
{
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (qconf.ca[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, qconf.ca);
	if (qconf.cert[0] != '\0')
		curl_easy_setopt(c, CURLOPT_SSLCERT, qconf.cert);
	if (qconf.key[0] != '\0')
		curl_easy_setopt(c, CURLOPT_SSLKEY, qconf.key);
}

/* Worth another attempt: the server asked for time or was not there. */
static int
transient(CURLcode cc, long status)
{
	if (cc != CURLE_OK)
		return cc == CURLE_COULDNT_CONNECT || cc == CURLE_SEND_ERROR ||
		    cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
		    cc == CURLE_COULDNT_RESOLVE_HOST;
	return status == 429 || status == 503;
}

static void
pause_ms(uint64_t ms)
{
	struct timespec	 ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1)
		;
}

static void
breaker_result(struct qstore *qs, int failed)
{
	uint64_t	 cool = qconf.timeout_ms * 2;

	if (!failed) {
		if (qs->fails >= QS_BREAK_AFTER)
			log_info("qdrant: reachable again");
		qs->fails = 0;
		return;
	}
	if (++qs->fails < QS_BREAK_AFTER)
		return;
	if (cool < 2000)
		cool = 2000;
	if (cool > 30000)
		cool = 30000;
	if (qs->fails == QS_BREAK_AFTER)
		log_warnx("qdrant: %u failures in a row, failing fast for "
		    "%llu ms", qs->fails, (unsigned long long)cool);
	qs->open_until = now_ms() + cool;
}

/*
 * One request with its retries, all within the timeout.  Returns the
 * HTTP status (any), or -1 with err when no answer came; *out gets the
 * body.  *outage says the failure was Qdrant's availability.
 */
static long
request(struct qstore *qs, const char *method, const char *path,
    const char *body, struct qresp *out, int *outage, char *err,
    size_t errlen)
{
	uint64_t		 start = now_ms(), deadline, now, wait;
	char			 url[CONF_STR_MAX + 256], keyhdr[SECRET_MAX_VALUE + 16];
	struct curl_slist	*h;
	CURLcode		 cc = CURLE_OK;
	long			 status = -1;

	*outage = 0;
	memset(out, 0, sizeof(*out));
	if (start < qs->open_until) {
		*outage = 1;
		snprintf(err, errlen, "qdrant unavailable (circuit open)");
		return -1;
	}
	if ((size_t)snprintf(url, sizeof(url), "%s%s", qconf.url, path) >=
	    sizeof(url)) {
		snprintf(err, errlen, "qdrant: URL too long");
		return -1;
	}
	deadline = start + qconf.timeout_ms;
	h = headers(keyhdr, sizeof(keyhdr));
	for (int i = 0; i < QS_ATTEMPTS; i++) {
		free(out->body);
		memset(out, 0, sizeof(*out));
		out->retry_after = -1;
		if ((now = now_ms()) >= deadline) {
			cc = CURLE_OPERATION_TIMEDOUT;
			break;
		}
		setup(qs->curl, method, url, body, h, out,
		    (long)(deadline - now));
		cc = curl_easy_perform(qs->curl);
		status = -1;
		if (cc == CURLE_OK)
			curl_easy_getinfo(qs->curl, CURLINFO_RESPONSE_CODE,
			    &status);
		if (!transient(cc, status))
			break;
		wait = (uint64_t)QS_BACKOFF_MS << i;
		if (out->retry_after >= 0)
			wait = (uint64_t)out->retry_after * 1000;
		now = now_ms();
		if (i + 1 == QS_ATTEMPTS || now + wait >= deadline)
			break;
		pause_ms(wait);
	}
	curl_slist_free_all(h);
	explicit_bzero(keyhdr, sizeof(keyhdr));
	curl_easy_reset(qs->curl);
	/*
	 * One request, whatever its retries.  An error is what says Qdrant
	 * is unreachable, overloaded or refusing us; 404 and 409 are
	 * answers (a collection not made yet, say).
	 */
	metrics_qdrant_request(cc == CURLE_OK && status != 401 &&
	    status != 403 && status != 429 && status < 500);
	if (cc != CURLE_OK || status == 429 || status >= 500) {
		*outage = 1;
		breaker_result(qs, 1);
		if (cc != CURLE_OK)
			snprintf(err, errlen, "qdrant: %s", out->toolong ?
			    "response too large" : curl_easy_strerror(cc));
		else
			snprintf(err, errlen, "qdrant: HTTP %ld", status);
		return cc != CURLE_OK ? -1 : status;
	}
	breaker_result(qs, 0);
	return status;
}

/* A request whose answer must be 200 with an "ok" envelope. */
static int
call(struct qstore *qs, const char *method, const char *path,
    const char *body, json_t **result, int *outage, char *err, size_t errlen)
{
	struct qresp	 r;
	long		 st;
	char		 why[256];
	int		 rv = -1;

	st = request(qs, method, path, body, &r, outage, err, errlen);
	if (st == 200 && qj_envelope(r.body ? r.body : "", r.len, result, why,
	    sizeof(why)) == 0)
		rv = 0;
	else if (st == 200)
		snprintf(err, errlen, "qdrant %s %s: %s", method, path, why);
	else if (st == 401 || st == 403)
		snprintf(err, errlen, "qdrant %s %s: HTTP %ld: the API key "
		    "(ballastctl secret set qdrant-api-key) was refused",
		    method, path, st);
	else if (st > 0) {
		if (qj_envelope(r.body ? r.body : "", r.len, NULL, why,
		    sizeof(why)) == 0)
			strlcpy(why, "?", sizeof(why));
		snprintf(err, errlen, "qdrant %s %s: HTTP %ld: %s", method,
		    path, st, why);
	}
	free(r.body);
	return rv;
}

static const struct {
	const char	*field, *type;
	int		 tenant;
} qs_indexes[] = {
	{ QJ_COLLECTION, "keyword", 1 },
	{ QJ_ORG, "keyword", 0 },
	{ QJ_OWNER, "keyword", 0 },
	{ QJ_SOURCE, "keyword", 0 },
	{ QJ_DOCUMENT, "keyword", 0 },
	{ QJ_CHUNK, "integer", 0 },
};

static int
create_collection(struct store *s, struct qstore *qs, char *path, int *outage,
    char *err, size_t errlen)
{
	char	*body = qj_create_body(s->dim), ipath[160];
	int	 rv;

	rv = call(qs, "PUT", path, body, NULL, outage, err, errlen);
	free(body);
	if (rv == -1)
		return -1;
	log_info("qdrant: created collection %s (%zu dimensions, cosine)",
	    qconf.coll, s->dim);
	snprintf(ipath, sizeof(ipath), "%s/index?wait=true", path);
	for (size_t i = 0; i < nitems(qs_indexes); i++) {
		body = qj_index_body(qs_indexes[i].field, qs_indexes[i].type,
		    qs_indexes[i].tenant);
		rv = call(qs, "PUT", ipath, body, NULL, outage, err, errlen);
		free(body);
		if (rv == -1)
			return -1;
	}
	return 0;
}

/*
 * The collection exists with our vector size, or is created.  -1 with
 * err; *fatal when it exists with another size (a reindex is needed).
 */
static int
ensure(struct store *s, struct qstore *qs, int *fatal, int *outage,
    char *err, size_t errlen)
{
	struct qresp	 r;
	char		 path[128], why[256];
	long		 st;
	long long	 size = -1;

	*fatal = 0;
	if (qs->ready)
		return 0;
	snprintf(path, sizeof(path), "/collections/%s", qconf.coll);
	st = request(qs, "GET", path, NULL, &r, outage, err, errlen);
	if (st == 200)
		size = qj_parse_vector_size(r.body ? r.body : "", r.len, why,
		    sizeof(why));
	free(r.body);
	if (st == 404) {
		if (create_collection(s, qs, path, outage, err, errlen) == -1)
			return -1;
		size = (long long)s->dim;
	} else if (st == 200 && size < 0) {
		snprintf(err, errlen, "qdrant collection %s: %s", qconf.coll,
		    why);
		return -1;
	} else if (st != 200) {
		if (st > 0)
			snprintf(err, errlen, "qdrant GET %s: HTTP %ld%s", path,
			    st, st == 401 || st == 403 ? ": the API key was "
			    "refused" : "");
		return -1;
	}
	if (size != (long long)s->dim) {
		*fatal = 1;
		snprintf(err, errlen, "qdrant collection %s holds vectors of "
		    "size %lld but embedder %s makes %zu: set another qdrant "
		    "collection and run ballastctl reindex, or delete the "
		    "collection and reindex", qconf.coll, size, s->embedder,
		    s->dim);
		return -1;
	}
	qs->ready = 1;
	return 0;
}

/* ensure() for the write and search paths: a wrong size is fatal. */
static int
ready(struct store *s, int *outage, char *err, size_t errlen)
{
	int	 fatal;

	if (ensure(s, s->ctx, &fatal, outage, err, errlen) == 0)
		return 0;
	if (fatal)
		fatalx("%s", err);
	return -1;
}

static int
qs_load(struct store *s, PGconn *db, char *err, size_t errlen)
{
	int	 fatal, outage;
	char	 why[512];

	(void)db;
	if (ensure(s, s->ctx, &fatal, &outage, why, sizeof(why)) == 0)
		return 0;
	if (fatal) {
		strlcpy(err, why, errlen);
		return -1;
	}
	/* The API key may come later (keyd), Qdrant may be down: later. */
	log_warnx("qdrant: %s; trying again on first use", why);
	return 0;
}

static void
idlist_add(struct idlist *l, const int64_t *ids, size_t n, size_t max)
{
	if (l->n + n > max)
		n = l->n < max ? max - l->n : 0;
	if (n == 0)	/* ids may be NULL then: memcpy must not see it */
		return;
	if (l->n + n > l->cap) {
		l->cap = (l->n + n) * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	memcpy(l->v + l->n, ids, n * sizeof(*ids));
	l->n += n;
}

static char *
doc_source(PGconn *db, const char *doc)
{
	const char	*p[1] = { doc };
	PGresult	*r;
	char		*s = NULL;

	r = PQexecParams(db, "SELECT source FROM documents WHERE id = $1", 1,
	    NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		s = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return s;
}

static int
upsert(struct store *s, struct qstore *qs, const struct qj_point *pts,
    size_t n, char *err, size_t errlen)
{
	char	 path[128], *body;
	int	 outage, rv;

	snprintf(path, sizeof(path), "/collections/%s/points?wait=true",
	    qconf.coll);
	if ((body = qj_upsert_body(pts, n, s->dim)) == NULL) {
		snprintf(err, errlen, "qdrant: cannot build the upsert");
		return -1;
	}
	rv = call(qs, "PUT", path, body, NULL, &outage, err, errlen);
	free(body);
	return rv;
}

static void
note_added(struct qstore *qs, const struct qj_point *p)
{
	if (qs->nadded == qs->capadded) {
		qs->capadded = qs->capadded ? qs->capadded * 2 : 64;
		qs->added = xreallocarray(qs->added, qs->capadded,
		    sizeof(*qs->added));
	}
	qj_point_id(p->document_id, p->chunk_id, qs->added[qs->nadded++]);
}

static int
qs_put(struct store *s, PGconn *db, const struct store_doc *d, char *err,
    size_t errlen)
{
	struct qstore	*qs = s->ctx;
	struct qj_point	*pts;
	char		*source;
	int		 outage, rv = 0;

	if (d->n == 0)
		return 0;
	if (ready(s, &outage, err, errlen) == -1)
		return -1;
	source = doc_source(db, d->document_id);
	pts = xcalloc(d->n, sizeof(*pts));
	for (size_t i = 0; i < d->n; i++) {
		pts[i].document_id = d->document_id;
		pts[i].chunk_id = d->chunk_ids[i];
		pts[i].collection_id = d->collection_id;
		pts[i].owner = d->owner;
		pts[i].source = source;
		pts[i].vec = d->vecs + i * s->dim;
	}
	for (size_t i = 0; rv == 0 && i < d->n; i += QS_BATCH)
		rv = upsert(s, qs, pts + i, d->n - i < QS_BATCH ? d->n - i :
		    QS_BATCH, err, errlen);
	for (size_t i = 0; rv == 0 && i < d->n; i++)
		note_added(qs, &pts[i]);
	free(pts);
	free(source);
	return rv;
}

static int
qs_remove(struct store *s, PGconn *db, const int64_t *ids, size_t n,
    char *err, size_t errlen)
{
	(void)db;
	(void)err;
	(void)errlen;
	idlist_add(&((struct qstore *)s->ctx)->rm, ids, n, SIZE_MAX);
	return 0;
}

/* Delete the points of these chunks (by filter); 0 or -1. */
static int
delete_chunks(struct qstore *qs, const int64_t *ids, size_t n, char *err,
    size_t errlen)
{
	char	 path[128], *body;
	int	 outage, rv = 0;

	snprintf(path, sizeof(path), "/collections/%s/points/delete?wait=true",
	    qconf.coll);
	for (size_t i = 0; rv == 0 && i < n; i += QS_BATCH * 4) {
		body = qj_delete_chunks_body(ids + i, n - i < QS_BATCH * 4 ?
		    n - i : QS_BATCH * 4);
		rv = call(qs, "POST", path, body, NULL, &outage, err, errlen);
		free(body);
	}
	return rv;
}

static void
qs_rollback(struct store *s)
{
	struct qstore	*qs = s->ctx;
	char		 path[128], err[256], *body;
	int		 outage;

	/* Best effort: these points name chunks that were never kept. */
	if (qs->nadded > 0 && now_ms() >= qs->open_until) {
		snprintf(path, sizeof(path), "/collections/%s/points/delete"
		    "?wait=true", qconf.coll);
		body = qj_delete_points_body(qs->added, qs->nadded);
		if (call(qs, "POST", path, body, NULL, &outage, err,
		    sizeof(err)) == -1)
			log_debug("%s: %s", __func__, err);
		free(body);
	}
	qs->nadded = 0;
	qs->rm.n = 0;
}

static void
qs_commit(struct store *s)
{
	struct qstore	*qs = s->ctx;
	char		 err[512];

	qs->nadded = 0;
	idlist_add(&qs->stale, qs->rm.v, qs->rm.n, QS_STALE_MAX);
	qs->rm.n = 0;
	if (qs->stale.n == 0 || now_ms() < qs->open_until)
		return;
	if (delete_chunks(qs, qs->stale.v, qs->stale.n, err,
	    sizeof(err)) == -1) {
		/* searches drop chunks the database no longer has */
		log_warnx("%s: %zu removals kept for later: %s", __func__,
		    qs->stale.n, err);
		return;
	}
	qs->stale.n = 0;
}

static long
qs_search(struct store *s, const float *q, const struct scope *sc, size_t k,
    struct vhit *out, char *err, size_t errlen)
{
	struct qstore	*qs = s->ctx;
	struct qresp	 r;
	char		 path[128], *body;
	long		 st, n;
	int		 outage = 0;

	if (ready(s, &outage, err, errlen) == -1) {
		s->unavailable = outage;
		return -1;
	}
	/* The scope is the query's must filter (qj_query_body). */
	if ((body = qj_query_body(q, s->dim, sc, k)) == NULL) {
		snprintf(err, errlen, "qdrant: cannot build the query");
		return -1;
	}
	snprintf(path, sizeof(path), "/collections/%s/points/query",
	    qconf.coll);
	st = request(qs, "POST", path, body, &r, &outage, err, errlen);
	free(body);
	s->unavailable = outage;
	if (st != 200) {
		if (st > 0 && !outage)
			snprintf(err, errlen, "qdrant query: HTTP %ld", st);
		if (st == 404)
			qs->ready = 0;	/* deleted under us: make it again */
		free(r.body);
		return -1;
	}
	n = qj_parse_query(r.body ? r.body : "", r.len, out, k, err, errlen);
	free(r.body);
	return n;
}

static size_t
qs_count(struct store *s)
{
	(void)s;
	return 0;	/* Qdrant counts; indexd keeps no copy */
}

static void
qs_free(struct store *s)
{
	struct qstore	*qs = s->ctx;

	curl_easy_cleanup(qs->curl);
	free(qs->rm.v);
	free(qs->stale.v);
	free(qs->added);
	free(qs);
	free(s);
}

static const struct store_ops qs_ops = {
	qs_load, qs_put, qs_remove, qs_commit, qs_rollback, qs_search,
	qs_count, qs_free,
};

struct store *
store_qdrant_new(size_t dim, const char *embedder)
{
	struct store	*s;
	struct qstore	*qs;

	if (!qconf.set || dim == 0 || strlen(embedder) >= sizeof(s->embedder))
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	qs = xcalloc(1, sizeof(*qs));
	if ((qs->curl = curl_easy_init()) == NULL) {
		free(qs);
		free(s);
		return NULL;
	}
	s->ops = &qs_ops;
	s->name = "qdrant";
	s->dim = dim;
	s->outage_keyword = qconf.outage_keyword;
	strlcpy(s->embedder, embedder, sizeof(s->embedder));
	s->ctx = qs;
	return s;
}

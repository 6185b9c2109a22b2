/*
 * The "openai" embedder: any OpenAI-compatible POST /v1/embeddings
 * endpoint (OpenAI, Ollama, TEI, vLLM) over libcurl.  Texts go in
 * batches of at most `embedder batch` inputs; the answer's vectors are
 * matched by index, checked (count, dimension, finite numbers) and
 * L2-normalised (embed_json.c).  The API key, when one is set
 * ("embedder-api-key", sealed by keyd), goes in an Authorization: Bearer
 * header and nowhere else: never logged, never in an error message, and
 * redirects are not followed.
 *
 * indexd is single-threaded and a push waits for its vectors, so each
 * request has `embedder timeout` seconds, and retries (429 with its
 * Retry-After, 5xx, connection errors) stop once one embed call has used
 * EMBED_BUDGET_FACTOR times that in all.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/util.h"
#include "indexd/embed.h"
#include "indexd/embed_json.h"

#define EMBED_KEY_NAME		"embedder-api-key"
#define EMBED_ATTEMPTS		5	/* per batch */
#define EMBED_BUDGET_FACTOR	2	/* times the per-request timeout */
#define EMBED_BUDGET_MIN_MS	5000
#define EMBED_BACKOFF_MS	250	/* first retry; doubles */
#define EMBED_RETRY_AFTER_MAX	30	/* seconds of Retry-After honoured */

struct openai {
	CURL		*curl;
	char		 url[1024];
	char		 model[128];
	char		 ca[1024];
	char		 id[EMBED_ID_MAX];
	size_t		 batch;
	long		 timeout;
	const char	*(*key)(const char *);
	char		 errbuf[CURL_ERROR_SIZE];
	/* the answer being received */
	char		*body;
	size_t		 len, cap, max;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct openai	*o = arg;
	size_t		 n = size * nmemb;

	if (n > o->max - o->len)
		return 0;	/* too large: curl fails the transfer */
	if (o->len + n + 1 > o->cap) {
		size_t	 cap = (o->len + n + 1) * 2;
		char	*b;

		if (cap > o->max + 1)
			cap = o->max + 1;
		if ((b = realloc(o->body, cap)) == NULL)
			return 0;
		o->body = b;
		o->cap = cap;
	}
	memcpy(o->body + o->len, p, n);
	o->len += n;
	o->body[o->len] = '\0';
	return n;
}

void
embed_openai_id(const char *model, size_t dim, char id[EMBED_ID_MAX])
{
	uint32_t	 h = 0x811c9dc5u;
	int		 n;

	n = snprintf(id, EMBED_ID_MAX, "openai:%s:%zu", model, dim);
	if (n >= 0 && n < EMBED_ID_MAX)
		return;
	/* too long for the store: the model's FNV-1a hash stands for it */
	for (const char *s = model; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x01000193u;
	}
	snprintf(id, EMBED_ID_MAX, "openai:#%08x:%zu", h, dim);
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Wipe and free the header list (one of them holds the key). */
static void
headers_free(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

static struct curl_slist *
headers_new(struct openai *o)
{
	struct curl_slist	*h = NULL, *t;
	const char		*key = o->key ? o->key(EMBED_KEY_NAME) : NULL;
	char			 auth[32 + 4096];
	int			 n;

	if ((t = curl_slist_append(h, "Content-Type: application/json")) ==
	    NULL)
		return NULL;
	h = t;
	if ((t = curl_slist_append(h, "Accept: application/json")) == NULL ||
	    (h = t, (t = curl_slist_append(h, "Expect:")) == NULL)) {
		headers_free(h);
		return NULL;
	}
	h = t;
	if (key == NULL || *key == '\0')
		return h;
	n = snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
	if (n < 0 || (size_t)n >= sizeof(auth) ||
	    (t = curl_slist_append(h, auth)) == NULL) {
		explicit_bzero(auth, sizeof(auth));
		headers_free(h);
		return NULL;
	}
	explicit_bzero(auth, sizeof(auth));
	return t;
}

enum outcome { OK, RETRY, FAIL };

/*
 * One POST.  OK with the body in o->body; RETRY (status 503 when it
 * was the last) with *wait_ms set from Retry-After (0: none); FAIL.
 */
static enum outcome
post(struct embedder *e, struct openai *o, const char *req, size_t reqlen,
    size_t n, long budget_ms, uint64_t *wait_ms, char *err, size_t errlen)
{
	struct curl_slist	*h;
	CURLcode		 cc;
	long			 code = 0;
	curl_off_t		 ra = -1;
	char			 msg[200];

	*wait_ms = 0;
	o->len = 0;
	o->max = embed_json_max_response(n, e->dim);
	if ((h = headers_new(o)) == NULL) {
		snprintf(err, errlen, "out of memory (or the API key is too "
		    "long)");
		e->status = 502;
		return FAIL;
	}
	o->errbuf[0] = '\0';
	(void)curl_easy_setopt(o->curl, CURLOPT_HTTPHEADER, h);
	(void)curl_easy_setopt(o->curl, CURLOPT_POSTFIELDS, req);
	(void)curl_easy_setopt(o->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)reqlen);
	(void)curl_easy_setopt(o->curl, CURLOPT_TIMEOUT_MS,
	    budget_ms < o->timeout * 1000 ? budget_ms : o->timeout * 1000);
	cc = curl_easy_perform(o->curl);
	(void)curl_easy_setopt(o->curl, CURLOPT_HTTPHEADER, NULL);
	headers_free(h);
	if (cc != CURLE_OK) {
		e->status = 503;
		snprintf(err, errlen, "the embedding server cannot be reached: "
		    "%s", cc == CURLE_WRITE_ERROR ? "its answer is too large" :
		    o->errbuf[0] ? o->errbuf : curl_easy_strerror(cc));
		return cc == CURLE_WRITE_ERROR ||
		    cc == CURLE_PEER_FAILED_VERIFICATION ||
		    cc == CURLE_SSL_CACERT_BADFILE ||
		    cc == CURLE_UNSUPPORTED_PROTOCOL ||
		    cc == CURLE_URL_MALFORMAT ? FAIL : RETRY;
	}
	(void)curl_easy_getinfo(o->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code == 200)
		return OK;
	embed_json_error(o->body ? o->body : "", o->len, msg, sizeof(msg));
	snprintf(err, errlen, "the embedding server answered %ld%s%s", code,
	    msg[0] ? ": " : "", msg);
	if (code == 429 || code == 503) {
		e->status = 503;
		if (curl_easy_getinfo(o->curl, CURLINFO_RETRY_AFTER, &ra) ==
		    CURLE_OK && ra > 0)
			*wait_ms = (uint64_t)(ra > EMBED_RETRY_AFTER_MAX ?
			    EMBED_RETRY_AFTER_MAX : ra) * 1000;
		return RETRY;
	}
	e->status = 502;
	return code >= 500 ? RETRY : FAIL;
}

/* One batch, retried within the call's deadline (now_ms() clock). */
static int
embed_batch(struct embedder *e, struct openai *o, const char *const *texts,
    const size_t *lens, size_t n, float *out, uint64_t deadline, char *err,
    size_t errlen)
{
	enum outcome	 oc;
	uint64_t	 wait, backoff = EMBED_BACKOFF_MS, t;
	size_t		 reqlen;
	char		*req;
	int		 attempt, rv = -1;

	if ((req = embed_json_request(o->model, texts, lens, n, &reqlen)) ==
	    NULL) {
		e->status = 502;
		snprintf(err, errlen, "embedder: a text is not valid UTF-8 "
		    "(or out of memory)");
		return -1;
	}
	for (attempt = 1; ; attempt++) {
		t = now_ms();
		oc = post(e, o, req, reqlen, n, t < deadline ?
		    (long)(deadline - t) : 1, &wait, err, errlen);
		if (oc == OK) {
			if (embed_json_response(o->body, o->len, n, e->dim, out,
			    err, errlen) == 0)
				rv = 0;
			else {
				char	 why[256];
				strlcpy(why, err, sizeof(why));
				snprintf(err, errlen, "the embedding server's "
				    "answer is unusable: %s", why);
				e->status = 502;
			}
			break;
		}
		if (oc == FAIL || attempt == EMBED_ATTEMPTS)
			break;
		if (wait == 0)
			wait = backoff + arc4random_uniform(backoff / 2 + 1);
		backoff *= 2;
		if (now_ms() + wait >= deadline)
			break;
		log_info("indexd: embedder: %s; retrying in %llu ms", err,
		    (unsigned long long)wait);
		sleep_ms(wait);
	}
	if (rv == -1 && oc == RETRY) {
		char	 why[256];
		strlcpy(why, err, sizeof(why));
		snprintf(err, errlen, "%s (%d attempts)", why, attempt);
	}
	free(req);
	return rv;
}

static int
openai_embed(struct embedder *e, const char *const *texts,
    const size_t *lens, size_t n, float *out, char *err, size_t errlen)
{
	struct openai	*o = e->ctx;
	uint64_t	 budget, deadline;
	size_t		 at, k;
	int		 rv = 0;

	budget = (uint64_t)o->timeout * 1000 * EMBED_BUDGET_FACTOR;
	if (budget < EMBED_BUDGET_MIN_MS)
		budget = EMBED_BUDGET_MIN_MS;
	deadline = now_ms() + budget;
	for (at = 0; rv == 0 && at < n; at += k) {
		k = n - at < o->batch ? n - at : o->batch;
		rv = embed_batch(e, o, texts + at, lens + at, k,
		    out + at * e->dim, deadline, err, errlen);
	}
	/* the answer held nothing secret, but it can be large */
	free(o->body);
	o->body = NULL;
	o->cap = o->len = 0;
	if (rv == 0)
		e->status = 0;
	return rv;
}

static void
openai_free(struct embedder *e)
{
	struct openai	*o = e->ctx;

	curl_easy_cleanup(o->curl);
	free(o->body);
	free(o);
	free(e);
}

static const struct embedder_ops openai_ops = {
	openai_embed, openai_free,
};

static int
curl_setup(struct openai *o)
{
	CURL	*c = o->curl;
	int	 https = strncasecmp(o->url, "https://", 8) == 0;

	/* never CURLOPT_VERBOSE: it would print the Authorization header */
	return curl_easy_setopt(c, CURLOPT_URL, o->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, https ? "https" :
	    "http") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    (o->ca[0] != '\0' && curl_easy_setopt(c, CURLOPT_CAINFO, o->ca) !=
	    CURLE_OK) ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->timeout) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "Ballast indexd") !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, o->errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, o) != CURLE_OK ? -1 : 0;
}

struct embedder *
embed_openai_new(const struct embed_openai_conf *c)
{
	struct embedder	*e;
	struct openai	*o;

	if (c->dim == 0 || c->batch == 0 || c->timeout <= 0 ||
	    (strncasecmp(c->url, "http://", 7) != 0 &&
	    strncasecmp(c->url, "https://", 8) != 0) || c->model[0] == '\0') {
		log_warnx("%s: embedder: url must be http(s)://, model, "
		    "dimension, batch and timeout set", __func__);
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("%s: curl_global_init failed", __func__);
		return NULL;
	}
	o = xcalloc(1, sizeof(*o));
	if (strlcpy(o->url, c->url, sizeof(o->url)) >= sizeof(o->url) ||
	    strlcpy(o->model, c->model, sizeof(o->model)) >= sizeof(o->model) ||
	    strlcpy(o->ca, c->ca ? c->ca : "", sizeof(o->ca)) >=
	    sizeof(o->ca) || (o->curl = curl_easy_init()) == NULL ||
	    curl_setup(o) == -1) {
		log_warnx("%s: embedder: cannot set up curl", __func__);
		if (o->curl != NULL)
			curl_easy_cleanup(o->curl);
		free(o);
		return NULL;
	}
	o->batch = c->batch;
	o->timeout = c->timeout;
	o->key = c->key;
	embed_openai_id(c->model, c->dim, o->id);
	e = xcalloc(1, sizeof(*e));
	e->ops = &openai_ops;
	e->name = o->id;
	e->dim = c->dim;
	e->ctx = o;
	log_info("indexd: embedder openai, model %s, %zu dimensions, %zu "
	    "inputs per request (vectors stored as \"%s\")", o->model, e->dim,
	    o->batch, o->id);
	return e;
}

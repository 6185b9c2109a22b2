/*
 * The gmail connector: a user's mailbox through the Gmail REST API
 * (users.messages.list, users.messages.get with format=raw parsed by
 * mail.c, users.history.list for the cursor), OAuth 2.0 through oauth.c.
 *
 * The cursor is {"history_id": "..."}.  A first run (or one whose
 * history id Google no longer has: 404) takes the profile's historyId,
 * lists every message and fetches each: a complete run.  Later runs ask
 * users.history.list what changed since the history id and fetch only
 * those messages; when messages were deleted, the run also lists the
 * mailbox's ids and keeps the unchanged ones, so it is complete and
 * indexd deletes what is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/util.h"
#include "fetcher/connector.h"
#include "fetcher/gjson.h"
#include "fetcher/mail.h"
#include "fetcher/oauth.h"

#define GMAIL_API	"https://gmail.googleapis.com"
#define GMAIL_SCOPE	"https://www.googleapis.com/auth/gmail.readonly"
#define GMAIL_PATH	"/gmail/v1/users/me"

static const char *const gmail_members[] = { "query", "max_messages",
    NULL };

struct gmail_run {
	struct gconf		 c;
	struct gclient		 g;
	const char		*query;
	long long		 max;
	struct fetch_sink	*sink;
	char			**changed;	/* incremental: fetched ids */
	size_t			 nchanged;
};

static int
gmail_conf(json_t *config, struct gmail_run *r, char *err, size_t errlen)
{
	if (gconf_load(config, "gmail", gmail_members, GMAIL_API, GMAIL_SCOPE,
	    &r->c, err, errlen) == -1 ||
	    conf_str(config, "query", 0, 1024, &r->query, err, errlen) == -1 ||
	    conf_int(config, "max_messages", 1, 1000000, 100000, &r->max, err,
	    errlen) == -1)
		return -1;
	return 0;
}

static int
gmail_check(json_t *config, char *err, size_t errlen)
{
	struct gmail_run	 r;

	return gmail_conf(config, &r, err, errlen);
}

static int
gmail_sandbox(json_t *config, struct fetch_sandbox *sb, char *err,
    size_t errlen)
{
	struct gmail_run	 r;

	if (gmail_conf(config, &r, err, errlen) == -1)
		return -1;
	return gconf_sandbox(&r.c, sb, err, errlen);
}

/* GET path as JSON: 0 and *o, 1 on 404, -1 failed. */
static int
get_json(struct gmail_run *r, const char *path, json_t **o)
{
	struct gresp	 p;
	int		 rv;

	*o = NULL;
	if ((rv = gclient_get(&r->g, path, &p)) != 0)
		return rv;
	*o = gjson_load(p.body, p.len);
	gresp_free(&p);
	if (*o == NULL)
		return gclient_fail(&r->g, 0, "the API answered something that "
		    "is not a JSON object");
	return 0;
}

/* Unix milliseconds (internalDate) as RFC 3339. */
static void
ms_date(const char *ms, char out[32])
{
	const char	*errstr;
	long long	 n;
	time_t		 t;
	struct tm	 tm;

	out[0] = '\0';
	if (ms == NULL)
		return;
	n = strtonum(ms, 0, 253402300799999LL, &errstr);
	t = (time_t)(n / 1000);
	if (errstr == NULL && gmtime_r(&t, &tm) != NULL)
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *
gmail_meta(json_t *m, const struct mail_msg *mm)
{
	json_t	*o, *labels = json_array(), *l;
	char	*text;
	size_t	 i;

	json_array_foreach(json_object_get(m, "labelIds"), i, l)
		if (json_is_string(l) && json_string_length(l) <= 128 &&
		    json_array_size(labels) < 100)
			json_array_append(labels, l);
	o = json_pack("{s:o,s:s,s:s,s:s}", "labels", labels, "thread_id",
	    gjson_id(m, "threadId") ? gjson_id(m, "threadId") : "",
	    "from", mm->from ? mm->from : "", "to", mm->to ? mm->to : "");
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text != NULL && strlen(text) > 60000) {
		free(text);
		text = NULL;
	}
	return text;
}

/* Fetch one message and hand it to the sink: 0, 1 gone, -1 failed. */
static int
gmail_message(struct gmail_run *r, const char *id)
{
	struct mail_msg	 mm;
	struct fetch_doc d;
	json_t		*m;
	const char	*raw;
	uint8_t		*bytes;
	size_t		 len;
	char		 path[700], url[700], date[32], *id_e, *meta;
	int		 rv;

	id_e = goauth_escape(id);
	snprintf(path, sizeof(path), GMAIL_PATH "/messages/%s?format=raw",
	    id_e);
	free(id_e);
	if ((rv = get_json(r, path, &m)) != 0)
		return rv;
	if ((raw = json_string_value(json_object_get(m, "raw"))) == NULL ||
	    (bytes = gjson_b64url(raw, strlen(raw), &len)) == NULL) {
		json_decref(m);
		return gclient_fail(&r->g, 0, "message %.64s: no usable raw "
		    "field", id);
	}
	memset(&mm, 0, sizeof(mm));
	if (mail_parse((const char *)bytes, len, r->c.max_bytes, &mm) == -1) {
		free(bytes);
		json_decref(m);
		return gclient_fail(&r->g, 0, "message %.64s: too large", id);
	}
	free(bytes);
	ms_date(json_string_value(json_object_get(m, "internalDate")), date);
	meta = gmail_meta(m, &mm);
	snprintf(url, sizeof(url), "https://mail.google.com/mail/u/0/#all/%s",
	    id);
	memset(&d, 0, sizeof(d));
	d.external_id = id;
	d.title = mm.subject;
	d.url = url;
	d.text = mm.text ? mm.text : "";
	d.text_len = mm.text ? mm.text_len : 0;
	d.metadata = meta;
	d.updated_at = date[0] ? date : mm.updated_at;
	rv = r->sink->doc(r->sink, &d);
	free(meta);
	mail_free(&mm);
	json_decref(m);
	return rv == -1 ? -1 : 0;
}

/* Every message id: each page's ids to fn. */
static int
gmail_list(struct gmail_run *r, int (*fn)(struct gmail_run *, const char *))
{
	struct gpage	 pg;
	json_t		*o;
	char		*path, *tok = NULL, *q = r->query ?
			    goauth_escape(r->query) : NULL;
	long long	 n = 0;
	size_t		 len;
	int		 rv = 0;

	do {
		len = 256 + (q ? strlen(q) : 0) + (tok ? strlen(tok) : 0);
		path = xcalloc(1, len);
		snprintf(path, len, GMAIL_PATH "/messages?maxResults=500%s%s"
		    "%s%s", q ? "&q=" : "", q ? q : "", tok ? "&pageToken=" :
		    "", tok ? tok : "");
		free(tok);
		tok = NULL;
		rv = get_json(r, path, &o);
		free(path);
		if (rv == 1)
			rv = gclient_fail(&r->g, 0, "the mailbox was not "
			    "found");
		if (rv != 0)
			break;
		rv = gjson_page(o, "messages", "id", &pg);
		json_decref(o);
		if (rv == -1) {
			rv = gclient_fail(&r->g, 0, "a message list page is "
			    "malformed");
			break;
		}
		for (size_t i = 0; i < pg.nids && rv == 0; i++) {
			if (++n > r->max)
				rv = gclient_fail(&r->g, 0, "more than "
				    "config.max_messages (%lld) messages",
				    r->max);
			else
				rv = fn(r, pg.ids[i]);
		}
		if (pg.next != NULL) {
			char *e = goauth_escape(pg.next);
			tok = e;
		}
		gjson_page_free(&pg);
	} while (rv == 0 && tok != NULL);
	free(tok);
	free(q);
	return rv;
}

static int
fetch_one(struct gmail_run *r, const char *id)
{
	return gmail_message(r, id) == -1 ? -1 : 0;
}

/* Incremental runs with deletions: keep what was not fetched. */
static int
keep_one(struct gmail_run *r, const char *id)
{
	for (size_t i = 0; i < r->nchanged; i++)
		if (strcmp(r->changed[i], id) == 0)
			return 0;
	return r->sink->keep(r->sink, id);
}

static int
profile_history(struct gmail_run *r, char *out, size_t outlen)
{
	json_t		*o;
	const char	*h;
	int		 rv;

	if ((rv = get_json(r, GMAIL_PATH "/profile", &o)) != 0)
		return rv == 1 ? gclient_fail(&r->g, 0, "the mailbox was not "
		    "found") : -1;
	h = gjson_id(o, "historyId");
	if (h == NULL || strlcpy(out, h, outlen) >= outlen) {
		json_decref(o);
		return gclient_fail(&r->g, 0, "the profile has no historyId");
	}
	json_decref(o);
	return 0;
}

static void
changed_add(struct gmail_run *r, const char *id)
{
	for (size_t i = 0; i < r->nchanged; i++)
		if (strcmp(r->changed[i], id) == 0)
			return;
	r->changed = xreallocarray(r->changed, r->nchanged + 1,
	    sizeof(*r->changed));
	r->changed[r->nchanged++] = xstrdup(id);
}

/*
 * users.history.list since start: 0 (changed in r, *deleted, the new
 * history id in out), 1 the history id is too old (404), -1 failed.
 */
static int
gmail_history(struct gmail_run *r, const char *start, int *deleted,
    char *out, size_t outlen)
{
	struct ghistory	 h;
	json_t		*o;
	char		*path, *tok = NULL, *s = goauth_escape(start);
	size_t		 len;
	int		 rv;

	*deleted = 0;
	do {
		len = 256 + strlen(s) + (tok ? strlen(tok) : 0);
		path = xcalloc(1, len);
		snprintf(path, len, GMAIL_PATH "/history?startHistoryId=%s&"
		    "maxResults=500%s%s", s, tok ? "&pageToken=" : "",
		    tok ? tok : "");
		free(tok);
		tok = NULL;
		rv = get_json(r, path, &o);
		free(path);
		if (rv != 0)
			break;
		rv = gjson_history(o, &h);
		json_decref(o);
		if (rv == -1) {
			rv = gclient_fail(&r->g, 0, "a history page is "
			    "malformed");
			break;
		}
		for (size_t i = 0; i < h.changed.nids; i++)
			changed_add(r, h.changed.ids[i]);
		for (size_t i = 0; i < h.deleted.nids; i++)
			changed_add(r, h.deleted.ids[i]);
		*deleted += h.deleted.nids > 0;
		strlcpy(out, h.history_id, outlen);
		if (h.changed.next != NULL)
			tok = goauth_escape(h.changed.next);
		gjson_history_free(&h);
	} while (tok != NULL);
	free(s);
	return rv;
}

static void
cursor_make(struct fetch_result *res, const char *hid)
{
	json_t	*o = json_pack("{s:s}", "history_id", hid);
	char	*t = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (t != NULL)
		strlcpy(res->cursor, t, sizeof(res->cursor));
	free(t);
	json_decref(o);
}

static const char *
cursor_history(const char *cursor, char *buf, size_t len)
{
	json_t		*o;
	const char	*h;

	if (cursor == NULL || cursor[0] == '\0' ||
	    (o = json_loads(cursor, 0, NULL)) == NULL)
		return NULL;
	h = gjson_id(o, "history_id");
	if (h == NULL || strlcpy(buf, h, len) >= len)
		buf[0] = '\0';
	json_decref(o);
	return buf[0] ? buf : NULL;
}

static int
gmail_incremental(struct gmail_run *r, const char *start,
    struct fetch_result *res)
{
	char	 hid[GJSON_MAX_ID + 1];
	int	 deleted, rv;

	strlcpy(hid, start, sizeof(hid));
	if ((rv = gmail_history(r, start, &deleted, hid, sizeof(hid))) != 0)
		return rv;
	/* a message deleted after it changed is simply gone: 1 */
	for (size_t i = 0; i < r->nchanged; i++)
		if (gmail_message(r, r->changed[i]) == -1)
			return -1;
	if (deleted && gmail_list(r, keep_one) == -1)
		return -1;
	res->complete = deleted > 0;
	cursor_make(res, hid);
	return 0;
}

static int
gmail_full(struct gmail_run *r, struct fetch_result *res)
{
	char	 hid[GJSON_MAX_ID + 1];

	if (profile_history(r, hid, sizeof(hid)) == -1 ||
	    gmail_list(r, fetch_one) == -1)
		return -1;
	res->complete = 1;
	cursor_make(res, hid);
	return 0;
}

static int
gmail_run(const struct fetch_job *job, struct fetch_sink *sink,
    struct fetch_result *res)
{
	struct gmail_run	 r;
	char			 buf[GJSON_MAX_ID + 1];
	const char		*start;
	int			 rv;

	memset(&r, 0, sizeof(r));
	r.sink = sink;
	if (gmail_conf(job->config, &r, res->error, sizeof(res->error)) == -1)
		return -1;
	if (gclient_open(&r.g, &r.c, job, sink, res) == -1) {
		gclient_close(&r.g);
		return -1;
	}
	start = cursor_history(job->cursor, buf, sizeof(buf));
	rv = start != NULL ? gmail_incremental(&r, start, res) : 1;
	if (rv == 1) {
		/* no cursor, or Google no longer has its history: resync */
		for (size_t i = 0; i < r.nchanged; i++)
			free(r.changed[i]);
		r.nchanged = 0;
		rv = gmail_full(&r, res);
	}
	for (size_t i = 0; i < r.nchanged; i++)
		free(r.changed[i]);
	free(r.changed);
	gclient_close(&r.g);
	return rv;
}

const struct connector conn_gmail = {
	.type = "gmail",
	.check = gmail_check,
	.sandbox = gmail_sandbox,
	.run = gmail_run,
};

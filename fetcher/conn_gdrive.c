/*
 * The gdrive connector: a user's Google Drive through the Drive v3 REST
 * API (files.list, files.get with alt=media, files.export,
 * changes.getStartPageToken and changes.list), OAuth 2.0 through
 * oauth.c.
 *
 * Google Docs are exported as text/plain (Sheets as text/csv), files
 * whose type is text-like are downloaded; everything else (folders,
 * images, PDFs, ...) is skipped.  The cursor is {"page_token": "..."},
 * a changes page token: a first run (or one whose token Drive refuses)
 * takes a start page token, lists every file and is complete; later runs
 * read the changes since the token and fetch the changed files only.
 * When files were removed or trashed the run also lists the Drive's ids
 * and keeps the unchanged ones, so it is complete and indexd deletes
 * what is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "fetcher/connector.h"
#include "fetcher/gjson.h"
#include "fetcher/oauth.h"

#define GDRIVE_API	"https://www.googleapis.com"
#define GDRIVE_SCOPE	"https://www.googleapis.com/auth/drive.readonly"
#define GDRIVE_PATH	"/drive/v3"
#define GDRIVE_FIELDS	"id,name,mimeType,modifiedTime,webViewLink,trashed"

static const char *const gdrive_members[] = { "max_files", NULL };

struct gdrive_run {
	struct gconf		 c;
	struct gclient		 g;
	long long		 max;
	struct fetch_sink	*sink;
	char			**changed;
	size_t			 nchanged;
};

static int
gdrive_conf(json_t *config, struct gdrive_run *r, char *err, size_t errlen)
{
	if (gconf_load(config, "gdrive", gdrive_members, GDRIVE_API,
	    GDRIVE_SCOPE, &r->c, err, errlen) == -1 ||
	    conf_int(config, "max_files", 1, 1000000, 100000, &r->max, err,
	    errlen) == -1)
		return -1;
	return 0;
}

static int
gdrive_check(json_t *config, char *err, size_t errlen)
{
	struct gdrive_run	 r;

	return gdrive_conf(config, &r, err, errlen);
}

static int
gdrive_sandbox(json_t *config, struct fetch_sandbox *sb, char *err,
    size_t errlen)
{
	struct gdrive_run	 r;

	if (gdrive_conf(config, &r, err, errlen) == -1)
		return -1;
	return gconf_sandbox(&r.c, sb, err, errlen);
}

static int
get_json(struct gdrive_run *r, const char *path, json_t **o)
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

/* How a file's text is had: its path suffix, or NULL to skip it. */
static const char *
text_how(const char *mime)
{
	static const char *const texty[] = { "application/json",
	    "application/xml", "application/javascript", "application/x-yaml",
	    "application/yaml", "application/x-sh", "application/sql" };

	if (mime == NULL)
		return NULL;
	if (strcmp(mime, "application/vnd.google-apps.document") == 0 ||
	    strcmp(mime, "application/vnd.google-apps.presentation") == 0)
		return "/export?mimeType=text%2Fplain";
	if (strcmp(mime, "application/vnd.google-apps.spreadsheet") == 0)
		return "/export?mimeType=text%2Fcsv";
	if (strncmp(mime, "text/", 5) == 0)
		return "?alt=media";
	for (size_t i = 0; i < nitems(texty); i++)
		if (strcmp(mime, texty[i]) == 0)
			return "?alt=media";
	return NULL;
}

/* One file (its metadata f) to the sink: 0, -1 failed. */
static int
gdrive_file(struct gdrive_run *r, json_t *f)
{
	struct fetch_doc d;
	struct gresp	 p;
	const char	*id = gjson_id(f, "id"), *how, *mime;
	char		 path[800], *id_e, *meta;
	json_t		*m;
	size_t		 n;
	int		 rv;

	if (id == NULL)
		return gclient_fail(&r->g, 0, "a file has no id");
	mime = json_string_value(json_object_get(f, "mimeType"));
	if ((how = text_how(mime)) == NULL ||
	    json_is_true(json_object_get(f, "trashed")))
		return 0;
	id_e = goauth_escape(id);
	snprintf(path, sizeof(path), GDRIVE_PATH "/files/%s%s", id_e, how);
	free(id_e);
	if ((rv = gclient_get(&r->g, path, &p)) == 1)
		return 0;		/* gone meanwhile */
	if (rv == -1)
		return -1;
	n = p.len < FETCH_MAX_BODY ? p.len : FETCH_MAX_BODY;
	while (n > 0 && n < p.len && ((uint8_t)p.body[n] & 0xc0) == 0x80)
		n--;
	if (memchr(p.body ? p.body : "", '\0', n) != NULL ||
	    !utf8_valid(p.body ? p.body : "", n)) {
		gresp_free(&p);
		return 0;		/* not text after all: skipped */
	}
	m = json_pack("{s:s}", "mime_type", mime);
	meta = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	memset(&d, 0, sizeof(d));
	d.external_id = id;
	d.title = json_string_value(json_object_get(f, "name"));
	d.url = json_string_value(json_object_get(f, "webViewLink"));
	if (d.url != NULL && strlen(d.url) > 2048)
		d.url = NULL;
	if (d.title != NULL && strlen(d.title) > 1024)
		d.title = NULL;
	d.text = p.body ? p.body : "";
	d.text_len = n;
	d.metadata = meta;
	d.updated_at = json_string_value(json_object_get(f, "modifiedTime"));
	rv = r->sink->doc(r->sink, &d);
	free(meta);
	gresp_free(&p);
	return rv;
}

static int
is_changed(struct gdrive_run *r, const char *id)
{
	for (size_t i = 0; i < r->nchanged; i++)
		if (strcmp(r->changed[i], id) == 0)
			return 1;
	return 0;
}

/* Every file not trashed; keep_only: keep the unchanged ones. */
static int
gdrive_list(struct gdrive_run *r, int keep_only)
{
	json_t		*o, *files, *f;
	char		*path, *tok = NULL;
	const char	*s;
	long long	 n = 0;
	size_t		 len, i;
	int		 rv = 0;

	do {
		len = 512 + (tok ? strlen(tok) : 0);
		path = xcalloc(1, len);
		snprintf(path, len, GDRIVE_PATH "/files?pageSize=1000&"
		    "q=trashed%%3Dfalse&fields=nextPageToken%%2Cfiles(%s)%s%s",
		    GDRIVE_FIELDS, tok ? "&pageToken=" : "", tok ? tok : "");
		free(tok);
		tok = NULL;
		rv = get_json(r, path, &o);
		free(path);
		if (rv == 1)
			rv = gclient_fail(&r->g, 0, "the Drive was not found");
		if (rv != 0)
			break;
		files = json_object_get(o, "files");
		if (files != NULL && !json_is_array(files))
			rv = gclient_fail(&r->g, 0, "a file list is malformed");
		json_array_foreach(files, i, f) {
			if (rv != 0)
				break;
			if (++n > r->max)
				rv = gclient_fail(&r->g, 0, "more than "
				    "config.max_files (%lld) files", r->max);
			else if (!keep_only)
				rv = gdrive_file(r, f);
			else if ((s = gjson_id(f, "id")) != NULL &&
			    !is_changed(r, s) && text_how(json_string_value(
			    json_object_get(f, "mimeType"))) != NULL)
				rv = r->sink->keep(r->sink, s);
		}
		if (rv == 0 && (s = json_string_value(json_object_get(o,
		    "nextPageToken"))) != NULL && strlen(s) <= GJSON_MAX_TOKEN)
			tok = goauth_escape(s);
		json_decref(o);
	} while (rv == 0 && tok != NULL);
	free(tok);
	return rv;
}

static void
cursor_make(struct fetch_result *res, const char *tok)
{
	json_t	*o = json_pack("{s:s}", "page_token", tok);
	char	*t = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (t != NULL && strlen(t) < sizeof(res->cursor))
		strlcpy(res->cursor, t, sizeof(res->cursor));
	free(t);
	json_decref(o);
}

static int
gdrive_full(struct gdrive_run *r, struct fetch_result *res)
{
	json_t		*o;
	const char	*tok;
	int		 rv;

	if ((rv = get_json(r, GDRIVE_PATH "/changes/startPageToken", &o)) != 0)
		return rv == 1 ? gclient_fail(&r->g, 0, "the Drive was not "
		    "found") : -1;
	if ((tok = gjson_id(o, "startPageToken")) == NULL) {
		json_decref(o);
		return gclient_fail(&r->g, 0, "no startPageToken");
	}
	cursor_make(res, tok);
	json_decref(o);
	if (gdrive_list(r, 0) == -1)
		return -1;
	res->complete = 1;
	return 0;
}

static void
changed_add(struct gdrive_run *r, const char *id)
{
	if (is_changed(r, id))
		return;
	r->changed = xreallocarray(r->changed, r->nchanged + 1,
	    sizeof(*r->changed));
	r->changed[r->nchanged++] = xstrdup(id);
}

/* The changes since tok: 0, 1 (the token is refused), -1. */
static int
gdrive_changes(struct gdrive_run *r, const char *start, int *removed,
    char **newtok)
{
	struct gchanges	 c;
	json_t		*o;
	char		*path, *tok = goauth_escape(start);
	size_t		 len;
	int		 rv;

	*removed = 0;
	*newtok = NULL;
	do {
		len = 256 + strlen(tok);
		path = xcalloc(1, len);
		snprintf(path, len, GDRIVE_PATH "/changes?pageToken=%s&"
		    "pageSize=1000&fields=nextPageToken%%2CnewStartPageToken"
		    "%%2Cchanges(changeType%%2CfileId%%2Cremoved%%2C"
		    "file(trashed))", tok);
		free(tok);
		tok = NULL;
		rv = get_json(r, path, &o);
		free(path);
		if (rv != 0)
			break;
		rv = gjson_changes(o, &c);
		json_decref(o);
		if (rv == -1) {
			rv = gclient_fail(&r->g, 0, "a changes page is "
			    "malformed");
			break;
		}
		for (size_t i = 0; i < c.changed.nids; i++)
			changed_add(r, c.changed.ids[i]);
		for (size_t i = 0; i < c.removed.nids; i++)
			changed_add(r, c.removed.ids[i]);
		*removed += c.removed.nids > 0;
		if (c.changed.next != NULL)
			tok = goauth_escape(c.changed.next);
		else
			*newtok = xstrdup(c.new_start);
		gjson_changes_free(&c);
	} while (tok != NULL);
	return rv;
}

static int
gdrive_incremental(struct gdrive_run *r, const char *start,
    struct fetch_result *res)
{
	char	 path[800], *newtok, *id_e;
	json_t	*f;
	int	 removed, rv;

	if ((rv = gdrive_changes(r, start, &removed, &newtok)) != 0)
		return rv;
	for (size_t i = 0; i < r->nchanged && rv == 0; i++) {
		id_e = goauth_escape(r->changed[i]);
		snprintf(path, sizeof(path), GDRIVE_PATH "/files/%s?fields=%s",
		    id_e, GDRIVE_FIELDS);
		free(id_e);
		if ((rv = get_json(r, path, &f)) == 1) {
			rv = 0;		/* deleted for good */
			continue;
		}
		if (rv == 0)
			rv = gdrive_file(r, f);
		json_decref(f);
	}
	if (rv == 0 && removed)
		rv = gdrive_list(r, 1);
	if (rv == 0) {
		res->complete = removed > 0;
		cursor_make(res, newtok);
	}
	free(newtok);
	return rv == 0 ? 0 : -1;
}

static const char *
cursor_token(const char *cursor, char *buf, size_t len)
{
	json_t		*o;
	const char	*t;

	buf[0] = '\0';
	if (cursor == NULL || cursor[0] == '\0' ||
	    (o = json_loads(cursor, 0, NULL)) == NULL)
		return NULL;
	t = json_string_value(json_object_get(o, "page_token"));
	if (t != NULL && strlcpy(buf, t, len) >= len)
		buf[0] = '\0';
	json_decref(o);
	return buf[0] ? buf : NULL;
}

static int
gdrive_run(const struct fetch_job *job, struct fetch_sink *sink,
    struct fetch_result *res)
{
	struct gdrive_run	 r;
	char			 buf[FETCH_MAX_CURSOR];
	const char		*start;
	int			 rv;

	memset(&r, 0, sizeof(r));
	r.sink = sink;
	if (gdrive_conf(job->config, &r, res->error, sizeof(res->error)) == -1)
		return -1;
	if (gclient_open(&r.g, &r.c, job, sink, res) == -1) {
		gclient_close(&r.g);
		return -1;
	}
	start = cursor_token(job->cursor, buf, sizeof(buf));
	rv = start != NULL ? gdrive_incremental(&r, start, res) : 1;
	if (rv == 1) {
		for (size_t i = 0; i < r.nchanged; i++)
			free(r.changed[i]);
		r.nchanged = 0;
		rv = gdrive_full(&r, res);
	}
	for (size_t i = 0; i < r.nchanged; i++)
		free(r.changed[i]);
	free(r.changed);
	gclient_close(&r.g);
	return rv;
}

const struct connector conn_gdrive = {
	.type = "gdrive",
	.check = gdrive_check,
	.sandbox = gdrive_sandbox,
	.run = gdrive_run,
};

/* Google API responses (see gjson.h). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "fetcher/gjson.h"

json_t *
gjson_load(const char *body, size_t len)
{
	json_error_t	 jerr;
	json_t		*o;

	if (body == NULL || len == 0 || len > GJSON_MAX_BODY)
		return NULL;
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	/* jerr may quote the body, which may hold a token */
	explicit_bzero(&jerr, sizeof(jerr));
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A string without NUL or control bytes, 1..max bytes. */
static const char *
str_ok(json_t *v, size_t max)
{
	const char	*s;
	size_t		 n;

	if (!json_is_string(v) || (n = json_string_length(v)) == 0 || n > max)
		return NULL;
	s = json_string_value(v);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return NULL;
	return strlen(s) == n ? s : NULL;
}

const char *
gjson_id(json_t *o, const char *member)
{
	return str_ok(json_object_get(o, member), GJSON_MAX_ID);
}

static void
wipe_strings(json_t *v)
{
	const char	*k;
	json_t		*m;

	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v),
		    json_string_length(v));
	else if (json_is_object(v))
		json_object_foreach(v, k, m)
			wipe_strings(m);
}

int
gjson_token(const char *body, size_t len, struct gtoken *t)
{
	json_t		*o, *v;
	const char	*a, *r;
	int		 rv = -1;

	memset(t, 0, sizeof(*t));
	if ((o = gjson_load(body, len)) == NULL)
		return -1;
	a = str_ok(json_object_get(o, "access_token"), GJSON_MAX_TOKEN);
	v = json_object_get(o, "refresh_token");
	r = str_ok(v, GJSON_MAX_TOKEN);
	t->expires_in = 3600;
	if (json_object_get(o, "expires_in") != NULL) {
		json_int_t n = json_integer_value(json_object_get(o,
		    "expires_in"));
		t->expires_in = json_is_integer(json_object_get(o,
		    "expires_in")) && n > 0 && n <= 365 * 86400 ? n : -1;
	}
	if (a != NULL && (v == NULL || r != NULL) && t->expires_in > 0) {
		t->access_token = xstrdup(a);
		t->refresh_token = r != NULL ? xstrdup(r) : NULL;
		rv = 0;
	}
	wipe_strings(o);
	json_decref(o);
	return rv;
}

void
gjson_token_free(struct gtoken *t)
{
	if (t->access_token != NULL)
		freezero(t->access_token, strlen(t->access_token));
	if (t->refresh_token != NULL)
		freezero(t->refresh_token, strlen(t->refresh_token));
	memset(t, 0, sizeof(*t));
}

static int
code_ok(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

void
gjson_error(const char *body, size_t len, char *code, size_t codelen)
{
	json_t		*o, *e;
	const char	*s = NULL;

	if (codelen > 0)
		code[0] = '\0';
	if ((o = gjson_load(body, len)) == NULL)
		return;
	e = json_object_get(o, "error");
	if (json_is_string(e))
		s = json_string_value(e);
	else if (json_is_object(e))
		s = json_string_value(json_object_get(e, "status"));
	if (s != NULL && code_ok(s))
		strlcpy(code, s, codelen);
	json_decref(o);
}

static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

uint8_t *
gjson_b64url(const char *in, size_t len, size_t *outlen)
{
	uint8_t		*out;
	uint32_t	 acc = 0;
	size_t		 o = 0;
	int		 bits = 0, v;

	*outlen = 0;
	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len > GJSON_MAX_BODY || len % 4 == 1)
		return NULL;
	out = xcalloc(1, len / 4 * 3 + 3);
	for (size_t i = 0; i < len; i++) {
		if ((v = b64url_val((unsigned char)in[i])) == -1) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static void
page_add(struct gpage *p, const char *id)
{
	for (size_t i = 0; i < p->nids; i++)
		if (strcmp(p->ids[i], id) == 0)
			return;
	if (p->nids < GJSON_MAX_IDS)
		p->ids[p->nids++] = xstrdup(id);
}

int
gjson_page(json_t *o, const char *array, const char *member,
    struct gpage *p)
{
	json_t		*a, *e;
	const char	*id;
	size_t		 i;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o))
		return -1;
	a = json_object_get(o, array);
	if (a != NULL && (!json_is_array(a) || json_array_size(a) >
	    GJSON_MAX_IDS))
		return -1;
	json_array_foreach(a, i, e) {
		if ((id = gjson_id(e, member)) == NULL) {
			gjson_page_free(p);
			return -1;
		}
		page_add(p, id);
	}
	if (json_object_get(o, "nextPageToken") != NULL) {
		if ((id = str_ok(json_object_get(o, "nextPageToken"),
		    GJSON_MAX_TOKEN)) == NULL) {
			gjson_page_free(p);
			return -1;
		}
		p->next = xstrdup(id);
	}
	return 0;
}

void
gjson_page_free(struct gpage *p)
{
	for (size_t i = 0; i < p->nids; i++)
		free(p->ids[i]);
	free(p->next);
	memset(p, 0, sizeof(*p));
}

/* history[].<kind>[].message.id into p */
static int
history_kind(json_t *rec, const char *kind, struct gpage *p)
{
	json_t		*a, *e;
	const char	*id;
	size_t		 i;

	if ((a = json_object_get(rec, kind)) == NULL)
		return 0;
	if (!json_is_array(a))
		return -1;
	json_array_foreach(a, i, e) {
		if ((id = gjson_id(json_object_get(e, "message"), "id")) ==
		    NULL)
			return -1;
		page_add(p, id);
	}
	return 0;
}

int
gjson_history(json_t *o, struct ghistory *h)
{
	static const char *const changed[] = { "messagesAdded", "labelsAdded",
	    "labelsRemoved" };
	json_t		*a, *rec;
	const char	*s;
	size_t		 i;

	memset(h, 0, sizeof(*h));
	if (!json_is_object(o) || (s = gjson_id(o, "historyId")) == NULL)
		return -1;
	h->history_id = xstrdup(s);
	a = json_object_get(o, "history");
	if (a != NULL && (!json_is_array(a) || json_array_size(a) >
	    GJSON_MAX_IDS))
		goto bad;
	json_array_foreach(a, i, rec) {
		for (size_t k = 0; k < nitems(changed); k++)
			if (history_kind(rec, changed[k], &h->changed) == -1)
				goto bad;
		if (history_kind(rec, "messagesDeleted", &h->deleted) == -1)
			goto bad;
	}
	if (json_object_get(o, "nextPageToken") != NULL) {
		if ((s = str_ok(json_object_get(o, "nextPageToken"),
		    GJSON_MAX_TOKEN)) == NULL)
			goto bad;
		h->changed.next = xstrdup(s);
	}
	return 0;
 bad:
	gjson_history_free(h);
	return -1;
}

void
gjson_history_free(struct ghistory *h)
{
	gjson_page_free(&h->changed);
	gjson_page_free(&h->deleted);
	free(h->history_id);
	memset(h, 0, sizeof(*h));
}

int
gjson_changes(json_t *o, struct gchanges *c)
{
	json_t		*a, *ch, *f;
	const char	*s, *id;
	size_t		 i;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(o))
		return -1;
	a = json_object_get(o, "changes");
	if (a != NULL && (!json_is_array(a) || json_array_size(a) >
	    GJSON_MAX_IDS))
		return -1;
	json_array_foreach(a, i, ch) {
		/* a shared drive's change has no fileId: not ours */
		if ((s = json_string_value(json_object_get(ch, "changeType")))
		    != NULL && strcmp(s, "file") != 0)
			continue;
		if ((id = gjson_id(ch, "fileId")) == NULL)
			goto bad;
		f = json_object_get(ch, "file");
		if (json_is_true(json_object_get(ch, "removed")) ||
		    json_is_true(json_object_get(f, "trashed")))
			page_add(&c->removed, id);
		else
			page_add(&c->changed, id);
	}
	if (json_object_get(o, "nextPageToken") != NULL) {
		if ((s = str_ok(json_object_get(o, "nextPageToken"),
		    GJSON_MAX_TOKEN)) == NULL)
			goto bad;
		c->changed.next = xstrdup(s);
	}
	if (json_object_get(o, "newStartPageToken") != NULL) {
		if ((s = str_ok(json_object_get(o, "newStartPageToken"),
		    GJSON_MAX_TOKEN)) == NULL)
			goto bad;
		c->new_start = xstrdup(s);
	}
	if (c->changed.next == NULL && c->new_start == NULL)
		goto bad;	/* one of them ends every page */
	return 0;
 bad:
	gjson_changes_free(c);
	return -1;
}

void
gjson_changes_free(struct gchanges *c)
{
	gjson_page_free(&c->changed);
	gjson_page_free(&c->removed);
	free(c->new_start);
	memset(c, 0, sizeof(*c));
}

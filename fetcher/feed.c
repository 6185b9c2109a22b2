/*
 * RSS, Atom and JSON feeds into items (see feed.h).
 *
 * The XML side is a tokenizer driven straight into the feed's state: a
 * stack of open element names, the item being read (RSS <item>, Atom
 * <entry>) and at most one field being captured (text and CDATA below a
 * known child of the item).  It is not a validating parser: it reads
 * what feeds carry and refuses what could make it expensive (DOCTYPE
 * and its entities, deep nesting, huge input).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/util.h"
#include "fetcher/feed.h"
#include "fetcher/html.h"

#define XML_MAX_ATTRS	16
#define RAW_MAX_ID	4096	/* longer ids are hashed, so read a little more */
#define RAW_MAX_TITLE	(4 * FEED_MAX_TITLE)	/* may be HTML */

struct buf {
	char	*p;
	size_t	 len, cap, max;
};

enum field {
	F_ID, F_TITLE, F_LINK, F_TEXT, F_SUMMARY, F_AUTHOR, F_UPDATED,
	F_PUBLISHED, F_COUNT, F_NONE = F_COUNT
};

static const size_t field_max[F_COUNT] = {
	RAW_MAX_ID, RAW_MAX_TITLE, FEED_MAX_URL + 1, FEED_MAX_TEXT,
	FEED_MAX_TEXT, FEED_MAX_AUTHOR, FEED_MAX_DATE, FEED_MAX_DATE,
};

struct xname {
	const char	*p;
	size_t		 len;
};

struct xattr {
	struct xname	 name;
	struct xname	 val;		/* raw, entities not decoded */
};

struct xp {
	const char	*p, *end;
	struct xname	 stack[FEED_MAX_DEPTH];
	int		 depth;
	int		 root_done;
	int		 atom;
	int		 item_depth;	/* stack index of the item, or -1 */
	enum field	 cap;		/* field being captured */
	int		 cap_depth;
	struct buf	 f[F_COUNT];
	int		 html[F_COUNT];	/* captured text is HTML */
	int		 guid_link;	/* RSS guid isPermaLink (default) */
	struct feed	*feed;
	char		*err;
	size_t		 errlen;
};

/* -- buffers and UTF-8 ------------------------------------------------ */

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	size_t	 room = b->max > b->len ? b->max - b->len : 0;

	if (n > room)
		n = room;
	if (n == 0)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t	 ncap = b->cap ? b->cap : 64;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		b->p = xreallocarray(b->p, 1, ncap);
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_reset(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void
put_utf8(struct buf *b, unsigned long c)
{
	char	 u[4];

	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		c = 0xfffd;
	if (c < 0x80) {
		u[0] = (char)c;
		buf_add(b, u, 1);
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3f));
		u[2] = (char)(0x80 | (c >> 6 & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 4);
	}
}

/* Length of the valid UTF-8 sequence at s (not NUL), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t	 len, i;
	unsigned long c;

	if (s[0] == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

char *
feed_utf8(const char *s, size_t len, size_t *outlen)
{
	struct buf	 b = { NULL, 0, 0, (size_t)-1 };
	size_t		 i = 0, n;

	buf_add(&b, "", 0);
	while (i < len) {
		if ((n = utf8_seq((const unsigned char *)s + i, len - i)) == 0) {
			put_utf8(&b, 0xfffd);
			i++;
		} else {
			buf_add(&b, s + i, n);
			i += n;
		}
	}
	if (b.p == NULL)
		b.p = xcalloc(1, 1);
	if (outlen != NULL)
		*outlen = b.len;
	return b.p;
}

/* Longest prefix of valid UTF-8 s of at most max bytes. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* A trimmed, repaired, capped copy of s; NULL when empty. */
static char *
clean(const char *s, size_t len, size_t max)
{
	char	*out;
	size_t	 n;

	while (len > 0 && isspace((unsigned char)*s))
		s++, len--;
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return NULL;
	out = feed_utf8(s, len, &n);
	out[utf8_cut(out, n, max)] = '\0';
	return out;
}

/* -- entities -------------------------------------------------------- */

/* XML's five; anything else stays text (no DTD, so none is defined). */
static const struct {
	const char	*name;
	unsigned long	 c;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' },
};

/*
 * The entity at s ("&...;"): its code point and length, or 0 when it is
 * none we know (the '&' is then kept as text).
 */
static size_t
entity(const char *s, size_t n, unsigned long *c)
{
	const char	*semi;
	size_t		 len, i;
	char		*ep;
	char		 num[12];

	if (n < 3 || (semi = memchr(s, ';', n < 12 ? n : 12)) == NULL)
		return 0;
	len = semi - s + 1;
	if (s[1] == '#') {
		int	 hex = s[2] == 'x' || s[2] == 'X';
		size_t	 start = hex ? 3 : 2;

		if (len - 1 - start == 0 || len - 1 - start >= sizeof(num))
			return 0;
		memcpy(num, s + start, len - 1 - start);
		num[len - 1 - start] = '\0';
		for (i = 0; num[i] != '\0'; i++)
			if (hex ? !isxdigit((unsigned char)num[i]) :
			    !isdigit((unsigned char)num[i]))
				return 0;
		*c = strtoul(num, &ep, hex ? 16 : 10);
		return len;
	}
	for (i = 0; i < nitems(entities); i++)
		if (strlen(entities[i].name) == len - 2 &&
		    memcmp(entities[i].name, s + 1, len - 2) == 0) {
			*c = entities[i].c;
			return len;
		}
	return 0;
}

/* Appends s with entities decoded. */
static void
decode_add(struct buf *b, const char *s, size_t n)
{
	const char	*amp;
	unsigned long	 c;
	size_t		 elen;

	while (n > 0 && b->len < b->max) {
		if ((amp = memchr(s, '&', n)) == NULL) {
			buf_add(b, s, n);
			return;
		}
		buf_add(b, s, amp - s);
		n -= amp - s;
		s = amp;
		if ((elen = entity(s, n, &c)) == 0) {
			buf_add(b, "&", 1);
			s++, n--;
		} else {
			put_utf8(b, c);
			s += elen, n -= elen;
		}
	}
}

/* -- HTML to text ---------------------------------------------------- */

char *
feed_html_text(const char *html, size_t len, size_t *outlen)
{
	char	*out;

	/* fields are capped below HTML_MAX_INPUT: NULL is out of memory */
	if ((out = html_to_text(html, len, outlen, NULL, 0)) == NULL)
		fatalx("%s: html_to_text failed", __func__);
	return out;
}

/* -- dates ----------------------------------------------------------- */

static int
month_of(const char *m)
{
	static const char *const months[] = { "jan", "feb", "mar", "apr",
	    "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" };

	for (int i = 0; i < 12; i++)
		if (strncasecmp(m, months[i], 3) == 0)
			return i;
	return -1;
}

/* A zone: "Z", "GMT", "EST", "+0100", "-07:00": seconds east, or -1. */
static int
zone_of(const char *z, long *off)
{
	static const struct { const char *n; int h; } names[] = {
		{ "Z", 0 }, { "UT", 0 }, { "UTC", 0 }, { "GMT", 0 },
		{ "EST", -5 }, { "EDT", -4 }, { "CST", -6 }, { "CDT", -5 },
		{ "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	int	 h, m, sign;

	*off = 0;
	if (*z == '\0')
		return 0;
	for (size_t i = 0; i < nitems(names); i++)
		if (strcasecmp(z, names[i].n) == 0) {
			*off = names[i].h * 3600L;
			return 0;
		}
	if ((z[0] != '+' && z[0] != '-') || !isdigit((unsigned char)z[1]) ||
	    !isdigit((unsigned char)z[2]))
		return -1;
	sign = z[0] == '-' ? -1 : 1;
	h = (z[1] - '0') * 10 + (z[2] - '0');
	z += 3;
	if (*z == ':')
		z++;
	if (!isdigit((unsigned char)z[0]) || !isdigit((unsigned char)z[1]) ||
	    z[2] != '\0')
		return -1;
	m = (z[0] - '0') * 10 + (z[1] - '0');
	if (h > 23 || m > 59)
		return -1;
	*off = (h * 3600L + m * 60L) * sign;
	return 0;
}

static int
date_out(struct tm *tm, long off, char *out, size_t outlen)
{
	time_t	 t;
	struct tm gm;

	if (tm->tm_year < 0 || tm->tm_year > 8099 || tm->tm_mon < 0 ||
	    tm->tm_mon > 11 || tm->tm_mday < 1 || tm->tm_mday > 31 ||
	    tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
		return -1;
	t = timegm(tm) - off;
	if (gmtime_r(&t, &gm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &gm) == 0)
		return -1;
	return 0;
}

static int
date_iso(const char *s, char *out, size_t outlen)
{
	struct tm	 tm;
	long		 off;
	int		 n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &n) != 3 || n != 10)
		return -1;
	s += n;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		n = 0;
		if (sscanf(s + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &n) != 2 ||
		    n != 5)
			return -1;
		s += 1 + n;
		if (*s == ':') {
			if (!isdigit((unsigned char)s[1]) ||
			    !isdigit((unsigned char)s[2]))
				return -1;
			tm.tm_sec = (s[1] - '0') * 10 + (s[2] - '0');
			s += 3;
			if (*s == '.' || *s == ',')
				for (s++; isdigit((unsigned char)*s); s++)
					;
		}
	}
	if (zone_of(s, &off) == -1)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon--;
	return date_out(&tm, off, out, outlen);
}

static int
date_822(const char *s, char *out, size_t outlen)
{
	struct tm	 tm;
	char		 mon[4], zone[8] = "";
	long		 off;
	int		 n = 0, m;

	memset(&tm, 0, sizeof(tm));
	if (isalpha((unsigned char)*s)) {	/* day of the week */
		while (isalpha((unsigned char)*s))
			s++;
		if (*s == ',')
			s++;
	}
	if (sscanf(s, " %2d %3s %4d %2d:%2d%n", &tm.tm_mday, mon, &tm.tm_year,
	    &tm.tm_hour, &tm.tm_min, &n) != 5 || (m = month_of(mon)) == -1)
		return -1;
	s += n;
	if (*s == ':') {
		if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
			return -1;
		tm.tm_sec = (s[1] - '0') * 10 + (s[2] - '0');
		s += 3;
	}
	while (*s == ' ')
		s++;
	if (sscanf(s, "%7s", zone) == 1 && strlen(s) != strlen(zone))
		return -1;
	if (zone_of(zone, &off) == -1)
		return -1;
	tm.tm_mon = m;
	if (tm.tm_year < 100)			/* RFC 822's two digits */
		tm.tm_year += tm.tm_year < 50 ? 2000 : 1900;
	tm.tm_year -= 1900;
	return date_out(&tm, off, out, outlen);
}

int
feed_date(const char *in, char *out, size_t outlen)
{
	const char	*errstr;
	char		 s[FEED_MAX_DATE + 1];
	size_t		 i, len;
	long long	 secs;

	while (isspace((unsigned char)*in))
		in++;
	if ((len = strlen(in)) == 0 || len > FEED_MAX_DATE)
		return -1;
	memcpy(s, in, len + 1);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	for (i = 0; i < len && isdigit((unsigned char)s[i]); i++)
		;
	if (i == len) {
		struct tm	 tm;
		time_t		 t;

		secs = strtonum(s, 0, 253402300799LL, &errstr);
		t = (time_t)secs;
		if (errstr != NULL || gmtime_r(&t, &tm) == NULL)
			return -1;
		return date_out(&tm, 0, out, outlen);
	}
	if (len >= 10 && isdigit((unsigned char)s[0]) && s[4] == '-')
		return date_iso(s, out, outlen);
	return date_822(s, out, outlen);
}

/* -- items ----------------------------------------------------------- */

static char *
sha256_hex(const char *a, const char *b, const char *c)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[32];
	unsigned int	 mdlen = 0;
	char		*out = xcalloc(1, 65);

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, strlen(a)) != 1 ||
	    EVP_DigestUpdate(ctx, "\n", 1) != 1 ||
	    EVP_DigestUpdate(ctx, b, strlen(b)) != 1 ||
	    EVP_DigestUpdate(ctx, "\n", 1) != 1 ||
	    EVP_DigestUpdate(ctx, c, strlen(c)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		fatalx("%s: SHA-256 failed", __func__);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return out;
}

/* An item's fields as read, before cleaning. */
struct raw_item {
	const char	*id, *title, *link, *text, *author, *updated;
	const char	*published;
	size_t		 id_len, title_len, link_len, text_len, author_len;
	int		 title_html, text_html;
};

static char *
item_text(const struct raw_item *r, size_t *len)
{
	char	*t, *out;
	size_t	 n;

	*len = 0;
	if (r->text == NULL)
		return NULL;
	if (r->text_html) {
		t = feed_html_text(r->text, r->text_len, &n);
		out = clean(t, n, FEED_MAX_TEXT);
		free(t);
	} else
		out = clean(r->text, r->text_len, FEED_MAX_TEXT);
	if (out != NULL)
		*len = strlen(out);
	return out;
}

static char *
item_title(const struct raw_item *r)
{
	char	*t, *out;
	size_t	 n;

	if (r->title == NULL)
		return NULL;
	if (!r->title_html)
		return clean(r->title, r->title_len, FEED_MAX_TITLE);
	t = feed_html_text(r->title, r->title_len, &n);
	out = clean(t, n, FEED_MAX_TITLE);
	free(t);
	return out;
}

/* id: the item's own, else its link, else a hash of what it shows. */
static char *
item_id(const struct raw_item *r, const struct feed_item *it)
{
	char	*id, *h;

	if (r->id != NULL && (id = clean(r->id, r->id_len, RAW_MAX_ID)) !=
	    NULL) {
		if (strlen(id) <= FEED_MAX_ID)
			return id;
		h = sha256_hex(id, "", "");
		free(id);
		return h;
	}
	if (it->url != NULL)
		return xstrdup(it->url);
	return sha256_hex(it->title ? it->title : "", "",
	    it->title ? "" : (it->text ? it->text : ""));
}

static void
item_date(const struct raw_item *r, struct feed_item *it)
{
	char	 d[32];

	if ((r->updated != NULL && feed_date(r->updated, d, sizeof(d)) == 0) ||
	    (r->published != NULL && feed_date(r->published, d,
	    sizeof(d)) == 0))
		it->updated = xstrdup(d);
}

/* Adds an item; skips one with nothing in it, stops at the cap. */
static void
item_add(struct feed *f, const struct raw_item *r)
{
	struct feed_item	 it;

	if (f->nitems >= FEED_MAX_ITEMS) {
		f->truncated = 1;
		return;
	}
	memset(&it, 0, sizeof(it));
	it.title = item_title(r);
	if (r->link != NULL && (it.url = clean(r->link, r->link_len,
	    FEED_MAX_URL + 1)) != NULL && strlen(it.url) > FEED_MAX_URL) {
		free(it.url);
		it.url = NULL;
	}
	it.text = item_text(r, &it.text_len);
	if (r->author != NULL)
		it.author = clean(r->author, r->author_len, FEED_MAX_AUTHOR);
	item_date(r, &it);
	if (r->id == NULL && it.title == NULL && it.url == NULL &&
	    it.text == NULL) {
		free(it.author);
		free(it.updated);
		return;
	}
	it.id = item_id(r, &it);
	if (f->nitems % 64 == 0)
		f->items = xreallocarray(f->items, f->nitems + 64,
		    sizeof(*f->items));
	f->items[f->nitems++] = it;
}

void
feed_free(struct feed *f)
{
	for (size_t i = 0; i < f->nitems; i++) {
		struct feed_item *it = &f->items[i];

		free(it->id);
		free(it->title);
		free(it->url);
		free(it->text);
		free(it->author);
		free(it->updated);
	}
	free(f->items);
	free(f->next);
	memset(f, 0, sizeof(*f));
}

/* -- XML ------------------------------------------------------------- */

static int
xerr(struct xp *x, const char *msg)
{
	snprintf(x->err, x->errlen, "%s", msg);
	return -1;
}

static int
name_is(const struct xname *n, const char *s)
{
	return n->len == strlen(s) && memcmp(n->p, s, n->len) == 0;
}

/*
 * Local name and prefix class: 0 for no prefix (or "atom:", which some
 * RSS feeds use for Atom elements), else the prefix, so "media:title"
 * never passes for a title.
 */
static struct xname
local_name(const struct xname *n, struct xname *prefix)
{
	const char	*colon = memchr(n->p, ':', n->len);
	struct xname	 l = *n;

	prefix->p = n->p;
	prefix->len = 0;
	if (colon != NULL) {
		prefix->len = colon - n->p;
		l.p = colon + 1;
		l.len = n->len - prefix->len - 1;
	}
	if (name_is(prefix, "atom"))
		prefix->len = 0;
	return l;
}

static char *
attr_get(const struct xattr *a, size_t na, const char *name)
{
	struct buf	 b = { NULL, 0, 0, 8192 };
	char		*out;

	for (size_t i = 0; i < na; i++) {
		if (!name_is(&a[i].name, name))
			continue;
		decode_add(&b, a[i].val.p, a[i].val.len);
		out = clean(b.p ? b.p : "", b.len, 8192);
		buf_reset(&b);
		return out;
	}
	return NULL;
}

static void
item_begin(struct xp *x, int d)
{
	x->item_depth = d;
	x->cap = F_NONE;
	x->guid_link = 0;
	for (int i = 0; i < F_COUNT; i++) {
		buf_reset(&x->f[i]);
		x->f[i].max = field_max[i];
		x->html[i] = 0;
	}
}

static void
item_end(struct xp *x)
{
	struct raw_item	 r;
	struct buf	*f = x->f;

	memset(&r, 0, sizeof(r));
#define RAW(fld, i)	do { r.fld = f[i].p; r.fld##_len = f[i].len; } while (0)
	RAW(id, F_ID);
	RAW(title, F_TITLE);
	RAW(link, F_LINK);
	RAW(author, F_AUTHOR);
#undef RAW
	if (r.link == NULL && x->guid_link) {
		r.link = f[F_ID].p;
		r.link_len = f[F_ID].len;
	}
	/* the full content over the summary */
	if (f[F_TEXT].p != NULL) {
		r.text = f[F_TEXT].p;
		r.text_len = f[F_TEXT].len;
		r.text_html = x->html[F_TEXT];
	} else if (f[F_SUMMARY].p != NULL) {
		r.text = f[F_SUMMARY].p;
		r.text_len = f[F_SUMMARY].len;
		r.text_html = x->html[F_SUMMARY];
	}
	r.title_html = x->html[F_TITLE];
	r.updated = f[F_UPDATED].p;
	r.published = f[F_PUBLISHED].p;
	item_add(x->feed, &r);
	for (int i = 0; i < F_COUNT; i++)
		buf_reset(&f[i]);
	x->item_depth = -1;
}

/* Atom's type attribute: text stays, html and xhtml are stripped. */
static int
atom_html(const struct xattr *a, size_t na)
{
	char	*type = attr_get(a, na, "type");
	int	 html;

	html = type != NULL && (strcmp(type, "html") == 0 ||
	    strcmp(type, "xhtml") == 0 || strcmp(type, "text/html") == 0);
	free(type);
	return html;
}

/* <link>: Atom's href/rel, into the item's url or the feed's next. */
static void
link_attrs(struct xp *x, const struct xattr *a, size_t na, int in_item)
{
	char	*href = attr_get(a, na, "href"), *rel = attr_get(a, na, "rel");

	if (href == NULL)
		goto done;
	if (rel != NULL && strcmp(rel, "next") == 0) {
		if (!in_item && x->feed->next == NULL) {
			x->feed->next = href;
			href = NULL;
		}
	} else if (in_item && (rel == NULL || strcmp(rel, "alternate") == 0) &&
	    x->f[F_LINK].p == NULL)
		buf_add(&x->f[F_LINK], href, strlen(href));
done:
	free(href);
	free(rel);
}

static enum field
rss_field(const struct xname *pre, const struct xname *l)
{
	if (pre->len == 0) {
		if (name_is(l, "title"))
			return F_TITLE;
		if (name_is(l, "link"))
			return F_LINK;
		if (name_is(l, "guid"))
			return F_ID;
		if (name_is(l, "description"))
			return F_SUMMARY;
		if (name_is(l, "author"))
			return F_AUTHOR;
		if (name_is(l, "pubDate"))
			return F_UPDATED;
	} else if (name_is(pre, "content") && name_is(l, "encoded"))
		return F_TEXT;
	else if (name_is(pre, "dc") && name_is(l, "creator"))
		return F_AUTHOR;
	else if (name_is(pre, "dc") && name_is(l, "date"))
		return F_PUBLISHED;
	return F_NONE;
}

static enum field
atom_field(const struct xname *l)
{
	static const struct { const char *n; enum field f; } names[] = {
		{ "id", F_ID }, { "title", F_TITLE }, { "content", F_TEXT },
		{ "summary", F_SUMMARY }, { "updated", F_UPDATED },
		{ "published", F_PUBLISHED },
	};

	for (size_t i = 0; i < nitems(names); i++)
		if (name_is(l, names[i].n))
			return names[i].f;
	return F_NONE;
}

/* A start tag (the name is already on the stack at x->depth - 1). */
static int
elem_start(struct xp *x, const struct xattr *a, size_t na)
{
	struct xname	 pre, l = local_name(&x->stack[x->depth - 1], &pre);
	int		 d = x->depth - 1;
	enum field	 fld;

	if (d == 0) {
		if (name_is(&l, "feed"))
			x->atom = 1;
		else if (!name_is(&l, "rss") && !name_is(&l, "RDF"))
			return xerr(x, "the document is neither RSS nor Atom");
		return 0;
	}
	if (x->cap != F_NONE)
		return 0;		/* markup inside a field (xhtml) */
	if (x->item_depth < 0) {
		if (pre.len == 0 && name_is(&l, x->atom ? "entry" : "item"))
			item_begin(x, d);
		else if (pre.len == 0 && name_is(&l, "link") &&
		    d <= (x->atom ? 1 : 2))
			link_attrs(x, a, na, 0);
		return 0;
	}
	if (x->atom && d == x->item_depth + 2 && pre.len == 0 &&
	    name_is(&l, "name") && name_is(&x->stack[d - 1], "author") &&
	    x->f[F_AUTHOR].p == NULL) {
		x->cap = F_AUTHOR;
		x->cap_depth = d;
		return 0;
	}
	if (d != x->item_depth + 1)
		return 0;
	if (x->atom && pre.len == 0 && name_is(&l, "link")) {
		link_attrs(x, a, na, 1);
		return 0;
	}
	fld = x->atom ? (pre.len == 0 ? atom_field(&l) : F_NONE) :
	    rss_field(&pre, &l);
	if (fld == F_NONE || x->f[fld].p != NULL)
		return 0;		/* unknown, or the first one won */
	if (fld == F_ID && !x->atom) {
		char	*perma = attr_get(a, na, "isPermaLink");

		x->guid_link = perma == NULL || strcmp(perma, "false") != 0;
		free(perma);
	}
	x->html[fld] = x->atom ? atom_html(a, na) :
	    (fld == F_TEXT || fld == F_SUMMARY);
	x->cap = fld;
	x->cap_depth = d;
	buf_add(&x->f[fld], "", 0);	/* present, even when empty */
	if (x->f[fld].p == NULL)
		x->f[fld].p = xcalloc(1, 1);
	return 0;
}

static void
elem_end(struct xp *x)
{
	int	 d = x->depth - 1;

	if (x->cap != F_NONE && d == x->cap_depth)
		x->cap = F_NONE;
	else if (x->item_depth >= 0 && d == x->item_depth)
		item_end(x);
	if (d == 0)
		x->root_done = 1;
	x->depth--;
}

static void
text(struct xp *x, const char *s, size_t n, int raw)
{
	if (x->cap == F_NONE)
		return;
	if (raw)
		buf_add(&x->f[x->cap], s, n);
	else
		decode_add(&x->f[x->cap], s, n);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Attributes up to '>' or "/>"; 1 when the element closed itself. */
static int
attrs_read(struct xp *x, struct xattr *a, size_t *na)
{
	const char	*q;

	*na = 0;
	for (;;) {
		while (x->p < x->end && is_space(*x->p))
			x->p++;
		if (x->p >= x->end)
			return xerr(x, "the XML is truncated");
		if (*x->p == '>') {
			x->p++;
			return 0;
		}
		if (*x->p == '/') {
			if (x->p + 1 >= x->end || x->p[1] != '>')
				return xerr(x, "malformed XML tag");
			x->p += 2;
			return 1;
		}
		q = x->p;
		while (x->p < x->end && !is_space(*x->p) && *x->p != '=' &&
		    *x->p != '>' && *x->p != '/' && *x->p != '<')
			x->p++;
		if (x->p == q)
			return xerr(x, "malformed XML attribute");
		if (*na < XML_MAX_ATTRS) {
			a[*na].name.p = q;
			a[*na].name.len = x->p - q;
		}
		while (x->p < x->end && is_space(*x->p))
			x->p++;
		if (x->p + 1 >= x->end || *x->p != '=')
			return xerr(x, "malformed XML attribute");
		x->p++;
		while (x->p < x->end && is_space(*x->p))
			x->p++;
		if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
			return xerr(x, "malformed XML attribute");
		q = ++x->p;
		while (x->p < x->end && *x->p != q[-1] && *x->p != '<')
			x->p++;
		if (x->p >= x->end || *x->p != q[-1])
			return xerr(x, "malformed XML attribute");
		if (*na < XML_MAX_ATTRS) {
			a[*na].val.p = q;
			a[*na].val.len = x->p - q;
			(*na)++;
		}
		x->p++;
	}
}

static int
tag_start(struct xp *x)
{
	struct xattr	 a[XML_MAX_ATTRS];
	size_t		 na;
	const char	*q = ++x->p;
	int		 self;

	while (x->p < x->end && !is_space(*x->p) && *x->p != '/' &&
	    *x->p != '>' && *x->p != '<')
		x->p++;
	if (x->p == q)
		return xerr(x, "malformed XML tag");
	if (x->root_done)
		return xerr(x, "XML content after the document element");
	if (x->depth >= FEED_MAX_DEPTH)
		return xerr(x, "the XML is nested too deeply");
	x->stack[x->depth].p = q;
	x->stack[x->depth].len = x->p - q;
	x->depth++;
	if ((self = attrs_read(x, a, &na)) == -1)
		return -1;
	if (elem_start(x, a, na) == -1)
		return -1;
	if (self)
		elem_end(x);
	return 0;
}

static int
tag_end(struct xp *x)
{
	const char	*q = x->p += 2;
	struct xname	 n;

	while (x->p < x->end && !is_space(*x->p) && *x->p != '>')
		x->p++;
	n.p = q;
	n.len = x->p - q;
	while (x->p < x->end && is_space(*x->p))
		x->p++;
	if (x->p >= x->end)
		return xerr(x, "the XML is truncated");
	if (*x->p != '>' || x->depth == 0 ||
	    n.len != x->stack[x->depth - 1].len ||
	    memcmp(n.p, x->stack[x->depth - 1].p, n.len) != 0)
		return xerr(x, "mismatched XML end tag");
	x->p++;
	elem_end(x);
	return 0;
}

/* "<!" and "<?": comments, CDATA, processing instructions. */
static int
markup(struct xp *x)
{
	size_t		 n = x->end - x->p;
	const char	*e;

	if (n >= 2 && x->p[1] == '?') {
		if ((e = memmem(x->p + 2, n - 2, "?>", 2)) == NULL)
			return xerr(x, "the XML is truncated");
		x->p = e + 2;
	} else if (n >= 4 && memcmp(x->p, "<!--", 4) == 0) {
		if ((e = memmem(x->p + 4, n - 4, "-->", 3)) == NULL)
			return xerr(x, "the XML is truncated");
		x->p = e + 3;
	} else if (n >= 9 && memcmp(x->p, "<![CDATA[", 9) == 0) {
		if ((e = memmem(x->p + 9, n - 9, "]]>", 3)) == NULL)
			return xerr(x, "the XML is truncated");
		if (x->depth == 0)
			return xerr(x, "CDATA outside the document element");
		text(x, x->p + 9, e - (x->p + 9), 1);
		x->p = e + 3;
	} else if (n >= 9 && strncasecmp(x->p, "<!DOCTYPE", 9) == 0)
		return xerr(x, "XML with a DOCTYPE is refused");
	else
		return xerr(x, "unsupported XML markup declaration");
	return 0;
}

static int
xml_parse(const char *buf, size_t len, struct feed *f, char *err,
    size_t errlen)
{
	struct xp	 x;
	const char	*lt;
	int		 rc = 0;

	memset(&x, 0, sizeof(x));
	x.p = buf;
	x.end = buf + len;
	x.item_depth = -1;
	x.cap = F_NONE;
	x.feed = f;
	x.err = err;
	x.errlen = errlen;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		x.p += 3;
	while (rc == 0 && x.p < x.end && !(x.root_done && x.depth == 0)) {
		if (*x.p != '<') {
			if ((lt = memchr(x.p, '<', x.end - x.p)) == NULL)
				lt = x.end;
			if (x.depth > 0)
				text(&x, x.p, lt - x.p, 0);
			x.p = lt;
		} else if (x.p + 1 >= x.end)
			rc = xerr(&x, "the XML is truncated");
		else if (x.p[1] == '!' || x.p[1] == '?')
			rc = markup(&x);
		else if (x.p[1] == '/')
			rc = tag_end(&x);
		else
			rc = tag_start(&x);
	}
	if (rc == 0 && !x.root_done)
		rc = xerr(&x, x.depth > 0 ? "the XML is truncated" :
		    "the document has no XML element");
	for (int i = 0; i < F_COUNT; i++)
		buf_reset(&x.f[i]);
	f->format = x.atom ? FEED_ATOM : FEED_RSS;
	return rc;
}

/* -- JSON ------------------------------------------------------------ */

/* The value at a dotted path below o, or NULL. */
static json_t *
jpath(json_t *o, const char *path)
{
	const char	*dot;
	char		 k[256];

	while (o != NULL && path != NULL && *path != '\0') {
		size_t	 n = (dot = strchr(path, '.')) ? (size_t)(dot - path) :
		    strlen(path);

		if (!json_is_object(o) || n == 0 || n >= sizeof(k))
			return NULL;
		memcpy(k, path, n);
		k[n] = '\0';
		o = json_object_get(o, k);
		path = dot ? dot + 1 : NULL;
	}
	return o;
}

/* A string or number member as text (into num when a number). */
static const char *
jtext(json_t *o, const char *path, char *num, size_t numlen, size_t *len)
{
	json_t	*v = jpath(o, path);

	if (json_is_string(v)) {
		*len = json_string_length(v);
		return json_string_value(v);
	}
	if (json_is_integer(v)) {
		*len = snprintf(num, numlen, "%lld",
		    (long long)json_integer_value(v));
		return num;
	}
	return NULL;
}

/* The configured member, else (with the default) the usual others. */
static const char *
jfield(json_t *o, const char *conf, const char *const *defaults, char *num,
    size_t numlen, size_t *len)
{
	const char	*s;

	if (conf != NULL)
		return jtext(o, conf, num, numlen, len);
	for (; *defaults != NULL; defaults++)
		if ((s = jtext(o, *defaults, num, numlen, len)) != NULL)
			return s;
	return NULL;
}

static const char *
jauthor(json_t *o, size_t *len)
{
	json_t	*a = json_object_get(o, "author");

	if (a == NULL && json_is_array(json_object_get(o, "authors")))
		a = json_array_get(json_object_get(o, "authors"), 0);
	if (json_is_object(a))
		a = json_object_get(a, "name");
	if (!json_is_string(a))
		return NULL;
	*len = json_string_length(a);
	return json_string_value(a);
}

static void
json_item(json_t *o, const struct feed_json_opts *op, struct feed *f)
{
	static const char *const d_id[] = { "id", "guid", NULL };
	static const char *const d_title[] = { "title", "name", NULL };
	static const char *const d_text[] = { "content", "summary",
	    "description", "content_html", "content_text", "body", NULL };
	static const char *const d_url[] = { "url", "link", "html_url", NULL };
	static const char *const d_upd[] = { "updated_at", "updated",
	    "date_modified", "published_at", "published", "date_published",
	    "created_at", NULL };
	struct raw_item	 r;
	char		 idn[32], tn[32], un[32], dn[32], pn[32];
	size_t		 dlen;
	const char	*d;

	memset(&r, 0, sizeof(r));
	r.id = jfield(o, op->id_field, d_id, idn, sizeof(idn), &r.id_len);
	r.title = jfield(o, op->title_field, d_title, tn, sizeof(tn),
	    &r.title_len);
	r.text = jfield(o, op->text_field, d_text, pn, sizeof(pn),
	    &r.text_len);
	r.text_html = 1;	/* tags only where '<' opens one */
	r.link = jfield(o, op->url_field, d_url, un, sizeof(un), &r.link_len);
	r.author = jauthor(o, &r.author_len);
	/* a number of seconds since the epoch is a date too */
	if ((d = jfield(o, op->updated_field, d_upd, dn, sizeof(dn),
	    &dlen)) != NULL && dlen <= FEED_MAX_DATE &&
	    strlen(d) == dlen)
		r.updated = d;
	item_add(f, &r);
}

static int
json_parse(const char *buf, size_t len, const struct feed_json_opts *op,
    struct feed *f, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root, *items, *next;
	size_t		 i;

	f->format = FEED_JSON;
	if ((root = json_loadb(buf, len, 0, &jerr)) == NULL) {
		/* jerr.text may quote the input: only the position */
		snprintf(err, errlen, "the feed is not valid JSON (line %d, "
		    "column %d)", jerr.line, jerr.column);
		return -1;
	}
	if (op->items != NULL)
		items = jpath(root, op->items);
	else
		items = json_is_array(root) ? root :
		    json_object_get(root, "items");
	if (!json_is_array(items)) {
		snprintf(err, errlen, "the JSON feed has no array of items "
		    "at %s", op->items ? op->items : "the top level or "
		    "\"items\"");
		json_decref(root);
		return -1;
	}
	for (i = 0; i < json_array_size(items); i++)
		if (json_is_object(json_array_get(items, i)))
			json_item(json_array_get(items, i), op, f);
	next = op->next_field ? jpath(root, op->next_field) : NULL;
	if (json_is_string(next) && json_string_length(next) > 0 &&
	    json_string_length(next) <= FEED_MAX_URL)
		f->next = clean(json_string_value(next),
		    json_string_length(next), FEED_MAX_URL);
	json_decref(root);
	return 0;
}

/* -- entry points ---------------------------------------------------- */

static enum feed_format
sniff_bytes(const char *buf, size_t len)
{
	size_t	 i = 0, n;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	if (i < len && (buf[i] == '{' || buf[i] == '['))
		return FEED_JSON;
	n = len - i < 4096 ? len - i : 4096;
	if (memmem(buf + i, n, "<feed", 5) != NULL)
		return FEED_ATOM;
	if (memmem(buf + i, n, "<rss", 4) != NULL ||
	    memmem(buf + i, n, "<rdf:RDF", 8) != NULL)
		return FEED_RSS;
	return FEED_AUTO;
}

enum feed_format
feed_sniff(const char *content_type, const char *buf, size_t len)
{
	if (content_type != NULL) {
		if (strcasestr(content_type, "json") != NULL)
			return FEED_JSON;
		if (strcasestr(content_type, "atom") != NULL)
			return FEED_ATOM;
		if (strcasestr(content_type, "rss") != NULL)
			return FEED_RSS;
	}
	return sniff_bytes(buf, len);
}

int
feed_parse(const char *buf, size_t len, enum feed_format fmt,
    const struct feed_json_opts *op, struct feed *f, char *err,
    size_t errlen)
{
	static const struct feed_json_opts none;

	memset(f, 0, sizeof(*f));
	if (len > FEED_MAX_INPUT) {
		snprintf(err, errlen, "the feed is larger than %u bytes",
		    FEED_MAX_INPUT);
		return -1;
	}
	if (fmt == FEED_AUTO && (fmt = sniff_bytes(buf, len)) == FEED_AUTO) {
		snprintf(err, errlen, "the response is not an RSS, Atom or "
		    "JSON feed");
		return -1;
	}
	if (fmt == FEED_JSON)
		return json_parse(buf, len, op ? op : &none, f, err, errlen);
	return xml_parse(buf, len, f, err, errlen);
}

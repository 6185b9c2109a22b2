/*
 * HTML to plain text (see html.h).  One pass over the input with a
 * bounded look-ahead for the end of a tag, a comment or a raw text
 * element; every index is checked against the end of the input, so a
 * document cut anywhere is still read safely.  This is for indexing,
 * not rendering: no DOM, no full entity table, no character set other
 * than UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetcher/html.h"

#define TAG_NAME_MAX	16

enum pend { PEND_NONE, PEND_SPACE, PEND_LINE };

/* An output buffer: growing (body) or fixed (the caller's title). */
struct tbuf {
	char		*p;
	size_t		 len;
	size_t		 cap;
	int		 fixed;
	int		 full;	/* fixed and out of room: drop the rest */
	int		 oom;
	enum pend	 pend;
};

struct hstate {
	const unsigned char	*s;
	size_t			 len;
	struct tbuf		 body;
	struct tbuf		 title;
	int			 have_title;
	int			 in_head;
};

/* Elements that end a line of text, opening or closing. */
static const char *const block_tags[] = {
	"address", "article", "aside", "blockquote", "body", "br",
	"caption", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
	"figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
	"h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
	"section", "summary", "table", "tbody", "td", "tfoot", "th", "thead",
	"tr", "ul", NULL
};

/* Elements that may sit in <head>; any other start tag ends it. */
static const char *const head_tags[] = {
	"base", "link", "meta", "noscript", "script", "style", "template",
	"title", NULL
};

static const struct {
	const char	*name;
	uint32_t	 cp;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", 0xa0 },
};

static int
in_list(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Room for n more bytes and a NUL; 0, or -1 (fixed buffer full, OOM). */
static int
tb_reserve(struct tbuf *tb, size_t n)
{
	size_t	 need, ncap;
	char	*np;

	if (tb->full || tb->oom)
		return -1;
	need = tb->len + n + 1;
	if (need <= tb->cap)
		return 0;
	if (tb->fixed) {
		tb->full = 1;
		return -1;
	}
	ncap = tb->cap < 256 ? 256 : tb->cap;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(tb->p, ncap)) == NULL) {
		tb->oom = 1;
		return -1;
	}
	tb->p = np;
	tb->cap = ncap;
	return 0;
}

/* Append one whole character (or nothing, so titles cut cleanly). */
static void
tb_char(struct tbuf *tb, const unsigned char *c, size_t n)
{
	const char	*sep = tb->pend == PEND_LINE ? "\n" : " ";
	size_t		 seplen = tb->pend != PEND_NONE && tb->len > 0;

	if (tb_reserve(tb, seplen + n) == -1)
		return;
	if (seplen)
		tb->p[tb->len++] = *sep;
	memcpy(tb->p + tb->len, c, n);
	tb->len += n;
	tb->p[tb->len] = '\0';
	tb->pend = PEND_NONE;
}

static void
tb_space(struct tbuf *tb, enum pend p)
{
	if (p > tb->pend)
		tb->pend = p;
}

/* A code point as UTF-8; white space and controls collapse. */
static void
tb_codepoint(struct tbuf *tb, uint32_t cp)
{
	unsigned char	 u[4];
	size_t		 n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x20 || cp == 0x7f || cp == 0xa0 || cp == ' ') {
		tb_space(tb, PEND_SPACE);
		return;
	}
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	tb_char(tb, u, n);
}

/* Length of the valid UTF-8 sequence at s[i] (< end), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t i, size_t end)
{
	unsigned char	 c = s[i];
	uint32_t	 cp;
	size_t		 n;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3; cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; cp = c & 0x07;
	} else
		return 0;
	if (end - i < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i + k] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
hex_value(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "&#...;" at s[i] (< end): bytes used, 0 when it is not one. */
static size_t
numeric_ref(const unsigned char *s, size_t i, size_t end, struct tbuf *tb)
{
	size_t		 j = i + 2, start;
	uint32_t	 cp = 0, base = 10;
	int		 d;

	if (j < end && (s[j] == 'x' || s[j] == 'X')) {
		base = 16;
		j++;
	}
	for (start = j; j < end; j++) {
		d = base == 16 ? hex_value(s[j]) : is_digit(s[j]) ?
		    s[j] - '0' : -1;
		if (d == -1)
			break;
		/* saturate: anything past U+10FFFF is refused anyway */
		if (cp <= 0x10ffff)
			cp = cp * base + (uint32_t)d;
	}
	if (j == start)
		return 0;
	if (j < end && s[j] == ';')
		j++;
	tb_codepoint(tb, cp);
	return j - i;
}

/* "&name;" at s[i] (< end): bytes used, 0 when it is not a known one. */
static size_t
named_ref(const unsigned char *s, size_t i, size_t end, struct tbuf *tb)
{
	char	 name[8];
	size_t	 j, n = 0;

	for (j = i + 1; j < end && n < sizeof(name) - 1 && is_alpha(s[j]);
	    j++)
		name[n++] = (char)s[j];
	name[n] = '\0';
	if (n == 0 || j >= end || s[j] != ';')
		return 0;
	for (size_t k = 0; k < sizeof(entities) / sizeof(entities[0]); k++)
		if (strcmp(entities[k].name, name) == 0) {
			tb_codepoint(tb, entities[k].cp);
			return j + 1 - i;
		}
	return 0;
}

/* Character data s[i..end) into tb. */
static void
emit_text(const unsigned char *s, size_t i, size_t end, struct tbuf *tb)
{
	static const unsigned char	 fffd[] = { 0xef, 0xbf, 0xbd };
	size_t				 n;

	while (i < end) {
		if (s[i] == '&') {
			n = i + 1 < end && s[i + 1] == '#' ?
			    numeric_ref(s, i, end, tb) :
			    named_ref(s, i, end, tb);
			if (n == 0) {
				tb_char(tb, s + i, 1);
				n = 1;
			}
		} else if (s[i] < 0x80) {
			if (s[i] <= ' ' || s[i] == 0x7f)
				tb_space(tb, PEND_SPACE);
			else
				tb_char(tb, s + i, 1);
			n = 1;
		} else if ((n = utf8_seq(s, i, end)) > 0)
			tb_char(tb, s + i, n);
		else {
			tb_char(tb, fffd, sizeof(fffd));
			n = 1;
		}
		i += n;
	}
}

/* First position >= from of needle (ASCII, lower case), or len. */
static size_t
find_ci(const unsigned char *s, size_t from, size_t len, const char *needle)
{
	size_t	 nlen = strlen(needle), k;

	for (size_t i = from; i < len && len - i >= nlen; i++) {
		for (k = 0; k < nlen && lower(s[i + k]) ==
		    (unsigned char)needle[k]; k++)
			;
		if (k == nlen)
			return i;
	}
	return len;
}

/* Just past the '>' ending a tag whose name ends before j; 0: none. */
static size_t
tag_end(const unsigned char *s, size_t j, size_t len)
{
	unsigned char	 quote = 0, last = 0;

	for (; j < len; j++) {
		if (quote) {
			if (s[j] == quote)
				quote = 0;
		} else if ((s[j] == '"' || s[j] == '\'') && last == '=')
			quote = s[j];
		else if (s[j] == '>')
			return j + 1;
		if (s[j] > ' ')
			last = s[j];
	}
	return 0;
}

/* Content of a raw text element (script, style, title): up to its end tag. */
static size_t
raw_end(struct hstate *h, size_t from, const char *name)
{
	char	 close[TAG_NAME_MAX + 3];

	close[0] = '<';
	close[1] = '/';
	strlcpy(close + 2, name, sizeof(close) - 2);
	return find_ci(h->s, from, h->len, close);
}

/* What an element does to the text; returns where parsing goes on. */
static size_t
element(struct hstate *h, const char *name, int closing, size_t after)
{
	size_t	 close;

	if (in_list(block_tags, name))
		tb_space(&h->body, PEND_LINE);
	if (closing) {
		if (strcmp(name, "head") == 0)
			h->in_head = 0;
		return after;
	}
	if (strcmp(name, "head") == 0)
		h->in_head = 1;
	else if (h->in_head && !in_list(head_tags, name))
		h->in_head = 0;
	if (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)
		return raw_end(h, after, name);
	if (strcmp(name, "title") == 0) {
		close = raw_end(h, after, name);
		if (!h->have_title) {
			emit_text(h->s, after, close, &h->title);
			h->have_title = 1;
		}
		return close;
	}
	return after;
}

/* A '<' at s[i]: markup to skip, or a literal '<'; where to go on. */
static size_t
markup(struct hstate *h, size_t i)
{
	const unsigned char	*s = h->s;
	const unsigned char	*p;
	char			 name[TAG_NAME_MAX];
	size_t			 j = i + 1, n = 0;
	int			 closing = 0;

	if (h->len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
		p = memmem(s + i + 4, h->len - i - 4, "-->", 3);
		return p == NULL ? h->len : (size_t)(p - s) + 3;
	}
	if (j < h->len && (s[j] == '!' || s[j] == '?')) {
		p = memchr(s + j, '>', h->len - j);
		return p == NULL ? h->len : (size_t)(p - s) + 1;
	}
	if (j < h->len && s[j] == '/') {
		closing = 1;
		j++;
	}
	if (j >= h->len || !is_alpha(s[j])) {
		if (!h->in_head)
			tb_char(&h->body, s + i, 1);
		return i + 1;
	}
	for (; j < h->len && (is_alpha(s[j]) || is_digit(s[j])); j++)
		if (n < sizeof(name) - 1)
			name[n++] = (char)lower(s[j]);
	name[n] = '\0';
	if (n == sizeof(name) - 1)
		name[0] = '\0';		/* too long to be one we know */
	if ((j = tag_end(s, j, h->len)) == 0)
		return h->len;		/* cut inside the tag */
	return element(h, name, closing, j);
}

static int
blank(const unsigned char *s, size_t i, size_t end)
{
	for (; i < end; i++)
		if (s[i] > ' ')
			return 0;
	return 1;
}

char *
html_to_text(const char *html, size_t len, size_t *outlen, char *title,
    size_t titlelen)
{
	struct hstate	 h;
	const void	*lt;
	size_t		 i = 0, end;

	*outlen = 0;
	if (title != NULL && titlelen > 0)
		title[0] = '\0';
	if (len > HTML_MAX_INPUT || (html == NULL && len > 0))
		return NULL;
	memset(&h, 0, sizeof(h));
	h.s = (const unsigned char *)html;
	h.len = len;
	h.title.p = title;
	h.title.cap = title != NULL ? titlelen : 0;
	h.title.fixed = 1;
	if (tb_reserve(&h.body, 0) == -1)
		return NULL;
	h.body.p[0] = '\0';
	while (i < len && !h.body.oom) {
		lt = memchr(h.s + i, '<', len - i);
		end = lt == NULL ? len : (size_t)((const unsigned char *)lt -
		    h.s);
		/* text in <head> means the head has ended (as browsers do) */
		if (h.in_head && !blank(h.s, i, end))
			h.in_head = 0;
		if (!h.in_head)
			emit_text(h.s, i, end, &h.body);
		i = end < len ? markup(&h, end) : len;
	}
	if (h.body.oom) {
		free(h.body.p);
		return NULL;
	}
	*outlen = h.body.len;
	return h.body.p;
}

/*
 * A bounded RFC 5322 + MIME parser: the headers the imap connector
 * shows and the text of a message's body.
 *
 * Nothing here trusts the input: every loop is bounded by the input's
 * length, multipart nesting by MAIL_MAX_DEPTH, the number of entities by
 * MAIL_MAX_PARTS, every output by its own cap, and every byte that is
 * not valid UTF-8 once decoded becomes U+FFFD.  Broken structure (a
 * boundary that never comes, a missing blank line) is read as well as
 * it can be rather than refused: a mailbox holds what it holds.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "fetcher/html.h"
#include "fetcher/mail.h"

#define MAIL_MAX_RAWHDR		(64u * 1024)	/* one unfolded header */
#define MAIL_MAX_PARAM		256	/* a Content-Type parameter */

/* A growing output string that stops (and says so) at its cap. */
struct mbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	int	 full;
};

enum { K_NONE, K_HTML, K_PLAIN };	/* what an entity gave, worst first */

struct mctx {
	int	 parts;
};

static int	entity(struct mctx *, const char *, size_t, int,
		    struct mbuf *);

static void
mb_init(struct mbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* Bytes that are whole UTF-8 sequences at the start of p[0..n). */
static size_t
u8_seq(const unsigned char *p, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		need, i;

	if (p[0] < 0x80)
		return p[0] != 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 1;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 2;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 3;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need + 1)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return need + 1;
}

/* Appends raw bytes, or as many as fit; the caller keeps them UTF-8. */
static void
mb_add(struct mbuf *b, const char *s, size_t n)
{
	if (b->full)
		return;
	if (n > b->max - b->len) {
		n = b->max - b->len;
		b->full = 1;
		/* never cut a sequence in two */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (b->len + n + 1 > b->cap) {
		size_t	cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xreallocarray(b->p, 1, cap);
		b->cap = cap;
	}
	if (n > 0)	/* s may be NULL for an empty part */
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
mb_put(struct mbuf *b, uint32_t cp)
{
	char	u[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp;
		mb_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		mb_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		mb_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		mb_add(b, u, 4);
	}
}

/* A string the caller owns: "" rather than NULL when nothing was added. */
static char *
mb_take(struct mbuf *b, size_t *len)
{
	if (b->p == NULL)
		b->p = xstrdup("");
	if (len != NULL)
		*len = b->len;
	return b->p;
}

/* Bytes meant as UTF-8: valid sequences kept, NULs dropped, others U+FFFD. */
static void
mb_add_repaired(struct mbuf *b, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, l;

	while (i < n && !b->full) {
		if ((l = u8_seq(p + i, n - i)) > 0) {
			mb_add(b, s + i, l);
			i += l;
		} else {
			if (p[i] != 0)
				mb_put(b, 0xfffd);
			i++;
		}
	}
}

/* Windows-1252's 0x80..0x9f; the rest of the charset is ISO 8859-1. */
static const uint16_t cp1252[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

/*
 * 1 for the single-byte charsets we convert.  ISO 8859-1 is read as
 * Windows-1252, as browsers do (WHATWG Encoding): mail labelled latin1
 * with curly quotes in 0x80..0x9f is common, C1 controls are not.
 */
static int
charset_is_latin(const char *cs)
{
	static const char *const names[] = {
		"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1",
		"l1", "cp819", "windows-1252", "cp1252", "x-cp1252",
		"iso-8859-15", "iso8859-15",
	};

	if (cs == NULL)
		return 0;
	for (size_t i = 0; i < nitems(names); i++)
		if (strcasecmp(cs, names[i]) == 0)
			return 1;
	return 0;
}

static void
mb_add_charset(struct mbuf *b, const char *cs, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;

	/* utf-8, us-ascii and every charset we do not know: repaired */
	if (!charset_is_latin(cs)) {
		mb_add_repaired(b, s, n);
		return;
	}
	for (size_t i = 0; i < n && !b->full; i++) {
		if (p[i] == 0)
			continue;
		if (p[i] >= 0x80 && p[i] <= 0x9f)
			mb_put(b, cp1252[p[i] - 0x80]);
		else
			mb_put(b, p[i]);
	}
}

char *
mail_to_utf8(const char *charset, const char *s, size_t len, size_t *outlen)
{
	struct mbuf	b;

	mb_init(&b, MAIL_MAX_TEXT);
	mb_add_charset(&b, charset, s, len);
	return mb_take(&b, outlen);
}

/* ---- transfer encodings ------------------------------------------- */

static int
b64_char(unsigned char c)
{
	return isalnum(c) || c == '+' || c == '/';
}

/*
 * Base64 to bytes: whitespace and junk skipped, stops at the first '='
 * (padding), a dangling last group decoded as far as it goes.
 */
static char *
b64_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char	*in, *out;
	size_t		 n = 0, pad = 0;
	int		 k;

	in = xcalloc(1, len + 4);
	for (size_t i = 0; i < len && s[i] != '='; i++)
		if (b64_char((unsigned char)s[i]))
			in[n++] = (unsigned char)s[i];
	if (n % 4 == 1)
		n--;
	if (n % 4 != 0) {
		pad = 4 - n % 4;
		for (size_t i = 0; i < pad; i++)
			in[n++] = '=';
	}
	out = xcalloc(1, n / 4 * 3 + 1);
	if (n > 0 && n <= INT32_MAX &&
	    (k = EVP_DecodeBlock(out, in, (int)n)) >= (int)pad)
		*outlen = (size_t)k - pad;
	else
		*outlen = 0;
	free(in);
	return (char *)out;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Quoted-printable (RFC 2045) or, with q, an RFC 2047 "Q" word. */
static char *
qp_decode(const char *s, size_t len, int q, size_t *outlen)
{
	char	*out = xcalloc(1, len + 1);
	size_t	 i, n = 0;
	int	 h, l;

	for (i = 0; i < len; i++) {
		if (q && s[i] == '_') {
			out[n++] = ' ';
		} else if (s[i] != '=') {
			out[n++] = s[i];
		} else if (i + 1 < len && s[i + 1] == '\n') {
			i += 1;		/* soft line break */
		} else if (i + 2 < len && s[i + 1] == '\r' &&
		    s[i + 2] == '\n') {
			i += 2;
		} else if (i + 2 < len && (h = hexval(s[i + 1])) >= 0 &&
		    (l = hexval(s[i + 2])) >= 0) {
			out[n++] = (char)(h << 4 | l);
			i += 2;
		} else
			out[n++] = '=';	/* not an escape: kept as written */
	}
	*outlen = n;
	return out;
}

/* ---- headers ------------------------------------------------------ */

/* The end of the line at s (its '\n' or end), and where the next starts. */
static const char *
line_end(const char *s, const char *end, const char **next)
{
	const char	*nl = memchr(s, '\n', (size_t)(end - s));

	if (nl == NULL) {
		*next = end;
		return end;
	}
	*next = nl + 1;
	if (nl > s && nl[-1] == '\r')
		return nl - 1;
	return nl;
}

/* Splits an entity into its header block and body at the first empty line. */
static void
split_entity(const char *s, size_t len, size_t *hlen, const char **body,
    size_t *blen)
{
	const char	*p = s, *end = s + len, *e, *next;

	while (p < end) {
		e = line_end(p, end, &next);
		if (e == p) {
			*hlen = (size_t)(p - s);
			*body = next;
			*blen = (size_t)(end - next);
			return;
		}
		p = next;
	}
	*hlen = len;		/* no body */
	*body = end;
	*blen = 0;
}

/*
 * The first header called name in h[0..hlen), unfolded (continuation
 * lines joined, CR LF dropped), trimmed, NULs made spaces; NULL if none.
 */
static char *
hdr_get(const char *h, size_t hlen, const char *name, size_t *vlen)
{
	const char	*p = h, *end = h + hlen, *e, *next, *v;
	size_t		 nlen = strlen(name);
	struct mbuf	 b;

	for (; p < end; p = next) {
		e = line_end(p, end, &next);
		if ((size_t)(e - p) <= nlen || p[nlen] != ':' ||
		    strncasecmp(p, name, nlen) != 0)
			continue;
		mb_init(&b, MAIL_MAX_RAWHDR);
		for (v = p + nlen + 1;;) {
			mb_add(&b, v, (size_t)(e - v));
			if (next >= end || (*next != ' ' && *next != '\t'))
				break;
			v = next;
			e = line_end(v, end, &next);
		}
		mb_take(&b, NULL);
		for (size_t i = 0; i < b.len; i++)
			if (b.p[i] == '\0' || b.p[i] == '\r' || b.p[i] == '\n')
				b.p[i] = ' ';
		v = b.p;
		while (*v == ' ' || *v == '\t')
			v++;
		*vlen = b.len - (size_t)(v - b.p);
		while (*vlen > 0 && (v[*vlen - 1] == ' ' || v[*vlen - 1] == '\t'))
			(*vlen)--;
		memmove(b.p, v, *vlen);
		b.p[*vlen] = '\0';
		return b.p;
	}
	return NULL;
}

/* The value's first token (before ';'), lower case, in out. */
static void
hdr_token(const char *v, char *out, size_t outlen)
{
	size_t	 n = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v != '\0' && *v != ';' && *v != ' ' && *v != '\t' &&
	    n + 1 < outlen; v++)
		out[n++] = (char)tolower((unsigned char)*v);
	out[n] = '\0';
}

/* Parameter name of a structured value ("; name=value"): 0, or -1. */
static int
hdr_param(const char *v, const char *name, char *out, size_t outlen)
{
	size_t	 nlen = strlen(name), n;

	while ((v = strchr(v, ';')) != NULL) {
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strncasecmp(v, name, nlen) != 0)
			continue;
		v += nlen;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=')
			continue;	/* a NUL stops the strchr() above */
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		n = 0;
		if (*v == '"') {
			for (v++; *v != '\0' && *v != '"'; v++) {
				if (*v == '\\' && v[1] != '\0')
					v++;
				if (n + 1 >= outlen)
					return -1;
				out[n++] = *v;
			}
		} else {
			for (; *v != '\0' && *v != ';' && *v != ' ' &&
			    *v != '\t'; v++) {
				if (n + 1 >= outlen)
					return -1;
				out[n++] = *v;
			}
		}
		out[n] = '\0';
		return n > 0 ? 0 : -1;
	}
	return -1;
}

/*
 * One RFC 2047 encoded word at s ("=?charset?B|Q?text?="): its length,
 * with the decoded text appended to b; 0 (and nothing appended) if s
 * does not start one.
 */
static size_t
encoded_word(const char *s, size_t len, struct mbuf *b)
{
	char		 cs[64], *dec, *star;
	const char	*t, *te;
	size_t		 i, dlen;
	int		 enc;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	for (i = 2; i < len && s[i] != '?' && i - 2 < sizeof(cs) - 1; i++)
		if (s[i] == ' ' || s[i] == '\t')
			return 0;
	if (i >= len || s[i] != '?' || i == 2)
		return 0;
	memcpy(cs, s + 2, i - 2);
	cs[i - 2] = '\0';
	if ((star = strchr(cs, '*')) != NULL)	/* RFC 2231 language */
		*star = '\0';
	if (i + 2 >= len || s[i + 2] != '?')
		return 0;
	enc = tolower((unsigned char)s[i + 1]);
	if (enc != 'b' && enc != 'q')
		return 0;
	t = s + i + 3;
	for (te = t; te + 1 < s + len && !(te[0] == '?' && te[1] == '='); te++)
		if (*te == ' ' || *te == '\t')
			return 0;
	if (te + 1 >= s + len)
		return 0;
	if (enc == 'b')
		dec = b64_decode(t, (size_t)(te - t), &dlen);
	else
		dec = qp_decode(t, (size_t)(te - t), 1, &dlen);
	mb_add_charset(b, cs, dec, dlen);
	free(dec);
	return (size_t)(te + 2 - s);
}

char *
mail_header_decode(const char *s, size_t len)
{
	struct mbuf	 b, w;
	size_t		 i = 0, ws = 0, n;
	int		 last_ew = 0;

	mb_init(&b, MAIL_MAX_HEADER);
	while (i < len && !b.full) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n') {
			ws++;
			i++;
			continue;
		}
		mb_init(&w, MAIL_MAX_HEADER);
		n = s[i] == '=' ? encoded_word(s + i, len - i, &w) : 0;
		/* white space between two encoded words vanishes */
		if (ws > 0 && b.len > 0 && !(n > 0 && last_ew))
			mb_add(&b, " ", 1);
		ws = 0;
		if (n > 0) {
			if (w.len > 0)
				mb_add(&b, w.p, w.len);
			free(w.p);
			i += n;
			last_ew = 1;
			continue;
		}
		free(w.p);
		last_ew = 0;
		for (n = 1; i + n < len && s[i + n] != ' ' && s[i + n] != '\t' &&
		    s[i + n] != '\r' && s[i + n] != '\n' &&
		    !(s[i + n] == '=' && i + n + 1 < len && s[i + n + 1] == '?');
		    n++)
			;
		mb_add_repaired(&b, s + i, n);
		i += n;
	}
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.p[i] < 0x20 || b.p[i] == 0x7f)
			b.p[i] = ' ';
	return mb_take(&b, NULL);
}

/* ---- bodies ------------------------------------------------------- */

/* A leaf part's text: transfer encoding undone, charset made UTF-8. */
static void
leaf(const char *body, size_t blen, const char *hdr, size_t hlen, int html,
    struct mbuf *out)
{
	char		 cs[MAIL_MAX_PARAM] = "", cte[64] = "", *v, *dec = NULL;
	const char	*src = body;
	size_t		 vlen, slen = blen, ulen;
	struct mbuf	 u;

	if ((v = hdr_get(hdr, hlen, "Content-Type", &vlen)) != NULL) {
		if (hdr_param(v, "charset", cs, sizeof(cs)) == -1)
			cs[0] = '\0';
		free(v);
	}
	if ((v = hdr_get(hdr, hlen, "Content-Transfer-Encoding", &vlen)) !=
	    NULL) {
		hdr_token(v, cte, sizeof(cte));
		free(v);
	}
	if (strcmp(cte, "base64") == 0)
		src = dec = b64_decode(body, blen, &slen);
	else if (strcmp(cte, "quoted-printable") == 0)
		src = dec = qp_decode(body, blen, 0, &slen);
	mb_init(&u, MAIL_MAX_TEXT);
	mb_add_charset(&u, cs[0] ? cs : NULL, src, slen);
	free(dec);
	mb_take(&u, &ulen);
	if (out->len > 0)
		mb_add(out, "\n\n", 2);
	if (html) {
		char	*t;
		size_t	 tlen;

		/* NULL only over HTML_MAX_INPUT (> MAIL_MAX_TEXT) or ENOMEM */
		if ((t = html_to_text(u.p, ulen, &tlen, NULL, 0)) != NULL)
			mb_add(out, t, tlen);
		free(t);
	} else {
		/* CR LF and lone CR become LF */
		for (size_t i = 0, j; i < ulen && !out->full; i = j) {
			for (j = i; j < ulen && u.p[j] != '\r'; j++)
				;
			mb_add(out, u.p + i, j - i);
			if (j < ulen) {
				if (j + 1 >= ulen || u.p[j + 1] != '\n')
					mb_add(out, "\n", 1);
				j++;
			}
		}
	}
	if (u.full)
		out->full = 1;	/* the part was cut: so is the text */
	free(u.p);
}

/*
 * A delimiter line "--boundary" or "--boundary--" (and optional white
 * space) at p: 1 delimiter, 2 close delimiter, 0 not one.
 */
static int
delimiter(const char *p, const char *e, const char *bd, size_t bdlen)
{
	int	 kind = 1;

	if ((size_t)(e - p) < bdlen + 2 || p[0] != '-' || p[1] != '-' ||
	    memcmp(p + 2, bd, bdlen) != 0)
		return 0;
	p += bdlen + 2;
	if (e - p >= 2 && p[0] == '-' && p[1] == '-') {
		kind = 2;
		p += 2;
	}
	for (; p < e; p++)
		if (*p != ' ' && *p != '\t')
			return 0;
	return kind;
}

/* The next delimiter line at or after p; *lstart its line, NULL if none. */
static int
next_delimiter(const char *p, const char *end, const char *bd, size_t bdlen,
    const char **lstart, const char **after)
{
	const char	*e, *next;
	int		 k;

	for (; p < end; p = next) {
		e = line_end(p, end, &next);
		if ((k = delimiter(p, e, bd, bdlen)) != 0) {
			*lstart = p;
			*after = next;
			return k;
		}
	}
	return 0;
}

/*
 * The parts of a multipart body.  multipart/alternative keeps the best
 * part (text/plain over text/html, the first of equals); the other
 * subtypes keep the text of every part.  A body whose boundary never
 * comes is read as plain text.
 */
static int
multipart(struct mctx *m, const char *body, size_t blen, const char *bd,
    int alternative, int depth, struct mbuf *out)
{
	const char	*end = body + blen, *ls, *part, *pend;
	size_t		 bdlen = strlen(bd), plen;
	struct mbuf	 best, cur;
	int		 k, kind = K_NONE, bestk = K_NONE, ck;

	if ((k = next_delimiter(body, end, bd, bdlen, &ls, &part)) == 0) {
		leaf(body, blen, "", 0, 0, out);
		return K_PLAIN;
	}
	mb_init(&best, MAIL_MAX_TEXT);
	while (k == 1 && m->parts < MAIL_MAX_PARTS) {
		k = next_delimiter(part, end, bd, bdlen, &ls, &pend);
		/* the line break before a delimiter belongs to it */
		plen = (size_t)((k ? ls : end) - part);
		if (k && plen > 0 && part[plen - 1] == '\n')
			plen--;
		if (k && plen > 0 && part[plen - 1] == '\r')
			plen--;
		mb_init(&cur, MAIL_MAX_TEXT);
		ck = entity(m, part, plen, depth + 1, &cur);
		if (alternative && ck > bestk) {
			free(best.p);
			best = cur;
			bestk = ck;
		} else {
			if (!alternative && ck != K_NONE && cur.len > 0) {
				if (out->len > 0)
					mb_add(out, "\n\n", 2);
				mb_add(out, cur.p, cur.len);
				out->full |= cur.full;
				kind = ck > kind ? ck : kind;
			}
			free(cur.p);
		}
		part = pend;
	}
	if (alternative && bestk != K_NONE) {
		if (out->len > 0 && best.len > 0)
			mb_add(out, "\n\n", 2);
		mb_add(out, best.p, best.len);
		out->full |= best.full;
		kind = bestk;
	}
	free(best.p);
	return kind;
}

/* One MIME entity (headers and body): what kind of text it gave. */
static int
entity(struct mctx *m, const char *s, size_t len, int depth, struct mbuf *out)
{
	char		 type[128] = "text/plain", bd[MAIL_MAX_PARAM], *v;
	const char	*body;
	size_t		 hlen, blen, vlen;
	int		 attachment = 0, k = K_NONE;

	if (++m->parts > MAIL_MAX_PARTS)
		return K_NONE;
	split_entity(s, len, &hlen, &body, &blen);
	if ((v = hdr_get(s, hlen, "Content-Disposition", &vlen)) != NULL) {
		attachment = strncasecmp(v, "attachment", 10) == 0;
		free(v);
	}
	bd[0] = '\0';
	if ((v = hdr_get(s, hlen, "Content-Type", &vlen)) != NULL) {
		hdr_token(v, type, sizeof(type));
		if (hdr_param(v, "boundary", bd, sizeof(bd)) == -1)
			bd[0] = '\0';
		free(v);
	}
	if (strncmp(type, "multipart/", 10) == 0) {
		if (depth >= MAIL_MAX_DEPTH)
			return K_NONE;
		if (bd[0] == '\0') {	/* broken: read the body as text */
			leaf(body, blen, "", 0, 0, out);
			return K_PLAIN;
		}
		return multipart(m, body, blen, bd,
		    strcmp(type, "multipart/alternative") == 0, depth, out);
	}
	if (attachment)
		return K_NONE;
	if (strcmp(type, "text/plain") == 0 || type[0] == '\0') {
		leaf(body, blen, s, hlen, 0, out);
		k = K_PLAIN;
	} else if (strcmp(type, "text/html") == 0) {
		leaf(body, blen, s, hlen, 1, out);
		k = K_HTML;
	}
	return k;
}

/* ---- dates -------------------------------------------------------- */

/* A number of 1..maxd digits at *s: its value, or -1. */
static int
date_num(const char **s, int maxd)
{
	int	 v = 0, n = 0;

	while (isdigit((unsigned char)**s) && n < maxd) {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	if (n == 0 || isdigit((unsigned char)**s))
		return -1;
	return v;
}

static void
date_space(const char **s)
{
	while (**s == ' ' || **s == '\t' || **s == ',')
		(*s)++;
}

static int
date_month(const char **s)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char	 m[4];
	int	 i;

	for (i = 0; i < 3 && isalpha((unsigned char)(*s)[i]); i++)
		m[i] = (char)tolower((unsigned char)(*s)[i]);
	if (i < 3)
		return -1;
	m[3] = '\0';
	while (isalpha((unsigned char)**s))
		(*s)++;
	for (i = 0; i < 12; i++)
		if (strncmp(months + i * 3, m, 3) == 0)
			return i;
	return -1;
}

/* The zone's offset east of UTC in minutes; unknown names are UTC. */
static int
date_zone(const char *s, int *off)
{
	static const struct { const char *n; int h; } zones[] = {
		{ "ut", 0 }, { "gmt", 0 }, { "utc", 0 }, { "z", 0 },
		{ "est", -5 }, { "edt", -4 }, { "cst", -6 }, { "cdt", -5 },
		{ "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 },
	};
	int	 sign, h, mi;

	*off = 0;
	if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		s++;
		if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
		    !isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]))
			return -1;
		h = (s[0] - '0') * 10 + (s[1] - '0');
		mi = (s[2] - '0') * 10 + (s[3] - '0');
		if (h > 23 || mi > 59)
			return -1;
		*off = sign * (h * 60 + mi);
		return 0;
	}
	for (size_t i = 0; i < nitems(zones); i++)
		if (strncasecmp(s, zones[i].n, strlen(zones[i].n)) == 0 &&
		    !isalpha((unsigned char)s[strlen(zones[i].n)])) {
			*off = zones[i].h * 60;
			return 0;
		}
	return 0;	/* RFC 5322 4.3: other zones are taken as -0000 */
}

static int
days_in(int mon, int year)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (mon == 1 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		return 29;
	return d[mon];
}

int
mail_date(const char *s, char out[MAIL_DATE_LEN])
{
	struct tm	 tm;
	time_t		 t;
	int		 day, mon, year, h, mi, sec = 0, off;

	out[0] = '\0';
	date_space(&s);
	if (isalpha((unsigned char)*s)) {	/* day of week */
		while (isalpha((unsigned char)*s))
			s++;
		date_space(&s);
	}
	if ((day = date_num(&s, 2)) < 1 || (date_space(&s),
	    (mon = date_month(&s))) < 0 || (date_space(&s),
	    (year = date_num(&s, 4))) < 0)
		return -1;
	if (year < 50)			/* RFC 5322 4.3 */
		year += 2000;
	else if (year < 1000)
		year += 1900;
	date_space(&s);
	if ((h = date_num(&s, 2)) < 0 || *s++ != ':' ||
	    (mi = date_num(&s, 2)) < 0)
		return -1;
	if (*s == ':' && (s++, (sec = date_num(&s, 2))) < 0)
		return -1;
	date_space(&s);
	if (year < 1900 || year > 9999 || day > days_in(mon, year) ||
	    h > 23 || mi > 59 || sec > 60 || date_zone(s, &off) == -1)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	t = timegm(&tm) - (time_t)off * 60;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 ||
	    tm.tm_year + 1900 > 9999 ||
	    strftime(out, MAIL_DATE_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* ---- the message -------------------------------------------------- */

static char *
header_text(const char *h, size_t hlen, const char *name)
{
	char	*v, *d;
	size_t	 vlen;

	if ((v = hdr_get(h, hlen, name, &vlen)) == NULL)
		return xstrdup("");
	d = mail_header_decode(v, vlen);
	free(v);
	return d;
}

int
mail_parse(const char *buf, size_t len, size_t maxlen, struct mail_msg *msg)
{
	struct mctx	 m;
	struct mbuf	 text;
	const char	*body;
	size_t		 hlen, blen;

	memset(msg, 0, sizeof(*msg));
	if (len > maxlen)
		return -1;
	split_entity(buf, len, &hlen, &body, &blen);
	msg->subject = header_text(buf, hlen, "Subject");
	msg->from = header_text(buf, hlen, "From");
	msg->to = header_text(buf, hlen, "To");
	msg->date = header_text(buf, hlen, "Date");
	msg->message_id = header_text(buf, hlen, "Message-ID");
	if (mail_date(msg->date, msg->updated_at) == -1)
		msg->updated_at[0] = '\0';
	memset(&m, 0, sizeof(m));
	mb_init(&text, MAIL_MAX_TEXT);
	entity(&m, buf, len, 0, &text);
	msg->truncated = text.full;
	msg->text = mb_take(&text, &msg->text_len);
	return 0;
}

void
mail_free(struct mail_msg *msg)
{
	free(msg->subject);
	free(msg->from);
	free(msg->to);
	free(msg->date);
	free(msg->message_id);
	free(msg->text);
	memset(msg, 0, sizeof(*msg));
}

/*
 * The chunker works in two passes.  First the text is cut into units:
 * sentences (or lines), each marked when it starts a paragraph, and
 * any unit longer than the target cut again at white space or, failing
 * that, at a code point boundary.  Then units are packed greedily into
 * chunks of at most target bytes, closing a chunk early at a paragraph
 * break once it is half full.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/chunk.h"

struct unit {
	size_t		 off;
	size_t		 len;
	int		 para;		/* first unit of a paragraph */
};

struct units {
	struct unit	*v;
	size_t		 n, cap;
};

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

static int
is_closer(unsigned char c)
{
	return c == '"' || c == '\'' || c == ')' || c == ']';
}

static void
units_add(struct units *u, size_t off, size_t len, int para)
{
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 64;
		u->v = xreallocarray(u->v, u->cap, sizeof(*u->v));
	}
	u->v[u->n].off = off;
	u->v[u->n].len = len;
	u->v[u->n].para = para;
	u->n++;
}

/* Length of a full-width sentence terminator (。！？) at t[i], or 0. */
static size_t
wide_stop(const unsigned char *t, size_t i, size_t len)
{
	if (i + 3 > len)
		return 0;
	if (t[i] == 0xe3 && t[i + 1] == 0x80 && t[i + 2] == 0x82)
		return 3;
	if (t[i] == 0xef && t[i + 1] == 0xbc &&
	    (t[i + 2] == 0x81 || t[i + 2] == 0x9f))
		return 3;
	return 0;
}

/* End (exclusive) of the sentence or line that starts at i. */
static size_t
unit_end(const unsigned char *t, size_t i, size_t len)
{
	size_t	 w, j;

	for (; i < len; i++) {
		if (t[i] == '\n')
			return i;
		if ((w = wide_stop(t, i, len)) > 0)
			return i + w;
		if (t[i] != '.' && t[i] != '!' && t[i] != '?')
			continue;
		for (j = i + 1; j < len && is_closer(t[j]); j++)
			;
		if (j == len || is_space(t[j]))
			return j;
	}
	return len;
}

/* Largest cut <= limit inside t[off..end): white space, else code point. */
static size_t
cut_point(const unsigned char *t, size_t off, size_t limit)
{
	size_t	 i, half = off + (limit - off) / 2;

	for (i = limit; i > half; i--)
		if (is_space(t[i]))
			return i;
	for (i = limit; i > off; i--)
		if ((t[i] & 0xc0) != 0x80)
			return i;
	/* Not UTF-8 at all: cut anywhere rather than loop. */
	return limit;
}

/* Add t[off..end) trimmed, cut into pieces of at most max bytes. */
static void
add_unit(struct units *u, const unsigned char *t, size_t off, size_t end,
    int para, size_t max)
{
	size_t	 cut, stop;

	while (end > off && is_space(t[end - 1]))
		end--;
	while (end - off > max) {
		cut = cut_point(t, off, off + max);
		for (stop = cut; stop > off && is_space(t[stop - 1]); stop--)
			;
		units_add(u, off, stop - off, para);
		para = 0;
		for (off = cut; off < end && is_space(t[off]); off++)
			;
	}
	if (end > off)
		units_add(u, off, end - off, para);
}

static void
split_units(const unsigned char *t, size_t len, size_t max, struct units *u)
{
	size_t	 i = 0, end;
	int	 newlines = 2;	/* the text starts a paragraph */

	while (i < len) {
		if (is_space(t[i])) {
			if (t[i] == '\n')
				newlines++;
			i++;
			continue;
		}
		end = unit_end(t, i, len);
		add_unit(u, t, i, end, newlines >= 2, max);
		newlines = 0;
		i = end;
	}
}

static void
chunks_add(struct chunk **out, size_t *n, size_t *cap, size_t off,
    size_t len)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*out = xreallocarray(*out, *cap, sizeof(**out));
	}
	(*out)[*n].off = off;
	(*out)[*n].len = len;
	(*n)++;
}

static size_t
unit_stop(const struct unit *u)
{
	return u->off + u->len;
}

static long
pack(const struct units *u, const struct chunk_params *p, struct chunk **out)
{
	size_t	 i = 0, j, first, prev_first = 0, cstart, end, n = 0, cap = 0;

	*out = NULL;
	while (i < u->n) {
		first = i;
		/* Overlap: the previous chunk's last sentence, if short. */
		if (p->overlap && i > 0 && i - 1 != prev_first &&
		    !u->v[i].para && u->v[i - 1].len <= p->target / 2 &&
		    unit_stop(&u->v[i]) - u->v[i - 1].off <= p->max)
			first = i - 1;
		cstart = u->v[first].off;
		end = unit_stop(&u->v[i]);
		for (j = i + 1; j < u->n; j++) {
			if (u->v[j].para && end - cstart >= p->target / 2)
				break;
			if (unit_stop(&u->v[j]) - cstart > p->target)
				break;
			end = unit_stop(&u->v[j]);
		}
		chunks_add(out, &n, &cap, cstart, end - cstart);
		prev_first = first;
		i = j;
	}
	return (long)n;
}

long
chunk_text(const char *text, size_t len, const struct chunk_params *p,
    struct chunk **out)
{
	static const struct chunk_params def = {
		CHUNK_TARGET, CHUNK_MAX, 1
	};
	struct units	 u = { NULL, 0, 0 };
	long		 n;

	*out = NULL;
	if (p == NULL)
		p = &def;
	if (p->target < 16 || p->max < p->target)
		return -1;
	split_units((const unsigned char *)text, len, p->target, &u);
	n = pack(&u, p, out);
	free(u.v);
	return n;
}

/*
 * Fuzz indexd's chunker (indexd/chunk.c) on arbitrary bytes.  The first
 * four input bytes choose the parameters, the rest is the text:
 *
 *   target = 16 + (b0 | b1 << 8) % 2048, max = target + b2 * 8,
 *   overlap = b3 & 1 (and b3 & 2 asks for the defaults, p NULL).
 *
 * Checked for every text:
 * - the chunks lie in the text, are not empty, start and end on a
 *   non-space byte, and are at most max bytes (units are cut at target,
 *   so a chunk without overlap is at most target);
 * - their starts and ends strictly increase (in order; overlap repeats
 *   the end of the one before, never more);
 * - every non-space byte is in some chunk, and there are no chunks
 *   exactly when the text is all white space;
 * - when the text is valid UTF-8, no chunk starts or ends inside a
 *   UTF-8 sequence;
 * - the same input gives the same chunks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "indexd/chunk.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAXTEXT	(256 * 1024)

static int
space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/* Length of the UTF-8 sequence at t[i], or 0 when it is not valid. */
static size_t
utf8_seq(const uint8_t *t, size_t i, size_t len)
{
	uint8_t	 c = t[i];
	size_t	 n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (i + n > len)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((t[i + k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (t[i + k] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static int
utf8_valid(const uint8_t *t, size_t len)
{
	size_t	 i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(t, i, len)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

static int
boundary(const uint8_t *t, size_t i, size_t len)
{
	return i == len || (t[i] & 0xc0) != 0x80;
}

static void
check_chunks(const uint8_t *t, size_t len, const struct chunk_params *p,
    const struct chunk *c, long n)
{
	size_t	 covered = 0, nonspace = 0;
	int	 valid = utf8_valid(t, len);

	for (long k = 0; k < n; k++) {
		size_t	 off = c[k].off, end = c[k].off + c[k].len;

		if (c[k].len == 0 || off >= len || c[k].len > len - off ||
		    c[k].len > p->max || space(t[off]) || space(t[end - 1]))
			abort();
		if (!p->overlap && c[k].len > p->target)
			abort();
		if (k > 0 && (off <= c[k - 1].off ||
		    end <= c[k - 1].off + c[k - 1].len))
			abort();
		if (valid && (!boundary(t, off, len) || !boundary(t, end, len)))
			abort();
		/* Bytes from the end of what earlier chunks covered. */
		if (off > covered) {
			for (size_t i = covered; i < off; i++)
				if (!space(t[i]))
					abort();
		}
		if (end > covered)
			covered = end;
	}
	for (size_t i = covered; i < len; i++)
		if (!space(t[i]))
			abort();
	for (size_t i = 0; i < len; i++)
		if (!space(t[i]))
			nonspace++;
	if ((n == 0) != (nonspace == 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct chunk_params def = { CHUNK_TARGET, CHUNK_MAX, 1 };
	struct chunk_params	 p;
	const struct chunk_params *pp;
	struct chunk		*c = NULL, *again = NULL;
	const uint8_t		*t;
	long			 n, n2;
	size_t			 len;

	if (size < 4 || size - 4 > FUZZ_MAXTEXT)
		return 0;
	p.target = 16 + (size_t)(data[0] | data[1] << 8) % 2048;
	p.max = p.target + (size_t)data[2] * 8;
	p.overlap = data[3] & 1;
	pp = (data[3] & 2) ? NULL : &p;
	t = data + 4;
	len = size - 4;
	if ((n = chunk_text((const char *)t, len, pp, &c)) < 0)
		abort();
	check_chunks(t, len, pp ? pp : &def, c, n);
	if ((n2 = chunk_text((const char *)t, len, pp, &again)) != n ||
	    (n > 0 && memcmp(c, again, (size_t)n * sizeof(*c)) != 0))
		abort();
	free(c);
	free(again);
	/* Bad parameters are refused, never chunked. */
	p.max = p.target - 1;
	if (chunk_text((const char *)t, len, &p, &c) != -1)
		abort();
	return 0;
}

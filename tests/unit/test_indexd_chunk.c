/* The chunker: boundaries, overlap, limits, UTF-8 safety, determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/chunk.h"

/* Every chunk is in range, non-empty, trimmed, and starts no earlier. */
static void
check_chunks(const char *t, size_t len, const struct chunk *c, long n,
    size_t max)
{
	for (long i = 0; i < n; i++) {
		assert_true(c[i].len > 0);
		assert_true(c[i].len <= max);
		assert_true(c[i].off + c[i].len <= len);
		assert_false(t[c[i].off] == ' ' || t[c[i].off] == '\n');
		assert_false(t[c[i].off + c[i].len - 1] == ' ' ||
		    t[c[i].off + c[i].len - 1] == '\n');
		/* Never inside a code point, at either end. */
		assert_true(((unsigned char)t[c[i].off] & 0xc0) != 0x80);
		if (c[i].off + c[i].len < len)
			assert_true(((unsigned char)t[c[i].off + c[i].len] &
			    0xc0) != 0x80);
		assert_true(utf8_valid(t + c[i].off, c[i].len));
		if (i > 0) {
			assert_true(c[i].off > c[i - 1].off);
			assert_true(c[i].off + c[i].len >
			    c[i - 1].off + c[i - 1].len);
		}
	}
}

/* Every non-space byte of the text lies in some chunk. */
static void
check_coverage(const char *t, size_t len, const struct chunk *c, long n)
{
	size_t	 covered = 0;

	for (long i = 0; i < n; i++) {
		for (size_t k = covered; k < c[i].off; k++)
			assert_true(t[k] == ' ' || t[k] == '\n');
		if (c[i].off + c[i].len > covered)
			covered = c[i].off + c[i].len;
	}
	for (size_t k = covered; k < len; k++)
		assert_true(t[k] == ' ' || t[k] == '\n');
}

static void
test_empty(void **state)
{
	struct chunk	*c;

	assert_int_equal(chunk_text("", 0, NULL, &c), 0);
	free(c);
	assert_int_equal(chunk_text(" \n\n\t ", 5, NULL, &c), 0);
	free(c);
}

static void
test_bad_params(void **state)
{
	struct chunk_params	 p = { 100, 50, 1 };
	struct chunk		*c;

	assert_int_equal(chunk_text("abc", 3, &p, &c), -1);
	p.target = 4;
	p.max = 100;
	assert_int_equal(chunk_text("abc", 3, &p, &c), -1);
}

static void
test_short_text_one_chunk(void **state)
{
	const char	*t = "  Hello world. Second sentence!  \n";
	struct chunk	*c;

	assert_int_equal(chunk_text(t, strlen(t), NULL, &c), 1);
	assert_int_equal(c[0].off, 2);
	assert_int_equal(c[0].len, strlen("Hello world. Second sentence!"));
	free(c);
}

static void
test_paragraphs(void **state)
{
	/* Two paragraphs of ~60 bytes with target 100: one chunk each. */
	const char	*t =
	    "Alpha one is here. Alpha two is here. Alpha three is here.\n"
	    "\n"
	    "Beta one is here. Beta two is here. Beta three is here now.";
	struct chunk_params	 p = { 100, 150, 1 };
	struct chunk		*c;
	long			 n;

	n = chunk_text(t, strlen(t), &p, &c);
	assert_int_equal(n, 2);
	assert_memory_equal(t + c[0].off, "Alpha one", 9);
	assert_int_equal(c[0].off + c[0].len, strchr(t, '\n') - t);
	/* A new paragraph gets no overlap. */
	assert_memory_equal(t + c[1].off, "Beta one", 8);
	assert_int_equal(c[1].off + c[1].len, strlen(t));
	check_chunks(t, strlen(t), c, n, p.max);
	free(c);
}

static void
test_sentences_and_overlap(void **state)
{
	char			 t[2048];
	struct chunk_params	 p = { 100, 150, 1 };
	struct chunk		*c;
	size_t			 len = 0;
	long			 n;

	for (int i = 0; i < 20; i++)
		len += snprintf(t + len, sizeof(t) - len,
		    "Sentence number %02d ends here. ", i);
	n = chunk_text(t, len, &p, &c);
	assert_true(n > 3);
	check_chunks(t, len, c, n, p.max);
	check_coverage(t, len, c, n);
	for (long i = 0; i < n; i++) {
		/* Whole sentences only. */
		assert_memory_equal(t + c[i].off, "Sentence", 8);
		assert_int_equal(t[c[i].off + c[i].len - 1], '.');
		assert_true(c[i].len <= p.target);
		/* Each chunk starts with its predecessor's last sentence. */
		if (i > 0) {
			const char *prev_end = t + c[i - 1].off + c[i - 1].len;
			size_t	    slen = strlen("Sentence number 00 ends here.");
			assert_true(t + c[i].off == prev_end - slen);
		}
	}
	free(c);

	/* Without overlap the chunks tile the text. */
	p.overlap = 0;
	n = chunk_text(t, len, &p, &c);
	for (long i = 1; i < n; i++)
		assert_int_equal(c[i].off, c[i - 1].off + c[i - 1].len + 1);
	free(c);
}

static void
test_long_sentence_split_at_space(void **state)
{
	char			 t[1000];
	struct chunk_params	 p = { 100, 150, 0 };
	struct chunk		*c;
	size_t			 len = 0;
	long			 n;

	for (int i = 0; i < 90; i++)
		len += snprintf(t + len, sizeof(t) - len, "word%d ", i);
	n = chunk_text(t, len, &p, &c);
	assert_true(n >= 5);
	check_chunks(t, len, c, n, p.target);
	check_coverage(t, len, c, n);
	for (long i = 0; i < n; i++) {
		assert_memory_equal(t + c[i].off, "word", 4);
		/* Cut between words, not inside one. */
		if (c[i].off + c[i].len < len)
			assert_int_equal(t[c[i].off + c[i].len], ' ');
	}
	free(c);
}

static void
test_utf8_no_spaces(void **state)
{
	/* 3-byte and 4-byte code points, no space: cuts at boundaries. */
	char			 t[4000];
	struct chunk_params	 p = { 100, 120, 1 };
	struct chunk		*c;
	size_t			 len = 0;
	long			 n;

	while (len + 7 < sizeof(t)) {
		memcpy(t + len, "\xe6\x97\xa5", 3);	/* 日 */
		memcpy(t + len + 3, "\xf0\x9f\x98\x80", 4);	/* emoji */
		len += 7;
	}
	n = chunk_text(t, len, &p, &c);
	assert_true(n >= (long)(len / 100));
	check_chunks(t, len, c, n, p.max);
	check_coverage(t, len, c, n);
	free(c);
}

static void
test_wide_stops(void **state)
{
	/* 。ends a sentence without a following space. */
	char			 t[3000];
	struct chunk_params	 p = { 60, 80, 0 };
	struct chunk		*c;
	size_t			 len = 0;
	long			 n;

	for (int i = 0; i < 40; i++) {
		memcpy(t + len, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"
		    "\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82", 18);
		len += 18;
	}
	n = chunk_text(t, len, &p, &c);
	check_chunks(t, len, c, n, p.max);
	for (long i = 0; i < n; i++)
		assert_memory_equal(t + c[i].off + c[i].len - 3,
		    "\xe3\x80\x82", 3);
	free(c);
}

static char *
big_text(size_t want, size_t *lenp)
{
	static const char *words[] = { "alpha", "beta", "gamma", "delta",
	    "epsilon", "\xc3\xa9t\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "zeta" };
	char		*t = xcalloc(1, want + 64);
	size_t		 len = 0;
	uint32_t	 x = 12345;

	while (len < want) {
		x = x * 1103515245 + 12345;
		len += snprintf(t + len, want + 64 - len, "%s",
		    words[(x >> 16) % nitems(words)]);
		switch ((x >> 8) % 23) {
		case 0:
			len += snprintf(t + len, want + 64 - len, ".\n\n");
			break;
		case 1: case 2:
			len += snprintf(t + len, want + 64 - len, ". ");
			break;
		default:
			len += snprintf(t + len, want + 64 - len, " ");
		}
	}
	*lenp = len;
	return t;
}

static void
test_one_megabyte_deterministic(void **state)
{
	struct chunk	*a, *b;
	size_t		 len;
	char		*t = big_text(1 << 20, &len);
	long		 n, m;

	n = chunk_text(t, len, NULL, &a);
	assert_true(n > (long)(len / CHUNK_TARGET));
	assert_true(n < (long)(len / (CHUNK_TARGET / 4)));
	check_chunks(t, len, a, n, CHUNK_MAX);
	check_coverage(t, len, a, n);
	m = chunk_text(t, len, NULL, &b);
	assert_int_equal(n, m);
	assert_memory_equal(a, b, n * sizeof(*a));
	free(a);
	free(b);
	free(t);
}

/* Invalid UTF-8 and NUL-free binary junk: no crash, limits hold. */
static void
test_junk(void **state)
{
	unsigned char		 t[5000];
	struct chunk_params	 p = { 64, 64, 1 };
	struct chunk		*c;
	uint32_t		 x = 7;
	long			 n;

	for (size_t i = 0; i < sizeof(t); i++) {
		x = x * 1664525 + 1013904223;
		t[i] = (x >> 24) | 1;
	}
	n = chunk_text((char *)t, sizeof(t), &p, &c);
	assert_true(n > 0);
	for (long i = 0; i < n; i++)
		assert_true(c[i].len > 0 && c[i].len <= p.max &&
		    c[i].off + c[i].len <= sizeof(t));
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_short_text_one_chunk),
		cmocka_unit_test(test_paragraphs),
		cmocka_unit_test(test_sentences_and_overlap),
		cmocka_unit_test(test_long_sentence_split_at_space),
		cmocka_unit_test(test_utf8_no_spaces),
		cmocka_unit_test(test_wide_stops),
		cmocka_unit_test(test_one_megabyte_deterministic),
		cmocka_unit_test(test_junk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

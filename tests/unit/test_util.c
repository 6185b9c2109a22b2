/*
 * common/util.c: utf8_valid() against a byte-at-a-time reference, on
 * fixed cases and on many random strings whose odd bytes (NUL, high
 * bytes, truncated sequences) fall on every offset around its 8-byte
 * ASCII fast path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* The plain definition: RFC 3629, no NUL, no surrogates, no overlongs. */
static int
reference(const unsigned char *s, size_t len)
{
	size_t	 i = 0;

	while (i < len) {
		unsigned char	 c = s[i];
		size_t		 n;
		uint32_t	 cp, min;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else
			return 0;
		if (i + n >= len)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static void
test_fixed(void **state)
{
	static const struct {
		const char	*s;
		int		 ok;
	} cases[] = {
		{ "", 1 }, { "plain ascii text, longer than eight", 1 },
		{ "caf\xc3\xa9 cr\xc3\xa8" "me br\xc3\xbb" "l\xc3\xa9" "e", 1 },
		{ "\xe2\x82\xac\xf0\x9f\x98\x80", 1 },
		{ "abcdefg\xc3", 0 }, { "abcdefgh\xff", 0 },
		{ "\xc0\xaf", 0 }, { "\xed\xa0\x80", 0 }, { "\xf4\x90\x80\x80", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(utf8_valid(cases[i].s, strlen(cases[i].s)),
		    cases[i].ok);
	/* a NUL anywhere in a long ASCII run */
	for (size_t at = 0; at < 24; at++) {
		char	 buf[24];

		memset(buf, 'a', sizeof(buf));
		buf[at] = '\0';
		assert_int_equal(utf8_valid(buf, sizeof(buf)), 0);
		buf[at] = 'a';
		assert_int_equal(utf8_valid(buf, sizeof(buf)), 1);
	}
}

static void
test_random_against_reference(void **state)
{
	static const unsigned char odd[] = {
		0x00, 0x7f, 0x80, 0xbf, 0xc2, 0xc3, 0xa9, 0xe2, 0x82, 0xac,
		0xed, 0xa0, 0xf0, 0x9f, 0x98, 0xff
	};
	unsigned char	 buf[40];
	uint32_t	 r;

	for (int iter = 0; iter < 200000; iter++) {
		size_t	 len;

		arc4random_buf(&r, sizeof(r));
		len = r % sizeof(buf);
		memset(buf, 'x', sizeof(buf));
		/* a few odd bytes at random places, mostly ASCII */
		for (int k = 0; k < (int)((r >> 8) % 4); k++) {
			uint32_t	 q = arc4random();

			buf[q % sizeof(buf)] = odd[(q >> 8) % sizeof(odd)];
		}
		assert_int_equal(utf8_valid((char *)buf, len),
		    reference(buf, len));
	}
}

/* Dates as PostgreSQL's timestamptz takes them, and nothing else. */
static void
test_rfc3339(void **state)
{
	static const char *const good[] = {
		"1937-01-01T12:00:27.87+00:20", "2024-02-29T00:00:00Z",
		"2024-05-01t12:00:00z", "2024-05-01 12:00:00-15:59",
		"0001-01-01T00:00:00Z", "2016-12-31T23:59:60Z",
	};
	static const char *const bad[] = {
		"2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
		"2024-05-01T12:00:00+16:00", "2024-05-01T12:00:00-23:59",
		"2024-05-01T24:00:00Z", "2024-05-01T12:00:00", "0000-01-01T00:00:00Z",
		"2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0100",
		"2024-05-01T12:00:00Zjunk", "tomorrow", "",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!rfc3339_valid(good[i]))
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rfc3339_valid(bad[i]))
			fail_msg("took %s", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_random_against_reference),
		cmocka_unit_test(test_rfc3339),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

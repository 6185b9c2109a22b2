/*
 * html_to_text() (fetcher/html.c): what is kept, what is dropped, how
 * references are decoded, and that bad or truncated input is safe.
 */
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/util.h"
#include "fetcher/html.h"

/* Convert s; check the result is valid UTF-8 of the length it claims. */
static char *
conv(const char *s, size_t len, char *title, size_t titlelen)
{
	char	*out;
	size_t	 outlen = 12345;

	out = html_to_text(s, len, &outlen, title, titlelen);
	assert_non_null(out);
	assert_int_equal(outlen, strlen(out));
	assert_true(utf8_valid(out, outlen));
	return out;
}

static void
expect(const char *html, const char *want)
{
	char	*out = conv(html, strlen(html), NULL, 0);

	assert_string_equal(out, want);
	free(out);
}

static void
test_tags_stripped(void **state)
{
	expect("<p>Hello <b>bold</b> <a href=\"x.html\">link</a>!</p>",
	    "Hello bold link!");
	expect("a<span class='x > y'>b</span>c", "abc");
	expect("<img src=x alt=\"a>b\">text", "text");
	expect("plain text, no tags", "plain text, no tags");
	expect("", "");
	expect("1 < 2 and 3 <4", "1 < 2 and 3 <4");
}

static void
test_script_style_head(void **state)
{
	expect("<script>var a = '<p>no</p>';</script>yes", "yes");
	expect("<SCRIPT type=x>alert(1)</ScRiPt >after", "after");
	expect("<style>p { color: red }</style>text", "text");
	expect("<head><meta charset=utf-8><link rel=x>head text?</head>"
	    "<body>body</body>", "head text?\nbody");
	expect("<html><head><meta name=a content=b></head><body>x</body>",
	    "x");
	expect("<!-- a comment <p>inside</p> -->after", "after");
	expect("<!DOCTYPE html><?xml version=1?>doc", "doc");
}

static void
test_title(void **state)
{
	char	 title[64], small[8], *out;
	const char *h = "<html><head><title> My  &amp;\n Page </title></head>"
	    "<body><h1>Head</h1><title>second</title></body></html>";

	out = conv(h, strlen(h), title, sizeof(title));
	assert_string_equal(title, "My & Page");
	assert_string_equal(out, "Head");
	free(out);

	/* cut on a character boundary: "ééé" is 6 bytes, 7 fit with NUL */
	h = "<title>\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9</title>x";
	out = conv(h, strlen(h), small, sizeof(small));
	assert_string_equal(small, "\xc3\xa9\xc3\xa9\xc3\xa9");
	free(out);

	out = conv("no title", 8, title, sizeof(title));
	assert_string_equal(title, "");
	free(out);
}

static void
test_entities(void **state)
{
	expect("&amp;&lt;&gt;&quot;&#39;&apos;", "&<>\"''");
	expect("a&nbsp;&nbsp;b", "a b");
	expect("&#65;&#x42;&#X43;&#233;&#x20AC;&#x1F600;",
	    "ABC\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	/* no ';' on a numeric reference is accepted, as browsers do */
	expect("&#65 x", "A x");
	/* 0, surrogates, beyond U+10FFFF, overflow: U+FFFD */
	expect("&#0;|&#xD800;|&#x110000;|&#99999999999999999999;",
	    "\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd");
	/* unknown or malformed: kept as written */
	expect("&copy; &bogus; & &# &#x; &amp", "&copy; &bogus; & &# &#x; "
	    "&amp");
}

static void
test_blocks_and_space(void **state)
{
	expect("<p>one</p><p>two</p>", "one\ntwo");
	expect("a<br>b<br/>c", "a\nb\nc");
	expect("<ul><li>x</li><li>y</li></ul>", "x\ny");
	expect("<h1>T</h1><div>d</div><section>s</section><tr><td>c",
	    "T\nd\ns\nc");
	expect("  lots   of \t\n\r white\n\n\nspace  ", "lots of white space");
	expect("<p>  </p><p></p><p>x</p>", "x");
	expect("in<i>line</i>words", "inlinewords");
}

static void
test_invalid_utf8(void **state)
{
	/* lone continuation, bad lead, overlong, surrogate, truncated */
	expect("a\x80z", "a\xef\xbf\xbdz");
	expect("\xff", "\xef\xbf\xbd");
	expect("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
	expect("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	expect("ok \xe2\x82", "ok \xef\xbf\xbd\xef\xbf\xbd");
	expect("caf\xc3\xa9", "caf\xc3\xa9");
}

static void
test_nul_bytes(void **state)
{
	char	*out = conv("a\0b", 3, NULL, 0);

	/* NUL is not text: it collapses like a control character */
	assert_string_equal(out, "a b");
	free(out);
}

static void
test_truncated(void **state)
{
	static const char *const cut[] = {
		"text<scr", "text<script>never closed", "text<!--", "text<!-- x",
		"text&#x", "text&#", "text&", "text&am", "text<", "text</",
		"text<a href=\"x", "text<title>t", "text<style", "text<!",
		"text<p", "text\xe2", "text<a b='",
	};
	char	 title[16];

	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		size_t	 n = strlen(cut[i]);
		/* an exact-size heap copy so ASan sees any overread */
		char	*in = malloc(n), *out;

		assert_non_null(in);
		memcpy(in, cut[i], n);
		out = conv(in, n, title, sizeof(title));
		assert_true(strncmp(out, "text", 4) == 0);
		free(out);
		free(in);
	}
}

static void
test_size_cap(void **state)
{
	char	*big, *out;
	size_t	 outlen;

	assert_null(html_to_text("x", HTML_MAX_INPUT + 1, &outlen, NULL, 0));
	big = malloc(HTML_MAX_INPUT);
	assert_non_null(big);
	memset(big, 'a', HTML_MAX_INPUT);
	out = html_to_text(big, HTML_MAX_INPUT, &outlen, NULL, 0);
	assert_non_null(out);
	assert_int_equal(outlen, HTML_MAX_INPUT);
	free(out);
	/* worst growth: every byte invalid becomes 3 bytes */
	memset(big, 0xff, 1024 * 1024);
	out = html_to_text(big, 1024 * 1024, &outlen, NULL, 0);
	assert_non_null(out);
	assert_int_equal(outlen, 3 * 1024 * 1024);
	assert_true(utf8_valid(out, outlen));
	free(out);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags_stripped),
		cmocka_unit_test(test_script_style_head),
		cmocka_unit_test(test_title),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_blocks_and_space),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_size_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fetcher/feed.c: RSS, Atom and JSON feeds into items. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "fetcher/feed.h"

static int
parse(const char *s, enum feed_format fmt, const struct feed_json_opts *op,
    struct feed *f, char *err)
{
	return feed_parse(s, strlen(s), fmt, op, f, err, 256);
}

static void
test_rss(void **state)
{
	struct feed	 f;
	char		 err[256];
	const char	*x = "<?xml version=\"1.0\"?>\n<!-- c -->"
	    "<rss version=\"2.0\" xmlns:dc=\"x\"><channel><title>T</title>"
	    "<item><title>A &amp; B &#x263A; &#65;</title>"
	    "<link>https://e.org/1?a=1&amp;b=2</link>"
	    "<guid>https://e.org/g1</guid>"
	    "<description><![CDATA[<p>Hi <b>there</b> &amp; you</p>]]>"
	    "</description><pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate>"
	    "<dc:creator>Bo</dc:creator></item>"
	    "<item><title>No id</title><link>https://e.org/2</link></item>"
	    "<item><title>Bare</title></item>"
	    "</channel></rss>";

	assert_int_equal(parse(x, FEED_AUTO, NULL, &f, err), 0);
	assert_int_equal(f.format, FEED_RSS);
	assert_int_equal(f.nitems, 3);
	assert_string_equal(f.items[0].title, "A & B \xe2\x98\xba A");
	assert_string_equal(f.items[0].url, "https://e.org/1?a=1&b=2");
	assert_string_equal(f.items[0].id, "https://e.org/g1");
	assert_string_equal(f.items[0].text, "Hi there & you");
	assert_string_equal(f.items[0].updated, "2003-06-10T04:00:00Z");
	assert_string_equal(f.items[0].author, "Bo");
	assert_string_equal(f.items[1].id, "https://e.org/2");
	assert_int_equal(strlen(f.items[2].id), 64);	/* SHA-256 hex */
	assert_null(f.items[2].url);
	feed_free(&f);
}

static void
test_atom_links(void **state)
{
	struct feed	 f;
	char		 err[256];
	const char	*x = "<feed xmlns='http://www.w3.org/2005/Atom'>"
	    "<link rel='next' href='https://e.org/p2'/>"
	    "<entry><id>e1</id><title>One</title>"
	    "<link rel='self' href='https://e.org/self'/>"
	    "<link rel='alternate' href='https://e.org/alt'/>"
	    "<link href='https://e.org/plain'/>"
	    "<updated>2024-01-02T03:04:05.123-01:30</updated>"
	    "<summary>sum</summary></entry>"
	    "<entry><id>e2</id><link rel='enclosure' href='https://e.org/m'/>"
	    "<link href=\"https://e.org/2?x=1&amp;y=2\"/>"
	    "<content type='xhtml'><div><p>X<em>Y</em></p></div></content>"
	    "</entry>"
	    "<entry><id>e3</id><link rel='related' href='https://e.org/r'/>"
	    "<title type='text'>a &lt;b&gt;</title></entry></feed>";

	assert_int_equal(parse(x, FEED_ATOM, NULL, &f, err), 0);
	assert_int_equal(f.format, FEED_ATOM);
	assert_int_equal(f.nitems, 3);
	assert_string_equal(f.next, "https://e.org/p2");
	assert_string_equal(f.items[0].url, "https://e.org/alt");
	assert_string_equal(f.items[0].text, "sum");
	assert_string_equal(f.items[0].updated, "2024-01-02T04:34:05Z");
	assert_string_equal(f.items[1].url, "https://e.org/2?x=1&y=2");
	assert_string_equal(f.items[1].text, "XY");
	assert_null(f.items[2].url);
	assert_string_equal(f.items[2].title, "a <b>");
	feed_free(&f);
}

static void
test_json(void **state)
{
	struct feed		 f;
	struct feed_json_opts	 op = { .items = "data.list",
	    .title_field = "name", .next_field = "meta.next" };
	char			 err[256];
	const char		*j = "{\"data\":{\"list\":[{\"id\":7,\"name\":\"N\","
	    "\"summary\":\"<i>s</i>\",\"url\":\"https://e.org/7\","
	    "\"updated_at\":\"2024-05-06\"},3,{\"title\":\"only\"}]},"
	    "\"meta\":{\"next\":\"/p?2\"}}";

	assert_int_equal(parse(j, FEED_AUTO, &op, &f, err), 0);
	assert_int_equal(f.nitems, 1);		/* no name in the third */
	assert_string_equal(f.items[0].id, "7");
	assert_string_equal(f.items[0].title, "N");
	assert_string_equal(f.items[0].text, "s");
	assert_string_equal(f.items[0].updated, "2024-05-06T00:00:00Z");
	assert_string_equal(f.next, "/p?2");
	feed_free(&f);
	assert_int_equal(parse("[{\"id\":\"a\"},{\"id\":\"b\"}]", FEED_JSON,
	    NULL, &f, err), 0);
	assert_int_equal(f.nitems, 2);
	feed_free(&f);
	assert_int_equal(parse("{\"items\":5}", FEED_JSON, NULL, &f, err), -1);
	assert_non_null(strstr(err, "array"));
	feed_free(&f);
	assert_int_equal(parse("{\"items\":[", FEED_JSON, NULL, &f, err), -1);
	assert_non_null(strstr(err, "not valid JSON"));
	feed_free(&f);
}

static void
test_refused(void **state)
{
	struct feed	 f;
	char		 err[256];
	static const char *const bad[] = {
		"<!DOCTYPE rss [<!ENTITY a \"aaaa\">]><rss>&a;</rss>",
		"<rss><channel><item><title>x</title>",		/* truncated */
		"<rss><channel><item><title>x</titl",
		"<rss><channel></item></channel></rss>",	/* mismatched */
		"<rss><channel><item><title a=b>x</title></item></channel></rss>",
		"<html><body/></html>",
		"<rss><![CDATA[x",
		"plain text",
		"",
	};

	for (size_t i = 0; i < nitems(bad); i++) {
		if (parse(bad[i], FEED_AUTO, NULL, &f, err) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
		feed_free(&f);
	}
	assert_int_equal(parse(bad[0], FEED_RSS, NULL, &f, err), -1);
	assert_non_null(strstr(err, "DOCTYPE"));
	feed_free(&f);
}

static void
test_caps(void **state)
{
	struct feed	 f;
	char		 err[256], *x;
	size_t		 i, n = 0, cap = 80 * 2048 + 8 * 1024 * 1024;

	/* depth */
	x = xcalloc(1, cap);
	n = strlcpy(x, "<rss>", cap);
	for (i = 0; i < FEED_MAX_DEPTH; i++)
		n += strlcpy(x + n, "<a>", cap - n);
	assert_int_equal(parse(x, FEED_RSS, NULL, &f, err), -1);
	assert_non_null(strstr(err, "deeply"));
	feed_free(&f);
	/* items beyond the cap are dropped and say so */
	n = strlcpy(x, "<rss><channel>", cap);
	for (i = 0; i < FEED_MAX_ITEMS + 5; i++)
		n += snprintf(x + n, cap - n, "<item><guid>%zu</guid></item>",
		    i);
	strlcpy(x + n, "</channel></rss>", cap - n);
	assert_int_equal(parse(x, FEED_RSS, NULL, &f, err), 0);
	assert_int_equal(f.nitems, FEED_MAX_ITEMS);
	assert_true(f.truncated);
	feed_free(&f);
	/* fields: title cut on a character boundary, long ids hashed */
	n = strlcpy(x, "<rss><channel><item><title>", cap);
	for (i = 0; i < 1500; i++)
		n += strlcpy(x + n, "\xc3\xa9", cap - n);
	n += strlcpy(x + n, "</title><guid>", cap - n);
	for (i = 0; i < 600; i++)
		x[n++] = 'g';
	n += strlcpy(x + n, "</guid><description>", cap - n);
	memset(x + n, 'w', FEED_MAX_TEXT + 100);
	n += FEED_MAX_TEXT + 100;
	strlcpy(x + n, "</description></item></channel></rss>", cap - n);
	assert_int_equal(parse(x, FEED_RSS, NULL, &f, err), 0);
	assert_int_equal(f.nitems, 1);
	assert_int_equal(strlen(f.items[0].title), FEED_MAX_TITLE);
	assert_true(utf8_valid(f.items[0].title, strlen(f.items[0].title)));
	assert_int_equal(strlen(f.items[0].id), 64);
	assert_true(f.items[0].text_len <= FEED_MAX_TEXT);
	feed_free(&f);
	free(x);
	assert_int_equal(feed_parse("<rss/>", FEED_MAX_INPUT + 1, FEED_RSS,
	    NULL, &f, err, sizeof(err)), -1);
	feed_free(&f);
}

static void
test_utf8_and_dates(void **state)
{
	struct feed	 f;
	char		 err[256], d[32];
	const char	*x = "<rss><channel><item><title>a\xff\xfe b&#0;"
	    "&#xD800;&bogus;</title><guid>1</guid></item></channel></rss>";

	assert_int_equal(parse(x, FEED_RSS, NULL, &f, err), 0);
	assert_true(utf8_valid(f.items[0].title, strlen(f.items[0].title)));
	assert_non_null(strstr(f.items[0].title, "&bogus;"));
	feed_free(&f);
	assert_int_equal(feed_date("Sun, 6 Nov 1994 08:49:37 +0130", d,
	    sizeof(d)), 0);
	assert_string_equal(d, "1994-11-06T07:19:37Z");
	assert_int_equal(feed_date("06 Nov 94 08:49 EST", d, sizeof(d)), 0);
	assert_string_equal(d, "1994-11-06T13:49:00Z");
	assert_int_equal(feed_date("2024-02-29T23:59:60Z", d, sizeof(d)), 0);
	assert_int_equal(feed_date("1700000000", d, sizeof(d)), 0);
	assert_string_equal(d, "2023-11-14T22:13:20Z");
	assert_int_equal(feed_date("yesterday", d, sizeof(d)), -1);
	assert_int_equal(feed_date("2024-13-01", d, sizeof(d)), -1);
	assert_int_equal(feed_date("Mon, 02 Foo 2006 15:04:05 GMT", d,
	    sizeof(d)), -1);
	assert_int_equal(feed_date("2024-01-01T10:00:00+0x:00", d,
	    sizeof(d)), -1);
	assert_int_equal(feed_sniff("application/atom+xml", "{", 1),
	    FEED_ATOM);
	assert_int_equal(feed_sniff(NULL, " [1]", 4), FEED_JSON);
	assert_int_equal(feed_sniff("text/xml", "<rss>", 5), FEED_RSS);
	assert_int_equal(feed_sniff(NULL, "hello", 5), FEED_AUTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rss),
		cmocka_unit_test(test_atom_links),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_utf8_and_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fetcher/mail.c: headers, encoded words, MIME structure, transfer
 * encodings, charsets, caps and dates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "fetcher/mail.h"

static void
parse(const char *s, struct mail_msg *m)
{
	assert_int_equal(mail_parse(s, strlen(s), 1 << 20, m), 0);
	assert_true(utf8_valid(m->text, m->text_len));
	assert_int_equal(strlen(m->text), m->text_len);
}

static void
test_plain(void **state)
{
	struct mail_msg	m;

	parse("From: Ann <ann@example.org>\r\nTo: bob@example.org\r\n"
	    "Subject: Lunch\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
	    "Message-ID: <a1@example.org>\r\n\r\nSee you at noon.\r\n"
	    "Ann\r\n", &m);
	assert_string_equal(m.subject, "Lunch");
	assert_string_equal(m.from, "Ann <ann@example.org>");
	assert_string_equal(m.to, "bob@example.org");
	assert_string_equal(m.message_id, "<a1@example.org>");
	assert_string_equal(m.date, "Tue, 1 Jul 2003 10:52:37 +0200");
	assert_string_equal(m.updated_at, "2003-07-01T08:52:37Z");
	assert_string_equal(m.text, "See you at noon.\nAnn\n");
	mail_free(&m);

	/* bare LF line ends, no headers we know */
	parse("X-Other: 1\n\nline one\nline two\n", &m);
	assert_string_equal(m.subject, "");
	assert_string_equal(m.updated_at, "");
	assert_string_equal(m.text, "line one\nline two\n");
	mail_free(&m);
}

static void
test_folded_headers(void **state)
{
	struct mail_msg	m;

	parse("Subject: a long\r\n\tsubject that\r\n   goes on\r\n"
	    "From: x@y\r\n\r\nbody", &m);
	assert_string_equal(m.subject, "a long subject that goes on");
	assert_string_equal(m.from, "x@y");
	mail_free(&m);
}

static void
test_encoded_words(void **state)
{
	struct mail_msg	 m;
	char		*s;

	parse("Subject: =?UTF-8?B?SGVsbG8gd8O2cmxk?=\r\n"
	    "From: =?iso-8859-1?Q?Andr=E9_Pirard?= <pirard@example.be>\r\n"
	    "\r\nx", &m);
	assert_string_equal(m.subject, "Hello w\xc3\xb6rld");
	assert_string_equal(m.from, "Andr\xc3\xa9 Pirard <pirard@example.be>");
	mail_free(&m);

	/* space between adjacent encoded words vanishes, not elsewhere */
	s = mail_header_decode("=?utf-8?q?a?= =?utf-8?q?b?= c", 29);
	assert_string_equal(s, "ab c");
	free(s);
	/* malformed words stay as written; an unknown charset is repaired */
	s = mail_header_decode("=?utf-8?x?abc?= =?koi8-r?B?/w==?=", 33);
	assert_string_equal(s, "=?utf-8?x?abc?= \xef\xbf\xbd");
	free(s);
	/* windows-1252 quotes */
	s = mail_header_decode("=?windows-1252?Q?=93hi=94?=", 27);
	assert_string_equal(s, "\xe2\x80\x9chi\xe2\x80\x9d");
	free(s);
	/* raw 8-bit junk never escapes as invalid UTF-8 */
	s = mail_header_decode("caf\xe9 \xc3\xa9", 7);
	assert_string_equal(s, "caf\xef\xbf\xbd \xc3\xa9");
	free(s);
}

static void
test_alternative_prefers_plain(void **state)
{
	struct mail_msg	m;

	parse("Subject: alt\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
	    "preamble\r\n--b1\r\nContent-Type: text/html\r\n\r\n"
	    "<p>the <b>html</b></p>\r\n--b1\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\nthe plain\r\n"
	    "--b1--\r\nepilogue\r\n", &m);
	assert_string_equal(m.text, "the plain");
	mail_free(&m);

	/* html only: reduced to text */
	parse("Content-Type: multipart/alternative; boundary=b2\r\n\r\n"
	    "--b2\r\nContent-Type: text/html\r\n\r\n<html><head><style>p {"
	    "color: red}</style></head><body><p>Fish &amp; chips</p>"
	    "<script>alert(1)</script>x&#233;y</body></html>\r\n--b2--\r\n",
	    &m);
	assert_non_null(strstr(m.text, "Fish & chips"));
	assert_non_null(strstr(m.text, "x\xc3\xa9y"));
	assert_null(strstr(m.text, "color"));
	assert_null(strstr(m.text, "alert"));
	assert_null(strchr(m.text, '<'));
	mail_free(&m);
}

static void
test_nested_mixed(void **state)
{
	struct mail_msg	m;

	parse("Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
	    "--outer\r\nContent-Type: multipart/alternative; boundary=inner"
	    "\r\n\r\n--inner\r\nContent-Type: text/plain\r\n\r\nfirst part"
	    "\r\n--inner\r\nContent-Type: text/html\r\n\r\n<b>no</b>\r\n"
	    "--inner--\r\n--outer\r\nContent-Type: application/pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
	    "--outer\r\nContent-Type: text/plain\r\nContent-Disposition: "
	    "attachment; filename=notes.txt\r\n\r\nsecret attachment\r\n"
	    "--outer\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n"
	    "--outer--\r\n", &m);
	assert_string_equal(m.text, "first part\n\nsecond part");
	mail_free(&m);
}

static void
test_transfer_encodings(void **state)
{
	struct mail_msg	m;

	/* "Grüße aus Köln\n" in UTF-8, base64 over two lines */
	parse("Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "R3LDvMOfZSBhdX\r\nMgS8O2bG4K\r\n", &m);
	assert_string_equal(m.text, "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\n");
	mail_free(&m);

	parse("Content-Type: text/plain; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: Quoted-Printable\r\n\r\n"
	    "caf=E9 au lait, a soft=\r\nbreak, 1+1=3D2, bad =ZZ\r\n", &m);
	assert_string_equal(m.text,
	    "caf\xc3\xa9 au lait, a softbreak, 1+1=2, bad =ZZ\n");
	mail_free(&m);

	/* windows-1252 body: euro sign and curly quote */
	parse("Content-Type: text/plain; charset=cp1252\r\n\r\n\x80 \x93" "q",
	    &m);
	assert_string_equal(m.text, "\xe2\x82\xac \xe2\x80\x9cq");
	mail_free(&m);

	/* invalid UTF-8 and NUL bytes repaired */
	assert_int_equal(mail_parse("\r\na\xff" "b\0c\xe2\x82", 10, 100, &m),
	    0);
	assert_string_equal(m.text, "a\xef\xbf\xbd" "bc\xef\xbf\xbd"
	    "\xef\xbf\xbd");
	mail_free(&m);
}

static void
test_broken_boundaries(void **state)
{
	struct mail_msg	m;

	/* the close delimiter never comes: the last part runs to the end */
	parse("Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
	    "Content-Type: text/plain\r\n\r\nunterminated\r\n", &m);
	assert_string_equal(m.text, "unterminated\n");
	mail_free(&m);

	/* the boundary is never in the body: read as text */
	parse("Content-Type: multipart/mixed; boundary=nothere\r\n\r\n"
	    "just text\r\n", &m);
	assert_string_equal(m.text, "just text\n");
	mail_free(&m);

	/* no boundary parameter at all */
	parse("Content-Type: multipart/mixed\r\n\r\nstill text\r\n", &m);
	assert_string_equal(m.text, "still text\n");
	mail_free(&m);

	/* "--zzz" is not the delimiter "--zz" */
	parse("Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
	    "\r\none\r\n--zzz\r\ntwo\r\n--zz--\r\n", &m);
	assert_string_equal(m.text, "one\n--zzz\ntwo");
	mail_free(&m);

	/* no blank line after the headers: no body */
	parse("Subject: only headers\r\n", &m);
	assert_string_equal(m.subject, "only headers");
	assert_string_equal(m.text, "");
	mail_free(&m);
}

static void
test_caps(void **state)
{
	struct mail_msg	 m;
	char		*buf, *p;
	size_t		 len, n;
	int		 i;

	/* input over the cap is refused */
	assert_int_equal(mail_parse("Subject: x\r\n\r\nbody", 18, 17, &m), -1);

	/* nesting deeper than MAIL_MAX_DEPTH gives no text from below it */
	buf = xcalloc(1, 8192);
	p = buf;
	for (i = 0; i < MAIL_MAX_DEPTH + 3; i++)
		p += snprintf(p, 200, "Content-Type: multipart/mixed; "
		    "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	p += snprintf(p, 200, "Content-Type: text/plain\r\n\r\ndeep\r\n");
	parse(buf, &m);
	assert_null(strstr(m.text, "deep"));
	mail_free(&m);
	free(buf);

	/* more than MAIL_MAX_PARTS parts: the rest are not read */
	len = 64 + (MAIL_MAX_PARTS + 50) * 64;
	buf = xcalloc(1, len);
	n = (size_t)snprintf(buf, len, "Content-Type: multipart/mixed; "
	    "boundary=q\r\n\r\n");
	for (i = 0; i < MAIL_MAX_PARTS + 50; i++)
		n += (size_t)snprintf(buf + n, len - n, "--q\r\n\r\np%d\r\n",
		    i);
	parse(buf, &m);
	assert_non_null(strstr(m.text, "p0\n"));
	assert_non_null(strstr(m.text, "p90\n"));
	assert_null(strstr(m.text, "p120"));
	mail_free(&m);
	free(buf);

	/* a body over MAIL_MAX_TEXT is cut on a character boundary */
	len = MAIL_MAX_TEXT + 100;
	buf = xcalloc(1, len + 8);
	memcpy(buf, "\r\nx", 3);	/* odd offset: cuts into a sequence */
	for (n = 3; n + 2 <= len; n += 2)
		memcpy(buf + n, "\xc3\xa9", 2);
	assert_int_equal(mail_parse(buf, n, len + 8, &m), 0);
	assert_true(m.truncated);
	assert_true(m.text_len <= MAIL_MAX_TEXT);
	assert_true(m.text_len >= MAIL_MAX_TEXT - 3);
	assert_true(utf8_valid(m.text, m.text_len));
	mail_free(&m);
	free(buf);
}

static void
test_dates(void **state)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "Mon, 2 Jan 2006 15:04:05 -0700", "2006-01-02T22:04:05Z" },
		{ "2 Jan 2006 15:04:05 +0000", "2006-01-02T15:04:05Z" },
		{ "Fri, 31 Dec 1999 23:59 -0100 (CET)",
		    "2000-01-01T00:59:00Z" },
		{ "Thu, 29 Feb 2024 01:00:00 +0530", "2024-02-28T19:30:00Z" },
		{ "Sat, 1 Jan 22 10:00:00 GMT", "2022-01-01T10:00:00Z" },
		{ "1 Jan 99 10:00:00 EST", "1999-01-01T15:00:00Z" },
		{ "  Wed,  3 Mar 2010 04:05:06 PDT", "2010-03-03T11:05:06Z" },
		{ "3 March 2010 04:05:06 XYZ", "2010-03-03T04:05:06Z" },
	};
	static const char *const bad[] = {
		"", "yesterday", "31 Feb 2020 10:00:00 +0000",
		"1 Jan 2020 25:00:00 +0000", "1 Foo 2020 10:00:00 +0000",
		"1 Jan 2020 10:00:00 +2460", "1 Jan 2020", "1 Jan 2020 10",
		"99999 Jan 2020 10:00:00 +0000", "1 Jan 12345 10:00:00 +0000",
		"29 Feb 2023 10:00:00 +0000",
	};
	char	out[MAIL_DATE_LEN];

	for (size_t i = 0; i < nitems(ok); i++) {
		if (mail_date(ok[i].in, out) != 0)
			fail_msg("refused \"%s\"", ok[i].in);
		assert_string_equal(out, ok[i].out);
	}
	for (size_t i = 0; i < nitems(bad); i++) {
		if (mail_date(bad[i], out) != -1)
			fail_msg("took \"%s\" as %s", bad[i], out);
		assert_string_equal(out, "");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_folded_headers),
		cmocka_unit_test(test_encoded_words),
		cmocka_unit_test(test_alternative_prefers_plain),
		cmocka_unit_test(test_nested_mixed),
		cmocka_unit_test(test_transfer_encodings),
		cmocka_unit_test(test_broken_boundaries),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * HTML to plain text for the connectors: tags dropped, <script>,
 * <style> and <head> content dropped (the <title> is kept apart), block
 * elements turned into line breaks, white space collapsed, character
 * references decoded.  The output is always valid UTF-8 without NUL:
 * bytes that are not UTF-8 become U+FFFD.  Never reads past len, so
 * truncated input ("<scr", "&#x", "<!--" at the end) is safe.
 */
#ifndef BALLAST_FETCHER_HTML_H
#define BALLAST_FETCHER_HTML_H

#include <stddef.h>

#define HTML_MAX_INPUT	(8u * 1024 * 1024)

/*
 * The text of html[0..len) as a malloc'd NUL-terminated string, its
 * length in *outlen.  title (titlelen bytes, may be NULL/0) gets the
 * first <title>, decoded and collapsed, cut on a character boundary;
 * "" when there is none.  NULL when len > HTML_MAX_INPUT or out of
 * memory.
 */
char	*html_to_text(const char *html, size_t len, size_t *outlen,
	    char *title, size_t titlelen);

#endif

/*
 * Feeds: RSS 2.0 (and 1.0), Atom 1.0 and JSON item lists parsed into a
 * list of items for the http connector.
 *
 * XML is read by a small tokenizer (feed.c) that knows elements,
 * attributes, CDATA, the five XML entities and character references;
 * comments and processing instructions are skipped and a DOCTYPE is
 * refused, so no entity can expand.  Everything is bounded: input size,
 * nesting depth, item count and each field.  Strings out are valid UTF-8
 * without NUL (invalid bytes become U+FFFD).
 */
#ifndef BALLAST_FETCHER_FEED_H
#define BALLAST_FETCHER_FEED_H

#include <stddef.h>

#define FEED_MAX_INPUT	(32u * 1024 * 1024)
#define FEED_MAX_DEPTH	64
#define FEED_MAX_ITEMS	10000
#define FEED_MAX_TITLE	1024
#define FEED_MAX_URL	2048
#define FEED_MAX_ID	512
#define FEED_MAX_TEXT	(4u * 1024 * 1024)
#define FEED_MAX_AUTHOR	256
#define FEED_MAX_DATE	64		/* RFC 3339 text, before conversion */

enum feed_format {
	FEED_AUTO,
	FEED_RSS,
	FEED_ATOM,
	FEED_JSON,
};

/* Every string is NULL or NUL-terminated UTF-8; text is plain text. */
struct feed_item {
	char	*id;		/* always set: guid/id, link, or a SHA-256 */
	char	*title;
	char	*url;
	char	*text;
	size_t	 text_len;
	char	*author;
	char	*updated;	/* RFC 3339 UTC, NULL when absent/unparsable */
};

struct feed {
	enum feed_format	 format;	/* what was parsed */
	struct feed_item	*items;
	size_t			 nitems;
	int			 truncated;	/* items beyond the cap */
	/* next page: JSON next_field, or an XML <link rel="next"> */
	char			*next;
};

/* Member names for JSON feeds; NULL for the defaults. */
struct feed_json_opts {
	const char	*items;		/* dotted path to the array */
	const char	*id_field;
	const char	*title_field;
	const char	*text_field;
	const char	*url_field;
	const char	*updated_field;
	const char	*next_field;	/* dotted path */
};

/* Format from a Content-Type (may be NULL), else from the first bytes. */
enum feed_format feed_sniff(const char *content_type, const char *buf,
	    size_t len);
/* 0, or -1 with err (never quoting the input). feed_free() either way. */
int	feed_parse(const char *buf, size_t len, enum feed_format,
	    const struct feed_json_opts *, struct feed *, char *err,
	    size_t errlen);
void	feed_free(struct feed *);

/*
 * An RFC 822 (RSS) or RFC 3339/ISO 8601 date, or a number of seconds
 * since the epoch, as RFC 3339 UTC ("2006-01-02T15:04:05Z"): 0 or -1.
 */
int	feed_date(const char *in, char *out, size_t outlen);
/* Plain text from HTML: a malloc'd string (valid UTF-8), its length. */
char	*feed_html_text(const char *html, size_t len, size_t *outlen);
/* A malloc'd copy of s[0..len) as valid UTF-8 without NUL. */
char	*feed_utf8(const char *s, size_t len, size_t *outlen);

#endif

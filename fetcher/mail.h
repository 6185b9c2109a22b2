/*
 * A bounded RFC 5322 + MIME message parser for the imap connector.
 *
 * mail_parse() reads one message (at most maxlen bytes) and gives back
 * its headers decoded to UTF-8 (RFC 2047 encoded words) and the text of
 * its body: the text/plain parts, or when a message or a
 * multipart/alternative has none, its text/html parts reduced to text.
 * Attachments are skipped.  Every output string is valid UTF-8 without
 * NUL bytes, whatever the input.
 */
#ifndef BALLAST_FETCHER_MAIL_H
#define BALLAST_FETCHER_MAIL_H

#include <stddef.h>

#define MAIL_MAX_DEPTH		8	/* nested multiparts */
#define MAIL_MAX_PARTS		100	/* MIME entities in one message */
#define MAIL_MAX_HEADER		(16u * 1024)	/* one decoded header value */
#define MAIL_MAX_TEXT		(4u * 1024 * 1024)	/* = FETCH_MAX_BODY */
#define MAIL_DATE_LEN		21	/* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

struct mail_msg {
	char	*subject;	/* "" when absent */
	char	*from;
	char	*to;
	char	*date;		/* the Date header as written */
	char	*message_id;
	char	 updated_at[MAIL_DATE_LEN];	/* Date in RFC 3339, or "" */
	char	*text;		/* the body's text, NUL-terminated */
	size_t	 text_len;
	int	 truncated;	/* text cut at MAIL_MAX_TEXT */
};

/* 0, or -1 when len > maxlen (the message is not read). */
int	 mail_parse(const char *buf, size_t len, size_t maxlen,
	    struct mail_msg *);
void	 mail_free(struct mail_msg *);

/* A header value (unfolded) with encoded words decoded; malloc'd UTF-8. */
char	*mail_header_decode(const char *s, size_t len);
/* An RFC 5322 date as RFC 3339 UTC in out; 0, or -1 if not parsable. */
int	 mail_date(const char *s, char out[MAIL_DATE_LEN]);
/* bytes in charset (a MIME charset name) appended as UTF-8 to a new string */
char	*mail_to_utf8(const char *charset, const char *s, size_t len,
	    size_t *outlen);

#endif

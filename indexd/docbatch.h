/*
 * A push batch: {"documents": [{...}, ...]} from the REST API.  Every
 * field is checked (type, length, form) and unknown fields are refused;
 * an error names the document and field: "documents[3].title: too long".
 *
 *   external_id  string, 1..512 bytes, required
 *   text         string, at most 4 MiB, required (may be empty)
 *   title        string, at most 1024 bytes
 *   url          string, at most 2048 bytes
 *   source       string id, 1..128 bytes of [A-Za-z0-9._:-]
 *   metadata     object, at most 64 KiB as compact JSON
 *   updated_at   RFC 3339 date-time, e.g. 2024-05-01T12:00:00Z
 *
 * At most 1000 documents and 32 MiB of JSON per batch; duplicate keys
 * are refused; strings are UTF-8 without NUL.
 */
#ifndef BALLAST_INDEXD_DOCBATCH_H
#define BALLAST_INDEXD_DOCBATCH_H

#include <stddef.h>
#include <stdint.h>

#define DOCBATCH_MAX_BYTES	(32u * 1024 * 1024)
#define DOCBATCH_MAX_DOCS	1000
#define DOC_MAX_EXTERNAL_ID	512
#define DOC_MAX_TITLE		1024
#define DOC_MAX_URL		2048
#define DOC_MAX_TEXT		(4u * 1024 * 1024)
#define DOC_MAX_SOURCE		128
#define DOC_MAX_METADATA	(64u * 1024)

struct doc {
	char		*external_id;
	char		*title;		/* "" when absent */
	char		*url;		/* "" when absent */
	char		*text;
	size_t		 text_len;
	char		*source;	/* "" when absent */
	char		*metadata;	/* compact JSON, sorted keys; "{}" */
	char		*updated_at;	/* NULL when absent */
	uint8_t		 hash[32];	/* docbatch_hash() of the content */
};

struct docbatch {
	struct doc	*docs;
	size_t		 n;
};

/* 0 and a filled batch, or -1 with the reason in err (batch empty). */
int	docbatch_parse(const char *buf, size_t len, struct docbatch *,
	    char *err, size_t errlen);
void	docbatch_free(struct docbatch *);

/*
 * SHA-256 over title, url, text and metadata, each as an 8-byte
 * big-endian length and its bytes: a change in any of them, and only
 * that, gives a new hash.
 */
void	docbatch_hash(const struct doc *, uint8_t out[32]);

/* 1 when s is an RFC 3339 date-time (with 'T' or ' ', zone required). */

#endif

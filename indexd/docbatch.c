/* Parse and check a push batch of documents (see docbatch.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/util.h"
#include "indexd/docbatch.h"

struct field {
	const char	*name;
	size_t		 min, max;
	int		 required;
	size_t		 off;		/* of the char * in struct doc */
};

static const struct field fields[] = {
	{ "external_id", 1, DOC_MAX_EXTERNAL_ID, 1,
	    offsetof(struct doc, external_id) },
	{ "text", 0, DOC_MAX_TEXT, 1, offsetof(struct doc, text) },
	{ "title", 0, DOC_MAX_TITLE, 0, offsetof(struct doc, title) },
	{ "url", 0, DOC_MAX_URL, 0, offsetof(struct doc, url) },
	{ "source", 1, DOC_MAX_SOURCE, 0, offsetof(struct doc, source) },
};

static int
source_valid(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._:-", *s) == NULL)
			return 0;
	return 1;
}

/* A string field into the doc; 0, or -1 with err set. */
static int
take_string(struct doc *d, size_t i, const struct field *f, json_t *v,
    char *err, size_t errlen)
{
	size_t	 len;

	if (!json_is_string(v)) {
		snprintf(err, errlen, "documents[%zu].%s: not a string", i,
		    f->name);
		return -1;
	}
	len = json_string_length(v);
	if (memchr(json_string_value(v), '\0', len) != NULL) {
		snprintf(err, errlen, "documents[%zu].%s: contains NUL", i,
		    f->name);
		return -1;
	}
	if (len < f->min || len > f->max) {
		snprintf(err, errlen, "documents[%zu].%s: %s (%zu..%zu bytes)",
		    i, f->name, len < f->min ? "empty" : "too long", f->min,
		    f->max);
		return -1;
	}
	*(char **)(void *)((char *)d + f->off) = xstrndup(json_string_value(v),
	    len);
	if (f->off == offsetof(struct doc, text))
		d->text_len = len;
	return 0;
}

static int
take_metadata(struct doc *d, size_t i, json_t *v, char *err, size_t errlen)
{
	if (!json_is_object(v)) {
		snprintf(err, errlen, "documents[%zu].metadata: not an object",
		    i);
		return -1;
	}
	d->metadata = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	if (d->metadata == NULL)
		fatalx("%s: out of memory", __func__);
	if (strlen(d->metadata) > DOC_MAX_METADATA) {
		snprintf(err, errlen, "documents[%zu].metadata: too long "
		    "(at most %u bytes as compact JSON)", i, DOC_MAX_METADATA);
		return -1;
	}
	return 0;
}

static int
take_field(struct doc *d, size_t i, const char *key, json_t *v, char *err,
    size_t errlen)
{
	for (size_t k = 0; k < nitems(fields); k++)
		if (strcmp(key, fields[k].name) == 0)
			return take_string(d, i, &fields[k], v, err, errlen);
	if (strcmp(key, "metadata") == 0)
		return take_metadata(d, i, v, err, errlen);
	if (strcmp(key, "updated_at") == 0) {
		if (!json_is_string(v) || !rfc3339_valid(json_string_value(v))) {
			snprintf(err, errlen, "documents[%zu].updated_at: not "
			    "an RFC 3339 date-time", i);
			return -1;
		}
		d->updated_at = xstrdup(json_string_value(v));
		return 0;
	}
	snprintf(err, errlen, "documents[%zu]: unknown field \"%.40s\"", i,
	    key);
	return -1;
}

static int
take_doc(struct doc *d, size_t i, json_t *o, char *err, size_t errlen)
{
	const char	*key;
	json_t		*v;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "documents[%zu]: not an object", i);
		return -1;
	}
	json_object_foreach(o, key, v)
		if (take_field(d, i, key, v, err, errlen) == -1)
			return -1;
	for (size_t k = 0; k < nitems(fields); k++)
		if (fields[k].required &&
		    *(char **)(void *)((char *)d + fields[k].off) == NULL) {
			snprintf(err, errlen, "documents[%zu].%s: missing", i,
			    fields[k].name);
			return -1;
		}
	if (d->source != NULL && !source_valid(d->source)) {
		snprintf(err, errlen, "documents[%zu].source: only letters, "
		    "digits and ._:- allowed", i);
		return -1;
	}
	if (d->title == NULL)
		d->title = xstrdup("");
	if (d->url == NULL)
		d->url = xstrdup("");
	if (d->source == NULL)
		d->source = xstrdup("");
	if (d->metadata == NULL)
		d->metadata = xstrdup("{}");
	docbatch_hash(d, d->hash);
	return 0;
}

static int
take_batch(json_t *root, struct docbatch *b, char *err, size_t errlen)
{
	json_t	*docs;
	size_t	 i;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "body: not an object");
		return -1;
	}
	if ((docs = json_object_get(root, "documents")) == NULL) {
		snprintf(err, errlen, "documents: missing");
		return -1;
	}
	if (json_object_size(root) != 1) {
		snprintf(err, errlen, "body: unknown field besides documents");
		return -1;
	}
	if (!json_is_array(docs)) {
		snprintf(err, errlen, "documents: not an array");
		return -1;
	}
	if (json_array_size(docs) == 0 ||
	    json_array_size(docs) > DOCBATCH_MAX_DOCS) {
		snprintf(err, errlen, "documents: %s (1..%d documents)",
		    json_array_size(docs) ? "too many" : "empty",
		    DOCBATCH_MAX_DOCS);
		return -1;
	}
	b->docs = xcalloc(json_array_size(docs), sizeof(*b->docs));
	for (i = 0; i < json_array_size(docs); i++) {
		b->n = i + 1;
		if (take_doc(&b->docs[i], i, json_array_get(docs, i), err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

int
docbatch_parse(const char *buf, size_t len, struct docbatch *b, char *err,
    size_t errlen)
{
	json_error_t	 je;
	json_t		*root;
	int		 rv;

	memset(b, 0, sizeof(*b));
	if (len > DOCBATCH_MAX_BYTES) {
		snprintf(err, errlen, "body: too large (at most %u bytes)",
		    DOCBATCH_MAX_BYTES);
		return -1;
	}
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		snprintf(err, errlen, "body: invalid JSON at line %d column "
		    "%d: %.80s", je.line, je.column, je.text);
		return -1;
	}
	rv = take_batch(root, b, err, errlen);
	json_decref(root);
	if (rv == -1)
		docbatch_free(b);
	return rv;
}

static void
doc_free(struct doc *d)
{
	free(d->external_id);
	free(d->title);
	free(d->url);
	free(d->text);
	free(d->source);
	free(d->metadata);
	free(d->updated_at);
}

void
docbatch_free(struct docbatch *b)
{
	for (size_t i = 0; i < b->n; i++)
		doc_free(&b->docs[i]);
	free(b->docs);
	memset(b, 0, sizeof(*b));
}

static void
hash_part(EVP_MD_CTX *ctx, const char *s, size_t len)
{
	unsigned char	 be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	if (EVP_DigestUpdate(ctx, be, sizeof(be)) != 1 ||
	    EVP_DigestUpdate(ctx, s, len) != 1)
		fatalx("%s: EVP_DigestUpdate", __func__);
}

void
docbatch_hash(const struct doc *d, uint8_t out[32])
{
	EVP_MD_CTX	*ctx;
	unsigned int	 n = 32;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		fatalx("%s: EVP_DigestInit_ex", __func__);
	hash_part(ctx, d->title, strlen(d->title));
	hash_part(ctx, d->url, strlen(d->url));
	hash_part(ctx, d->text, d->text_len);
	hash_part(ctx, d->metadata, strlen(d->metadata));
	if (EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != 32)
		fatalx("%s: EVP_DigestFinal_ex", __func__);
	EVP_MD_CTX_free(ctx);
}

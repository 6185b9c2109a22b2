/*
 * Fuzz the push batch parser.  On success every document must hold
 * within the documented limits and its hash must be what docbatch_hash
 * gives; on error the batch must be empty and the message must name the
 * body or a document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/docbatch.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_doc(const struct doc *d)
{
	uint8_t	 h[32];
	size_t	 n;

	n = strlen(d->external_id);
	if (n < 1 || n > DOC_MAX_EXTERNAL_ID || strlen(d->title) >
	    DOC_MAX_TITLE || strlen(d->url) > DOC_MAX_URL ||
	    strlen(d->source) > DOC_MAX_SOURCE ||
	    strlen(d->metadata) > DOC_MAX_METADATA ||
	    d->text_len > DOC_MAX_TEXT || strlen(d->text) != d->text_len ||
	    d->metadata[0] != '{')
		abort();
	if (d->updated_at != NULL && !rfc3339_valid(d->updated_at))
		abort();
	docbatch_hash(d, h);
	if (memcmp(h, d->hash, 32) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docbatch	 b;
	char		 err[256];
	char		*copy;

	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (docbatch_parse(copy, size, &b, err, sizeof(err)) == 0) {
		if (b.n < 1 || b.n > DOCBATCH_MAX_DOCS)
			abort();
		for (size_t i = 0; i < b.n; i++)
			check_doc(&b.docs[i]);
		docbatch_free(&b);
	} else {
		if (b.docs != NULL || b.n != 0)
			abort();
		if (strncmp(err, "body", 4) != 0 &&
		    strncmp(err, "documents", 9) != 0)
			abort();
	}
	free(copy);
	return 0;
}

/* OpenAI embeddings JSON: request building, response parsing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "indexd/embed_json.h"

/*
 * A float written in JSON takes at most about 26 bytes ("-1.2345678901234567e-05,"
 * with spaces); 32 per number, plus room for the envelope (usage, model,
 * per-item "object" and "index").  Never more than 256 MiB.
 */
#define RESP_PER_NUMBER	32
#define RESP_SLACK	(64 * 1024)
#define RESP_PER_ITEM	256
#define RESP_MAX	((size_t)256 * 1024 * 1024)

size_t
embed_json_max_response(size_t n, size_t dim)
{
	if (dim != 0 && n > (RESP_MAX - RESP_SLACK) / RESP_PER_NUMBER / dim)
		return RESP_MAX;
	if (n * dim * RESP_PER_NUMBER + n * RESP_PER_ITEM + RESP_SLACK >
	    RESP_MAX)
		return RESP_MAX;
	return n * dim * RESP_PER_NUMBER + n * RESP_PER_ITEM + RESP_SLACK;
}

char *
embed_json_request(const char *model, const char *const *texts,
    const size_t *lens, size_t n, size_t *len)
{
	json_t	*o, *in;
	char	*s = NULL;

	if ((in = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		/* json_stringn refuses invalid UTF-8 */
		if (json_array_append_new(in, json_stringn(texts[i],
		    lens[i])) == -1) {
			json_decref(in);
			return NULL;
		}
	o = json_pack("{s:s,s:o,s:s}", "model", model, "input", in,
	    "encoding_format", "float");
	if (o != NULL)
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s != NULL)
		*len = strlen(s);
	return s;
}

/* Row of one item: its checked index (0 .. n-1, not seen before). */
static int
item_index(json_t *item, size_t n, unsigned char *seen, char *err,
    size_t errlen)
{
	json_t		*ix = json_object_get(item, "index");
	json_int_t	 i;

	if (!json_is_integer(ix)) {
		snprintf(err, errlen, "an item has no integer \"index\"");
		return -1;
	}
	i = json_integer_value(ix);
	if (i < 0 || (size_t)i >= n) {
		snprintf(err, errlen, "index %lld is out of range (%zu inputs)",
		    (long long)i, n);
		return -1;
	}
	if (seen[i]) {
		snprintf(err, errlen, "index %lld appears twice", (long long)i);
		return -1;
	}
	seen[i] = 1;
	return (int)i;
}

static int
item_vector(json_t *item, size_t dim, float *row, char *err, size_t errlen)
{
	json_t	*emb = json_object_get(item, "embedding"), *v;
	double	 sum = 0, x;
	size_t	 k;

	if (!json_is_array(emb)) {
		snprintf(err, errlen, "an item has no \"embedding\" array "
		    "(encoding_format float was asked for)");
		return -1;
	}
	if (json_array_size(emb) != dim) {
		snprintf(err, errlen, "the embedding server answered vectors "
		    "of %zu dimensions, the configuration says %zu "
		    "(embedder dimension)", json_array_size(emb), dim);
		return -1;
	}
	json_array_foreach(emb, k, v) {
		if (!json_is_number(v) || !isfinite(x = json_number_value(v)) ||
		    fabs(x) > 1e30) {
			snprintf(err, errlen, "an embedding holds something "
			    "other than a finite number");
			return -1;
		}
		row[k] = (float)x;
		sum += x * x;
	}
	if (!(sum > 0) || !isfinite(sum)) {
		snprintf(err, errlen, "an embedding is the zero vector");
		return -1;
	}
	sum = sqrt(sum);
	for (k = 0; k < dim; k++)
		row[k] = (float)(row[k] / sum);
	return 0;
}

int
embed_json_response(const char *body, size_t len, size_t n, size_t dim,
    float *out, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*o, *data, *item;
	unsigned char	*seen;
	size_t		 k;
	int		 i, rv = -1;

	if (len > embed_json_max_response(n, dim)) {
		snprintf(err, errlen, "the answer is too large (%zu bytes)",
		    len);
		return -1;
	}
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "the answer is not a JSON object");
		json_decref(o);
		return -1;
	}
	data = json_object_get(o, "data");
	if (!json_is_array(data) || json_array_size(data) != n) {
		snprintf(err, errlen, "the answer has %zu embeddings for %zu "
		    "inputs", json_is_array(data) ? json_array_size(data) : 0,
		    n);
		json_decref(o);
		return -1;
	}
	if ((seen = calloc(n ? n : 1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		json_decref(o);
		return -1;
	}
	json_array_foreach(data, k, item) {
		if (!json_is_object(item)) {
			snprintf(err, errlen, "an item of \"data\" is not an "
			    "object");
			goto out;
		}
		if ((i = item_index(item, n, seen, err, errlen)) == -1 ||
		    item_vector(item, dim, out + (size_t)i * dim, err,
		    errlen) == -1)
			goto out;
	}
	rv = 0;
out:
	free(seen);
	json_decref(o);
	return rv;
}

/* Printable ASCII of s into msg, cut at msglen - 1. */
static void
clean_copy(const char *s, char *msg, size_t msglen)
{
	size_t	 j = 0;

	for (; *s != '\0' && j + 1 < msglen; s++)
		msg[j++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	msg[j] = '\0';
}

void
embed_json_error(const char *body, size_t len, char *msg, size_t msglen)
{
	json_t	*o, *e, *m;

	if (msglen == 0)
		return;
	msg[0] = '\0';
	if (len > 64 * 1024)
		return;
	o = json_loadb(body, len, 0, NULL);
	e = json_object_get(o, "error");
	m = json_is_object(e) ? json_object_get(e, "message") : e;
	if (json_is_string(m))
		clean_copy(json_string_value(m), msg, msglen);
	json_decref(o);
}

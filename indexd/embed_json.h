/*
 * The JSON of OpenAI's embeddings API (POST /v1/embeddings), apart from
 * any network code so that it can be tested and fuzzed alone.
 *
 * Request:  {"model": M, "input": [t0, t1, ...], "encoding_format": "float"}
 * Response: {"data": [{"index": i, "embedding": [x, ...], ...}, ...], ...}
 */
#ifndef BALLAST_INDEXD_EMBED_JSON_H
#define BALLAST_INDEXD_EMBED_JSON_H

#include <stddef.h>

/* Largest response body accepted for n inputs of dim dimensions. */
size_t	embed_json_max_response(size_t n, size_t dim);

/*
 * The request body (malloc'd, NUL-terminated, *len bytes), or NULL
 * when a text is not valid UTF-8 or memory ran out.
 */
char	*embed_json_request(const char *model, const char *const *texts,
	    const size_t *lens, size_t n, size_t *len);

/*
 * Parse a response for n inputs into out (n * dim floats, row i the
 * vector of input i, matched by "index"), each vector L2-normalised.
 * Strict: exactly n items, each index once, exactly dim finite numbers
 * each, no zero vector, at most embed_json_max_response() bytes.  0, or
 * -1 with a reason in err (never a copy of the body).
 */
int	embed_json_response(const char *body, size_t len, size_t n,
	    size_t dim, float *out, char *err, size_t errlen);

/*
 * The message of an error body ({"error": {"message": ...}} or
 * {"error": "..."}), printable ASCII only and cut short, into msg; ""
 * when there is none.
 */
void	embed_json_error(const char *body, size_t len, char *msg,
	    size_t msglen);

#endif

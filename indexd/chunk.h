/*
 * Split a document's text into overlapping chunks for indexing.  Chunks
 * end at paragraph boundaries when they can, else at sentence
 * boundaries, else at white space, and never inside a UTF-8 sequence.
 * Each chunk after the first starts with the last sentence of the one
 * before (overlap), so a passage cut in two stays findable.  The result
 * depends only on the input bytes and the parameters.
 */
#ifndef BALLAST_INDEXD_CHUNK_H
#define BALLAST_INDEXD_CHUNK_H

#include <stddef.h>

#define CHUNK_TARGET	800	/* bytes a chunk aims for */
#define CHUNK_MAX	1200	/* no chunk is longer */

struct chunk_params {
	size_t		 target;	/* >= 16 */
	size_t		 max;		/* >= target */
	int		 overlap;	/* repeat the previous last sentence */
};

/* A chunk is a byte range of the text: no copy is made. */
struct chunk {
	size_t		 off;
	size_t		 len;
};

/*
 * Chunks of text[0..len) into a new array *out (free(3) it); returns
 * their count (0 for text that is empty or all white space), -1 on bad
 * parameters.  p NULL means the defaults above with overlap.
 */
long	chunk_text(const char *text, size_t len, const struct chunk_params *p,
	    struct chunk **out);

#endif

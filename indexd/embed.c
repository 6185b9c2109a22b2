/* The embedder registry: one name per backend. */
#include <string.h>

#include "indexd/embed.h"

struct embedder *
embedder_new(const char *name, size_t dim)
{
	if (strcmp(name, "builtin") == 0)
		return embed_builtin_new(dim ? dim : EMBED_BUILTIN_DIM);
	return NULL;
}

void
embedder_free(struct embedder *e)
{
	if (e != NULL)
		e->ops->free(e);
}

int
embed_texts(struct embedder *e, const char *const *texts, const size_t *lens,
    size_t n, float *out, char *err, size_t errlen)
{
	return e->ops->embed(e, texts, lens, n, out, err, errlen);
}

/* fetcher/feed.c: any bytes, as every format; items must be clean. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "fetcher/feed.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct feed *f)
{
	for (size_t i = 0; i < f->nitems; i++) {
		const struct feed_item *it = &f->items[i];

		if (it->id == NULL || strlen(it->id) == 0 ||
		    strlen(it->id) > FEED_MAX_ID ||
		    !utf8_valid(it->id, strlen(it->id)) ||
		    (it->title && !utf8_valid(it->title, strlen(it->title))) ||
		    (it->url && strlen(it->url) > FEED_MAX_URL) ||
		    (it->text && !utf8_valid(it->text, it->text_len)))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const enum feed_format fmts[] = { FEED_AUTO, FEED_RSS,
	    FEED_JSON };
	struct feed_json_opts	 op = { .items = "a.b", .next_field = "n" };
	struct feed		 f;
	char			 err[256], d[32], *s;

	for (size_t i = 0; i < nitems(fmts); i++) {
		if (feed_parse((const char *)data, len, fmts[i],
		    i == 2 && len > 0 && data[0] == '{' ? &op : NULL, &f, err,
		    sizeof(err)) == 0)
			check(&f);
		feed_free(&f);
	}
	if (len < 80) {
		s = xstrndup((const char *)data, len);
		feed_date(s, d, sizeof(d));
		free(s);
	}
	return 0;
}

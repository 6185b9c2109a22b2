/* Google API response parsing (fetcher/gjson.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fetcher/gjson.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct gtoken	 t;
	struct gpage	 p;
	struct ghistory	 h;
	struct gchanges	 c;
	json_t		*o;
	char		 code[64];
	uint8_t		*b;
	size_t		 n;

	if (gjson_token((const char *)data, len, &t) == 0)
		gjson_token_free(&t);
	gjson_error((const char *)data, len, code, sizeof(code));
	if ((b = gjson_b64url((const char *)data, len, &n)) != NULL)
		free(b);
	if ((o = gjson_load((const char *)data, len)) == NULL)
		return 0;
	if (gjson_page(o, "messages", "id", &p) == 0)
		gjson_page_free(&p);
	if (gjson_history(o, &h) == 0)
		gjson_history_free(&h);
	if (gjson_changes(o, &c) == 0)
		gjson_changes_free(&c);
	json_decref(o);
	return 0;
}

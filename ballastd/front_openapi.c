/*
 * GET /v1/openapi.json: the OpenAPI 3.1 document of the REST API
 * (docs/openapi.json), compiled in by scripts/embed-file because the
 * front is chrooted with no file system.  No credential is needed: the
 * document tells nothing that docs/api.md does not.
 * tests/system/test_openapi.py keeps it true to the route table.
 */
#include <stddef.h>

#include "ballastd/front.h"

/* $(BUILD)/gen/openapi.c */
extern const unsigned char	openapi_json[];
extern const size_t		openapi_json_len;

void
front_openapi(struct front_req *req)
{
	front_respond_text(req, 200, NULL, (const char *)openapi_json,
	    openapi_json_len);
}

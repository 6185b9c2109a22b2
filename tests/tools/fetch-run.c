/*
 * fetch-run: run one connector outside the suite, for tests.
 *
 *   fetch-run TYPE CONFIG-JSON [CURSOR]
 *
 * The credential, if any, is read from the environment variable
 * FETCH_CREDENTIAL (JSON text).  No sandbox, no IPC: each document is
 * printed as one JSON line {"doc": {...}}, each kept id as {"keep": id},
 * and the end as {"done": {"cursor", "complete"}} or {"error": {"message",
 * "transient"}}; a config the connector's check() refuses prints
 * {"invalid": message}.  Exit status 0 done, 1 failed, 2 invalid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "fetcher/connector.h"

static int
print_line(json_t *o)
{
	char	*s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(o);
	if (s == NULL)
		return -1;
	puts(s);
	free(s);
	return 0;
}

static int
sink_doc(struct fetch_sink *sk, const struct fetch_doc *d)
{
	json_t	*meta = NULL;

	if (d->metadata != NULL && (meta = json_loads(d->metadata, 0,
	    NULL)) == NULL) {
		snprintf(sk->sink_error, sizeof(sk->sink_error),
		    "document %s: metadata is not JSON", d->external_id);
		return -1;
	}
	if (!utf8_valid(d->text, d->text_len)) {
		snprintf(sk->sink_error, sizeof(sk->sink_error),
		    "document %s: text is not UTF-8", d->external_id);
		json_decref(meta);
		return -1;
	}
	return print_line(json_pack("{s:{s:s,s:s,s:s,s:s%,s:o,s:s}}", "doc",
	    "external_id", d->external_id, "title", d->title ? d->title : "",
	    "url", d->url ? d->url : "", "text", d->text, d->text_len,
	    "metadata", meta ? meta : json_object(), "updated_at",
	    d->updated_at ? d->updated_at : ""));
}

static int
sink_keep(struct fetch_sink *sk, const char *id)
{
	return print_line(json_pack("{s:s}", "keep", id));
}

int
main(int argc, char *argv[])
{
	const struct connector	*c;
	struct fetch_sink	 sink;
	struct fetch_job	 job;
	struct fetch_result	 res;
	json_error_t		 jerr;
	json_t			*config;
	const char		*cred = getenv("FETCH_CREDENTIAL");
	char			 err[FETCH_ERR_MAX];

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: fetch-run type config-json [cursor]\n");
		return 2;
	}
	if ((c = connector_find(argv[1])) == NULL) {
		print_line(json_pack("{s:s}", "invalid", "no such connector"));
		return 2;
	}
	if ((config = json_loads(argv[2], JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || c->check(config, err, sizeof(err)) == -1) {
		print_line(json_pack("{s:s}", "invalid", config ? err :
		    "config is not JSON"));
		json_decref(config);
		return 2;
	}
	memset(&sink, 0, sizeof(sink));
	sink.doc = sink_doc;
	sink.keep = sink_keep;
	memset(&job, 0, sizeof(job));
	job.type = argv[1];
	job.config = config;
	job.credential = cred;
	job.credential_len = cred ? strlen(cred) : 0;
	job.cursor = argc == 4 ? argv[3] : "";
	memset(&res, 0, sizeof(res));
	if (c->run(&job, &sink, &res) == -1) {
		print_line(json_pack("{s:{s:s,s:b}}", "error", "message",
		    res.error[0] ? res.error : sink.sink_error, "transient",
		    res.transient));
		json_decref(config);
		return 1;
	}
	print_line(json_pack("{s:{s:s,s:b}}", "done", "cursor", res.cursor,
	    "complete", res.complete));
	json_decref(config);
	return 0;
}

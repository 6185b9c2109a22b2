/*
 * Connectors: what a fetcher runs for one sync job of one source type.
 *
 * A connector is three functions.  check() runs in indexd when a source
 * is created or its config changes, and again in the fetcher before a
 * run: it validates the config JSON member by member and says what is
 * wrong ("config.path: must be absolute").  sandbox() runs in the
 * fetcher before the sandbox closes and names what the run needs beyond
 * its IPC channel (promises and read-only paths).  run() does the work:
 * it reads the source and hands every document to the sink, then fills
 * the result.
 *
 * A connector never touches IPC, the database or the process's
 * privileges: the fetcher (fetcher/fetcher.c) and the test driver
 * (tests/tools/fetch-run.c) provide the sink.
 */
#ifndef BALLAST_FETCHER_CONNECTOR_H
#define BALLAST_FETCHER_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/ipc_msg.h"

#define FETCH_ERR_MAX		512
#define FETCH_SANDBOX_PATHS	16

/* One document; strings are UTF-8 without NUL (checked by the sink). */
struct fetch_doc {
	const char	*external_id;	/* stable id at the source, 1..512 bytes */
	const char	*title;		/* NULL or "" for none */
	const char	*url;		/* NULL or "" for none */
	const char	*text;		/* plain text, at most FETCH_MAX_BODY */
	size_t		 text_len;
	const char	*metadata;	/* JSON object text; NULL for "{}" */
	const char	*updated_at;	/* RFC 3339; NULL or "" for none */
};

/*
 * Where documents go.  Each call returns 0, or -1 when the run must
 * stop (the channel to indexd is gone, or the document was refused as
 * malformed: sink_error then says why).
 */
struct fetch_sink {
	int		(*doc)(struct fetch_sink *, const struct fetch_doc *);
	/* a document still at the source and unchanged since the cursor */
	int		(*keep)(struct fetch_sink *, const char *external_id);
	/*
	 * OAuth connectors: the source's whole new credential (JSON text)
	 * after a token refresh or a code exchange, for indexd to seal and
	 * store.  May be NULL (tests/tools/fetch-run): the tokens are then
	 * used for this run only.
	 */
	int		(*tokens)(struct fetch_sink *, const char *cred,
			    size_t len);
	char		 sink_error[FETCH_ERR_MAX];
	void		*arg;
};

struct fetch_job {
	const char	*type;
	json_t		*config;	/* checked by the connector's check() */
	/* the credential as JSON text (a string or an object), or NULL */
	const char	*credential;
	size_t		 credential_len;
	const char	*cursor;	/* "" on the first run */
};

struct fetch_result {
	char		 cursor[FETCH_MAX_CURSOR];	/* for the next run */
	/* 1: every document at the source went to doc() or keep() */
	int		 complete;
	/* on failure: a message without secrets, and whether to retry */
	char		 error[FETCH_ERR_MAX];
	int		 transient;
	/* 1: the provider revoked the OAuth grant (needs authorization) */
	int		 reauth;
};

/* What the fetcher's sandbox must leave open for a run. */
struct fetch_sandbox {
	/* sandbox_pledge() promises beyond "stdio", e.g. "inet dns rpath" */
	char		 promises[64];
	/* files and directories to read (sandbox_unveil(path, "r")) */
	char		 paths[FETCH_SANDBOX_PATHS][4096];
	size_t		 npaths;
};

struct connector {
	const char	*type;
	/* 0, or -1 with err naming the member: "config.url: ..." */
	int		(*check)(json_t *config, char *err, size_t errlen);
	int		(*sandbox)(json_t *config, struct fetch_sandbox *,
			    char *err, size_t errlen);
	/* 0 done (result filled), -1 failed (result->error, ->transient) */
	int		(*run)(const struct fetch_job *, struct fetch_sink *,
			    struct fetch_result *);
};

/* NULL when there is no connector of that type. */
const struct connector	*connector_find(const char *type);
/* The types, for error messages: "files, postgres, http, imap". */
const char		*connector_types(void);

/* The connectors (fetcher/conn_*.c). */
extern const struct connector	conn_files;
extern const struct connector	conn_postgres;
extern const struct connector	conn_http;
extern const struct connector	conn_imap;
extern const struct connector	conn_gmail;
extern const struct connector	conn_gdrive;

/*
 * Helpers every connector uses (fetcher/connector.c).
 * cred_string: the credential when it is a JSON string, as a malloc'd
 * copy (freezero it), or NULL with err.  cred_member: member k of an
 * object credential, likewise.
 */
char	*cred_string(const struct fetch_job *, char *err, size_t errlen);
char	*cred_member(const struct fetch_job *, const char *k, char *err,
	    size_t errlen);
/* Config members: 0, or -1 with "config.<k>: ..." in err. */
int	conf_str(json_t *config, const char *k, int required, size_t maxlen,
	    const char **out, char *err, size_t errlen);
int	conf_int(json_t *config, const char *k, long long min, long long max,
	    long long def, long long *out, char *err, size_t errlen);
int	conf_bool(json_t *config, const char *k, int def, int *out,
	    char *err, size_t errlen);
/*
 * A network connector's sandbox: promises "inet dns rpath thread" (curl
 * resolves names in a thread of its own) and, read-only, its CA file if
 * any, the resolver's files and the system's CA store
 * (common/sandbox.h).  0, or -1 with err when the paths do not fit.
 */
int	sandbox_add_net(struct fetch_sandbox *, const char *ca_file,
	    char *err, size_t errlen);
/* One read-only path more; -1 with err when there is no room. */
int	sandbox_add_path(struct fetch_sandbox *, const char *path,
	    char *err, size_t errlen);
/* An optional absolute path (at most 4095 bytes): 0, or -1 with err. */
int	conf_path(json_t *config, const char *k, const char **out, char *err,
	    size_t errlen);
/* Refuses members not in the NULL-terminated list. */
int	conf_only(json_t *config, const char *const *known, char *err,
	    size_t errlen);

#endif

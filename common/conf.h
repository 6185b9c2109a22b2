/*
 * ballast.conf: one setting per line, OpenBSD style (see ballast.conf.5).
 * The parent parses the file; children receive the normalised text over
 * IPC and parse it with the same code.  conf_print() writes the
 * normalised form, which parses again to the same struct.
 */
#ifndef BALLAST_CONF_H
#define BALLAST_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/proc.h"

#define CONF_MAX_SIZE	(1024 * 1024)	/* a config file larger is refused */
#define CONF_STR_MAX	1024
#define CONF_MCP_ORIGINS	16	/* "mcp origin" lines at most */
#define CONF_ORIGIN_MAX		256	/* bytes of one, with the NUL */
#define CONF_SYNC_ROOTS		16	/* "sync root" lines at most */

struct ballast_conf {
	/* network */
	char		listen_addr[64];	/* "127.0.0.1", "::", ... */
	uint16_t	listen_port;
	char		tls_cert[PATH_MAX];
	char		tls_key[PATH_MAX];
	/* CA bundle: when set, clients must present a certificate it signed */
	char		tls_client_ca[PATH_MAX];

	/* files and places */
	char		keyring[PATH_MAX];
	char		control_socket[PATH_MAX];
	char		libexec_dir[PATH_MAX];
	char		chroot_dir[PATH_MAX];	/* empty dir children chroot to */

	/* PostgreSQL conninfo strings, one per role */
	char		db_auth[CONF_STR_MAX];
	char		db_index[CONF_STR_MAX];
	/* the schema owner: ballastctl db migrate, user add (never a daemon) */
	char		db_admin[CONF_STR_MAX];

	/* the unprivileged user of each child, indexed by enum proc_id */
	char		user[PROC_MAX][64];

	/* front limits */
	uint64_t	max_conns_per_addr;	/* from one client address */
	uint64_t	max_connections;
	uint64_t	max_header_size;	/* bytes, request line + headers */
	uint64_t	max_body_size;		/* bytes */
	uint64_t	header_timeout;		/* seconds to receive all headers */
	uint64_t	body_timeout;		/* seconds to receive the body */
	uint64_t	idle_timeout;		/* seconds a keep-alive may idle */
	uint64_t	ipc_timeout;		/* seconds before a peer's 504 */

	/* MCP: the browser origins /mcp accepts (none by default) */
	char		mcp_origin[CONF_MCP_ORIGINS][CONF_ORIGIN_MAX];
	uint64_t	mcp_norigins;

	/* authd */
	uint64_t	password_memory;	/* Argon2id KiB for new hashes */
	uint64_t	password_iterations;	/* Argon2id passes */
	uint64_t	token_lifetime;		/* seconds an access JWT lives */
	uint64_t	session_lifetime;	/* seconds a login session lives */
	uint64_t	login_attempts;		/* failed logins allowed ... */
	uint64_t	login_window;		/* ... per this many seconds */
	uint64_t	search_rate;		/* searches per principal ... */
	uint64_t	search_window;		/* ... per this many seconds */

	/* indexd's sync engine */
	uint64_t	sync_workers;		/* sync runs at once, per indexd */
	uint64_t	sync_timeout;		/* seconds a fetcher may be silent */
	/* directories the files connector may read below; none: refused */
	char		sync_root[CONF_SYNC_ROOTS][PATH_MAX];
	uint64_t	sync_nroots;

	/*
	 * indexd's vector store and embedder (DESIGN.md section 4).  The
	 * API keys of Qdrant and of the embedding server are not here: they
	 * are stored sealed by keyd (ballastctl secret set).
	 */
	char		vectors[16];		/* "postgres" or "qdrant" */
	char		qdrant_url[CONF_STR_MAX];	/* https://host:6333 */
	char		qdrant_collection[64];
	char		qdrant_ca[PATH_MAX];		/* optional CA bundle */
	char		qdrant_cert[PATH_MAX];		/* optional client cert */
	char		qdrant_key[PATH_MAX];		/* ... and its key */
	uint64_t	qdrant_timeout;			/* seconds per request */
	/* "error": searches fail 503 while Qdrant is down; "keyword":
	   keyword-only results flagged as degraded */
	char		qdrant_outage[16];
	char		embedder[16];		/* "builtin" or "openai" */
	char		embedder_url[CONF_STR_MAX];	/* .../v1/embeddings */
	char		embedder_model[128];
	uint64_t	embedder_dimension;
	uint64_t	embedder_batch;			/* inputs per request */
	uint64_t	embedder_timeout;		/* seconds per request */
	char		embedder_ca[PATH_MAX];

	int		log_level;		/* LOG_LEVEL_* */
	/* the front's access lines go here; empty: to the daemon's log */
	char		access_log[PATH_MAX];
	/*
	 * "metrics on ADDR port N": the front serves GET /metrics there in
	 * plain HTTP; empty addr (the default): no metrics listener.
	 */
	char		metrics_addr[64];
	uint16_t	metrics_port;
};

void	conf_defaults(struct ballast_conf *);
/*
 * Parse a file or a text.  On error returns -1 and writes
 * "file:line: message" into err.  The struct is written only on success.
 */
int	conf_parse_file(const char *path, struct ballast_conf *,
	    char *err, size_t errlen);
int	conf_parse_text(const char *name, const char *text, size_t len,
	    struct ballast_conf *, char *err, size_t errlen);
/* Normalised text of every setting; 0 or -1 on write error. */
int	conf_print(FILE *, const struct ballast_conf *);
/* Same, into a malloc'd NUL-terminated string. */
char	*conf_to_text(const struct ballast_conf *);

#endif

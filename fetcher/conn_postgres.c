/*
 * The postgres connector: the rows of a query in another PostgreSQL
 * database, one document per row.
 *
 * A run opens one REPEATABLE READ, READ ONLY transaction, so both of its
 * passes see the same snapshot:
 *   1. the rows whose cursor column is beyond the stored cursor, in
 *      cursor order, read through a server-side cursor in pages of
 *      PG_BATCH rows (memory stays bounded, and rows sharing a cursor
 *      value are never split across pages as LIMIT paging would);
 *   2. on a run with a cursor, the ids of every other row (cursor at or
 *      before the stored one), each handed to keep(): together the two
 *      passes name every row, so indexd may delete what is missing.
 * The stored cursor is compared in the column's own type: its type OID,
 * learnt from a LIMIT 0 probe, types the $1 parameter.
 *
 * The user's query is only ever a sub-select: SELECT ... FROM (query) AS q.
 * Column names are quoted identifiers; values are bound parameters.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "common/log.h"
#include "common/sandbox.h"
#include "common/util.h"
#include "fetcher/connector.h"

#define PG_BATCH	1000
#define PG_MAX_QUERY	16384
#define PG_MAX_IDENT	63
#define PG_MAX_TEXTCOLS	16
#define PG_MAX_METACOLS	32
/* indexd's document limits (indexd/docbatch.h) */
#define PG_MAX_EXTID	512
#define PG_MAX_TITLE	1024
#define PG_MAX_URL	2048
#define PG_MAX_META	(64u * 1024)

/* Positions in the select list every statement of a run uses. */
enum { COL_ID, COL_CURSOR, COL_TITLE, COL_URL, COL_UPDATED, COL_TEXT };

struct pgconf {
	const char	*host;
	const char	*dbname;
	const char	*user;
	const char	*sslmode;
	const char	*sslrootcert;
	const char	*query;
	const char	*id_col;
	const char	*title_col;
	const char	*url_col;
	const char	*updated_col;
	const char	*cursor_col;
	const char	*text_cols[PG_MAX_TEXTCOLS];
	size_t		 ntext;
	const char	*meta_cols[PG_MAX_METACOLS];
	size_t		 nmeta;
	long long	 port;
	long long	 timeout;
	long long	 max_rows;
};

static const char *const pg_members[] = {
	"host", "port", "dbname", "user", "sslmode", "sslrootcert", "query",
	"id_column", "title_column", "text_columns", "url_column",
	"updated_column", "cursor_column", "metadata_columns", "timeout",
	"max_rows", NULL
};

static int
is_local_host(const char *h)
{
	return h[0] == '/' || strcmp(h, "localhost") == 0 ||
	    strcmp(h, "127.0.0.1") == 0 || strcmp(h, "::1") == 0;
}

static int
conf_host(json_t *config, struct pgconf *pc, char *err, size_t errlen)
{
	const char	*p;

	if (conf_str(config, "host", 1, 255, &pc->host, err, errlen) == -1)
		return -1;
	/* one host: libpq would read "a,b" as a list to try in turn */
	for (p = pc->host; *p != '\0'; p++)
		if (*p == ',' || isspace((unsigned char)*p) ||
		    iscntrl((unsigned char)*p)) {
			snprintf(err, errlen, "config.host: must be one host "
			    "name, address or socket directory");
			return -1;
		}
	return 0;
}

static int
conf_tls(json_t *config, struct pgconf *pc, char *err, size_t errlen)
{
	static const char *const modes[] = {
		"verify-full", "verify-ca", "require", "disable"
	};
	size_t	 i;

	if (conf_str(config, "sslmode", 0, 16, &pc->sslmode, err,
	    errlen) == -1)
		return -1;
	if (pc->sslmode == NULL)
		pc->sslmode = "verify-full";
	for (i = 0; i < nitems(modes) && strcmp(modes[i], pc->sslmode); i++)
		;
	if (i == nitems(modes)) {
		snprintf(err, errlen, "config.sslmode: must be verify-full, "
		    "verify-ca, require or disable");
		return -1;
	}
	if (strcmp(pc->sslmode, "disable") == 0 && !is_local_host(pc->host)) {
		snprintf(err, errlen, "config.sslmode: disable is allowed "
		    "only for localhost, 127.0.0.1, ::1 or a socket directory");
		return -1;
	}
	if (conf_str(config, "sslrootcert", 0, 4095, &pc->sslrootcert, err,
	    errlen) == -1)
		return -1;
	if (pc->sslrootcert != NULL && pc->sslrootcert[0] != '/') {
		snprintf(err, errlen, "config.sslrootcert: must be an "
		    "absolute path");
		return -1;
	}
	if (pc->sslrootcert == NULL && strncmp(pc->sslmode, "verify-", 7) ==
	    0) {
		snprintf(err, errlen, "config.sslrootcert: required with "
		    "sslmode %s", pc->sslmode);
		return -1;
	}
	return 0;
}

/* A column name: 1..63 bytes of UTF-8 (quoted when used). */
static int
ident_ok(const char *s)
{
	size_t	 len = strlen(s);

	return len > 0 && len <= PG_MAX_IDENT && utf8_valid(s, len);
}

static int
conf_col(json_t *config, const char *k, int required, const char **out,
    char *err, size_t errlen)
{
	if (conf_str(config, k, required, PG_MAX_IDENT, out, err,
	    errlen) == -1)
		return -1;
	if (*out != NULL && !ident_ok(*out)) {
		snprintf(err, errlen, "config.%s: must be a column name of "
		    "1 to %d bytes", k, PG_MAX_IDENT);
		return -1;
	}
	return 0;
}

static int
conf_cols(json_t *config, const char *k, int required, size_t max,
    const char **out, size_t *n, char *err, size_t errlen)
{
	json_t	*a = json_object_get(config, k), *v;
	size_t	 i;

	*n = 0;
	if (a == NULL) {
		if (!required)
			return 0;
		snprintf(err, errlen, "config.%s: required", k);
		return -1;
	}
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > max) {
		snprintf(err, errlen, "config.%s: must be an array of 1 to "
		    "%zu column names", k, max);
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v) || !ident_ok(json_string_value(v))) {
			snprintf(err, errlen, "config.%s[%zu]: must be a "
			    "column name of 1 to %d bytes", k, i, PG_MAX_IDENT);
			return -1;
		}
		out[i] = json_string_value(v);
	}
	*n = json_array_size(a);
	return 0;
}

/*
 * The query: one SELECT (or WITH ... SELECT).  Any ';' is refused, so
 * it can never be more than one statement, even where quoting would
 * make a ';' harmless.
 */
static int
conf_query(json_t *config, struct pgconf *pc, char *err, size_t errlen)
{
	const char	*q;

	if (conf_str(config, "query", 1, PG_MAX_QUERY, &pc->query, err,
	    errlen) == -1)
		return -1;
	if (!utf8_valid(pc->query, strlen(pc->query))) {
		snprintf(err, errlen, "config.query: must be UTF-8");
		return -1;
	}
	if (strchr(pc->query, ';') != NULL) {
		snprintf(err, errlen, "config.query: must be one statement "
		    "without ';'");
		return -1;
	}
	for (q = pc->query; isspace((unsigned char)*q) || *q == '('; q++)
		;
	if (strncasecmp(q, "select", 6) != 0 && strncasecmp(q, "with", 4) !=
	    0) {
		snprintf(err, errlen, "config.query: must be a SELECT");
		return -1;
	}
	return 0;
}

static int
pg_conf(json_t *config, struct pgconf *pc, char *err, size_t errlen)
{
	memset(pc, 0, sizeof(*pc));
	if (conf_only(config, pg_members, err, errlen) == -1 ||
	    conf_host(config, pc, err, errlen) == -1 ||
	    conf_int(config, "port", 1, 65535, 5432, &pc->port, err,
	    errlen) == -1 ||
	    conf_str(config, "dbname", 1, 63, &pc->dbname, err, errlen) == -1 ||
	    conf_str(config, "user", 1, 63, &pc->user, err, errlen) == -1 ||
	    conf_tls(config, pc, err, errlen) == -1 ||
	    conf_query(config, pc, err, errlen) == -1 ||
	    conf_col(config, "id_column", 1, &pc->id_col, err, errlen) == -1 ||
	    conf_col(config, "title_column", 0, &pc->title_col, err,
	    errlen) == -1 ||
	    conf_cols(config, "text_columns", 1, PG_MAX_TEXTCOLS,
	    pc->text_cols, &pc->ntext, err, errlen) == -1 ||
	    conf_col(config, "url_column", 0, &pc->url_col, err,
	    errlen) == -1 ||
	    conf_col(config, "updated_column", 0, &pc->updated_col, err,
	    errlen) == -1 ||
	    conf_col(config, "cursor_column", 1, &pc->cursor_col, err,
	    errlen) == -1 ||
	    conf_cols(config, "metadata_columns", 0, PG_MAX_METACOLS,
	    pc->meta_cols, &pc->nmeta, err, errlen) == -1 ||
	    conf_int(config, "timeout", 1, 300, 60, &pc->timeout, err,
	    errlen) == -1 ||
	    conf_int(config, "max_rows", 1, 10000000, 1000000, &pc->max_rows,
	    err, errlen) == -1)
		return -1;
	return 0;
}

static int
pg_check(json_t *config, char *err, size_t errlen)
{
	struct pgconf	 pc;

	return pg_conf(config, &pc, err, errlen);
}

static int
sb_path(struct fetch_sandbox *sb, const char *path, char *err,
    size_t errlen)
{
	if (sb->npaths == FETCH_SANDBOX_PATHS ||
	    strlcpy(sb->paths[sb->npaths], path, sizeof(sb->paths[0])) >=
	    sizeof(sb->paths[0])) {
		snprintf(err, errlen, "sandbox: too many or too long paths");
		return -1;
	}
	sb->npaths++;
	return 0;
}

static int
pg_sandbox(json_t *config, struct fetch_sandbox *sb, char *err,
    size_t errlen)
{
	struct pgconf	 pc;
	const char	*const *p;

	if (pg_conf(config, &pc, err, errlen) == -1)
		return -1;
	memset(sb, 0, sizeof(*sb));
	/*
	 * inet: the TCP connection; dns: the host name lookup; unix: a
	 * socket directory as host; rpath: the root certificate, the
	 * resolver's files and OpenSSL's configuration, read by libpq
	 * while connecting.
	 */
	snprintf(sb->promises, sizeof(sb->promises), "inet dns unix rpath");
	if (pc.sslrootcert != NULL &&
	    sb_path(sb, pc.sslrootcert, err, errlen) == -1)
		return -1;
	if (pc.host[0] == '/' && sb_path(sb, pc.host, err, errlen) == -1)
		return -1;
	/* a host name's lookup reads the resolver's files */
	for (p = sandbox_resolver_files; pc.host[0] != '/' && *p != NULL; p++)
		if (access(*p, R_OK) == 0 && sb_path(sb, *p, err, errlen) == -1)
			return -1;
	/* OpenSSL's configuration and the system's CAs */
	for (p = sandbox_system_ca; *p != NULL; p++)
		if (access(*p, R_OK) == 0 && sb_path(sb, *p, err, errlen) == -1)
			return -1;
	return 0;
}

/*
 * "col" as a quoted identifier.  PQescapeIdentifier needs a connection;
 * this is the same rule (double the '"'), safe because names are UTF-8
 * (checked) and the connection's client_encoding is UTF8.
 */
static void
sql_ident(char *buf, size_t len, size_t *off, const char *name)
{
	const char	*p;

	if (*off + 1 < len)
		buf[(*off)++] = '"';
	for (p = name; *p != '\0'; p++) {
		if (*p == '"' && *off + 1 < len)
			buf[(*off)++] = '"';
		if (*off + 1 < len)
			buf[(*off)++] = *p;
	}
	if (*off + 1 < len)
		buf[(*off)++] = '"';
	buf[*off < len ? *off : len - 1] = '\0';
}

static void
sql_add(char *buf, size_t len, size_t *off, const char *s)
{
	size_t	 n = strlen(s);

	if (*off + n + 1 > len)
		n = len > *off + 1 ? len - *off - 1 : 0;
	memcpy(buf + *off, s, n);
	*off += n;
	buf[*off] = '\0';
}

static void
sql_col(char *buf, size_t len, size_t *off, const char *name)
{
	if (name == NULL) {
		sql_add(buf, len, off, "NULL");
		return;
	}
	sql_add(buf, len, off, "q.");
	sql_ident(buf, len, off, name);
}

/* The select list, in COL_* order, then text, then metadata columns. */
static void
sql_list(const struct pgconf *pc, char *buf, size_t len, size_t *off)
{
	const char	*fixed[] = { pc->id_col, pc->cursor_col, pc->title_col,
	    pc->url_col, pc->updated_col };
	size_t		 i;

	for (i = 0; i < nitems(fixed); i++) {
		sql_add(buf, len, off, i ? ", " : "");
		sql_col(buf, len, off, fixed[i]);
	}
	for (i = 0; i < pc->ntext; i++) {
		sql_add(buf, len, off, ", ");
		sql_col(buf, len, off, pc->text_cols[i]);
	}
	for (i = 0; i < pc->nmeta; i++) {
		sql_add(buf, len, off, ", ");
		sql_col(buf, len, off, pc->meta_cols[i]);
	}
}

enum sql_kind { SQL_PROBE, SQL_ROWS, SQL_ROWS_AFTER, SQL_IDS };

/*
 * The statements of a run, as a malloc'd string.  The query sits on
 * lines of its own so that a trailing "-- comment" cannot swallow the
 * closing parenthesis.
 *   PROBE       SELECT <list> FROM (query) AS q LIMIT 0
 *   ROWS        ... WHERE q.cur IS NOT NULL ORDER BY q.cur
 *   ROWS_AFTER  ... WHERE q.cur IS NOT NULL AND q.cur > $1 ORDER BY q.cur
 *   IDS         SELECT q.id FROM (query) AS q WHERE q.cur IS NOT NULL
 *               AND q.cur <= $1
 */
static char *
sql_build(const struct pgconf *pc, enum sql_kind kind)
{
	size_t	 len = strlen(pc->query) + 4096, off = 0;
	char	*buf = xcalloc(1, len);

	sql_add(buf, len, &off, "SELECT ");
	if (kind == SQL_IDS)
		sql_col(buf, len, &off, pc->id_col);
	else
		sql_list(pc, buf, len, &off);
	sql_add(buf, len, &off, " FROM (\n");
	sql_add(buf, len, &off, pc->query);
	sql_add(buf, len, &off, "\n) AS q");
	if (kind == SQL_PROBE) {
		sql_add(buf, len, &off, " LIMIT 0");
		return buf;
	}
	sql_add(buf, len, &off, " WHERE ");
	sql_col(buf, len, &off, pc->cursor_col);
	sql_add(buf, len, &off, " IS NOT NULL");
	if (kind != SQL_ROWS) {
		sql_add(buf, len, &off, " AND ");
		sql_col(buf, len, &off, pc->cursor_col);
		sql_add(buf, len, &off, kind == SQL_IDS ? " <= $1" : " > $1");
	}
	if (kind != SQL_IDS) {
		sql_add(buf, len, &off, " ORDER BY ");
		sql_col(buf, len, &off, pc->cursor_col);
	}
	return buf;
}

/*
 * A timestamp as PostgreSQL prints it with DateStyle ISO and TimeZone
 * UTC ("2024-01-02 03:04:05.5+00", or a date, or a timestamp without
 * zone, taken as UTC) to RFC 3339 ("2024-01-02T03:04:05.5Z").  -1 when
 * it is not of that form (then the document has no date).
 */
static int
pg_rfc3339(const char *in, char *out, size_t outlen)
{
	static const char	 shape[] = "dddd-dd-dd?dd:dd:dd";
	size_t			 i, n;
	const char		*p;

	for (i = 0; shape[i] != '\0'; i++) {
		if (in[i] == '\0' && i == 10)
			break;		/* a date */
		if (shape[i] == 'd' ? !isdigit((unsigned char)in[i]) :
		    shape[i] == '?' ? (in[i] != ' ' && in[i] != 'T') :
		    in[i] != shape[i])
			return -1;
	}
	if (i == 10)
		return snprintf(out, outlen, "%.10sT00:00:00Z", in) >=
		    (int)outlen ? -1 : 0;
	p = in + i;
	if (*p == '.') {
		for (n = 1; isdigit((unsigned char)p[n]); n++)
			;
		if (n == 1 || n > 10)
			return -1;
		p += n;
	}
	n = p - in;
	if (*p == '\0' || *p == 'Z' || strcmp(p, "+00") == 0 ||
	    strcmp(p, "+00:00") == 0)
		return snprintf(out, outlen, "%.10sT%.*sZ", in, (int)(n - 11),
		    in + 11) >= (int)outlen ? -1 : 0;
	/* another offset: "+05", "-03:30" */
	if ((p[0] != '+' && p[0] != '-') || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || (p[3] != '\0' && (p[3] != ':' ||
	    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]) ||
	    p[6] != '\0')))
		return -1;
	return snprintf(out, outlen, "%.10sT%.*s%.3s:%s", in, (int)(n - 11),
	    in + 11, p, p[3] ? p + 4 : "00") >= (int)outlen ? -1 : 0;
}

/* libpq's message on one line, at most errlen - 1 bytes. */
static void
pg_oneline(char *dst, size_t dstlen, const char *msg)
{
	size_t	 i, o = 0;

	for (i = 0; msg[i] != '\0' && o + 1 < dstlen; i++) {
		unsigned char	 c = msg[i];

		if (c == '\n' || c == '\t' || c == '\r') {
			if (o > 0 && dst[o - 1] != ' ' && msg[i + 1] != '\0')
				dst[o++] = ' ';
		} else if (c >= 0x20)
			dst[o++] = c;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

/* "prefix: message" as the run's error. */
static void
run_fail(struct fetch_result *res, int transient, const char *prefix,
    const char *msg)
{
	char	 line[FETCH_ERR_MAX];

	pg_oneline(line, sizeof(line), msg ? msg : "");
	/* a long message is cut, and says so */
	if (snprintf(res->error, sizeof(res->error), "%s: %s", prefix,
	    line) >= (int)sizeof(res->error))
		memcpy(res->error + sizeof(res->error) - 4, "...", 4);
	res->transient = transient;
}

/*
 * Why a connection failed.  libpq has no error code for it, only its
 * message: a refused login or a TLS failure will fail again the same
 * way, anything else (refused, timed out, server starting) may not.
 */
static void
conn_fail(const struct pgconf *pc, PGconn *db, const char *password,
    struct fetch_result *res)
{
	const char	*m = PQerrorMessage(db);
	const char	*perm[] = { "authentication failed", "pg_hba.conf",
	    "does not exist", "SSL", "certificate", "permission denied",
	    "not permitted to log in" };
	char		 prefix[384];
	size_t		 i;

	/* libpq never quotes the password; make sure of it */
	if (password != NULL && *password != '\0' && strstr(m, password))
		m = "(message withheld)";
	snprintf(prefix, sizeof(prefix), "cannot connect to %s:%lld%s",
	    pc->host, pc->port, strstr(m, "authentication failed") ||
	    strstr(m, "pg_hba.conf") ? ": the server refused the login" : "");
	for (i = 0; i < nitems(perm) && strstr(m, perm[i]) == NULL; i++)
		;
	run_fail(res, i == nitems(perm), prefix, m);
}

static PGconn *
pg_open(const struct pgconf *pc, const struct fetch_job *job,
    struct fetch_result *res)
{
	const char	*kw[16], *val[16];
	char		 port[24], tmo[24];
	char		*password;
	PGconn		*db;
	size_t		 n = 0;

	if ((password = cred_string(job, res->error, sizeof(res->error))) ==
	    NULL)
		return NULL;
	snprintf(port, sizeof(port), "%lld", pc->port);
	snprintf(tmo, sizeof(tmo), "%lld", pc->timeout < 2 ? 2 : pc->timeout);
#define KV(k, v)	do { kw[n] = (k); val[n] = (v); n++; } while (0)
	KV("host", pc->host);
	KV("port", port);
	KV("dbname", pc->dbname);
	KV("user", pc->user);
	KV("password", password);
	KV("sslmode", pc->sslmode);
	if (pc->sslrootcert != NULL)
		KV("sslrootcert", pc->sslrootcert);
	KV("connect_timeout", tmo);
	KV("application_name", "ballast-fetcher");
	KV("client_encoding", "UTF8");
	KV("target_session_attrs", "any");
	/* no Kerberos credential cache lookups */
	KV("gssencmode", "disable");
	KV(NULL, NULL);
#undef KV
	/* expand_dbname 0: dbname is a name, never a conninfo string */
	db = PQconnectdbParams(kw, val, 0);
	if (db == NULL) {
		freezero(password, strlen(password));
		snprintf(res->error, sizeof(res->error), "out of memory");
		res->transient = 1;
		return NULL;
	}
	if (PQstatus(db) != CONNECTION_OK) {
		conn_fail(pc, db, password, res);
		PQfinish(db);
		db = NULL;
	}
	freezero(password, strlen(password));
	return db;
}

/* An SQL failure: transient for lost connections, timeouts and the like. */
static void
sql_fail(PGconn *db, PGresult *r, const char *what, struct fetch_result *res)
{
	const char	*state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) :
			    NULL;
	const char	*msg = r ? PQresultErrorField(r,
			    PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int		 transient;

	if (msg == NULL)
		msg = PQerrorMessage(db);
	transient = PQstatus(db) != CONNECTION_OK || state == NULL ||
	    strncmp(state, "08", 2) == 0 ||	/* connection exception */
	    strncmp(state, "53", 2) == 0 ||	/* insufficient resources */
	    strncmp(state, "57", 2) == 0 ||	/* timeout, shutdown */
	    strncmp(state, "40", 2) == 0;	/* serialization, deadlock */
	run_fail(res, transient, what, msg);
}

/* Runs sql (with $1 = param when param is not NULL), wants want. */
static PGresult *
pg_exec(PGconn *db, const char *sql, Oid type, const char *param,
    ExecStatusType want, const char *what, struct fetch_result *res)
{
	PGresult	*r;

	if (param != NULL)
		r = PQexecParams(db, sql, 1, &type, &param, NULL, NULL, 0);
	else
		r = PQexec(db, sql);
	if (r != NULL && PQresultStatus(r) == want)
		return r;
	sql_fail(db, r, what, res);
	PQclear(r);
	return NULL;
}

static int
pg_begin(PGconn *db, const struct pgconf *pc, struct fetch_result *res)
{
	char		 sql[512];
	PGresult	*r;

	/* one snapshot for both passes; dates in UTC, ISO style */
	snprintf(sql, sizeof(sql), "BEGIN ISOLATION LEVEL REPEATABLE READ, "
	    "READ ONLY; SET LOCAL statement_timeout = %lld; "
	    "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'",
	    pc->timeout * 1000);
	if ((r = pg_exec(db, sql, 0, NULL, PGRES_COMMAND_OK,
	    "cannot start a read-only transaction", res)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

struct pgrun {
	const struct pgconf	*pc;
	struct fetch_sink	*sink;
	struct fetch_result	*res;
	long long		 rows;
	char			 last[FETCH_MAX_CURSOR];
	int			 have_last;
};

/* A value, or NULL for SQL NULL and "". */
static const char *
pg_val(PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) == 0)
		return NULL;
	return PQgetvalue(r, row, col);
}

/* The length of s cut to at most max bytes at a UTF-8 boundary. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* The text columns joined by blank lines, NULL and "" skipped. */
static char *
row_text(const struct pgrun *pr, PGresult *r, int row, size_t *lenp)
{
	size_t	 i, len = 0, n;
	char	*out = NULL;

	for (i = 0; i < pr->pc->ntext; i++) {
		const char	*v = pg_val(r, row, COL_TEXT + i);

		if (v == NULL)
			continue;
		n = PQgetlength(r, row, COL_TEXT + i);
		out = xreallocarray(out, 1, len + n + 3);
		if (len > 0) {
			memcpy(out + len, "\n\n", 2);
			len += 2;
		}
		memcpy(out + len, v, n);
		len += n;
	}
	if (out == NULL)
		out = xcalloc(1, 1);
	if (len > FETCH_MAX_BODY) {
		log_warnx("%s: text cut to %u bytes", __func__,
		    FETCH_MAX_BODY);
		len = utf8_cut(out, len, FETCH_MAX_BODY);
	}
	out[len] = '\0';
	*lenp = len;
	return out;
}

/* The metadata columns as a JSON object of strings; NULL for none. */
static char *
row_meta(const struct pgrun *pr, PGresult *r, int row)
{
	json_t	*o;
	size_t	 i;
	char	*s;
	int	 base = COL_TEXT + pr->pc->ntext;

	if (pr->pc->nmeta == 0)
		return NULL;
	o = json_object();
	for (i = 0; i < pr->pc->nmeta; i++) {
		if (PQgetisnull(r, row, base + i))
			continue;
		json_object_set_new(o, pr->pc->meta_cols[i], json_stringn(
		    PQgetvalue(r, row, base + i),
		    PQgetlength(r, row, base + i)));
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s != NULL && strlen(s) > PG_MAX_META) {
		log_warnx("%s: metadata over %u bytes left out", __func__,
		    PG_MAX_META);
		free(s);
		s = NULL;
	}
	return s;
}

static int
row_doc(struct pgrun *pr, PGresult *r, int row)
{
	struct fetch_doc	 d;
	char			 upd[64], title[PG_MAX_TITLE + 1];
	char			*text, *meta;
	const char		*v;
	int			 rc;

	memset(&d, 0, sizeof(d));
	d.external_id = pg_val(r, row, COL_ID);
	if (d.external_id == NULL ||
	    strlen(d.external_id) > PG_MAX_EXTID) {
		log_warnx("%s: a row with %s id skipped", __func__,
		    d.external_id ? "an over-long" : "a NULL or empty");
		return 0;
	}
	if ((v = pg_val(r, row, COL_TITLE)) != NULL) {
		size_t	 n = utf8_cut(v, strlen(v), PG_MAX_TITLE);

		memcpy(title, v, n);
		title[n] = '\0';
		d.title = title;
	}
	if ((d.url = pg_val(r, row, COL_URL)) != NULL &&
	    strlen(d.url) > PG_MAX_URL) {
		log_warnx("%s: %s: url over %d bytes left out", __func__,
		    d.external_id, PG_MAX_URL);
		d.url = NULL;
	}
	if ((v = pg_val(r, row, COL_UPDATED)) != NULL) {
		if (pg_rfc3339(v, upd, sizeof(upd)) == 0)
			d.updated_at = upd;
		else
			log_debug("%s: %s: updated value is not a date",
			    __func__, d.external_id);
	}
	d.text = text = row_text(pr, r, row, &d.text_len);
	d.metadata = meta = row_meta(pr, r, row);
	rc = pr->sink->doc(pr->sink, &d);
	free(text);
	free(meta);
	return rc;
}

static int
sink_failed(struct pgrun *pr)
{
	snprintf(pr->res->error, sizeof(pr->res->error), "%s",
	    pr->sink->sink_error[0] ? pr->sink->sink_error :
	    "the documents could not be delivered");
	pr->res->transient = 0;
	return -1;
}

static int
too_many(struct pgrun *pr)
{
	snprintf(pr->res->error, sizeof(pr->res->error), "the query has "
	    "more than %lld rows (config.max_rows)", pr->pc->max_rows);
	pr->res->transient = 0;
	return -1;
}

/* One page of rows: each a document; the last cursor value kept. */
static int
page_rows(struct pgrun *pr, PGresult *r)
{
	int	 i, n = PQntuples(r);

	for (i = 0; i < n; i++) {
		if (++pr->rows > pr->pc->max_rows)
			return too_many(pr);
		if (row_doc(pr, r, i) == -1)
			return sink_failed(pr);
		if ((size_t)PQgetlength(r, i, COL_CURSOR) >= sizeof(pr->last)) {
			snprintf(pr->res->error, sizeof(pr->res->error),
			    "config.cursor_column: a value is longer than "
			    "%zu bytes", sizeof(pr->last) - 1);
			pr->res->transient = 0;
			return -1;
		}
		memcpy(pr->last, PQgetvalue(r, i, COL_CURSOR),
		    PQgetlength(r, i, COL_CURSOR) + 1);
		pr->have_last = 1;
	}
	return 0;
}

/* One page of ids: each kept. */
static int
page_ids(struct pgrun *pr, PGresult *r)
{
	int	 i, n = PQntuples(r);

	for (i = 0; i < n; i++) {
		const char	*id = pg_val(r, i, 0);

		if (++pr->rows > pr->pc->max_rows)
			return too_many(pr);
		if (id == NULL || strlen(id) > PG_MAX_EXTID)
			continue;
		if (pr->sink->keep(pr->sink, id) == -1)
			return sink_failed(pr);
	}
	return 0;
}

/*
 * DECLARE name CURSOR FOR sql, then FETCH pages of PG_BATCH rows into
 * page() until none is left.
 */
static int
pg_pages(PGconn *db, struct pgrun *pr, const char *name, const char *sql,
    Oid type, const char *param, int (*page)(struct pgrun *, PGresult *))
{
	char		*decl, fetch[128];
	PGresult	*r;
	int		 n;

	if (asprintf(&decl, "DECLARE %s NO SCROLL CURSOR FOR %s", name,
	    sql) == -1)
		fatal("%s: asprintf", __func__);
	r = pg_exec(db, decl, type, param, PGRES_COMMAND_OK, "the query "
	    "failed", pr->res);
	free(decl);
	if (r == NULL)
		return -1;
	PQclear(r);
	snprintf(fetch, sizeof(fetch), "FETCH FORWARD %d FROM %s", PG_BATCH,
	    name);
	do {
		if ((r = pg_exec(db, fetch, 0, NULL, PGRES_TUPLES_OK,
		    "the query failed", pr->res)) == NULL)
			return -1;
		n = PQntuples(r);
		if (page(pr, r) == -1) {
			PQclear(r);
			return -1;
		}
		PQclear(r);
	} while (n > 0);
	return 0;
}

/* The cursor column's type, from a LIMIT 0 probe that names every column. */
static int
pg_probe(PGconn *db, const struct pgconf *pc, Oid *type,
    struct fetch_result *res)
{
	char		*sql = sql_build(pc, SQL_PROBE);
	PGresult	*r;

	r = pg_exec(db, sql, 0, NULL, PGRES_TUPLES_OK, "the query failed",
	    res);
	free(sql);
	if (r == NULL)
		return -1;
	*type = PQftype(r, COL_CURSOR);
	PQclear(r);
	return 0;
}

static int
pg_sync(PGconn *db, struct pgrun *pr, const char *cursor)
{
	char	*sql;
	Oid	 type;
	int	 rc;

	if (pg_begin(db, pr->pc, pr->res) == -1 ||
	    pg_probe(db, pr->pc, &type, pr->res) == -1)
		return -1;
	sql = sql_build(pr->pc, *cursor ? SQL_ROWS_AFTER : SQL_ROWS);
	rc = pg_pages(db, pr, "ballast_rows", sql, type, *cursor ? cursor :
	    NULL, page_rows);
	free(sql);
	if (rc == -1 || *cursor == '\0')
		return rc;
	/* the rows not sent: still there, unchanged since the cursor */
	sql = sql_build(pr->pc, SQL_IDS);
	rc = pg_pages(db, pr, "ballast_ids", sql, type, cursor, page_ids);
	free(sql);
	return rc;
}

static int
pg_run(const struct fetch_job *job, struct fetch_sink *sink,
    struct fetch_result *res)
{
	struct pgconf	 pc;
	struct pgrun	 pr;
	PGconn		*db;
	PGresult	*r;
	int		 ok;

	if (pg_conf(job->config, &pc, res->error, sizeof(res->error)) == -1)
		return -1;
	if ((db = pg_open(&pc, job, res)) == NULL)
		return -1;
	memset(&pr, 0, sizeof(pr));
	pr.pc = &pc;
	pr.sink = sink;
	pr.res = res;
	if (pg_sync(db, &pr, job->cursor) == -1) {
		PQfinish(db);
		return -1;
	}
	r = pg_exec(db, "COMMIT", 0, NULL, PGRES_COMMAND_OK, "cannot end "
	    "the transaction", res);
	ok = r != NULL;
	PQclear(r);
	PQfinish(db);
	if (!ok)
		return -1;
	if (strlcpy(res->cursor, pr.have_last ? pr.last : job->cursor,
	    sizeof(res->cursor)) >= sizeof(res->cursor)) {
		snprintf(res->error, sizeof(res->error), "the cursor is "
		    "too long");
		return -1;
	}
	res->complete = 1;
	return 0;
}

const struct connector conn_postgres = {
	"postgres", pg_check, pg_sandbox, pg_run
};

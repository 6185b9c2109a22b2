/*
 * ballast.conf parser and printer.
 *
 * The grammar is line based: every non-blank line is one setting, made of
 * one or two keywords and a fixed number of arguments.  The settings live in
 * one table (conf_settings below), which drives parsing, the duplicate check
 * and printing; adding a setting is one row there, one field in conf.h, a
 * default in conf_defaults() and a paragraph in ballast.conf.5.
 *
 * Input is untrusted in the sense that it may be anything an admin typed:
 * every limit is checked, nothing is truncated, and the struct is written
 * only when the whole text is good.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"

#ifndef BALLAST_LIBEXECDIR
#define BALLAST_LIBEXECDIR	"/usr/local/libexec/ballast"
#endif

#define CONF_LINE_MAX	4096	/* bytes per line, without the line end */
#define CONF_MAXWORDS	8	/* more on a line is always an error */
#define CONF_USER_MAX	32	/* login name length, as useradd(8) */
#define KB		((uint64_t)1024)
#define MB		(KB * 1024)
#define GB		(MB * 1024)

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)NULL)->sun_path)

enum conf_kind {
	CK_LISTEN,	/* ADDR port N */
	CK_PATH,	/* absolute path */
	CK_STRING,	/* any string */
	CK_USER,	/* login name */
	CK_NUMBER,	/* plain integer */
	CK_SIZE,	/* integer with optional K or M suffix */
	CK_LOGLEVEL,	/* warn | info | debug */
	CK_RATE,	/* N per M: two numbers, the field and the next */
	CK_ORIGIN,	/* scheme://host[:port]; repeats */
	CK_ROOT,	/* absolute directory path; repeats */
	CK_WORD,	/* one of the words in the setting's list */
};

struct conf_setting {
	const char	*kw[2];		/* kw[1] NULL for one-word settings */
	enum conf_kind	 kind;
	size_t		 off;		/* of the field in struct ballast_conf */
	size_t		 size;		/* string kinds: room including NUL */
	long long	 min, max;	/* number kinds */
};

#define FIELD(f)	offsetof(struct ballast_conf, f), \
			sizeof(((struct ballast_conf *)NULL)->f)
#define USER(name, id)	{ { "user", name }, CK_USER, FIELD(user[id]), 0, 0 }

/* Also the order conf_print() writes. */
static const struct conf_setting conf_settings[] = {
	{ { "listen", "on" },		CK_LISTEN,
	    FIELD(listen_addr), 1, 65535 },
	{ { "tls", "certificate" },	CK_PATH, FIELD(tls_cert), 0, 0 },
	{ { "tls", "key" },		CK_PATH, FIELD(tls_key), 0, 0 },
	{ { "keyring", NULL },		CK_PATH, FIELD(keyring), 0, 0 },
	/* bind(2) needs the path to fit sockaddr_un */
	{ { "control", "socket" },	CK_PATH,
	    offsetof(struct ballast_conf, control_socket), SUN_PATH_MAX, 0, 0 },
	{ { "libexec", NULL },		CK_PATH, FIELD(libexec_dir), 0, 0 },
	{ { "chroot", NULL },		CK_PATH, FIELD(chroot_dir), 0, 0 },
	{ { "database", "auth" },	CK_STRING, FIELD(db_auth), 0, 0 },
	{ { "database", "index" },	CK_STRING, FIELD(db_index), 0, 0 },
	{ { "database", "admin" },	CK_STRING, FIELD(db_admin), 0, 0 },
	USER("front", PROC_FRONT),
	USER("keyd", PROC_KEYD),
	USER("authd", PROC_AUTHD),
	USER("indexd", PROC_INDEXD),
	USER("fetcher", PROC_FETCHER),
	{ { "limit", "connections" },	CK_NUMBER,
	    FIELD(max_connections), 1, 1000000 },
	{ { "limit", "connections-per-address" }, CK_NUMBER,
	    FIELD(max_conns_per_addr), 1, 1000000 },
	{ { "limit", "header-size" },	CK_SIZE,
	    FIELD(max_header_size), KB, MB },
	{ { "limit", "body-size" },	CK_SIZE,
	    FIELD(max_body_size), KB, GB },
	{ { "timeout", "header" },	CK_NUMBER,
	    FIELD(header_timeout), 1, 3600 },
	{ { "timeout", "body" },	CK_NUMBER, FIELD(body_timeout), 1, 3600 },
	{ { "timeout", "idle" },	CK_NUMBER, FIELD(idle_timeout), 1, 3600 },
	{ { "timeout", "ipc" },		CK_NUMBER, FIELD(ipc_timeout), 1, 3600 },
	{ { "mcp", "origin" },		CK_ORIGIN, FIELD(mcp_origin), 0, 0 },
	{ { "password", "memory" },	CK_NUMBER,
	    FIELD(password_memory), 8192, 4194304 },
	{ { "password", "iterations" },	CK_NUMBER,
	    FIELD(password_iterations), 1, 100 },
	/* keyd signs access tokens of at most an hour (JWT_MAX_LIFETIME) */
	{ { "token", "lifetime" },	CK_NUMBER,
	    FIELD(token_lifetime), 60, 3600 },
	{ { "session", "lifetime" },	CK_NUMBER,
	    FIELD(session_lifetime), 300, 31536000 },
	{ { "login", "attempts" },	CK_RATE,
	    FIELD(login_attempts), 1, 86400 },
	{ { "search", "rate" },		CK_RATE,
	    FIELD(search_rate), 1, 1000000 },
	{ { "sync", "workers" },	CK_NUMBER, FIELD(sync_workers), 1, 64 },
	{ { "sync", "timeout" },	CK_NUMBER,
	    FIELD(sync_timeout), 10, 86400 },
	{ { "sync", "root" },		CK_ROOT, FIELD(sync_root), 0, 0 },
	{ { "vectors", NULL },		CK_WORD, FIELD(vectors), 0, 0 },
	{ { "qdrant", "url" },		CK_STRING, FIELD(qdrant_url), 0, 0 },
	{ { "qdrant", "collection" },	CK_STRING,
	    FIELD(qdrant_collection), 0, 0 },
	{ { "qdrant", "timeout" },	CK_NUMBER,
	    FIELD(qdrant_timeout), 1, 600 },
	{ { "qdrant", "outage" },	CK_WORD, FIELD(qdrant_outage), 0, 0 },
	{ { "embedder", "type" },	CK_WORD, FIELD(embedder), 0, 0 },
	{ { "embedder", "url" },	CK_STRING, FIELD(embedder_url), 0, 0 },
	{ { "embedder", "model" },	CK_STRING, FIELD(embedder_model), 0, 0 },
	{ { "embedder", "dimension" },	CK_NUMBER,
	    FIELD(embedder_dimension), 1, 16384 },
	{ { "embedder", "batch" },	CK_NUMBER,
	    FIELD(embedder_batch), 1, 2048 },
	{ { "embedder", "timeout" },	CK_NUMBER,
	    FIELD(embedder_timeout), 1, 600 },
	{ { "log", "level" },		CK_LOGLEVEL, FIELD(log_level), 0, 0 },
	/* optional: printed only when set */
	{ { "access", "log" },		CK_PATH, FIELD(access_log), 0, 0 },
	{ { "metrics", "on" },		CK_LISTEN,
	    FIELD(metrics_addr), 1, 65535 },
	{ { "tls", "client-ca" },	CK_PATH, FIELD(tls_client_ca), 0, 0 },
	{ { "qdrant", "ca" },		CK_PATH, FIELD(qdrant_ca), 0, 0 },
	{ { "qdrant", "certificate" },	CK_PATH, FIELD(qdrant_cert), 0, 0 },
	{ { "qdrant", "key" },		CK_PATH, FIELD(qdrant_key), 0, 0 },
	{ { "embedder", "ca" },		CK_PATH, FIELD(embedder_ca), 0, 0 },
};

/* Settings with no default: conf_print() writes them only when set. */
static int
conf_optional(const struct conf_setting *s)
{
	return s->off == offsetof(struct ballast_conf, access_log) ||
	    s->off == offsetof(struct ballast_conf, metrics_addr) ||
	    s->off == offsetof(struct ballast_conf, tls_client_ca) ||
	    s->off == offsetof(struct ballast_conf, qdrant_ca) ||
	    s->off == offsetof(struct ballast_conf, qdrant_cert) ||
	    s->off == offsetof(struct ballast_conf, qdrant_key) ||
	    s->off == offsetof(struct ballast_conf, embedder_ca);
}

struct conf_words {
	size_t	 n;
	int	 overflow;		/* more than CONF_MAXWORDS words */
	char	 w[CONF_MAXWORDS][CONF_STR_MAX];
};

struct conf_parser {
	const char		*name;
	size_t			 line;
	char			*err;
	size_t			 errlen;
	size_t			 seen[nitems(conf_settings)];	/* line, or 0 */
	struct ballast_conf	 conf;
	struct conf_words	 words;
};

static int	conf_error(struct conf_parser *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	conf_file_error(const char *, char *, size_t, const char *,
		    ...) __attribute__((format(printf, 4, 5)));

void
conf_defaults(struct ballast_conf *c)
{
	/* every byte, padding included, so parsed structs memcmp equal */
	memset(c, 0, sizeof(*c));
	strlcpy(c->listen_addr, "127.0.0.1", sizeof(c->listen_addr));
	c->listen_port = 8443;
	strlcpy(c->tls_cert, "/etc/ballast/tls.crt", sizeof(c->tls_cert));
	strlcpy(c->tls_key, "/etc/ballast/tls.key", sizeof(c->tls_key));
	strlcpy(c->keyring, "/etc/ballast/keyring", sizeof(c->keyring));
	strlcpy(c->control_socket, "/run/ballast/control.sock",
	    sizeof(c->control_socket));
	strlcpy(c->libexec_dir, BALLAST_LIBEXECDIR, sizeof(c->libexec_dir));
	strlcpy(c->chroot_dir, "/var/empty", sizeof(c->chroot_dir));
	strlcpy(c->db_auth, "dbname=ballast user=ballast_auth",
	    sizeof(c->db_auth));
	strlcpy(c->db_index, "dbname=ballast user=ballast_index",
	    sizeof(c->db_index));
	strlcpy(c->db_admin, "dbname=ballast user=ballast",
	    sizeof(c->db_admin));
	strlcpy(c->user[PROC_FRONT], "_ballast", sizeof(c->user[0]));
	strlcpy(c->user[PROC_KEYD], "_ballastkey", sizeof(c->user[0]));
	strlcpy(c->user[PROC_AUTHD], "_ballastauth", sizeof(c->user[0]));
	strlcpy(c->user[PROC_INDEXD], "_ballastidx", sizeof(c->user[0]));
	strlcpy(c->user[PROC_FETCHER], "_ballastfetch", sizeof(c->user[0]));
	c->max_connections = 1024;
	c->max_conns_per_addr = 256;
	c->max_header_size = 16 * KB;
	c->max_body_size = 16 * MB;
	c->header_timeout = 10;
	c->body_timeout = 30;
	c->idle_timeout = 60;
	c->ipc_timeout = 30;
	c->password_memory = 19456;
	c->password_iterations = 2;
	c->token_lifetime = 900;
	c->session_lifetime = 2592000;
	c->login_attempts = 5;
	c->login_window = 60;
	c->search_rate = 600;
	c->search_window = 60;
	c->sync_workers = 2;
	c->sync_timeout = 300;
	strlcpy(c->vectors, "postgres", sizeof(c->vectors));
	strlcpy(c->qdrant_url, "http://127.0.0.1:6333", sizeof(c->qdrant_url));
	strlcpy(c->qdrant_collection, "ballast", sizeof(c->qdrant_collection));
	c->qdrant_timeout = 10;
	strlcpy(c->qdrant_outage, "error", sizeof(c->qdrant_outage));
	strlcpy(c->embedder, "builtin", sizeof(c->embedder));
	strlcpy(c->embedder_url, "http://127.0.0.1:11434/v1/embeddings",
	    sizeof(c->embedder_url));
	strlcpy(c->embedder_model, "nomic-embed-text",
	    sizeof(c->embedder_model));
	c->embedder_dimension = 768;
	c->embedder_batch = 64;
	c->embedder_timeout = 60;
	c->log_level = LOG_LEVEL_INFO;
}

/* "name:line: message" into the caller's buffer; always returns -1. */
static int
conf_error(struct conf_parser *p, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	n = snprintf(p->err, p->errlen, "%s:%zu: ", p->name, p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Errors about the file as a whole: "name: message". */
static void
conf_file_error(const char *name, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "%s: ", name);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

static void
conf_setting_name(const struct conf_setting *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", s->kw[0], s->kw[1] ? " " : "",
	    s->kw[1] ? s->kw[1] : "");
}

/*
 * Bytes a line may hold: no NUL, no control character but tab, valid UTF-8.
 * A CR before the newline was already removed (CRLF files are accepted).
 */
static int
conf_check_line(struct conf_parser *p, const char *line, size_t len)
{
	if (len > CONF_LINE_MAX)
		return conf_error(p, "line too long (more than %d bytes)",
		    CONF_LINE_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char	 c = line[i];

		if (c == '\0')
			return conf_error(p, "NUL byte in line");
		if (c == '\r')
			return conf_error(p, "carriage return inside a line");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return conf_error(p, "control character 0x%02x", c);
	}
	if (!utf8_valid(line, len))
		return conf_error(p, "invalid UTF-8");
	return 0;
}

static int
conf_bare_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("_./:@-", c) != NULL);
}

/* Where a word ends: end of line, blank, or a comment. */
static int
conf_word_end(const char *line, size_t len, size_t i)
{
	return i == len || line[i] == ' ' || line[i] == '\t' || line[i] == '#';
}

/* A double-quoted string starting at line[*ip]; \" and \\ are escapes. */
static int
conf_quoted(struct conf_parser *p, const char *line, size_t len, size_t *ip,
    char *out)
{
	size_t	 i = *ip + 1, o = 0;

	while (i < len && line[i] != '"') {
		char	 c = line[i++];

		if (c == '\\') {
			if (i == len)
				break;
			c = line[i++];
			if (c != '"' && c != '\\')
				return conf_error(p, "invalid escape '\\%c' "
				    "in quoted string (only \\\" and \\\\)", c);
		}
		if (o >= CONF_STR_MAX - 1)
			return conf_error(p, "string too long (max %d bytes)",
			    CONF_STR_MAX - 1);
		out[o++] = c;
	}
	if (i == len)
		return conf_error(p, "unterminated quoted string");
	out[o] = '\0';
	*ip = i + 1;
	if (!conf_word_end(line, len, *ip))
		return conf_error(p, "missing space after quoted string");
	return 0;
}

static int
conf_bare(struct conf_parser *p, const char *line, size_t len, size_t *ip,
    char *out)
{
	size_t	 i = *ip, o = 0;

	while (i < len && conf_bare_char(line[i])) {
		if (o >= CONF_STR_MAX - 1)
			return conf_error(p, "string too long (max %d bytes)",
			    CONF_STR_MAX - 1);
		out[o++] = line[i++];
	}
	out[o] = '\0';
	*ip = i;
	if (!conf_word_end(line, len, i)) {
		unsigned char	 c = line[i];

		if (c == '"')
			return conf_error(p, "missing space before quoted "
			    "string");
		if (c >= 0x80)
			return conf_error(p, "unexpected byte 0x%02x (quote "
			    "strings with non-ASCII characters)", c);
		return conf_error(p, "unexpected character '%c'", c);
	}
	return 0;
}

/* Split a line into words; a '#' outside quotes starts a comment. */
static int
conf_tokenize(struct conf_parser *p, const char *line, size_t len)
{
	struct conf_words	*w = &p->words;
	size_t			 i = 0;
	int			 rv;

	w->n = 0;
	w->overflow = 0;
	for (;;) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len || line[i] == '#')
			return 0;
		if (w->n == CONF_MAXWORDS) {
			w->overflow = 1;
			return 0;
		}
		if (line[i] == '"')
			rv = conf_quoted(p, line, len, &i, w->w[w->n]);
		else
			rv = conf_bare(p, line, len, &i, w->w[w->n]);
		if (rv == -1)
			return -1;
		w->n++;
	}
}

/* Sizes with a K or M suffix only when exact, so they parse back equal. */
static void
conf_size_str(uint64_t v, char *buf, size_t len)
{
	if (v != 0 && v % MB == 0)
		snprintf(buf, len, "%" PRIu64 "M", v / MB);
	else if (v != 0 && v % KB == 0)
		snprintf(buf, len, "%" PRIu64 "K", v / KB);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static int
conf_range_error(struct conf_parser *p, const char *name,
    const struct conf_setting *s, const char *word)
{
	char	 lo[32], hi[32];

	if (s->kind == CK_SIZE) {
		conf_size_str(s->min, lo, sizeof(lo));
		conf_size_str(s->max, hi, sizeof(hi));
	} else {
		snprintf(lo, sizeof(lo), "%lld", s->min);
		snprintf(hi, sizeof(hi), "%lld", s->max);
	}
	return conf_error(p, "%s: %s is out of range (%s..%s)", name, word,
	    lo, hi);
}

/* Decimal digits, for sizes with an optional K or M suffix. */
static int
conf_number(struct conf_parser *p, const char *name,
    const struct conf_setting *s, const char *word, uint64_t *out)
{
	char		 digits[32];
	size_t		 len = strlen(word), ndig;
	uint64_t	 mult = 1, v;
	const char	*errstr;

	ndig = strspn(word, "0123456789");
	if (s->kind == CK_SIZE && ndig > 0 && ndig + 1 == len) {
		if (word[ndig] == 'K' || word[ndig] == 'k')
			mult = KB;
		else if (word[ndig] == 'M' || word[ndig] == 'm')
			mult = MB;
	}
	if (ndig == 0 || (ndig != len && mult == 1))
		return conf_error(p, "%s: invalid number '%s'", name, word);
	if (ndig >= sizeof(digits))
		return conf_range_error(p, name, s, word);
	memcpy(digits, word, ndig);
	digits[ndig] = '\0';
	/* the bound keeps v * mult from overflowing */
	v = strtonum(digits, 0, (long long)((uint64_t)s->max / mult + 1),
	    &errstr);
	if (errstr != NULL || v * mult < (uint64_t)s->min ||
	    v * mult > (uint64_t)s->max)
		return conf_range_error(p, name, s, word);
	*out = v * mult;
	return 0;
}

static int
conf_string(struct conf_parser *p, const char *name,
    const struct conf_setting *s, const char *word)
{
	char	*field = (char *)&p->conf + s->off;

	if (s->kind == CK_PATH && word[0] != '/')
		return conf_error(p, "%s: path must be absolute", name);
	if (strlen(word) >= s->size)
		return conf_error(p, "%s: too long (max %zu bytes)", name,
		    s->size - 1);
	/* clear the old value so equal settings give equal bytes */
	memset(field, 0, s->size);
	memcpy(field, word, strlen(word));
	return 0;
}

/* The words a CK_WORD setting takes, by field. */
static const struct {
	size_t		 off;
	const char	*words;		/* "a|b|c" */
} conf_word_lists[] = {
	{ offsetof(struct ballast_conf, vectors), "postgres|qdrant" },
	{ offsetof(struct ballast_conf, qdrant_outage), "error|keyword" },
	{ offsetof(struct ballast_conf, embedder), "builtin|openai" },
};

static int
conf_word(struct conf_parser *p, const char *name,
    const struct conf_setting *s, const char *word)
{
	const char	*w = NULL, *all = "";
	size_t		 len = strlen(word);

	for (size_t i = 0; i < nitems(conf_word_lists); i++)
		if (conf_word_lists[i].off == s->off)
			w = all = conf_word_lists[i].words;

	while (len > 0 && w != NULL) {
		if (strncmp(w, word, len) == 0 && (w[len] == '|' ||
		    w[len] == '\0'))
			return conf_string(p, name, s, word);
		if ((w = strchr(w, '|')) != NULL)
			w++;
	}
	return conf_error(p, "%s: '%s' is not one of %s", name, word, all);
}

/* Login names as useradd(8) takes them: [a-z_][a-z0-9_-]*, max 32. */
static int
conf_user(struct conf_parser *p, const char *name,
    const struct conf_setting *s, const char *word)
{
	size_t	 len = strlen(word);

	if (len == 0 || len > CONF_USER_MAX ||
	    strspn(word, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len ||
	    word[0] == '-' || (word[0] >= '0' && word[0] <= '9'))
		return conf_error(p, "%s: invalid user name '%s'", name, word);
	return conf_string(p, name, s, word);
}

/* A CK_LISTEN field's port is the uint16_t right after its address. */
_Static_assert(offsetof(struct ballast_conf, listen_port) ==
    offsetof(struct ballast_conf, listen_addr) +
    sizeof(((struct ballast_conf *)NULL)->listen_addr),
    "listen address and port must be adjacent");
_Static_assert(offsetof(struct ballast_conf, metrics_port) ==
    offsetof(struct ballast_conf, metrics_addr) +
    sizeof(((struct ballast_conf *)NULL)->metrics_addr),
    "metrics address and port must be adjacent");
static int
conf_listen(struct conf_parser *p, const char *name,
    const struct conf_setting *s, char (*args)[CONF_STR_MAX])
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	uint64_t	 port;
	uint16_t	 port16;

	if (strcmp(args[0], "localhost") != 0 &&
	    inet_pton(AF_INET, args[0], &a4) != 1 &&
	    inet_pton(AF_INET6, args[0], &a6) != 1)
		return conf_error(p, "%s: '%s' is not an IP address or "
		    "localhost", name, args[0]);
	if (strcmp(args[1], "port") != 0)
		return conf_error(p, "%s: expected 'port', got '%s'", name,
		    args[1]);
	if (conf_number(p, name, s, args[2], &port) == -1)
		return -1;
	port16 = (uint16_t)port;
	memcpy((char *)&p->conf + s->off + s->size, &port16, sizeof(port16));
	return conf_string(p, name, s, args[0]);
}

/* "N per M": N into the field, M into the uint64_t after it. */
_Static_assert(offsetof(struct ballast_conf, login_window) ==
    offsetof(struct ballast_conf, login_attempts) + sizeof(uint64_t),
    "login attempts and window must be adjacent");
_Static_assert(offsetof(struct ballast_conf, search_window) ==
    offsetof(struct ballast_conf, search_rate) + sizeof(uint64_t),
    "search rate and window must be adjacent");
static int
conf_rate(struct conf_parser *p, const char *name,
    const struct conf_setting *s, char (*args)[CONF_STR_MAX])
{
	uint64_t	 v[2];

	if (strcmp(args[1], "per") != 0)
		return conf_error(p, "%s: expected 'per', got '%s'", name,
		    args[1]);
	if (conf_number(p, name, s, args[0], &v[0]) == -1 ||
	    conf_number(p, name, s, args[2], &v[1]) == -1)
		return -1;
	memcpy((char *)&p->conf + s->off, v, sizeof(v));
	return 0;
}

/*
 * An origin as browsers send it (RFC 6454): http or https, a host and an
 * optional port, nothing else.  Each may appear once, at most
 * CONF_MCP_ORIGINS of them.
 */
static int
conf_origin(struct conf_parser *p, const char *name, const char *word)
{
	struct ballast_conf	*c = &p->conf;
	const char		*host;
	size_t			 len = strlen(word);

	if (strncmp(word, "https://", 8) == 0)
		host = word + 8;
	else if (strncmp(word, "http://", 7) == 0)
		host = word + 7;
	else
		return conf_error(p, "%s: '%s' must start with https:// or "
		    "http://", name, word);
	if (*host == '\0' || len >= CONF_ORIGIN_MAX ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") !=
	    strlen(host))
		return conf_error(p, "%s: '%s' is not scheme://host[:port] "
		    "in lower case", name, word);
	for (uint64_t i = 0; i < c->mcp_norigins; i++)
		if (strcmp(c->mcp_origin[i], word) == 0)
			return conf_error(p, "%s: '%s' given twice", name,
			    word);
	if (c->mcp_norigins == CONF_MCP_ORIGINS)
		return conf_error(p, "%s: at most %d origins", name,
		    CONF_MCP_ORIGINS);
	memcpy(c->mcp_origin[c->mcp_norigins++], word, len);
	return 0;
}

/*
 * "sync root PATH": a directory the files connector may read below.  An
 * absolute, normalised path (no "." or ".." parts, no "//", no trailing
 * "/"), so that a prefix test on the same form is a containment test.
 */
static int
conf_root(struct conf_parser *p, const char *name, const char *word)
{
	struct ballast_conf	*c = &p->conf;
	size_t			 len = strlen(word);

	if (word[0] != '/' || len >= PATH_MAX || strstr(word, "//") ||
	    strstr(word, "/./") || strstr(word, "/../") ||
	    (len > 1 && word[len - 1] == '/') ||
	    (len >= 2 && strcmp(word + len - 2, "/.") == 0) ||
	    (len >= 3 && strcmp(word + len - 3, "/..") == 0))
		return conf_error(p, "%s: '%s' must be an absolute path "
		    "without '.', '..', '//' or a trailing '/'", name, word);
	for (uint64_t i = 0; i < c->sync_nroots; i++)
		if (strcmp(c->sync_root[i], word) == 0)
			return conf_error(p, "%s: '%s' given twice", name,
			    word);
	if (c->sync_nroots == CONF_SYNC_ROOTS)
		return conf_error(p, "%s: at most %d roots", name,
		    CONF_SYNC_ROOTS);
	memcpy(c->sync_root[c->sync_nroots++], word, len + 1);
	return 0;
}

static size_t
conf_nargs(enum conf_kind kind)
{
	return kind == CK_LISTEN || kind == CK_RATE ? 3 : 1;
}

static int
conf_apply(struct conf_parser *p, const struct conf_setting *s,
    char (*args)[CONF_STR_MAX])
{
	char		 name[64];
	uint64_t	 num;
	int		 level;

	conf_setting_name(s, name, sizeof(name));
	switch (s->kind) {
	case CK_LISTEN:
		return conf_listen(p, name, s, args);
	case CK_PATH:
	case CK_STRING:
		return conf_string(p, name, s, args[0]);
	case CK_USER:
		return conf_user(p, name, s, args[0]);
	case CK_NUMBER:
	case CK_SIZE:
		if (conf_number(p, name, s, args[0], &num) == -1)
			return -1;
		memcpy((char *)&p->conf + s->off, &num, sizeof(num));
		return 0;
	case CK_RATE:
		return conf_rate(p, name, s, args);
	case CK_ORIGIN:
		return conf_origin(p, name, args[0]);
	case CK_ROOT:
		return conf_root(p, name, args[0]);
	case CK_WORD:
		return conf_word(p, name, s, args[0]);
	case CK_LOGLEVEL:
		if ((level = log_level_parse(args[0])) == -1)
			return conf_error(p, "%s: unknown level '%s' (warn, "
			    "info or debug)", name, args[0]);
		p->conf.log_level = level;
		return 0;
	}
	return conf_error(p, "%s: internal error", name);
}

/* The row named by the first words, and how many words the name took. */
static const struct conf_setting *
conf_lookup(struct conf_parser *p, size_t *nkw)
{
	struct conf_words	*w = &p->words;
	int			 first = 0;

	for (size_t i = 0; i < nitems(conf_settings); i++) {
		const struct conf_setting *s = &conf_settings[i];

		if (strcmp(s->kw[0], w->w[0]) != 0)
			continue;
		first = 1;
		if (s->kw[1] == NULL) {
			*nkw = 1;
			return s;
		}
		if (w->n > 1 && strcmp(s->kw[1], w->w[1]) == 0) {
			*nkw = 2;
			return s;
		}
	}
	if (!first)
		conf_error(p, "unknown keyword '%s'", w->w[0]);
	else if (w->n == 1)
		conf_error(p, "incomplete keyword '%s'", w->w[0]);
	else
		conf_error(p, "unknown keyword '%s %s'", w->w[0], w->w[1]);
	return NULL;
}

static int
conf_line(struct conf_parser *p, const char *line, size_t len)
{
	const struct conf_setting	*s;
	struct conf_words		*w = &p->words;
	char				 name[64];
	size_t				 nkw, idx, want;

	if (conf_check_line(p, line, len) == -1 ||
	    conf_tokenize(p, line, len) == -1)
		return -1;
	if (w->n == 0)
		return 0;
	if ((s = conf_lookup(p, &nkw)) == NULL)
		return -1;
	conf_setting_name(s, name, sizeof(name));
	want = conf_nargs(s->kind);
	if (w->n - nkw < want)
		return conf_error(p, "%s: missing argument", name);
	if (w->n - nkw > want || w->overflow)
		return conf_error(p, "%s: too many arguments", name);
	idx = s - conf_settings;
	if (p->seen[idx] != 0 && s->kind != CK_ORIGIN && s->kind != CK_ROOT)
		return conf_error(p, "%s: already set on line %zu", name,
		    p->seen[idx]);
	p->seen[idx] = p->line;
	return conf_apply(p, s, &w->w[nkw]);
}

int
conf_parse_text(const char *name, const char *text, size_t len,
    struct ballast_conf *conf, char *err, size_t errlen)
{
	struct conf_parser	*p;
	size_t			 off = 0;
	int			 rv = 0;

	if (len > CONF_MAX_SIZE) {
		conf_file_error(name, err, errlen, "file too large (more "
		    "than %d bytes)", CONF_MAX_SIZE);
		return -1;
	}
	/* ~40 KB: keep it off the stack of small-stack callers */
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		conf_file_error(name, err, errlen, "out of memory");
		return -1;
	}
	p->name = name != NULL ? name : "(config)";
	p->err = err;
	p->errlen = errlen;
	conf_defaults(&p->conf);
	while (off < len && rv == 0) {
		const char	*nl = memchr(text + off, '\n', len - off);
		size_t		 end = nl ? (size_t)(nl - text) : len;
		size_t		 llen = end - off;

		p->line++;
		if (llen > 0 && text[end - 1] == '\r')
			llen--;		/* CRLF line end */
		rv = conf_line(p, text + off, llen);
		off = nl ? end + 1 : len;
	}
	if (rv == 0)
		memcpy(conf, &p->conf, sizeof(*conf));
	explicit_bzero(p, sizeof(*p));	/* conninfo may hold a password */
	free(p);
	return rv;
}

/* Read at most CONF_MAX_SIZE + 1 bytes so a growing file is still bounded. */
static char *
conf_read_fd(int fd, size_t *lenp)
{
	char	*buf;
	size_t	 len = 0, cap = CONF_MAX_SIZE + 1;
	ssize_t	 n;

	if ((buf = malloc(cap)) == NULL)
		return NULL;
	while (len < cap) {
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int	 saved = errno;

			freezero(buf, cap);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
	}
	*lenp = len;
	return buf;
}

int
conf_parse_file(const char *path, struct ballast_conf *conf, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	size_t		 len;
	int		 fd, rv;

	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		conf_file_error(path, err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		conf_file_error(path, err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_file_error(path, err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		conf_file_error(path, err, errlen, "file too large (more "
		    "than %d bytes)", CONF_MAX_SIZE);
		close(fd);
		return -1;
	}
	if ((buf = conf_read_fd(fd, &len)) == NULL) {
		conf_file_error(path, err, errlen, "read: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	rv = conf_parse_text(path, buf, len, conf, err, errlen);
	freezero(buf, CONF_MAX_SIZE + 1);
	return rv;
}

/* A string in double quotes, with " and \ escaped. */
static int
conf_print_quoted(FILE *f, const char *s)
{
	if (putc('"', f) == EOF)
		return -1;
	for (; *s != '\0'; s++) {
		if ((*s == '"' || *s == '\\') && putc('\\', f) == EOF)
			return -1;
		if (putc(*s, f) == EOF)
			return -1;
	}
	return putc('"', f) == EOF ? -1 : 0;
}

static int
conf_print_setting(FILE *f, const struct ballast_conf *c,
    const struct conf_setting *s)
{
	const char	*field = (const char *)c + s->off;
	uint64_t	 num;
	uint16_t	 port16;
	char		 name[64], size[32];

	conf_setting_name(s, name, sizeof(name));
	if (s->kind == CK_ORIGIN) {
		/* one line each; none at all by default */
		for (uint64_t i = 0; i < c->mcp_norigins; i++)
			if (fprintf(f, "%s ", name) < 0 ||
			    conf_print_quoted(f, c->mcp_origin[i]) == -1 ||
			    putc('\n', f) == EOF)
				return -1;
		return 0;
	}
	if (s->kind == CK_ROOT) {
		for (uint64_t i = 0; i < c->sync_nroots; i++)
			if (fprintf(f, "%s ", name) < 0 ||
			    conf_print_quoted(f, c->sync_root[i]) == -1 ||
			    putc('\n', f) == EOF)
				return -1;
		return 0;
	}
	/* the optional settings: no line when they are not set */
	if (conf_optional(s) && *field == '\0')
		return 0;
	if (fprintf(f, "%s ", name) < 0)
		return -1;
	switch (s->kind) {
	case CK_LISTEN:
		memcpy(&port16, field + s->size, sizeof(port16));
		if (conf_print_quoted(f, field) == -1 ||
		    fprintf(f, " port %u", (unsigned)port16) < 0)
			return -1;
		break;
	case CK_PATH:
	case CK_STRING:
	case CK_USER:
		if (conf_print_quoted(f, field) == -1)
			return -1;
		break;
	case CK_NUMBER:
	case CK_SIZE:
		memcpy(&num, field, sizeof(num));
		if (s->kind == CK_SIZE)
			conf_size_str(num, size, sizeof(size));
		else
			snprintf(size, sizeof(size), "%" PRIu64, num);
		if (fputs(size, f) == EOF)
			return -1;
		break;
	case CK_RATE:
		memcpy(&num, field, sizeof(num));
		if (fprintf(f, "%" PRIu64 " per ", num) < 0)
			return -1;
		memcpy(&num, field + sizeof(num), sizeof(num));
		if (fprintf(f, "%" PRIu64, num) < 0)
			return -1;
		break;
	case CK_LOGLEVEL:
		if (fputs(log_level_name(c->log_level), f) == EOF)
			return -1;
		break;
	case CK_WORD:
		if (fputs(field, f) == EOF)
			return -1;
		break;
	case CK_ORIGIN:
	case CK_ROOT:
		break;
	}
	return putc('\n', f) == EOF ? -1 : 0;
}

int
conf_print(FILE *f, const struct ballast_conf *c)
{
	if (fputs("# ballast.conf, normalised (ballastd -nv)\n", f) == EOF)
		return -1;
	for (size_t i = 0; i < nitems(conf_settings); i++)
		if (conf_print_setting(f, c, &conf_settings[i]) == -1)
			return -1;
	if (fflush(f) == EOF || ferror(f))
		return -1;
	return 0;
}

char *
conf_to_text(const struct ballast_conf *c)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0;
	int	 rv;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	rv = conf_print(f, c);
	if (fclose(f) == EOF)
		rv = -1;
	if (rv == -1) {
		free(buf);
		return NULL;
	}
	return buf;
}

#include <stdlib.h>
#include <string.h>

#include <libpq-events.h>

#include "common/db.h"
#include "common/log.h"
#include "common/sandbox.h"

/* libpq's own notices would go to stderr; route them to our log. */
static void
db_notice(void *arg, const char *message)
{
	log_debug("postgres (%s): %.*s", (const char *)arg,
	    (int)strcspn(message, "\n"), message);
}

/*
 * libpq's message on one line: with several hosts or addresses (localhost
 * is ::1 and 127.0.0.1) it holds one line per attempt, and the telling
 * one ("certificate verify failed") is often not the first.
 */
static const char *
db_error_line(PGconn *db, char *buf, size_t len)
{
	const char	*m = PQerrorMessage(db);
	size_t		 n = 0;

	for (; *m != '\0' && n + 3 < len; m++) {
		if (*m != '\n')
			buf[n++] = *m;
		else if (m[1] != '\0') {
			buf[n++] = ';';
			buf[n++] = ' ';
		}
	}
	buf[n] = '\0';
	return buf;
}

PGconn *
db_connect(const char *conninfo, const char *who)
{
	PGconn	*db;
	char	 buf[1024];

	db = PQconnectdb(conninfo);
	if (db == NULL)
		fatalx("%s: out of memory", __func__);
	if (PQstatus(db) != CONNECTION_OK)
		log_warnx("%s: %s: cannot connect to PostgreSQL: %s",
		    __func__, who, db_error_line(db, buf, sizeof(buf)));
	else
		log_debug("%s: %s: connected as %s", __func__, who,
		    PQuser(db));
	PQsetNoticeProcessor(db, db_notice, (void *)who);
	return db;
}

const char *
db_health(PGconn *db)
{
	if (db == NULL)
		return "database unavailable";
	if (PQstatus(db) != CONNECTION_OK) {
		PQreset(db);
		if (PQstatus(db) != CONNECTION_OK)
			return "database unavailable";
	}
	return "ok";
}

/* The TLS files libpq opens on every connect, when named. */
static const char *const db_tls_keys[] = {
	"sslrootcert", "sslcrl", "sslcert", "sslkey"
};

static int
db_add_promise(char *promises, size_t len, const char *p)
{
	size_t	 plen = strlen(p), n;
	char	*at;

	/* whole words only: "inet" must not match inside another */
	for (at = promises; (at = strstr(at, p)) != NULL; at += plen)
		if ((at == promises || at[-1] == ' ') &&
		    (at[plen] == ' ' || at[plen] == '\0'))
			return 0;
	n = strlen(promises);
	if (n + (n > 0) + plen >= len)
		return -1;
	if (n > 0)
		promises[n++] = ' ';
	memcpy(promises + n, p, plen + 1);
	return 0;
}

/*
 * The host list: "host=/run/pg,db.example" names one socket directory
 * and one host.  An empty entry, or none, is libpq's default socket
 * directory (PGHOST is not set for the daemons); '@' starts an abstract
 * socket name.
 */
static int
db_host_promises(const char *host, const char *hostaddr, char *promises,
    size_t len)
{
	const char	*h = host != NULL ? host : "";
	size_t		 n;
	int		 rv = 0;

	/* addresses: libpq connects to them and resolves nothing */
	if (hostaddr != NULL && *hostaddr != '\0')
		return db_add_promise(promises, len, "inet");
	for (;;) {
		n = strcspn(h, ",");
		if (n == 0 || h[0] == '/' || h[0] == '@')
			rv |= db_add_promise(promises, len, "unix");
		else {
			rv |= db_add_promise(promises, len, "inet");
			rv |= db_add_promise(promises, len, "dns");
		}
		if (h[n] == '\0')
			break;
		h += n + 1;
	}
	return rv;
}

int
db_sandbox(const char *conninfo, char *promises, size_t len, int unveil)
{
	PQconninfoOption	*opts, *o;
	const char		*host = NULL, *hostaddr = NULL;
	char			*err = NULL;
	int			 rv = 0, files = 0;

	if ((opts = PQconninfoParse(conninfo, &err)) == NULL) {
		/* libpq's message quotes no value of the conninfo */
		log_warnx("%s: %.*s", __func__, err != NULL ?
		    (int)strcspn(err, "\n") : 13, err != NULL ? err :
		    "out of memory");
		PQfreemem(err);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		for (size_t i = 0; i < sizeof(db_tls_keys) /
		    sizeof(db_tls_keys[0]); i++) {
			const char	*path = o->val;

			if (strcmp(o->keyword, db_tls_keys[i]) != 0 ||
			    *path == '\0')
				continue;
			/* OpenSSL's default store (Debian: /usr/lib/ssl -> /etc/ssl) */
			if (strcmp(path, "system") == 0)
				path = "/etc/ssl";
			files = 1;
			if (unveil && sandbox_unveil(path, "r") == -1) {
				log_warn("%s: unveil %s", __func__, path);
				rv = -1;
			}
		}
	}
	rv |= db_host_promises(host, hostaddr, promises, len);
	if (files)
		rv |= db_add_promise(promises, len, "rpath");
	if (unveil && strstr(promises, "dns") != NULL &&
	    sandbox_unveil_existing(sandbox_resolver_files) == -1) {
		log_warn("%s: unveil the resolver's files", __func__);
		rv = -1;
	}
	PQconninfoFree(opts);
	if (rv != 0)
		log_warnx("%s: cannot prepare the sandbox for the database",
		    __func__);
	return rv == 0 ? 0 : -1;
}

static int
db_error_event(PGEventId id, void *info, void *arg)
{
	const PGEventResultCreate	*rc = info;
	ExecStatusType			 st;

	if (id != PGEVT_RESULTCREATE || arg == NULL)
		return 1;
	st = PQresultStatus(rc->result);
	if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE)
		(*(uint64_t *)arg)++;
	return 1;	/* 0 would make libpq fail the result */
}

int
db_count_errors(PGconn *db, uint64_t *counter)
{
	if (!PQregisterEventProc(db, db_error_event, "ballast-db-errors",
	    counter)) {
		log_warnx("%s: cannot watch the database connection", __func__);
		return -1;
	}
	return 0;
}

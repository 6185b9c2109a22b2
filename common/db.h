/* PostgreSQL connections of authd and indexd (libpq). */
#ifndef BALLAST_DB_H
#define BALLAST_DB_H

#include <stdint.h>

#include <libpq-fe.h>

/*
 * Connect with the given conninfo.  Returns the connection even when it
 * failed (PQstatus tells), so the daemon can start and report itself
 * unhealthy rather than crash-loop while PostgreSQL is away.
 */
PGconn		*db_connect(const char *conninfo, const char *who);
/* "ok" or why not; tries one reset when the connection is bad. */
const char	*db_health(PGconn *);
/*
 * Count every failed statement on this connection into *counter (a libpq
 * event procedure: it sees every result, whoever made the query, and
 * lives as long as the connection object, resets included).
 */
int		 db_count_errors(PGconn *, uint64_t *counter);

/*
 * What libpq needs after the sandbox to connect again with this conninfo
 * (PQreset when PostgreSQL restarted): appends to promises (NUL-terminated,
 * of size len) "unix" for a socket directory or no host at all, "inet"
 * for a host name or address, "dns" for a host name, and "rpath" when TLS
 * files (sslrootcert, sslcrl, sslcert, sslkey) must be read again.  With
 * unveil set, also unveils those files and the resolver's files "r".
 * -1 (logged) when the conninfo does not parse or promises is too small.
 */
int		 db_sandbox(const char *conninfo, char *promises, size_t len,
		    int unveil);

#endif

/* PostgreSQL connections of authd and indexd (libpq). */
#ifndef BALLAST_DB_H
#define BALLAST_DB_H

#include <libpq-fe.h>

/*
 * Connect with the given conninfo.  Returns the connection even when it
 * failed (PQstatus tells), so the daemon can start and report itself
 * unhealthy rather than crash-loop while PostgreSQL is away.
 */
PGconn		*db_connect(const char *conninfo, const char *who);
/* "ok" or why not; tries one reset when the connection is bad. */
const char	*db_health(PGconn *);

#endif

/*
 * Versioned schema migrations (etc/schema/NNN_name.sql, compiled into
 * ballastctl by scripts/embed-sql).  Each runs once, in its own
 * transaction, under an advisory lock so two ballastctl runs on one
 * database cannot interleave; schema_migrations records what ran.
 */
#ifndef BALLAST_MIGRATE_H
#define BALLAST_MIGRATE_H

#include <stddef.h>

#include <libpq-fe.h>

struct migration {
	int		 version;
	const char	*name;
	const char	*sql;
};

extern const struct migration	migrations[];
extern const size_t		nmigrations;

/*
 * Apply what is missing; *applied counts them.  On error returns -1 with
 * the reason in err; the failed migration is rolled back whole.
 */
int	migrate_apply(PGconn *, int *applied, char *err, size_t errlen);
/* Highest applied version, 0 for none, -1 on error. */
int	migrate_current(PGconn *);

#endif

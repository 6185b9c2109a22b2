/*
 * What ballastctl's database commands share (ctl_user.c, ctl_init.c,
 * ctl_db.c): the admin connection, one statement, and a new user.
 */
#ifndef BALLAST_CTL_SQL_H
#define BALLAST_CTL_SQL_H

#include <stddef.h>

#include <libpq-fe.h>

#define CTL_ID_MAX	64	/* a UUID in text, with room */

/* The "database admin" role, or NULL after a message on stderr. */
PGconn	*ctl_db_connect(void);
/*
 * One statement with text parameters; the first value of a one-row
 * answer into out (when not NULL).  0, or -1 after a message on stderr.
 */
int	 ctl_sql(PGconn *, const char *sql, int n, const char **params,
	    char *out, size_t outlen);
/* 1 for an address as authd stores it (lower case, one '@'). */
int	 ctl_email_ok(const char *);
/*
 * The password from standard input (or a prompt without echo on a
 * terminal) hashed with Argon2id into hash; the plaintext is wiped.
 * 0, or -1 after a message on stderr.
 */
int	 ctl_password_hash(char *hash, size_t hashlen);
/*
 * Inside the caller's transaction: the user, and with org (not NULL) a
 * new organization it owns.  uid and oid receive the new ids.
 */
int	 ctl_user_insert(PGconn *, const char *email, const char *name,
	    const char *hash, const char *org, char uid[CTL_ID_MAX],
	    char oid[CTL_ID_MAX]);

#endif

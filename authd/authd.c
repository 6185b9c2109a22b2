/*
 * authd: verifies passwords, tokens and API keys, owns the identity
 * tables and answers every "may P do A on R?".  Peers: the parent, the
 * front (its questions) and keyd (token signing).
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "authd/authd.h"
#include "common/child.h"
#include "common/db.h"
#include "common/log.h"
#include "common/sandbox.h"

static struct {
	PGconn		*db;
} authd;

static const char *
authd_health(struct child *c)
{
	return db_health(authd.db);
}

void
authd_main(int argc, char **argv)
{
	static struct child	 c;

	child_boot(&c, PROC_AUTHD, argc, argv);
	/* The database connection is made while we may still read files. */
	authd.db = db_connect(c.conf.db_auth, "authd");
	explicit_bzero(c.conf.db_auth, sizeof(c.conf.db_auth));

	/* No chroot: libpq must find PostgreSQL's socket again on reset. */
	if (priv_drop(c.conf.user[PROC_AUTHD], NULL) == -1)
		fatalx("authd: cannot drop privileges");
	/*
	 * stdio: the event loop and IPC on open channels.
	 * unix: libpq reconnects to PostgreSQL's Unix socket.
	 */
	if (sandbox_pledge("stdio unix") == -1)
		fatal("authd: sandbox");
	c.health = authd_health;
	child_serve(&c);
}

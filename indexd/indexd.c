/*
 * indexd: owns sources, sync jobs, documents, chunks and vectors; runs
 * searches under the scope authd decided; drives syncs.  Peers: the
 * parent, the front (searches, pushes) and keyd (opening credentials
 * for a sync run).
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "indexd/indexd.h"
#include "common/child.h"
#include "common/db.h"
#include "common/log.h"
#include "common/sandbox.h"

static struct {
	PGconn		*db;
} indexd;

static const char *
indexd_health(struct child *c)
{
	return db_health(indexd.db);
}

void
indexd_main(int argc, char **argv)
{
	static struct child	 c;

	child_boot(&c, PROC_INDEXD, argc, argv);
	/* The database connection is made while we may still read files. */
	indexd.db = db_connect(c.conf.db_index, "indexd");
	explicit_bzero(c.conf.db_index, sizeof(c.conf.db_index));

	/* No chroot: libpq must find PostgreSQL's socket again on reset. */
	if (priv_drop(c.conf.user[PROC_INDEXD], NULL) == -1)
		fatalx("indexd: cannot drop privileges");
	/*
	 * stdio: the event loop and IPC on open channels.
	 * unix: libpq reconnects to PostgreSQL's Unix socket.
	 */
	if (sandbox_pledge("stdio unix") == -1)
		fatal("indexd: sandbox");
	c.health = indexd_health;
	child_serve(&c);
}

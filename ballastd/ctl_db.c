/* ballastctl db migrate|status: the schema, as its owner role. */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "ballastd/ctl.h"
#include "common/migrate.h"

PGconn	*ctl_db_connect(void);

PGconn *
ctl_db_connect(void)
{
	PGconn	*db = PQconnectdb(ctl_conf()->db_admin);

	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "ballastctl: database (admin role): %.*s\n",
		    (int)strcspn(PQerrorMessage(db), "\n"),
		    PQerrorMessage(db));
		PQfinish(db);
		return NULL;
	}
	return db;
}

static int
db_migrate(void)
{
	PGconn	*db;
	char	 err[512];
	int	 n, rv = 0;

	if ((db = ctl_db_connect()) == NULL)
		return 1;
	if (migrate_apply(db, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "ballastctl: migration failed: %s\n", err);
		rv = 1;
	} else
		printf("schema at version %d (%d migration%s applied)\n",
		    migrate_current(db), n, n == 1 ? "" : "s");
	PQfinish(db);
	return rv;
}

static int
db_status(void)
{
	PGconn	*db;
	int	 v;

	if ((db = ctl_db_connect()) == NULL)
		return 1;
	v = migrate_current(db);
	PQfinish(db);
	if (v < 0)
		v = 0;
	printf("schema at version %d of %d\n", v,
	    nmigrations ? migrations[nmigrations - 1].version : 0);
	return v == (nmigrations ? migrations[nmigrations - 1].version : 0) ?
	    0 : 1;
}

int
ctl_db(int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "migrate") == 0)
		return db_migrate();
	if (argc == 1 && strcmp(argv[0], "status") == 0)
		return db_status();
	ctl_usage();
}

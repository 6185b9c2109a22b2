#include <string.h>

#include "common/db.h"
#include "common/log.h"

/* libpq's own notices would go to stderr; route them to our log. */
static void
db_notice(void *arg, const char *message)
{
	log_debug("postgres (%s): %.*s", (const char *)arg,
	    (int)strcspn(message, "\n"), message);
}

PGconn *
db_connect(const char *conninfo, const char *who)
{
	PGconn	*db;

	db = PQconnectdb(conninfo);
	if (db == NULL)
		fatalx("%s: out of memory", __func__);
	if (PQstatus(db) != CONNECTION_OK)
		log_warnx("%s: %s: cannot connect to PostgreSQL: %.*s",
		    __func__, who, (int)strcspn(PQerrorMessage(db), "\n"),
		    PQerrorMessage(db));
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

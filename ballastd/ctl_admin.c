/*
 * ballastctl's administrator commands on the database, as the "database
 * admin" role:
 *   user disable EMAIL		the account off, its sessions revoked
 *   user reset-password EMAIL	a new password (standard input), sessions
 *				revoked
 *   apikey revoke ID		the key refused from now on
 *   audit tail [-n N] [-o ORG]	the newest N rows of the audit trail
 * Each change is one transaction with its audit_log row (no actor user:
 * the administrator at the console, client "ballastctl").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "ballastd/ctl.h"
#include "ballastd/ctl_sql.h"
#include "common/password.h"

#define AUDIT_TAIL_DEFAULT	20
#define AUDIT_TAIL_MAX		10000
#define REVOKE_REASON		"disabled by administrator"

/* One statement; its result, or NULL after a message on stderr. */
static PGresult *
admin_query(PGconn *db, const char *sql, int n, const char **params)
{
	PGresult	*r;

	r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "ballastctl: %.*s\n",
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
	return r;
}

static int
admin_audit(PGconn *db, const char *org, const char *action,
    const char *target, const char *detail)
{
	const char	*q[4] = { org, action, target, detail };

	return ctl_sql(db, "INSERT INTO audit_log (org_id, actor_user, "
	    "action, target, outcome, client, detail) VALUES ($1::uuid, NULL, "
	    "$2, $3, 'ok', 'ballastctl', $4::jsonb)", 4, q, NULL, 0);
}

/* The sessions of uid still live revoked; their number, or -1. */
static long
admin_revoke_sessions(PGconn *db, const char *uid, const char *reason)
{
	const char	*q[2] = { uid, reason };
	PGresult	*r;
	long		 n;

	if ((r = admin_query(db, "UPDATE sessions SET revoked_at = now(), "
	    "revoke_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL",
	    2, q)) == NULL)
		return -1;
	n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

/*
 * Inside a transaction: the user's id into uid, its row locked.  -1 after
 * a message (no such user included).
 */
static int
admin_user_lock(PGconn *db, const char *email, char uid[CTL_ID_MAX])
{
	const char	*q[1] = { email };

	uid[0] = '\0';
	if (ctl_sql(db, "SELECT id FROM users WHERE email = $1 FOR UPDATE",
	    1, q, uid, CTL_ID_MAX) == -1)
		return -1;
	if (uid[0] == '\0') {
		fprintf(stderr, "ballastctl: no user %s\n", email);
		return -1;
	}
	return 0;
}

/* What disable and reset-password share, in one transaction. */
static int
admin_user_change(const char *email, const char *hash)
{
	char		 uid[CTL_ID_MAX], detail[64];
	const char	*q[2];
	PGconn		*db;
	long		 n = -1;
	int		 ok = 0;

	if ((db = ctl_db_connect()) == NULL)
		return 1;
	if (ctl_sql(db, "BEGIN", 0, NULL, NULL, 0) == -1)
		goto done;
	if (admin_user_lock(db, email, uid) == -1)
		goto rollback;
	q[0] = uid;
	q[1] = hash;
	if (hash == NULL) {
		if (ctl_sql(db, "UPDATE users SET disabled = true WHERE id = $1",
		    1, q, NULL, 0) == -1 ||
		    (n = admin_revoke_sessions(db, uid, REVOKE_REASON)) == -1)
			goto rollback;
	} else {
		if (ctl_sql(db, "UPDATE users SET password_hash = $2 WHERE "
		    "id = $1", 2, q, NULL, 0) == -1 ||
		    (n = admin_revoke_sessions(db, uid,
		    "password reset by administrator")) == -1)
			goto rollback;
	}
	snprintf(detail, sizeof(detail), "{\"sessions_revoked\": %ld}", n);
	if (admin_audit(db, NULL, hash == NULL ? "ctl.user.disable" :
	    "ctl.user.reset-password", uid, detail) == -1 ||
	    ctl_sql(db, "COMMIT", 0, NULL, NULL, 0) == -1)
		goto rollback;
	ok = 1;
	printf("user %s %s %s; %ld session%s revoked\n", uid, email,
	    hash == NULL ? "disabled" : "has a new password", n,
	    n == 1 ? "" : "s");
	goto done;
rollback:
	(void)ctl_sql(db, "ROLLBACK", 0, NULL, NULL, 0);
done:
	PQfinish(db);
	return ok ? 0 : 1;
}

static int
admin_email(const char *email)
{
	if (ctl_email_ok(email))
		return 1;
	fprintf(stderr, "ballastctl: %s: not an email address in lower case\n",
	    email);
	return 0;
}

static int
user_disable(int argc, char **argv)
{
	if (argc != 2)
		ctl_usage();
	if (!admin_email(argv[1]))
		return 1;
	return admin_user_change(argv[1], NULL);
}

static int
user_reset_password(int argc, char **argv)
{
	char	 hash[PASSWORD_HASH_MAX];
	int	 rv;

	if (argc != 2)
		ctl_usage();
	if (!admin_email(argv[1]))
		return 1;
	if (ctl_password_hash(hash, sizeof(hash)) == -1)
		return 1;
	rv = admin_user_change(argv[1], hash);
	explicit_bzero(hash, sizeof(hash));
	return rv;
}

/* An API key id as authd makes them: 16 of [a-z2-7] (the schema: a-z0-9). */
static int
admin_key_id_ok(const char *id)
{
	size_t	 n = 0;

	for (; id[n] != '\0'; n++)
		if (!islower((unsigned char)id[n]) &&
		    !isdigit((unsigned char)id[n]))
			return 0;
	return n == 16;
}

static int
apikey_revoke(int argc, char **argv)
{
	const char	*q[1];
	char		 org[CTL_ID_MAX] = "";
	PGconn		*db;
	int		 ok = 0;

	if (argc != 2 || strcmp(argv[0], "revoke") != 0)
		ctl_usage();
	if (!admin_key_id_ok(argv[1])) {
		fprintf(stderr, "ballastctl: %s: not an API key id (16 "
		    "lower-case letters and digits)\n", argv[1]);
		return 1;
	}
	q[0] = argv[1];
	if ((db = ctl_db_connect()) == NULL)
		return 1;
	if (ctl_sql(db, "BEGIN", 0, NULL, NULL, 0) == -1)
		goto done;
	/* Revoked once: a second revoke keeps the first time. */
	if (ctl_sql(db, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, "
	    "now()) WHERE id = $1 RETURNING org_id", 1, q, org,
	    sizeof(org)) == -1)
		goto rollback;
	if (org[0] == '\0') {
		fprintf(stderr, "ballastctl: no API key %s\n", argv[1]);
		goto rollback;
	}
	if (admin_audit(db, org, "ctl.apikey.revoke", argv[1], "{}") == -1 ||
	    ctl_sql(db, "COMMIT", 0, NULL, NULL, 0) == -1)
		goto rollback;
	ok = 1;
	printf("api key %s revoked\n", argv[1]);
	goto done;
rollback:
	(void)ctl_sql(db, "ROLLBACK", 0, NULL, NULL, 0);
done:
	PQfinish(db);
	return ok ? 0 : 1;
}

/* A field for the terminal: control characters (tabs too) as '?'. */
static void
audit_field(const char *s, int last)
{
	if (*s == '\0')
		s = "-";
	for (; *s != '\0'; s++)
		putchar(iscntrl((unsigned char)*s) ? '?' : *s);
	putchar(last ? '\n' : '\t');
}

static int
audit_uuid_ok(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return i == 36;
}

/* ORG as an id (kept even when the organization is gone) or a name. */
static int
audit_org(PGconn *db, const char *org, char oid[CTL_ID_MAX])
{
	const char	*q[1] = { org };
	PGresult	*r;
	int		 n;

	if (audit_uuid_ok(org)) {
		strlcpy(oid, org, CTL_ID_MAX);
		return 0;
	}
	if ((r = admin_query(db, "SELECT id FROM orgs WHERE name = $1", 1,
	    q)) == NULL)
		return -1;
	if ((n = PQntuples(r)) == 1)
		strlcpy(oid, PQgetvalue(r, 0, 0), CTL_ID_MAX);
	PQclear(r);
	if (n == 0)
		fprintf(stderr, "ballastctl: no organization %s\n", org);
	else if (n > 1)
		fprintf(stderr, "ballastctl: %d organizations are named %s; "
		    "give the id\n", n, org);
	return n == 1 ? 0 : -1;
}

/*
 * Time, organization, actor, action, target, outcome: never the detail
 * (authd keeps secrets out of it, but an old row is not for the console).
 */
static int
audit_print(PGconn *db, const char *oid, const char *limit)
{
	const char	*q[2] = { limit, oid };
	PGresult	*r;

	r = admin_query(db, "SELECT * FROM (SELECT a.id, to_char(a.at AT "
	    "TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "coalesce(o.name, a.org_id::text, ''), "
	    "CASE WHEN a.actor_key IS NOT NULL THEN 'key:' || a.actor_key "
	    "WHEN a.actor_user IS NOT NULL THEN coalesce(u.email, "
	    "a.actor_user::text) WHEN a.client = 'ballastctl' THEN "
	    "'ballastctl' ELSE '' END, a.action, a.target, a.outcome "
	    "FROM audit_log a LEFT JOIN orgs o ON o.id = a.org_id "
	    "LEFT JOIN users u ON u.id = a.actor_user "
	    "WHERE $2::uuid IS NULL OR a.org_id = $2::uuid "
	    "ORDER BY a.id DESC LIMIT $1::int) t ORDER BY id", 2, q);
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		for (int c = 1; c <= 6; c++)
			audit_field(PQgetvalue(r, i, c), c == 6);
	PQclear(r);
	return 0;
}

static int
audit_tail(int argc, char **argv)
{
	const char	*org = NULL, *errstr;
	char		 oid[CTL_ID_MAX], limit[16];
	long long	 n = AUDIT_TAIL_DEFAULT;
	PGconn		*db;
	int		 ch, rv = 1;

	if (argc < 1 || strcmp(argv[0], "tail") != 0)
		ctl_usage();
	optind = 1;
	while ((ch = getopt(argc, argv, "+n:o:")) != -1) {
		switch (ch) {
		case 'n':
			n = strtonum(optarg, 1, AUDIT_TAIL_MAX, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "ballastctl: -n %s: %s (1 to "
				    "%d)\n", optarg, errstr, AUDIT_TAIL_MAX);
				exit(2);
			}
			break;
		case 'o':
			org = optarg;
			break;
		default:
			ctl_usage();
		}
	}
	if (optind != argc)
		ctl_usage();
	snprintf(limit, sizeof(limit), "%lld", n);
	if ((db = ctl_db_connect()) == NULL)
		return 1;
	if ((org == NULL || audit_org(db, org, oid) == 0) &&
	    audit_print(db, org == NULL ? NULL : oid, limit) == 0)
		rv = 0;
	PQfinish(db);
	return rv;
}

int
ctl_admin(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[0], "user") == 0) {
		if (strcmp(argv[1], "disable") == 0)
			return user_disable(argc - 1, argv + 1);
		if (strcmp(argv[1], "reset-password") == 0)
			return user_reset_password(argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[0], "apikey") == 0)
		return apikey_revoke(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[0], "audit") == 0)
		return audit_tail(argc - 1, argv + 1);
	ctl_usage();
}

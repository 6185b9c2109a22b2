/*
 * ballastctl user add [-o|--owner organization] [-n|--name name] EMAIL:
 * create a user (and with -o a new organization it owns: the first-owner
 * bootstrap).
 * The password comes from standard input, or a prompt without echo on
 * a terminal; it never appears in argv.
 * The pieces are shared with ballastctl init (ctl_init.c): ctl_sql.h.
 */
#include <ctype.h>
#include <getopt.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "ballastd/ctl.h"
#include "ballastd/ctl_sql.h"
#include "common/password.h"

static int
user_read_password(char *buf, size_t len)
{
	size_t	 n;

	if (isatty(STDIN_FILENO)) {
		if (readpassphrase("password: ", buf, len, RPP_REQUIRE_TTY) ==
		    NULL)
			return -1;
	} else if (fgets(buf, (int)len, stdin) == NULL)
		return -1;
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == len - 1)
		return -1;		/* longer than we take */
	buf[n] = '\0';
	return 0;
}

int
ctl_email_ok(const char *e)
{
	const char	*at = strchr(e, '@');
	size_t		 n = strlen(e);

	if (n < 3 || n > 254 || at == NULL || at == e || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	for (; *e != '\0'; e++)
		if (isspace((unsigned char)*e) || iscntrl((unsigned char)*e) ||
		    isupper((unsigned char)*e))
			return 0;
	return 1;
}

int
ctl_sql(PGconn *db, const char *sql, int n, const char **params,
    char *out, size_t outlen)
{
	PGresult	*r;
	int		 ok;

	r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK ||
	    PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "ballastctl: %.*s\n",
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
	else if (out != NULL && PQntuples(r) == 1)
		strlcpy(out, PQgetvalue(r, 0, 0), outlen);
	PQclear(r);
	return ok ? 0 : -1;
}

int
ctl_password_hash(char *hash, size_t hashlen)
{
	struct password_params	 pp = PASSWORD_DEFAULT_PARAMS;
	char			 pw[PASSWORD_MAX + 2];
	int			 rv;

	if (user_read_password(pw, sizeof(pw)) == -1 ||
	    strlen(pw) < PASSWORD_MIN) {
		explicit_bzero(pw, sizeof(pw));
		fprintf(stderr, "ballastctl: a password of %d to %d bytes is "
		    "needed on standard input\n", PASSWORD_MIN, PASSWORD_MAX);
		return -1;
	}
	rv = password_hash(&pp, pw, strlen(pw), hash, hashlen);
	explicit_bzero(pw, sizeof(pw));
	if (rv == -1) {
		fprintf(stderr, "ballastctl: cannot hash the password\n");
		return -1;
	}
	return 0;
}

int
ctl_user_insert(PGconn *db, const char *email, const char *name,
    const char *hash, const char *org, char uid[CTL_ID_MAX],
    char oid[CTL_ID_MAX])
{
	char		 salt[65];
	unsigned char	 raw[32];

	arc4random_buf(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(salt + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	{
		const char	*q[4] = { email, name, hash, salt };

		if (ctl_sql(db, "INSERT INTO users (email, name, "
		    "password_hash, key_salt) VALUES ($1, $2, $3, "
		    "decode($4, 'hex')) RETURNING id", 4, q, uid,
		    CTL_ID_MAX) == -1)
			return -1;
	}
	if (org != NULL) {
		const char	*q[2] = { org, uid };

		if (ctl_sql(db, "INSERT INTO orgs (name) VALUES ($1) "
		    "RETURNING id", 1, q, oid, CTL_ID_MAX) == -1)
			return -1;
		q[0] = oid;
		if (ctl_sql(db, "INSERT INTO org_members (org_id, user_id, "
		    "role) VALUES ($1, $2, 'owner')", 2, q, NULL, 0) == -1)
			return -1;
	}
	return 0;
}

static int
user_insert(PGconn *db, const char *email, const char *name,
    const char *hash, const char *org)
{
	char	 uid[CTL_ID_MAX], oid[CTL_ID_MAX];

	if (ctl_sql(db, "BEGIN", 0, NULL, NULL, 0) == -1)
		return -1;
	if (ctl_user_insert(db, email, name, hash, org, uid, oid) == -1) {
		(void)ctl_sql(db, "ROLLBACK", 0, NULL, NULL, 0);
		return -1;
	}
	if (ctl_sql(db, "COMMIT", 0, NULL, NULL, 0) == -1)
		return -1;
	/* Said only once it is true. */
	printf("user %s %s\n", uid, email);
	if (org != NULL)
		printf("organization %s %s, owned by %s\n", oid, org, email);
	return 0;
}

static int
user_add(int argc, char **argv)
{
	const char	*org = NULL, *name = "";
	char		 hash[PASSWORD_HASH_MAX];
	PGconn		*db;
	int		 ch, rv;

	static const struct option longopts[] = {
		{ "name",	required_argument,	NULL,	'n' },
		{ "owner",	required_argument,	NULL,	'o' },
		{ NULL,		0,			NULL,	0 }
	};

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+n:o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 'o':
			org = optarg;
			break;
		default:
			ctl_usage();
		}
	}
	if (optind + 1 != argc)
		ctl_usage();
	if (!ctl_email_ok(argv[optind])) {
		fprintf(stderr, "ballastctl: %s: not an email address in lower "
		    "case\n", argv[optind]);
		return 1;
	}
	if (ctl_password_hash(hash, sizeof(hash)) == -1)
		return 1;
	if ((db = ctl_db_connect()) == NULL)
		return 1;
	rv = user_insert(db, argv[optind], name, hash, org);
	PQfinish(db);
	return rv == 0 ? 0 : 1;
}

int
ctl_user(int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "add") == 0)
		return user_add(argc, argv);
	ctl_usage();
}

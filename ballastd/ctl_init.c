/*
 * ballastctl init -u|--owner EMAIL -o|--org NAME [-n|--name NAME]: a new
 * installation in one step.  The keyring if there is none, the schema,
 * then in one transaction the first user, the organization it owns and
 * an org-wide read-write API key named "initial", printed once.
 * It refuses, changing nothing, when the user or an organization of that
 * name exists: it is for a new installation, not to be run twice.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "authd/check.h"
#include "ballastd/ctl.h"
#include "ballastd/ctl_sql.h"
#include "common/password.h"
#include "keyd/crypto.h"

#define INIT_KEY_NAME	"initial"

/*
 * A key as authd makes and checks it (authd/apikey.c, authd/check.c):
 * "blst_" id "_" base64url(secret), id 16 of [a-z2-7], and only
 * SHA-256(secret), in hex, for the database.
 */
struct init_key {
	char	 id[APIKEY_IDLEN + 1];
	char	 text[APIKEY_LEN + 1];
	char	 hash[2 * SHA256_LEN + 1];
};

static int
init_key_new(struct init_key *k)
{
	static const char	 b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t			 raw[APIKEY_SECRETLEN], h[SHA256_LEN];
	unsigned int		 hlen = 0;
	size_t			 off;
	int			 rv = -1;

	for (size_t i = 0; i < APIKEY_IDLEN; i++)
		k->id[i] = b32[arc4random_uniform(32)];
	k->id[APIKEY_IDLEN] = '\0';
	arc4random_buf(raw, sizeof(raw));
	off = (size_t)snprintf(k->text, sizeof(k->text), "%s%s_",
	    APIKEY_PREFIX, k->id);
	if (b64url_encode(raw, sizeof(raw), k->text + off,
	    sizeof(k->text) - off) == 0 &&
	    strlen(k->text) == APIKEY_LEN &&
	    EVP_Digest(raw, sizeof(raw), h, &hlen, EVP_sha256(), NULL) == 1 &&
	    hlen == SHA256_LEN) {
		for (size_t i = 0; i < SHA256_LEN; i++)
			snprintf(k->hash + 2 * i, 3, "%02x", h[i]);
		rv = 0;
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(h, sizeof(h));
	return rv;
}

/* The keyring named by the configuration, made if missing. */
static int
init_keyring(void)
{
	const char	*path = ctl_conf()->keyring;
	char		*argv[] = { "init", (char *)path, NULL };

	if (access(path, F_OK) == 0) {
		printf("keyring %s exists; kept\n", path);
		return 0;
	}
	return ctl_key(2, argv) == 0 ? 0 : -1;
}

static int
init_schema(void)
{
	char	*argv[] = { "migrate", NULL };

	return ctl_db(1, argv) == 0 ? 0 : -1;
}

/* 1 when the user or an organization of that name is there already. */
static int
init_taken(PGconn *db, const char *email, const char *org)
{
	const char	*q[2] = { email, org };
	char		 what[32] = "";

	if (ctl_sql(db, "SELECT CASE WHEN EXISTS (SELECT FROM users WHERE "
	    "email = $1) THEN 'user' WHEN EXISTS (SELECT FROM orgs WHERE "
	    "name = $2) THEN 'organization' ELSE 'none' END", 2, q, what,
	    sizeof(what)) == -1)
		return 1;
	if (strcmp(what, "none") == 0)
		return 0;
	fprintf(stderr, "ballastctl: %s %s exists; init is for a new "
	    "installation and changed nothing (see user add)\n", what,
	    strcmp(what, "user") == 0 ? email : org);
	return 1;
}

static int
init_rows(PGconn *db, const char *email, const char *name, const char *hash,
    const char *org, struct init_key *k)
{
	char	 uid[CTL_ID_MAX], oid[CTL_ID_MAX];

	if (init_taken(db, email, org) ||
	    ctl_user_insert(db, email, name, hash, org, uid, oid) == -1)
		return -1;
	{
		const char	*q[4] = { k->id, oid, uid, k->hash };

		if (ctl_sql(db, "INSERT INTO api_keys (id, org_id, "
		    "created_by, name, secret_hash, cap) VALUES ($1, $2, $3, '"
		    INIT_KEY_NAME "', decode($4, 'hex'), 'read-write')", 4, q,
		    NULL, 0) == -1)
			return -1;
		/* The trail starts with it; authd's rows look the same. */
		if (ctl_sql(db, "INSERT INTO audit_log (org_id, actor_user, "
		    "action, target, outcome, client, detail) VALUES ($2::uuid, "
		    "$3::uuid, 'init', $2::text, 'ok', 'ballastctl', "
		    "jsonb_build_object('api_key', $1::text))", 3, q, NULL, 0) == -1)
			return -1;
	}
	printf("user %s %s\n", uid, email);
	printf("organization %s %s, owned by %s\n", oid, org, email);
	return 0;
}

static int
init_run(const char *email, const char *name, const char *org,
    const char *hash)
{
	struct init_key	 k;
	PGconn		*db;
	int		 rv = -1;

	if (init_key_new(&k) == -1) {
		fprintf(stderr, "ballastctl: cannot make an API key\n");
		return -1;
	}
	if ((db = ctl_db_connect()) == NULL)
		goto done;
	/* Serialized: a second init at the same moment waits, then refuses. */
	if (ctl_sql(db, "BEGIN ISOLATION LEVEL SERIALIZABLE", 0, NULL, NULL,
	    0) == -1)
		goto done;
	if (init_rows(db, email, name, hash, org, &k) == -1 ||
	    ctl_sql(db, "COMMIT", 0, NULL, NULL, 0) == -1) {
		(void)ctl_sql(db, "ROLLBACK", 0, NULL, NULL, 0);
		goto done;
	}
	printf("api key %s (\"" INIT_KEY_NAME "\", read-write, the whole "
	    "organization), shown this once:\n%s\n", k.id, k.text);
	rv = 0;
done:
	if (db != NULL)
		PQfinish(db);
	explicit_bzero(&k, sizeof(k));
	return rv;
}

int
ctl_init(int argc, char **argv)
{
	const char	*email = NULL, *org = NULL, *name = "";
	char		 hash[PASSWORD_HASH_MAX];
	int		 ch, rv;

	static const struct option longopts[] = {
		{ "name",	required_argument,	NULL,	'n' },
		{ "org",	required_argument,	NULL,	'o' },
		{ "owner",	required_argument,	NULL,	'u' },
		{ NULL,		0,			NULL,	0 }
	};

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+n:o:u:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 'o':
			org = optarg;
			break;
		case 'u':
			email = optarg;
			break;
		default:
			ctl_usage();
		}
	}
	if (optind != argc || email == NULL || org == NULL)
		ctl_usage();
	if (!ctl_email_ok(email)) {
		fprintf(stderr, "ballastctl: %s: not an email address in lower "
		    "case\n", email);
		return 1;
	}
	if (*org == '\0' || strlen(org) > 200) {
		fprintf(stderr, "ballastctl: an organization name of 1 to 200 "
		    "characters is needed\n");
		return 1;
	}
	/* The password first: nothing is done for a run that cannot end. */
	if (ctl_password_hash(hash, sizeof(hash)) == -1)
		return 1;
	rv = init_keyring() == 0 && init_schema() == 0 &&
	    init_run(email, name, org, hash) == 0;
	explicit_bzero(hash, sizeof(hash));
	return rv ? 0 : 1;
}

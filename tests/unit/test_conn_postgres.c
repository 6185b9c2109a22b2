/*
 * The postgres connector without a server: its config checks, the SQL
 * it builds around the user's query, its timestamp conversion and its
 * sandbox.  The connector's file is included so its static helpers can
 * be called; the running part is tested against a real server in
 * tests/system/test_conn_postgres.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fetcher/conn_postgres.c"

#define GOOD "{\"host\": \"db.example\", \"dbname\": \"crm\", " \
	"\"user\": \"reader\", \"sslrootcert\": \"/etc/ballast/ca.crt\", " \
	"\"query\": \"SELECT id, name, body, mtime FROM notes\", " \
	"\"id_column\": \"id\", \"title_column\": \"name\", " \
	"\"text_columns\": [\"body\"], \"cursor_column\": \"mtime\", " \
	"\"updated_column\": \"mtime\", \"metadata_columns\": [\"name\"]}"

static json_t *
good(void)
{
	json_t	*c = json_loads(GOOD, 0, NULL);

	assert_non_null(c);
	return c;
}

/* check() on good() with member k set to v (NULL: removed). */
static int
check_with(const char *k, json_t *v, char *err, size_t errlen)
{
	json_t	*c = good();
	int	 rc;

	if (v == NULL)
		json_object_del(c, k);
	else
		json_object_set_new(c, k, v);
	err[0] = '\0';
	rc = conn_postgres.check(c, err, errlen);
	json_decref(c);
	return rc;
}

static void
refused(const char *k, json_t *v, const char *want)
{
	char	 err[FETCH_ERR_MAX];

	if (check_with(k, v, err, sizeof(err)) != -1)
		fail_msg("config.%s accepted", k);
	if (strstr(err, want) == NULL)
		fail_msg("config.%s: \"%s\" does not say \"%s\"", k, err, want);
	assert_int_equal(strncmp(err, "config", 6), 0);
}

static void
accepted(const char *k, json_t *v)
{
	char	 err[FETCH_ERR_MAX];

	if (check_with(k, v, err, sizeof(err)) != 0)
		fail_msg("config.%s refused: %s", k, err);
}

static void
test_good_config(void **state)
{
	struct pgconf	 pc;
	char		 err[FETCH_ERR_MAX];
	json_t		*c = good();

	(void)state;
	assert_int_equal(pg_conf(c, &pc, err, sizeof(err)), 0);
	assert_int_equal(pc.port, 5432);
	assert_int_equal(pc.timeout, 60);
	assert_int_equal(pc.max_rows, 1000000);
	assert_string_equal(pc.sslmode, "verify-full");
	assert_int_equal(pc.ntext, 1);
	assert_int_equal(pc.nmeta, 1);
	assert_null(pc.url_col);
	json_decref(c);
	accepted("port", json_integer(65535));
	accepted("timeout", json_integer(300));
	accepted("sslmode", json_string("verify-ca"));
	accepted("sslmode", json_string("require"));
	accepted("url_column", json_string("link"));
	accepted("text_columns", json_pack("[s,s]", "a", "we\"ird"));
	accepted("query", json_string("  WITH x AS (SELECT 1 AS id) "
	    "SELECT * FROM x"));
	accepted("query", json_string("(SELECT 1)"));
	accepted("title_column", NULL);
	accepted("metadata_columns", NULL);
}

static void
test_bad_members(void **state)
{
	char	 big[PG_MAX_QUERY + 2];

	(void)state;
	refused("host", NULL, "config.host: required");
	refused("host", json_string(""), "config.host: must be a string");
	refused("host", json_string("a,b"), "config.host: must be one host");
	refused("host", json_string("a b"), "config.host: must be one host");
	refused("port", json_integer(0), "config.port: must be an integer");
	refused("port", json_integer(65536), "config.port: must be");
	refused("port", json_string("5432"), "config.port: must be");
	refused("dbname", NULL, "config.dbname: required");
	refused("dbname", json_string("0123456789012345678901234567890123"
	    "456789012345678901234567890123"), "config.dbname: must be");
	refused("user", NULL, "config.user: required");
	refused("user", json_integer(1), "config.user: must be");
	refused("sslmode", json_string("prefer"), "config.sslmode: must be");
	refused("sslrootcert", json_string("ca.crt"),
	    "config.sslrootcert: must be an absolute path");
	refused("sslrootcert", NULL, "config.sslrootcert: required");
	refused("query", NULL, "config.query: required");
	refused("query", json_string("DELETE FROM notes"),
	    "config.query: must be a SELECT");
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "SELECT ", 7);
	big[sizeof(big) - 1] = '\0';
	refused("query", json_string(big), "config.query: must be a string");
	refused("id_column", NULL, "config.id_column: required");
	refused("id_column", json_string(""), "config.id_column: must be");
	refused("title_column", json_string("0123456789012345678901234567890"
	    "1234567890123456789012345678901234"), "config.title_column");
	refused("text_columns", NULL, "config.text_columns: required");
	refused("text_columns", json_array(), "config.text_columns: must be "
	    "an array of 1 to 16");
	refused("text_columns", json_string("body"), "config.text_columns");
	refused("text_columns", json_pack("[s,i]", "a", 1),
	    "config.text_columns[1]: must be a column name");
	refused("text_columns", json_pack("[sssssssssssssssss]", "a", "b",
	    "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
	    "p", "q"), "config.text_columns: must be an array");
	refused("metadata_columns", json_pack("[s]", ""),
	    "config.metadata_columns[0]");
	refused("url_column", json_true(), "config.url_column");
	refused("updated_column", json_string(""), "config.updated_column");
	refused("cursor_column", NULL, "config.cursor_column: required");
	refused("timeout", json_integer(301), "config.timeout: must be");
	refused("timeout", json_integer(0), "config.timeout: must be");
	refused("max_rows", json_integer(10000001), "config.max_rows: must be");
	refused("password", json_string("x"), "config.password: unknown");
}

static void
test_semicolon_refused(void **state)
{
	(void)state;
	refused("query", json_string("SELECT 1 AS id; DROP TABLE notes"),
	    "config.query: must be one statement without ';'");
	refused("query", json_string("SELECT 'a;b' AS id"),
	    "config.query: must be one statement");
	refused("query", json_string("SELECT 1 AS id;"), "config.query");
}

static void
test_disable_only_local(void **state)
{
	static const char *const local[] = {
		"localhost", "127.0.0.1", "::1", "/var/run/postgresql"
	};
	static const char *const remote[] = {
		"db.example", "10.0.0.1", "localhost.example", "127.0.0.2"
	};
	char	 err[FETCH_ERR_MAX];
	size_t	 i;

	(void)state;
	for (i = 0; i < nitems(local); i++) {
		json_t	*c = good();

		json_object_set_new(c, "sslmode", json_string("disable"));
		json_object_set_new(c, "host", json_string(local[i]));
		json_object_del(c, "sslrootcert");
		if (conn_postgres.check(c, err, sizeof(err)) != 0)
			fail_msg("%s refused: %s", local[i], err);
		json_decref(c);
	}
	for (i = 0; i < nitems(remote); i++) {
		json_t	*c = good();

		json_object_set_new(c, "sslmode", json_string("disable"));
		json_object_set_new(c, "host", json_string(remote[i]));
		assert_int_equal(conn_postgres.check(c, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "config.sslmode: disable is "
		    "allowed only for localhost"));
		json_decref(c);
	}
	/* require may go without a root certificate */
	accepted("sslmode", json_string("require"));
	{
		json_t	*c = good();

		json_object_set_new(c, "sslmode", json_string("require"));
		json_object_del(c, "sslrootcert");
		assert_int_equal(conn_postgres.check(c, err, sizeof(err)), 0);
		json_object_set_new(c, "sslmode", json_string("verify-ca"));
		assert_int_equal(conn_postgres.check(c, err, sizeof(err)), -1);
		assert_string_equal(err, "config.sslrootcert: required with "
		    "sslmode verify-ca");
		json_decref(c);
	}
}

static void
test_sql_building(void **state)
{
	struct pgconf	 pc;
	char		 err[FETCH_ERR_MAX], *s;
	json_t		*c = good();

	(void)state;
	json_object_set_new(c, "text_columns", json_pack("[s,s]", "body",
	    "x\"; DROP"));
	json_object_set_new(c, "query", json_string("SELECT * FROM notes "
	    "-- all of them"));
	assert_int_equal(pg_conf(c, &pc, err, sizeof(err)), 0);

	s = sql_build(&pc, SQL_PROBE);
	assert_string_equal(s, "SELECT q.\"id\", q.\"mtime\", q.\"name\", "
	    "NULL, q.\"mtime\", q.\"body\", q.\"x\"\"; DROP\", q.\"name\" "
	    "FROM (\nSELECT * FROM notes -- all of them\n) AS q LIMIT 0");
	free(s);
	s = sql_build(&pc, SQL_ROWS);
	assert_non_null(strstr(s, "\n) AS q WHERE q.\"mtime\" IS NOT NULL "
	    "ORDER BY q.\"mtime\""));
	assert_null(strstr(s, "$1"));
	free(s);
	s = sql_build(&pc, SQL_ROWS_AFTER);
	assert_non_null(strstr(s, "\n) AS q WHERE q.\"mtime\" IS NOT NULL "
	    "AND q.\"mtime\" > $1 ORDER BY q.\"mtime\""));
	free(s);
	s = sql_build(&pc, SQL_IDS);
	assert_string_equal(s, "SELECT q.\"id\" FROM (\nSELECT * FROM notes "
	    "-- all of them\n) AS q WHERE q.\"mtime\" IS NOT NULL AND "
	    "q.\"mtime\" <= $1");
	free(s);
	json_decref(c);
}

static void
test_rfc3339(void **state)
{
	static const struct {
		const char	*in, *out;
	} t[] = {
		{ "2024-01-02 03:04:05+00", "2024-01-02T03:04:05Z" },
		{ "2024-01-02 03:04:05.123456+00",
		    "2024-01-02T03:04:05.123456Z" },
		{ "2024-01-02 03:04:05", "2024-01-02T03:04:05Z" },
		{ "2024-01-02", "2024-01-02T00:00:00Z" },
		{ "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z" },
		{ "2024-01-02 03:04:05+05:30", "2024-01-02T03:04:05+05:30" },
		{ "2024-01-02 03:04:05-03", "2024-01-02T03:04:05-03:00" },
		{ "infinity", NULL },
		{ "2024-01-02 03:04:05 BC", NULL },
		{ "2024-01-02 03:04:05+00 BC", NULL },
		{ "12024-01-02 03:04:05+00", NULL },
		{ "2024-01-02 03:04", NULL },
		{ "2024-01-02 03:04:05.", NULL },
		{ "", NULL },
	};
	char	 out[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		int	 rc = pg_rfc3339(t[i].in, out, sizeof(out));

		if (t[i].out == NULL) {
			if (rc != -1)
				fail_msg("\"%s\" became \"%s\"", t[i].in, out);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\" refused", t[i].in);
		assert_string_equal(out, t[i].out);
	}
}

/* How many times path is in the sandbox's list. */
static int
sb_has(const struct fetch_sandbox *sb, const char *path)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < sb->npaths; i++)
		n += strcmp(sb->paths[i], path) == 0;
	return n;
}

static void
test_sandbox(void **state)
{
	struct fetch_sandbox	 sb;
	char			 err[FETCH_ERR_MAX];
	json_t			*c = good();

	(void)state;
	/* a host name: the root certificate and the resolver's files */
	assert_int_equal(conn_postgres.sandbox(c, &sb, err, sizeof(err)), 0);
	assert_string_equal(sb.promises, "inet dns unix rpath");
	assert_true(sb.npaths <= FETCH_SANDBOX_PATHS);
	assert_int_equal(sb_has(&sb, "/etc/ballast/ca.crt"), 1);
	if (access("/etc/hosts", R_OK) == 0)
		assert_int_equal(sb_has(&sb, "/etc/hosts"), 1);
	if (access("/etc/resolv.conf", R_OK) == 0)
		assert_int_equal(sb_has(&sb, "/etc/resolv.conf"), 1);
	/* a socket directory: that directory, no resolver */
	json_object_set_new(c, "host", json_string("/run/pg"));
	assert_int_equal(conn_postgres.sandbox(c, &sb, err, sizeof(err)), 0);
	assert_int_equal(sb_has(&sb, "/etc/ballast/ca.crt"), 1);
	assert_int_equal(sb_has(&sb, "/run/pg"), 1);
	assert_int_equal(sb_has(&sb, "/etc/hosts"), 0);
	json_decref(c);
}

static void
test_oneline(void **state)
{
	char	 out[32];

	(void)state;
	pg_oneline(out, sizeof(out), "FATAL:  no\n\tway\n");
	assert_string_equal(out, "FATAL:  no way");
	pg_oneline(out, 8, "0123456789");
	assert_string_equal(out, "0123456");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_config),
		cmocka_unit_test(test_bad_members),
		cmocka_unit_test(test_semicolon_refused),
		cmocka_unit_test(test_disable_only_local),
		cmocka_unit_test(test_sql_building),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_oneline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

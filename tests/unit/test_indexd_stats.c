/*
 * BM25's collection statistics (chunk_stats, migration 017) against a
 * real PostgreSQL (runs when BALLAST_TEST_PGHOST names a socket directory
 * of a migrated cluster; skipped otherwise): after pushes, re-pushes,
 * updates, deletes, a source's deletion, a direct UPDATE of chunks, a
 * user's and a collection's deletion, the triggers' per-(collection,
 * owner) sums equal a direct count over every chunk, and what indexd's
 * role sees under a scope equals the count under the same scope.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/docbatch.h"
#include "indexd/engine.h"
#include "indexd/ingest.h"
#include "tests/unit/pgtest.h"

struct fx {
	PGconn		*admin;		/* role ballast (owner): fixtures */
	PGconn		*db;		/* role ballast_index: the engine */
	struct engine	 e;
	char		 org[UUID_STR_LEN];
	char		 c1[UUID_STR_LEN], c2[UUID_STR_LEN];
	char		 u1[UUID_STR_LEN], u2[UUID_STR_LEN];
};

static int
setup(void **state)
{
	struct fx	*f;
	char		 sql[512], err[256];

	if (!pgtest_available()) {
		*state = NULL;
		return 0;
	}
	f = xcalloc(1, sizeof(*f));
	if ((f->admin = connect_as("ballast")) == NULL ||
	    (f->db = connect_as("ballast_index")) == NULL)
		return -1;
	if (count_of(f->admin, "SELECT count(*) FROM pg_tables WHERE "
	    "tablename = 'chunk_stats'") != 1) {
		print_error("schema 017_chunk_stats not applied\n");
		return -1;
	}
	one_value(f->admin, "INSERT INTO orgs (name) VALUES ('stats-test') "
	    "RETURNING id", f->org, sizeof(f->org));
	for (int i = 0; i < 2; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO collections (org_id, "
		    "name) VALUES ('%s', 's%d-' || gen_random_uuid()) "
		    "RETURNING id", f->org, i);
		one_value(f->admin, sql, i ? f->c2 : f->c1, UUID_STR_LEN);
		snprintf(sql, sizeof(sql), "INSERT INTO users (email, "
		    "password_hash, key_salt) VALUES ('s%d-' || "
		    "gen_random_uuid() || '@x.test', 'x', "
		    "decode(md5(random()::text) || md5(random()::text), 'hex')) "
		    "RETURNING id", i);
		one_value(f->admin, sql, i ? f->u2 : f->u1, UUID_STR_LEN);
	}
	if (engine_open(&f->e, f->db, "builtin", "postgres", err,
	    sizeof(err)) == -1) {
		print_error("engine_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	char		 sql[256];

	if (f == NULL)
		return 0;
	engine_close(&f->e);
	snprintf(sql, sizeof(sql), "DELETE FROM orgs WHERE id = '%s'", f->org);
	PQclear(PQexec(f->admin, sql));
	snprintf(sql, sizeof(sql), "DELETE FROM users WHERE id IN ('%s', "
	    "'%s')", f->u1, f->u2);
	PQclear(PQexec(f->admin, sql));
	PQfinish(f->admin);
	PQfinish(f->db);
	free(f);
	return 0;
}

/*
 * The statistics equal a direct count over every chunk of the database
 * (the owner with the scope lifted reads every row), per (collection,
 * owner): no row missing, none extra, none left at zero.
 */
static void
assert_exact(struct fx *f, const char *when)
{
	long	 bad;

	exec_ok(f->admin, "BEGIN");
	exec_ok(f->admin, "SET LOCAL ballast.load_all = 'on'");
	bad = count_of(f->admin, "WITH s AS (SELECT collection_id, "
	    "owner_user, sum(chunks) AS n, sum(total_len) AS l FROM "
	    "chunk_stats GROUP BY 1, 2), c AS (SELECT collection_id, "
	    "owner_user, count(*)::numeric AS n, sum(len)::numeric AS l "
	    "FROM chunks GROUP BY 1, 2) SELECT count(*) FROM s FULL JOIN c "
	    "ON s.collection_id = c.collection_id AND s.owner_user IS NOT "
	    "DISTINCT FROM c.owner_user WHERE s.n IS DISTINCT FROM c.n OR "
	    "s.l IS DISTINCT FROM c.l");
	if (bad != 0)
		fail_msg("%s: %ld (collection, owner) pairs differ", when, bad);
	assert_int_equal(count_of(f->admin, "SELECT count(*) FROM "
	    "chunk_stats WHERE chunks = 0 OR total_len = 0"), 0);
	exec_ok(f->admin, "COMMIT");
}

/*
 * What ballast_index sums under a scope equals its count of chunks; the
 * number of chunks.
 */
static long
assert_scoped(struct fx *f, const char *coll, const char *owner,
    long want)
{
	char	 sql[512], a[64], b[64];

	exec_ok(f->db, "BEGIN READ ONLY");
	snprintf(sql, sizeof(sql), "SELECT set_config('ballast.collections', "
	    "'%s', true), set_config('ballast.owner', '%s', true)", coll,
	    owner);
	exec_ok(f->db, sql);
	snprintf(sql, sizeof(sql), "SELECT coalesce(sum(chunks), 0) || '/' || "
	    "coalesce(sum(total_len), 0) FROM chunk_stats WHERE "
	    "collection_id = '%s'", coll);
	one_value(f->db, sql, a, sizeof(a));
	snprintf(sql, sizeof(sql), "SELECT count(*) || '/' || "
	    "coalesce(sum(len), 0) FROM chunks WHERE collection_id = '%s'",
	    coll);
	one_value(f->db, sql, b, sizeof(b));
	exec_ok(f->db, "COMMIT");
	assert_string_equal(a, b);
	if (want >= 0)
		assert_int_equal(strtol(a, NULL, 10), want);
	return strtol(a, NULL, 10);
}

static void
push(struct fx *f, const struct scope *sc, const char *coll, int personal,
    const char *json)
{
	struct docbatch		 b;
	struct ingest_counts	 c;
	char			 err[256];

	if (docbatch_parse(json, strlen(json), &b, err, sizeof(err)) == -1)
		fail_msg("parse: %s", err);
	if (ingest_batch(&f->e, sc, coll, personal, &b, &c, err,
	    sizeof(err)) == -1)
		fail_msg("ingest: %s", err);
	docbatch_free(&b);
}

/* A document of n paragraphs (several chunks when n is large). */
static char *
doc_json(const char *id, const char *source, const char *word, int n)
{
	size_t	 cap = 256 + (size_t)n * 700, len;
	char	*s = xcalloc(1, cap);

	len = (size_t)snprintf(s, cap, "{\"documents\":[{\"external_id\":"
	    "\"%s\",\"source\":\"%s\",\"title\":\"%s title\",\"text\":\"",
	    id, source, word);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%sParagraph %d "
		    "about %s and the weather, the harbour, the ships that "
		    "sail and the fish they bring back every morning before "
		    "dawn; %s again, with more words to make the paragraph "
		    "long enough that several of them fill more than one "
		    "chunk of text for the chunker to cut apart here.",
		    i ? "\\n\\n" : "", i, word, word);
	snprintf(s + len, cap - len, "\"}]}");
	return s;
}

static void
doc_id(struct fx *f, const char *coll, const char *ext, char *id)
{
	char	 sql[256];

	exec_ok(f->admin, "BEGIN");
	exec_ok(f->admin, "SET LOCAL ballast.load_all = 'on'");
	snprintf(sql, sizeof(sql), "SELECT id FROM documents WHERE "
	    "collection_id = '%s' AND external_id = '%s'", coll, ext);
	one_value(f->admin, sql, id, UUID_STR_LEN);
	exec_ok(f->admin, "COMMIT");
}

/* One document of n chunks pushed under the scope. */
static void
push_doc(struct fx *f, const struct scope *sc, const char *coll,
    int personal, const char *ext, const char *source, const char *word,
    int n)
{
	char	*j = doc_json(ext, source, word, n);

	push(f, sc, coll, personal, j);
	free(j);
}

static void
test_stats_exact(void **state)
{
	struct fx	*f = *state;
	struct scope	 s1 = { 0 }, m1 = { 0 }, m2 = { 0 }, s2 = { 0 };
	char		 id[UUID_STR_LEN], err[256], sql[256];
	size_t		 n;

	if (f == NULL)
		skip();
	scope_add_collection(&s1, f->c1);
	scope_add_collection(&m1, f->c1);
	scope_set_owner(&m1, f->u1);
	scope_add_collection(&m2, f->c1);
	scope_set_owner(&m2, f->u2);
	scope_add_collection(&s2, f->c2);
	assert_exact(f, "start");

	/* Shared, personal (two owners) and another collection. */
	push_doc(f, &s1, f->c1, 0, "a", "wiki", "alpha", 6);
	push_doc(f, &s1, f->c1, 0, "b", "sync", "bravo", 3);
	push_doc(f, &m1, f->c1, 1, "p", "notes", "diary", 4);
	push_doc(f, &m2, f->c1, 1, "q", "notes", "journal", 2);
	push_doc(f, &s2, f->c2, 0, "c", "notes", "charlie", 5);
	assert_exact(f, "inserts");
	/* Personal chunks count for their owner's scope only. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM chunks WHERE "
	    "collection_id = '%s' AND owner_user IS NULL", f->c1);
	exec_ok(f->admin, "BEGIN");
	exec_ok(f->admin, "SET LOCAL ballast.load_all = 'on'");
	n = (size_t)count_of(f->admin, sql);
	exec_ok(f->admin, "COMMIT");
	assert_true(n >= 2);
	assert_scoped(f, f->c1, "", (long)n);
	assert_true(assert_scoped(f, f->c1, f->u1, -1) > (long)n);
	assert_true(assert_scoped(f, f->c1, f->u2, -1) > (long)n);
	assert_scoped(f, f->c2, "", -1);
	/* No scope, nothing visible. */
	assert_int_equal(count_of(f->db, "SELECT count(*) FROM chunk_stats"),
	    0);

	/* Unchanged re-push, then an update to fewer, shorter chunks. */
	push_doc(f, &s1, f->c1, 0, "a", "wiki", "alpha", 6);
	assert_exact(f, "unchanged");
	push_doc(f, &s1, f->c1, 0, "a", "wiki", "alpha", 1);
	assert_exact(f, "update");
	assert_scoped(f, f->c1, f->u1, -1);

	/* A direct UPDATE of chunks (a length change, an owner change). */
	exec_ok(f->admin, "BEGIN");
	exec_ok(f->admin, "SET LOCAL ballast.load_all = 'on'");
	snprintf(sql, sizeof(sql), "UPDATE chunks SET tsv = tsv || "
	    "to_tsvector('english', 'extra words here') WHERE "
	    "collection_id = '%s'", f->c2);
	exec_ok(f->admin, sql);
	exec_ok(f->admin, "COMMIT");
	assert_exact(f, "update chunks");

	/* Deletes: one document, then a source's documents. */
	doc_id(f, f->c1, "p", id);
	assert_int_equal(ingest_delete(&f->e, &m1, id, err, sizeof(err)), 1);
	assert_exact(f, "delete");
	/* The owner's scope now counts the shared chunks only. */
	assert_scoped(f, f->c1, f->u1, assert_scoped(f, f->c1, "", -1));
	assert_int_equal(engine_exec(f->db, "BEGIN", err, sizeof(err)), 0);
	assert_int_equal(scope_apply(f->db, &s1, err, sizeof(err)), 0);
	assert_int_equal(ingest_delete_source(&f->e, f->c1, "sync", NULL,
	    NULL, &n, err, sizeof(err)), 0);
	assert_int_equal(engine_exec(f->db, "COMMIT", err, sizeof(err)), 0);
	store_commit(f->e.store);
	assert_int_equal(n, 1);
	assert_exact(f, "delete source");

	/* A user's deletion drops their personal chunks (cascade). */
	snprintf(sql, sizeof(sql), "DELETE FROM users WHERE id = '%s'",
	    f->u2);
	exec_ok(f->admin, sql);
	assert_exact(f, "delete user");
	assert_scoped(f, f->c1, f->u2, -1);

	/* A collection's deletion leaves no statistics behind. */
	snprintf(sql, sizeof(sql), "DELETE FROM collections WHERE id = '%s'",
	    f->c2);
	exec_ok(f->admin, sql);
	assert_exact(f, "delete collection");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM chunk_stats WHERE "
	    "collection_id = '%s'", f->c2);
	assert_int_equal(count_of(f->admin, sql), 0);

	/* A rolled-back push changes nothing. */
	exec_ok(f->db, "BEGIN");
	snprintf(sql, sizeof(sql), "SELECT set_config('ballast.collections', "
	    "'%s', true)", f->c1);
	exec_ok(f->db, sql);
	snprintf(sql, sizeof(sql), "DELETE FROM chunks WHERE collection_id = "
	    "'%s'", f->c1);
	exec_ok(f->db, sql);
	exec_ok(f->db, "ROLLBACK");
	assert_exact(f, "rollback");
	assert_scoped(f, f->c1, "", -1);
	scope_free(&s1);
	scope_free(&m1);
	scope_free(&m2);
	scope_free(&s2);
}

/* indexd's role cannot write the statistics, directly or by the helper. */
static void
test_stats_read_only(void **state)
{
	struct fx	*f = *state;
	PGresult	*r;

	if (f == NULL)
		skip();
	r = PQexec(f->db, "INSERT INTO chunk_stats VALUES "
	    "(gen_random_uuid(), NULL, 1, 1)");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	r = PQexec(f->db, "SELECT ballast_chunk_stats_add("
	    "gen_random_uuid(), NULL, 1, 1)");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_exact),
		cmocka_unit_test(test_stats_read_only),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

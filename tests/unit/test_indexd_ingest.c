/*
 * The batched ingest path (indexd/ingest.c) against a real PostgreSQL
 * (runs when BALLAST_TEST_PGHOST names a socket directory of a migrated
 * cluster; skipped otherwise): a batch of new, changed and unchanged
 * documents writes exactly what the one-document-at-a-time path did
 * (chunk text cut from the body, tsvector of title, metadata and text,
 * len as ballast_tsv_len(), one vector per chunk, in the database and in
 * memory); two documents with one key in a batch behave as two pushes; a
 * failing statement names the document and leaves nothing behind; and
 * migration 018's triggers keep len right for other writers.
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
	char		 coll[UUID_STR_LEN];
	struct scope	 sc;
	size_t		 base;		/* vectors in memory from elsewhere */
};

/* A number read by the owner with the scope lifted (every row). */
static long
count_all(struct fx *f, const char *fmt, const char *arg)
{
	char	 sql[2048], v[64];

	snprintf(sql, sizeof(sql), fmt, arg);
	exec_ok(f->admin, "BEGIN");
	exec_ok(f->admin, "SET LOCAL ballast.load_all = 'on'");
	one_value(f->admin, sql, v, sizeof(v));
	exec_ok(f->admin, "COMMIT");
	return strtol(v, NULL, 10);
}

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
	one_value(f->admin, "INSERT INTO orgs (name) VALUES ('ingest-test') "
	    "RETURNING id", f->org, sizeof(f->org));
	snprintf(sql, sizeof(sql), "INSERT INTO collections (org_id, name) "
	    "VALUES ('%s', 'i-' || gen_random_uuid()) RETURNING id", f->org);
	one_value(f->admin, sql, f->coll, sizeof(f->coll));
	scope_add_collection(&f->sc, f->coll);
	if (engine_open(&f->e, f->db, "builtin", "postgres", err,
	    sizeof(err)) == -1) {
		print_error("engine_open: %s\n", err);
		return -1;
	}
	f->base = store_count(f->e.store);
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
	scope_free(&f->sc);
	snprintf(sql, sizeof(sql), "DELETE FROM orgs WHERE id = '%s'", f->org);
	PQclear(PQexec(f->admin, sql));
	PQfinish(f->admin);
	PQfinish(f->db);
	free(f);
	return 0;
}

/* One document of n paragraphs, as a JSON object. */
static char *
doc(const char *id, const char *word, int n, const char *extra)
{
	size_t	 cap = 512 + (size_t)n * 400, len;
	char	*s = xcalloc(1, cap);

	len = (size_t)snprintf(s, cap, "{\"external_id\":\"%s\",\"title\":"
	    "\"%s title\",\"metadata\":{\"dept\":\"%s dept\",\"n\":1}%s,"
	    "\"text\":\"", id, word, word, extra);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%sParagraph %d "
		    "on %s: the harbour, the ships that sail and the fish "
		    "they bring back every morning, %s again and again, with "
		    "words enough to fill a chunk or two of the chunker's.",
		    i ? "\\n\\n" : "", i, word, word);
	snprintf(s + len, cap - len, "\"}");
	return s;
}

static int
push(struct fx *f, const char *json, struct ingest_counts *c, char *err,
    size_t errlen)
{
	struct docbatch	 b;
	int		 rv;

	if (docbatch_parse(json, strlen(json), &b, err, errlen) == -1)
		fail_msg("parse: %s", err);
	rv = ingest_batch(&f->e, &f->sc, f->coll, 0, &b, c, err, errlen);
	docbatch_free(&b);
	return rv;
}

static void
push_ok(struct fx *f, const char *json, struct ingest_counts *c)
{
	char	 err[512];

	if (push(f, json, c, err, sizeof(err)) == -1)
		fail_msg("ingest: %s", err);
}

/*
 * What the batch wrote equals what PostgreSQL computes from the stored
 * documents: each chunk's text is its byte range of the body, its tsv
 * the title (A), metadata strings (C) and text (D), len counts tsv's
 * positions, positions run 0..n-1, and every chunk has one vector (in
 * memory too).
 */
static void
assert_consistent(struct fx *f)
{
	assert_int_equal(count_all(f, "SELECT count(*) FROM chunks c JOIN "
	    "documents d ON d.id = c.document_id WHERE c.collection_id = '%s' "
	    "AND (c.text IS DISTINCT FROM convert_from(substring(convert_to("
	    "d.body, 'UTF8') FROM c.byte_offset + 1 FOR octet_length(convert_to("
	    "c.text, 'UTF8'))), 'UTF8') OR c.tsv IS DISTINCT FROM "
	    "setweight(to_tsvector('english', d.title), 'A') || "
	    "setweight(jsonb_to_tsvector('english', d.metadata, "
	    "'[\"string\"]'), 'C') || setweight(to_tsvector('english', "
	    "c.text), 'D') OR c.len IS DISTINCT FROM ballast_tsv_len(c.tsv) "
	    "OR c.owner_user IS NOT NULL OR c.collection_id <> "
	    "d.collection_id)", f->coll), 0);
	assert_int_equal(count_all(f, "SELECT count(*) FROM (SELECT "
	    "document_id, count(*) AS n, max(position) AS m FROM chunks "
	    "WHERE collection_id = '%s' GROUP BY 1) x WHERE m <> n - 1",
	    f->coll), 0);
	assert_int_equal(count_all(f, "SELECT count(*) FROM chunks c FULL "
	    "JOIN (SELECT * FROM chunk_vectors WHERE collection_id = '%1$s') "
	    "v ON v.chunk_id = c.id WHERE (c.collection_id = '%1$s' OR "
	    "c.id IS NULL) AND (v.chunk_id IS NULL OR c.id IS NULL OR "
	    "v.document_id <> c.document_id OR octet_length(v.vec) <> 384 * 4 "
	    "OR v.owner_user IS NOT NULL)", f->coll), 0);
	assert_int_equal((long)(store_count(f->e.store) - f->base), count_all(f,
	    "SELECT count(*) FROM chunk_vectors WHERE collection_id = '%s'",
	    f->coll));
}

static void
test_batch_mixed(void **state)
{
	struct fx		*f = *state;
	struct ingest_counts	 c;
	char			*a, *b, *b2, *d, *e, json[32768];
	long			 before;

	if (f == NULL)
		skip();
	a = doc("a", "alpha", 12, "");
	b = doc("b", "bravo", 6, ",\"updated_at\":\"2024-05-01T12:00:00Z\"");
	b2 = doc("b", "bravissimo", 10, "");
	d = doc("d", "delta", 1, "");
	e = doc("e", "echo", 0, "");
	snprintf(json, sizeof(json), "{\"documents\":[%s,%s,%s]}", a, b, e);
	push_ok(f, json, &c);
	assert_int_equal(c.added, 3);
	assert_int_equal(c.updated + c.unchanged, 0);
	assert_true(c.chunks > 4);
	assert_int_equal((long)c.chunks, count_all(f, "SELECT count(*) FROM "
	    "chunks WHERE collection_id = '%s'", f->coll));
	assert_int_equal(count_all(f, "SELECT count(*) FROM documents WHERE "
	    "collection_id = '%s' AND external_id = 'b' AND updated_at = "
	    "'2024-05-01T12:00:00Z'", f->coll), 1);
	assert_consistent(f);
	before = count_all(f, "SELECT count(*) FROM chunks WHERE "
	    "collection_id = '%s' AND document_id = (SELECT id FROM "
	    "documents WHERE external_id = 'a')", f->coll);

	/* Unchanged, changed, new and empty again, in one batch. */
	snprintf(json, sizeof(json), "{\"documents\":[%s,%s,%s,%s]}", d, a, b2,
	    e);
	push_ok(f, json, &c);
	assert_int_equal(c.added, 1);
	assert_int_equal(c.updated, 1);
	assert_int_equal(c.unchanged, 2);
	assert_int_equal(count_all(f, "SELECT count(*) FROM documents WHERE "
	    "collection_id = '%s'", f->coll), 4);
	/* b's old chunks (and vectors) are gone, its new ones there. */
	assert_int_equal(count_all(f, "SELECT count(*) FROM chunks WHERE "
	    "collection_id = '%s' AND text LIKE '%%bravo %%'", f->coll), 0);
	assert_true(count_all(f, "SELECT count(*) FROM chunks WHERE "
	    "collection_id = '%s' AND text LIKE '%%bravissimo%%'", f->coll) >
	    1);
	assert_int_equal(count_all(f, "SELECT count(*) FROM chunks WHERE "
	    "collection_id = '%s' AND document_id = (SELECT id FROM "
	    "documents WHERE external_id = 'a')", f->coll), before);
	assert_consistent(f);
	free(a);
	free(b);
	free(b2);
	free(d);
	free(e);
}

/* Two documents with one key: the second updates the first. */
static void
test_batch_duplicate_key(void **state)
{
	struct fx		*f = *state;
	struct ingest_counts	 c;
	char			*x1, *x2, json[8192];

	if (f == NULL)
		skip();
	x1 = doc("x", "xray", 2, "");
	x2 = doc("x", "yankee", 3, "");
	snprintf(json, sizeof(json), "{\"documents\":[%s,%s]}", x1, x2);
	push_ok(f, json, &c);
	assert_int_equal(c.added, 1);
	assert_int_equal(c.updated, 1);
	assert_int_equal(count_all(f, "SELECT count(*) FROM documents WHERE "
	    "collection_id = '%s' AND external_id = 'x' AND title = "
	    "'yankee title'", f->coll), 1);
	assert_int_equal(count_all(f, "SELECT count(*) FROM chunks WHERE "
	    "collection_id = '%s' AND text LIKE '%%xray%%'", f->coll), 0);
	assert_consistent(f);
	free(x1);
	free(x2);
}

/*
 * A statement that fails names its document, and the batch leaves
 * nothing behind.  Input that passes the parser never fails a statement
 * (that is the parser's job), so a trigger the test installs refuses
 * one document.
 */
static void
test_batch_error(void **state)
{
	struct fx		*f = *state;
	struct ingest_counts	 c;
	char			*ok, *bad, json[8192], err[512];
	long			 docs, chunks;
	int			 rv;

	if (f == NULL)
		skip();
	exec_ok(f->admin, "CREATE FUNCTION test_refuse_late() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$ BEGIN IF NEW.external_id = "
	    "'late-refused' THEN RAISE EXCEPTION 'refused by the test'; "
	    "END IF; RETURN NEW; END $$");
	exec_ok(f->admin, "CREATE TRIGGER test_refuse_late BEFORE INSERT ON "
	    "documents FOR EACH ROW EXECUTE FUNCTION test_refuse_late()");
	docs = count_all(f, "SELECT count(*) FROM documents WHERE "
	    "collection_id = '%s'", f->coll);
	chunks = count_all(f, "SELECT count(*) FROM chunk_vectors WHERE "
	    "collection_id = '%s'", f->coll);
	ok = doc("fine", "foxtrot", 2, "");
	bad = doc("late-refused", "golf", 2, "");
	snprintf(json, sizeof(json), "{\"documents\":[%s,%s]}", ok, bad);
	rv = push(f, json, &c, err, sizeof(err));
	exec_ok(f->admin, "DROP TRIGGER test_refuse_late ON documents");
	exec_ok(f->admin, "DROP FUNCTION test_refuse_late()");
	assert_int_equal(rv, -1);
	if (strncmp(err, "documents[1]: write document: ", 30) != 0)
		fail_msg("error: %s", err);
	assert_int_equal(c.added + c.chunks, 0);
	assert_int_equal(count_all(f, "SELECT count(*) FROM documents WHERE "
	    "collection_id = '%s'", f->coll), docs);
	assert_int_equal(count_all(f, "SELECT count(*) FROM chunk_vectors "
	    "WHERE collection_id = '%s'", f->coll), chunks);
	assert_consistent(f);
	free(ok);
	free(bad);
}

/* Migration 018: len is right for a writer that does not set it. */
static void
test_len_triggers(void **state)
{
	struct fx		*f = *state;
	struct ingest_counts	 c;
	char			*x, json[4096], sql[1024];

	if (f == NULL)
		skip();
	x = doc("t", "tango", 1, "");
	snprintf(json, sizeof(json), "{\"documents\":[%s]}", x);
	push_ok(f, json, &c);
	exec_ok(f->admin, "BEGIN");
	exec_ok(f->admin, "SET LOCAL ballast.load_all = 'on'");
	snprintf(sql, sizeof(sql), "INSERT INTO chunks (document_id, "
	    "collection_id, position, byte_offset, text, tsv) SELECT id, "
	    "collection_id, 99, 0, 'one two three', to_tsvector('english', "
	    "'one two three two') FROM documents WHERE collection_id = '%s' "
	    "AND external_id = 't'", f->coll);
	exec_ok(f->admin, sql);
	/* A len set by hand is recomputed from tsv. */
	snprintf(sql, sizeof(sql), "UPDATE chunks SET len = 1000 WHERE "
	    "collection_id = '%s'", f->coll);
	exec_ok(f->admin, sql);
	exec_ok(f->admin, "COMMIT");
	assert_int_equal(count_all(f, "SELECT len FROM chunks WHERE "
	    "collection_id = '%s' AND position = 99", f->coll), 4);
	assert_int_equal(count_all(f, "SELECT count(*) FROM chunks WHERE "
	    "collection_id = '%s' AND len IS DISTINCT FROM "
	    "ballast_tsv_len(tsv)", f->coll), 0);
	free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_mixed),
		cmocka_unit_test(test_batch_duplicate_key),
		cmocka_unit_test(test_batch_error),
		cmocka_unit_test(test_len_triggers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

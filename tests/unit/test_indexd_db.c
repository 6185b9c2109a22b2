/*
 * The content engine against a real PostgreSQL (runs when
 * BALLAST_TEST_PGHOST names a socket directory of a migrated cluster;
 * skipped otherwise): ingest, search in every mode, idempotent re-push,
 * update, delete, row-level security with no scope, personal content,
 * filters, BM25 ranking and its scoped statistics (with the
 * ballast_bm25 functions in PostgreSQL and in SQL), and reloading the
 * vector store.
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
#include "indexd/search.h"
#include "tests/unit/pgtest.h"

struct fx {
	PGconn		*admin;		/* role ballast: fixtures */
	PGconn		*db;		/* role ballast_index: the engine */
	struct engine	 e;
	char		 c1[UUID_STR_LEN], c2[UUID_STR_LEN];
	char		 u1[UUID_STR_LEN], u2[UUID_STR_LEN];
};

static int
setup(void **state)
{
	struct fx	*f;
	char		 sql[512], org[UUID_STR_LEN], err[256];

	if (!pgtest_available()) {
		*state = NULL;
		return 0;
	}
	f = xcalloc(1, sizeof(*f));
	if ((f->admin = connect_as("ballast")) == NULL ||
	    (f->db = connect_as("ballast_index")) == NULL)
		return -1;
	if (count_of(f->admin, "SELECT count(*) FROM pg_tables WHERE "
	    "tablename = 'chunk_vectors'") != 1) {
		print_error("schema 010_content not applied\n");
		return -1;
	}
	one_value(f->admin, "INSERT INTO orgs (name) VALUES ('idx-test') "
	    "RETURNING id", org, sizeof(org));
	for (int i = 0; i < 2; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO collections (org_id, "
		    "name) VALUES ('%s', 'c%d-' || gen_random_uuid()) "
		    "RETURNING id", org, i);
		one_value(f->admin, sql, i ? f->c2 : f->c1, UUID_STR_LEN);
		snprintf(sql, sizeof(sql), "INSERT INTO users (email, "
		    "password_hash, key_salt) VALUES ('u%d-' || "
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
	snprintf(sql, sizeof(sql), "DELETE FROM orgs WHERE id = (SELECT "
	    "org_id FROM collections WHERE id = '%s')", f->c1);
	PQclear(PQexec(f->admin, sql));
	snprintf(sql, sizeof(sql), "DELETE FROM users WHERE id IN ('%s', "
	    "'%s')", f->u1, f->u2);
	PQclear(PQexec(f->admin, sql));
	PQfinish(f->admin);
	PQfinish(f->db);
	free(f);
	return 0;
}

#define SKIP_WITHOUT_DB(f) do {						\
	if ((f) == NULL) {						\
		skip();							\
	}								\
} while (0)

static void
push(struct fx *f, const struct scope *sc, const char *coll, int personal,
    const char *json, struct ingest_counts *c)
{
	struct docbatch	 b;
	char		 err[256];

	if (docbatch_parse(json, strlen(json), &b, err, sizeof(err)) == -1)
		fail_msg("parse: %s", err);
	if (ingest_batch(&f->e, sc, coll, personal, &b, c, err,
	    sizeof(err)) == -1)
		fail_msg("ingest: %s", err);
	docbatch_free(&b);
}

/* Number of results of query in mode, and the first one's fields. */
static size_t
find(struct fx *f, const struct scope *sc, const char *q,
    enum search_mode mode, const char *source, const char *meta,
    char *title, size_t tlen, char *snippet, size_t slen)
{
	struct search_params	 p = { q, mode, 10, 0, source, meta, NULL,
				    NULL };
	char			 err[256];
	json_t			*a;
	size_t			 n;

	if ((a = search_run(&f->e, sc, &p, err, sizeof(err))) == NULL)
		fail_msg("search: %s", err);
	n = json_array_size(a);
	if (n > 0 && title != NULL)
		strlcpy(title, json_string_value(json_object_get(
		    json_array_get(a, 0), "title")), tlen);
	if (n > 0 && snippet != NULL)
		strlcpy(snippet, json_string_value(json_object_get(
		    json_array_get(a, 0), "snippet")), slen);
	json_decref(a);
	return n;
}

/* A new collection in c1's organization, for a test's own documents. */
static void
new_collection(struct fx *f, char id[UUID_STR_LEN])
{
	char	 sql[256];

	snprintf(sql, sizeof(sql), "INSERT INTO collections (org_id, name) "
	    "SELECT org_id, 't-' || gen_random_uuid() FROM collections "
	    "WHERE id = '%s' RETURNING id", f->c1);
	one_value(f->admin, sql, id, UUID_STR_LEN);
}

/* Whether query finds a result titled want first, in every mode. */
static void
found_everywhere(struct fx *f, const struct scope *sc, const char *q,
    const char *want)
{
	enum search_mode modes[] = { SEARCH_KEYWORD, SEARCH_VECTOR,
	    SEARCH_HYBRID };
	char		 title[256];

	for (size_t i = 0; i < nitems(modes); i++) {
		title[0] = '\0';
		if (find(f, sc, q, modes[i], NULL, NULL, title, sizeof(title),
		    NULL, 0) == 0)
			fail_msg("mode %zu: nothing for %s", i, q);
		if (strcmp(title, want) != 0)
			fail_msg("mode %zu: %s first for %s", i, title, q);
	}
}

/* Keyword and hybrid find nothing; vector finds no doc titled want. */
static void
gone_everywhere(struct fx *f, const struct scope *sc, const char *q,
    const char *want)
{
	char	 title[256];

	assert_int_equal(find(f, sc, q, SEARCH_KEYWORD, NULL, NULL, NULL, 0,
	    NULL, 0), 0);
	title[0] = '\0';
	if (find(f, sc, q, SEARCH_VECTOR, NULL, NULL, title, sizeof(title),
	    NULL, 0) > 0)
		assert_string_not_equal(title, want);
	title[0] = '\0';
	if (find(f, sc, q, SEARCH_HYBRID, NULL, NULL, title, sizeof(title),
	    NULL, 0) > 0)
		assert_string_not_equal(title, want);
}

static const char *batch1 =
    "{\"documents\":["
    "{\"external_id\":\"d1\",\"title\":\"Quarterly zorblax report\","
    "\"text\":\"The zorblax engine ran hot all quarter.\\n\\nCooling was "
    "added in May. Nothing else changed.\",\"source\":\"wiki\","
    "\"metadata\":{\"team\":\"ops\",\"lang\":\"en\"},"
    "\"updated_at\":\"2024-03-01T00:00:00Z\"},"
    "{\"external_id\":\"d2\",\"title\":\"Gardening notes\","
    "\"text\":\"Tomatoes need sun <b>and</b> water. Basil likes warmth.\","
    "\"source\":\"notes\",\"metadata\":{\"team\":\"home\"}},"
    "{\"external_id\":\"d3\",\"title\":\"Trip plan\","
    "\"text\":\"Train to Lyon, then a bus to Annecy.\",\"source\":\"wiki\","
    "\"metadata\":{\"keyword\":\"quuxifrage\"}}"
    "]}";

static void
test_ingest_search_update_delete(void **state)
{
	struct fx		*f = *state;
	struct scope		 sc = { 0 }, other = { 0 };
	struct ingest_counts	 c;
	char			 title[256], snip[1024], id[UUID_STR_LEN];
	char			 err[256], sql[256];
	json_t			*doc;
	long			 n;

	SKIP_WITHOUT_DB(f);
	scope_add_collection(&sc, f->c1);
	scope_add_collection(&other, f->c2);
	push(f, &sc, f->c1, 0, batch1, &c);
	assert_int_equal(c.added, 3);
	assert_int_equal(c.updated + c.unchanged, 0);
	assert_true(c.chunks >= 3);

	found_everywhere(f, &sc, "zorblax", "Quarterly zorblax report");
	found_everywhere(f, &sc, "tomatoes basil", "Gardening notes");
	/* Metadata strings are searchable. */
	assert_int_equal(find(f, &sc, "quuxifrage", SEARCH_KEYWORD, NULL,
	    NULL, title, sizeof(title), NULL, 0), 1);
	assert_string_equal(title, "Trip plan");
	/* Snippets mark matches and escape the text's own markup. */
	assert_int_equal(find(f, &sc, "tomatoes", SEARCH_KEYWORD, NULL, NULL,
	    NULL, 0, snip, sizeof(snip)), 1);
	assert_non_null(strstr(snip, "<mark>Tomatoes</mark>"));
	assert_non_null(strstr(snip, "&lt;b&gt;and&lt;/b&gt;"));
	/* Filters. */
	/* (vector candidates rank without a threshold: the one notes doc) */
	assert_int_equal(find(f, &sc, "zorblax", SEARCH_HYBRID, "notes",
	    NULL, title, sizeof(title), NULL, 0), 1);
	assert_string_equal(title, "Gardening notes");
	assert_int_equal(find(f, &sc, "zorblax", SEARCH_KEYWORD, "notes",
	    NULL, NULL, 0, NULL, 0), 0);
	assert_int_equal(find(f, &sc, "zorblax", SEARCH_KEYWORD, "wiki",
	    "{\"team\":\"ops\"}", NULL, 0, NULL, 0), 1);
	assert_int_equal(find(f, &sc, "zorblax", SEARCH_VECTOR, NULL,
	    "{\"team\":\"home\"}", title, sizeof(title), NULL, 0), 1);
	assert_string_equal(title, "Gardening notes");
	{
		struct search_params p = { "zorblax", SEARCH_KEYWORD, 10, 0,
		    NULL, NULL, "2024-02-01T00:00:00Z", "2024-04-01T00:00:00Z" };
		json_t *a = search_run(&f->e, &sc, &p, err, sizeof(err));
		assert_int_equal(json_array_size(a), 1);
		json_decref(a);
		p.updated_after = "2024-03-02T00:00:00Z";
		p.updated_before = "2024-03-03T00:00:00Z";
		a = search_run(&f->e, &sc, &p, err, sizeof(err));
		assert_int_equal(json_array_size(a), 0);
		json_decref(a);
	}
	/* Another collection's scope sees none of it. */
	assert_int_equal(find(f, &other, "zorblax", SEARCH_HYBRID, NULL,
	    NULL, NULL, 0, NULL, 0), 0);
	assert_int_equal(find(f, &other, "zorblax", SEARCH_VECTOR, NULL,
	    NULL, NULL, 0, NULL, 0), 0);

	/* Unchanged re-push: no work. */
	n = count_of(f->admin, "SELECT max(id) FROM chunks");
	push(f, &sc, f->c1, 0, batch1, &c);
	assert_int_equal(c.unchanged, 3);
	assert_int_equal(c.added + c.updated + c.chunks, 0);
	assert_int_equal(count_of(f->admin, "SELECT max(id) FROM chunks"), n);

	/* Update: chunks replaced; the old word is gone everywhere. */
	push(f, &sc, f->c1, 0, "{\"documents\":[{\"external_id\":\"d1\","
	    "\"title\":\"Quarterly report\",\"text\":\"The flimflam turbine "
	    "ran cool.\",\"source\":\"wiki\"}]}", &c);
	assert_int_equal(c.updated, 1);
	assert_int_equal(c.added + c.unchanged, 0);
	gone_everywhere(f, &sc, "zorblax", "Quarterly report");
	found_everywhere(f, &sc, "flimflam turbine", "Quarterly report");

	/* Read it back, then delete it. */
	snprintf(sql, sizeof(sql), "SELECT set_config('ballast.load_all', 'on', "
	    "false), (SELECT id FROM documents WHERE external_id = 'd1' AND "
	    "collection_id = '%s')", f->c1);
	{
		PGresult *r = PQexec(f->admin, sql);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		strlcpy(id, PQgetvalue(r, 0, 1), sizeof(id));
		PQclear(r);
		PQclear(PQexec(f->admin, "SELECT set_config('ballast.load_all', '', "
	    "false)"));
	}
	doc = ingest_get(&f->e, &sc, id, err, sizeof(err));
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "text")),
	    "The flimflam turbine ran cool.");
	assert_int_equal(json_array_size(json_object_get(doc, "chunks")), 1);
	json_decref(doc);
	assert_null(ingest_get(&f->e, &other, id, err, sizeof(err)));
	assert_string_equal(err, "");
	/* Not deletable from another scope. */
	assert_int_equal(ingest_delete(&f->e, &other, id, err, sizeof(err)),
	    0);
	assert_int_equal(ingest_delete(&f->e, &sc, id, err, sizeof(err)), 1);
	gone_everywhere(f, &sc, "flimflam turbine", "Quarterly report");
	assert_null(ingest_get(&f->e, &sc, id, err, sizeof(err)));
	assert_int_equal(ingest_delete(&f->e, &sc, id, err, sizeof(err)), 0);

	/* The vector store reloads to what the database holds. */
	{
		struct engine	 e2;
		size_t		 before = store_count(f->e.store);

		assert_int_equal(engine_open(&e2, f->db, "builtin",
		    "postgres", err, sizeof(err)), 0);
		assert_int_equal(store_count(e2.store), before);
		engine_close(&e2);
	}
	scope_free(&sc);
	scope_free(&other);
}

/* In the open transaction, the scope indexd would set ("": no owner). */
static void
set_scope(PGconn *db, const char *coll, const char *owner)
{
	char	 sql[256];

	snprintf(sql, sizeof(sql), "SELECT set_config('ballast.collections', "
	    "'%s', true), set_config('ballast.owner', '%s', true)", coll,
	    owner);
	exec_ok(db, sql);
}

/* Whether a document of c2 owned by owner (NULL: shared) was written. */
static int
insert_doc(struct fx *f, const char *owner, const char *external_id)
{
	char		 sql[512], own[UUID_STR_LEN + 2] = "NULL";
	PGresult	*r;
	int		 ok;

	if (owner != NULL)
		snprintf(own, sizeof(own), "'%s'", owner);
	snprintf(sql, sizeof(sql), "INSERT INTO documents (collection_id, "
	    "owner_user, external_id, content_hash) VALUES ('%s', %s, '%s', "
	    "'\\x%064d')", f->c2, own, external_id, 0);
	r = PQexec(f->db, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return ok;
}

static void
test_rls_without_scope(void **state)
{
	struct fx		*f = *state;
	struct scope		 sc = { 0 };
	struct ingest_counts	 c;
	char			 sql[256];

	SKIP_WITHOUT_DB(f);
	scope_add_collection(&sc, f->c2);
	push(f, &sc, f->c2, 0, "{\"documents\":[{\"external_id\":\"r1\","
	    "\"text\":\"row level security check\"}]}", &c);
	assert_int_equal(c.added, 1);
	/* Rows exist (the owner sees them with every row allowed)... */
	PQclear(PQexec(f->admin, "SELECT set_config('ballast.load_all', 'on', "
	    "false)"));
	assert_true(count_of(f->admin, "SELECT count(*) FROM chunks") > 0);
	PQclear(PQexec(f->admin, "SELECT set_config('ballast.load_all', '', "
	    "false)"));
	/* ...but a query that sets no scope reads nothing, even the owner. */
	assert_int_equal(count_of(f->db, "SELECT count(*) FROM documents"), 0);
	assert_int_equal(count_of(f->db, "SELECT count(*) FROM chunks"), 0);
	assert_int_equal(count_of(f->db, "SELECT count(*) FROM "
	    "chunk_vectors"), 0);
	assert_int_equal(count_of(f->admin, "SELECT count(*) FROM chunks"), 0);
	/* A scope that lists another collection reads nothing of this one. */
	snprintf(sql, sizeof(sql), "SELECT set_config('ballast.collections', "
	    "'%s', false)", f->c1);
	PQclear(PQexec(f->db, sql));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM chunks WHERE "
	    "collection_id = '%s'", f->c2);
	assert_int_equal(count_of(f->db, sql), 0);
	PQclear(PQexec(f->db, "SELECT set_config('ballast.collections', '', "
	    "false)"));
	/* Writing outside the scope is refused by the policy. */
	snprintf(sql, sizeof(sql), "INSERT INTO documents (collection_id, "
	    "external_id, content_hash) VALUES ('%s', 'sneak', "
	    "'\\x%064d')", f->c2, 0);
	{
		PGresult *r = PQexec(f->db, sql);
		assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
		PQclear(r);
	}
	/*
	 * Under a scope (etc/schema/020_scope_once.sql: read once per
	 * statement): a write to another collection, or of a personal row
	 * for someone other than the scope's owner, is refused; the owner's
	 * own is written and read back; another owner does not see it.
	 */
	{
		/* scope's collection, scope's owner ("": none), row's owner */
		const char *const tries[][3] = {
			{ f->c1, f->u1, NULL }, { f->c2, f->u2, f->u1 },
			{ f->c2, "", f->u1 },
		};

		for (size_t i = 0; i < nitems(tries); i++) {
			exec_ok(f->db, "BEGIN");
			set_scope(f->db, tries[i][0], tries[i][1]);
			if (insert_doc(f, tries[i][2], "sneak"))
				fail_msg("written: %zu", i);
			exec_ok(f->db, "ROLLBACK");
		}
		exec_ok(f->db, "BEGIN");
		set_scope(f->db, f->c2, f->u1);
		assert_true(insert_doc(f, f->u1, "mine"));
		assert_int_equal(count_of(f->db, "SELECT count(*) FROM "
		    "documents WHERE external_id = 'mine'"), 1);
		set_scope(f->db, f->c2, f->u2);
		assert_int_equal(count_of(f->db, "SELECT count(*) FROM "
		    "documents WHERE external_id = 'mine'"), 0);
		set_scope(f->db, f->c2, "");
		assert_int_equal(count_of(f->db, "SELECT count(*) FROM "
		    "documents WHERE external_id = 'mine'"), 0);
		exec_ok(f->db, "ROLLBACK");
	}
	/* ballast_index owns nothing and cannot read identity tables. */
	{
		PGresult *r = PQexec(f->db, "SELECT email FROM users");
		assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
		PQclear(r);
	}
	assert_int_equal(count_of(f->db, "SELECT count(*) FROM pg_tables "
	    "WHERE tableowner = 'ballast_index'"), 0);
	scope_free(&sc);
}

static void
test_personal(void **state)
{
	struct fx		*f = *state;
	struct scope		 shared = { 0 }, mine = { 0 }, theirs = { 0 };
	struct ingest_counts	 c;
	struct docbatch		 b;
	char			 err[256];
	const char		*j = "{\"documents\":[{\"external_id\":\"p1\","
				    "\"title\":\"Diary\",\"text\":\"my secret "
				    "plumbago thoughts\"}]}";

	SKIP_WITHOUT_DB(f);
	scope_add_collection(&shared, f->c1);
	scope_add_collection(&mine, f->c1);
	scope_set_owner(&mine, f->u1);
	scope_add_collection(&theirs, f->c1);
	scope_set_owner(&theirs, f->u2);
	/* Personal pushes need an owner in the scope. */
	assert_int_equal(docbatch_parse(j, strlen(j), &b, err, sizeof(err)),
	    0);
	assert_int_equal(ingest_batch(&f->e, &shared, f->c1, 1, &b, &c, err,
	    sizeof(err)), -1);
	docbatch_free(&b);
	push(f, &mine, f->c1, 1, j, &c);
	assert_int_equal(c.added, 1);
	found_everywhere(f, &mine, "plumbago", "Diary");
	for (int m = SEARCH_HYBRID; m <= SEARCH_VECTOR; m++) {
		char title[64] = "";
		if (find(f, &shared, "plumbago", m, NULL, NULL, title,
		    sizeof(title), NULL, 0) > 0)
			assert_string_not_equal(title, "Diary");
		title[0] = '\0';
		if (find(f, &theirs, "plumbago", m, NULL, NULL, title,
		    sizeof(title), NULL, 0) > 0)
			assert_string_not_equal(title, "Diary");
	}
	scope_free(&shared);
	scope_free(&mine);
	scope_free(&theirs);
}

/*
 * Keyword search ranks with BM25: a rare query word outweighs a common
 * one however often the common one occurs, and the statistics count only
 * what the scope shows (another member's personal documents full of the
 * rare word would make it common).
 */
static void
test_bm25(void **state)
{
	struct fx		*f = *state;
	struct scope		 shared = { 0 }, mine = { 0 }, theirs = { 0 };
	struct ingest_counts	 c;
	char			 c3[UUID_STR_LEN], title[64];

	SKIP_WITHOUT_DB(f);
	new_collection(f, c3);
	scope_add_collection(&shared, c3);
	scope_add_collection(&mine, c3);
	scope_set_owner(&mine, f->u1);
	scope_add_collection(&theirs, c3);
	scope_set_owner(&theirs, f->u2);
	/* Inserted first so that ties and ts_rank_cd would favour them. */
	push(f, &shared, c3, 0, "{\"documents\":["
	    "{\"external_id\":\"d\",\"title\":\"Delta\",\"text\":"
	    "\"report report report report\"},"
	    "{\"external_id\":\"b\",\"title\":\"Bravo\",\"text\":"
	    "\"report tuned today\"},"
	    "{\"external_id\":\"c\",\"title\":\"Charlie\",\"text\":"
	    "\"report filed yesterday\"},"
	    "{\"external_id\":\"a\",\"title\":\"Alpha\",\"text\":"
	    "\"xylophone tuned today\"},"
	    "{\"external_id\":\"e\",\"title\":\"Echo\",\"text\":"
	    "\"sunny weather\"}]}", &c);
	assert_int_equal(c.added, 5);
	for (int i = 0; i < 5; i++) {
		char	 j[256];

		snprintf(j, sizeof(j), "{\"documents\":[{\"external_id\":"
		    "\"p%d\",\"title\":\"Diary\",\"text\":\"xylophone "
		    "xylophone lesson %d\"}]}", i, i);
		push(f, &theirs, c3, 1, j, &c);
		assert_int_equal(c.added, 1);
	}
	title[0] = '\0';
	assert_int_equal(find(f, &shared, "report xylophone", SEARCH_KEYWORD,
	    NULL, NULL, title, sizeof(title), NULL, 0), 4);
	assert_string_equal(title, "Alpha");
	title[0] = '\0';
	assert_int_equal(find(f, &mine, "report xylophone", SEARCH_KEYWORD,
	    "", NULL, title, sizeof(title), NULL, 0), 4);
	assert_string_equal(title, "Alpha");
	/* The owner of the diaries sees them, and the word is common. */
	assert_int_equal(find(f, &theirs, "report xylophone", SEARCH_KEYWORD,
	    NULL, NULL, NULL, 0, NULL, 0), 9);
	scope_free(&shared);
	scope_free(&mine);
	scope_free(&theirs);
}

static void
test_bad_requests(void **state)
{
	struct fx		*f = *state;
	struct scope		 sc = { 0 };
	struct search_params	 p = { "", SEARCH_HYBRID, 10, 0, NULL, NULL,
				    NULL, NULL };
	struct ingest_counts	 c;
	struct docbatch		 b;
	char			 err[256];
	const char		*j = "{\"documents\":[{\"external_id\":\"x\","
				    "\"text\":\"x\"}]}";

	SKIP_WITHOUT_DB(f);
	scope_add_collection(&sc, f->c1);
	assert_null(search_run(&f->e, &sc, &p, err, sizeof(err)));
	p.query = "x";
	p.limit = 0;
	assert_null(search_run(&f->e, &sc, &p, err, sizeof(err)));
	p.limit = 5;
	p.metadata = "[1]";
	assert_null(search_run(&f->e, &sc, &p, err, sizeof(err)));
	p.metadata = NULL;
	p.updated_after = "soon";
	assert_null(search_run(&f->e, &sc, &p, err, sizeof(err)));
	/* A collection outside the scope: refused before any SQL. */
	assert_int_equal(docbatch_parse(j, strlen(j), &b, err, sizeof(err)),
	    0);
	assert_int_equal(ingest_batch(&f->e, &sc, f->c2, 0, &b, &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "collection: not in scope");
	docbatch_free(&b);
	scope_free(&sc);
}

/*
 * The titles of a keyword search's results (at most 50), in order,
 * comma-separated; source, when not NULL, filters them.
 */
static void
titles_in_order(struct fx *f, const struct scope *sc, const char *q,
    const char *source, char *out, size_t len)
{
	struct search_params	 p = { q, SEARCH_KEYWORD, 50, 0, source, NULL,
				    NULL, NULL };
	char			 err[256];
	json_t			*a, *v;
	size_t			 i;

	if ((a = search_run(&f->e, sc, &p, err, sizeof(err))) == NULL)
		fail_msg("search: %s", err);
	out[0] = '\0';
	json_array_foreach(a, i, v) {
		if (i > 0)
			strlcat(out, ",", len);
		strlcat(out, json_string_value(json_object_get(v, "title")),
		    len);
	}
	json_decref(a);
}

/*
 * A title position counts BM25_TITLE (2) times, exactly: three chunks of
 * the same length (four positions) hold the word 3 times in the text
 * (Cedar), once in the title and once in the text (Kestrel: 2 + 1), and
 * twice in the text (Birch).  Cedar and Kestrel tie and the earlier chunk
 * comes first; a title counted once would put Kestrel last, three times
 * first.
 */
static void
test_bm25_title_weight(void **state)
{
	struct fx		*f = *state;
	struct scope		 sc = { 0 };
	struct ingest_counts	 c;
	char			 coll[UUID_STR_LEN], order[256];

	SKIP_WITHOUT_DB(f);
	new_collection(f, coll);
	scope_add_collection(&sc, coll);
	push(f, &sc, coll, 0, "{\"documents\":["
	    "{\"external_id\":\"b\",\"title\":\"Birch\",\"text\":"
	    "\"kestrel kestrel field\"}]}", &c);
	push(f, &sc, coll, 0, "{\"documents\":["
	    "{\"external_id\":\"c\",\"title\":\"Cedar\",\"text\":"
	    "\"kestrel kestrel kestrel\"}]}", &c);
	push(f, &sc, coll, 0, "{\"documents\":["
	    "{\"external_id\":\"k\",\"title\":\"Kestrel\",\"text\":"
	    "\"kestrel field notes\"}]}", &c);
	titles_in_order(f, &sc, "kestrel", NULL, order, sizeof(order));
	assert_string_equal(order, "Cedar,Kestrel,Birch");
	scope_free(&sc);
}

/* A small deterministic generator: no rand(), the same corpus each run. */
static uint32_t
next_word(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * The ranking with pgext/ballast_bm25's functions and in SQL agree: the
 * same results in the same order for words of every frequency, in
 * titles and texts, for chunks of every length, with a personal scope
 * (the owner's diaries count in their statistics only) and with filters
 * (document frequencies counted, not taken from the candidates).  The
 * test cluster (scripts/setup-var) has the functions; without them this
 * fails rather than compare SQL with itself.
 */
static void
test_bm25_c_and_sql_agree(void **state)
{
	static const char *const words[] = { "amber", "basalt", "cobalt",
	    "dune", "ember", "fjord", "garnet", "heath", "iris", "jade" };
	static const char *const queries[] = { "amber", "jade basalt",
	    "cobalt dune ember", "fjord garnet heath iris",
	    "amber jade nothingelse", "heath heath iris", "basalt ember jade",
	    "garnet" };
	struct fx		*f = *state;
	struct scope		 shared = { 0 }, theirs = { 0 };
	struct ingest_counts	 c;
	char			 coll[UUID_STR_LEN], json[16384], doc[1024];
	char			 c_order[2048], sql_order[2048];
	uint32_t		 x = 2463534242u;

	SKIP_WITHOUT_DB(f);
	assert_int_equal(engine_pg_bm25(f->db), 1);
	new_collection(f, coll);
	scope_add_collection(&shared, coll);
	scope_add_collection(&theirs, coll);
	scope_set_owner(&theirs, f->u2);
	for (int personal = 0; personal < 2; personal++) {
		strlcpy(json, "{\"documents\":[", sizeof(json));
		for (int i = 0; i < 40; i++) {
			int	 n = 1 + next_word(&x) % 24;
			char	 text[512] = "";

			/* Skewed: the first words are far more common. */
			for (int w = 0; w < n; w++) {
				uint32_t r = next_word(&x) % 100;

				strlcat(text, words[r < 40 ? r % 2 : r < 70 ?
				    2 + r % 3 : 5 + r % 5], sizeof(text));
				strlcat(text, " ", sizeof(text));
			}
			snprintf(doc, sizeof(doc), "%s{\"external_id\":\"%c%d\","
			    "\"title\":\"T%c%d %s\",\"source\":\"s%d\","
			    "\"text\":\"%s\"}", i ? "," : "", personal ? 'p' :
			    's', i, personal ? 'p' : 's', i,
			    next_word(&x) % 3 == 0 ? words[next_word(&x) % 10] :
			    "", i % 2, text);
			strlcat(json, doc, sizeof(json));
		}
		strlcat(json, "]}", sizeof(json));
		push(f, personal ? &theirs : &shared, coll, personal, json, &c);
		assert_int_equal(c.added, 40);
	}
	for (size_t q = 0; q < nitems(queries); q++)
		for (int s = 0; s < 3; s++) {
			const struct scope *sc = s == 1 ? &theirs : &shared;
			const char	*src = s == 2 ? "s1" : NULL;

			f->e.bm25_sql = 0;
			titles_in_order(f, sc, queries[q], src, c_order,
			    sizeof(c_order));
			f->e.bm25_sql = 1;
			titles_in_order(f, sc, queries[q], src, sql_order,
			    sizeof(sql_order));
			f->e.bm25_sql = 0;
			if (strcmp(c_order, sql_order) != 0)
				fail_msg("\"%s\" (scope %d): C %s, SQL %s",
				    queries[q], s, c_order, sql_order);
			/* A ranking, not an empty agreement. */
			if (strcmp(queries[q], "amber") == 0)
				assert_non_null(strchr(c_order, ','));
		}
	f->e.bm25_sql = 1;
	test_bm25_title_weight(state);
	f->e.bm25_sql = 0;
	scope_free(&shared);
	scope_free(&theirs);
}

/* The functions themselves: numbers, and errors for what is not theirs. */
static void
test_bm25_functions(void **state)
{
	struct fx	*f = *state;
	char		 v[256];

	SKIP_WITHOUT_DB(f);
	/* Title positions twice: cat 1 title + 2 text = 4; mat 1; zebra 0. */
	one_value(f->db, "SELECT ballast_tf(setweight(to_tsvector('english', "
	    "'cat dog'), 'A') || to_tsvector('english', 'the cat sat on the "
	    "cat mat'), ARRAY['cat', 'mat', 'zebra'], 2)", v, sizeof(v));
	assert_string_equal(v, "{4,1,0}");
	one_value(f->db, "SELECT ballast_tf(strip(to_tsvector('english', "
	    "'cat cat')), ARRAY['cat', 'dog'], 2)", v, sizeof(v));
	assert_string_equal(v, "{1,0}");
	one_value(f->db, "SELECT ballast_tf(to_tsvector('english', 'cat'), "
	    "'{}', 2)", v, sizeof(v));
	assert_string_equal(v, "{}");
	one_value(f->db, "SELECT ballast_df(t) FROM (VALUES (ARRAY[1, 0, 2]), "
	    "(ARRAY[0, 0, 1]), (NULL)) v(t)", v, sizeof(v));
	assert_string_equal(v, "{1,0,2}");
	/* NULL rows first, and only NULL rows (the state stays NULL). */
	one_value(f->db, "SELECT ballast_df(t) FROM (VALUES (NULL::int[]), "
	    "(NULL), (ARRAY[3, 0])) v(t)", v, sizeof(v));
	assert_string_equal(v, "{1,0}");
	one_value(f->db, "SELECT coalesce(ballast_df(t)::text, 'none') FROM "
	    "(VALUES (NULL::int[]), (NULL)) v(t)", v, sizeof(v));
	assert_string_equal(v, "none");
	/* idf 1 and 2, tf 1 and 2, len at the mean: 2.2/2.2 + 2*4.4/3.2. */
	one_value(f->db, "SELECT round(ballast_bm25(ARRAY[1, 2], 10, "
	    "ARRAY[1.0, 2.0], 10, 1.2, 0.75)::numeric, 9)", v, sizeof(v));
	assert_string_equal(v, "3.750000000");
	const char *bad[] = {
	    "SELECT ballast_tf('a'::tsvector, ARRAY['a', NULL], 2)",
	    "SELECT ballast_tf('a'::tsvector, ARRAY[['a'], ['b']], 2)",
	    "SELECT ballast_tf('a'::tsvector, ARRAY['a'], 0)",
	    "SELECT ballast_tf('a'::tsvector, (SELECT array_agg(i::text) FROM "
	    "generate_series(1, 1025) i), 2)",
	    "SELECT ballast_df_add(NULL, ARRAY[1])",
	    "SELECT ballast_df(t) FROM (VALUES (ARRAY[1]), (ARRAY[1, 2])) v(t)",
	    "SELECT ballast_bm25(ARRAY[1, 2], 1, ARRAY[1.0], 1, 1.2, 0.75)",
	};
	for (size_t i = 0; i < nitems(bad); i++) {
		PGresult *r = PQexec(f->db, bad[i]);

		if (PQresultStatus(r) != PGRES_FATAL_ERROR)
			fail_msg("accepted: %s", bad[i]);
		PQclear(r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ingest_search_update_delete),
		cmocka_unit_test(test_rls_without_scope),
		cmocka_unit_test(test_personal),
		cmocka_unit_test(test_bm25),
		cmocka_unit_test(test_bm25_title_weight),
		cmocka_unit_test(test_bm25_c_and_sql_agree),
		cmocka_unit_test(test_bm25_functions),
		cmocka_unit_test(test_bad_requests),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Sync jobs against a real PostgreSQL (runs when BALLAST_TEST_PGHOST
 * names a socket directory of a migrated cluster; the database tests
 * are skipped otherwise): two connections claim every job exactly once,
 * SKIP LOCKED passes a locked job by, the lease reclaims a dead run's
 * job and not a live one, cancelled jobs are not claimed, the scheduler
 * makes one job per due source, the end of a run stores the cursor and
 * deletes unseen documents in one transaction, a transient failure is
 * retried later, and row security hides other collections' rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/util.h"
#include "indexd/docbatch.h"
#include "indexd/engine.h"
#include "indexd/ingest.h"
#include "indexd/job.h"
#include "indexd/source.h"
#include "tests/unit/pgtest.h"

struct fx {
	PGconn		*admin;		/* role ballast, every row visible */
	PGconn		*db1, *db2;	/* role ballast_index: two indexds */
	struct engine	 e;		/* on db1 */
	char		 org[UUID_STR_LEN];
	char		 c1[UUID_STR_LEN], c2[UUID_STR_LEN];
	char		 u1[UUID_STR_LEN];
};

static int
setup(void **state)
{
	struct fx	*f;
	char		 sql[512], err[256];

	*state = NULL;
	if (!pgtest_available())
		return 0;
	f = xcalloc(1, sizeof(*f));
	if ((f->admin = connect_as("ballast")) == NULL ||
	    (f->db1 = connect_as("ballast_index")) == NULL ||
	    (f->db2 = connect_as("ballast_index")) == NULL)
		return -1;
	if (count_of(f->admin, "SELECT count(*) FROM pg_tables WHERE "
	    "tablename = 'sync_jobs'") != 1) {
		print_error("schema 014_sources not applied\n");
		return -1;
	}
	/* the schema owner is under FORCEd row security too */
	exec_ok(f->admin, "SET ballast.load_all = 'on'");
	one_value(f->admin, "INSERT INTO orgs (name) VALUES ('jobs-test') "
	    "RETURNING id", f->org, sizeof(f->org));
	for (int i = 0; i < 2; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO collections (org_id, "
		    "name) VALUES ('%s', 'j%d-' || gen_random_uuid()) "
		    "RETURNING id", f->org, i);
		one_value(f->admin, sql, i ? f->c2 : f->c1, UUID_STR_LEN);
	}
	one_value(f->admin, "INSERT INTO users (email, password_hash, "
	    "key_salt) VALUES ('j-' || gen_random_uuid() || '@x.test', 'x', "
	    "decode(repeat('ab', 32), 'hex')) RETURNING id", f->u1,
	    sizeof(f->u1));
	if (engine_open(&f->e, f->db1, "builtin", "postgres", err,
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
	snprintf(sql, sizeof(sql), "DELETE FROM documents WHERE collection_id "
	    "IN ('%s', '%s')", f->c1, f->c2);
	PQclear(PQexec(f->admin, sql));
	snprintf(sql, sizeof(sql), "DELETE FROM orgs WHERE id = '%s'", f->org);
	PQclear(PQexec(f->admin, sql));
	snprintf(sql, sizeof(sql), "DELETE FROM users WHERE id = '%s'", f->u1);
	PQclear(PQexec(f->admin, sql));
	PQfinish(f->admin);
	PQfinish(f->db1);
	PQfinish(f->db2);
	free(f);
	return 0;
}

/* Each test starts without sources or jobs of its own org. */
static int
clean(void **state)
{
	struct fx	*f = *state;
	char		 sql[256];

	if (f == NULL)
		return 0;
	snprintf(sql, sizeof(sql), "DELETE FROM sources WHERE org_id = '%s'",
	    f->org);
	exec_ok(f->admin, sql);
	return 0;
}

#define FX(state) ({							\
	struct fx *f_ = *(state);					\
	if (f_ == NULL)							\
		skip();							\
	f_;								\
})

/* A source (personal when owner) with sql's extra columns. */
static void
make_source(struct fx *f, const char *coll, const char *owner,
    int schedule, const char *next_run, char *id)
{
	char	 sql[1024];

	snprintf(sql, sizeof(sql), "INSERT INTO sources (id, collection_id, "
	    "org_id, owner_user, type, name, config, credentials, "
	    "schedule_seconds, next_run_at) VALUES (gen_random_uuid(), '%s', "
	    "'%s', %s%s%s, 'files', 's', '{\"path\":\"/srv\"}', %s, %d, %s) "
	    "RETURNING id", coll, f->org, owner ? "'" : "", owner ? owner :
	    "NULL", owner ? "'" : "", owner ? "'\\x0102ff'" : "NULL",
	    schedule, next_run ? next_run : "NULL");
	one_value(f->admin, sql, id, UUID_STR_LEN);
}

static void
make_job(struct fx *f, const char *source, const char *extra_cols,
    const char *extra_vals, char *id)
{
	char	 sql[1024];

	snprintf(sql, sizeof(sql), "INSERT INTO sync_jobs (source_id, "
	    "collection_id, owner_user, trigger%s) SELECT id, collection_id, "
	    "owner_user, 'manual'%s FROM sources WHERE id = '%s' RETURNING id",
	    extra_cols, extra_vals, source);
	one_value(f->admin, sql, id, UUID_STR_LEN);
}

static int
claim(PGconn *db, const char *worker, struct job_claim *j)
{
	char	 err[256];
	int	 rv;

	if ((rv = job_claim(db, worker, j, err, sizeof(err))) == -1)
		fail_msg("claim: %s", err);
	return rv;
}

static void
test_claim_each_once(void **state)
{
	struct fx	*f = FX(state);
	struct job_claim j;
	struct idset	 got;
	char		 sql[512];
	size_t		 n[2] = { 0, 0 };
	int		 turn = 0, idle = 0;

	snprintf(sql, sizeof(sql), "WITH s AS (INSERT INTO sources (id, "
	    "collection_id, org_id, type, name) SELECT gen_random_uuid(), "
	    "'%s', '%s', 'http', 'bulk' FROM generate_series(1, 200) "
	    "RETURNING id, collection_id) INSERT INTO sync_jobs (source_id, "
	    "collection_id, trigger) SELECT id, collection_id, 'manual' "
	    "FROM s", f->c1, f->org);
	exec_ok(f->admin, sql);
	memset(&got, 0, sizeof(got));
	/* two indexds take turns until neither finds work twice running */
	while (idle < 2) {
		if (claim(turn ? f->db2 : f->db1, turn ? "b:2" : "a:1",
		    &j) == 1) {
			idle = 0;
			assert_int_equal(idset_add(&got, j.id), 1);
			assert_string_equal(j.type, "http");
			assert_int_equal(j.attempt, 1);
			assert_null(j.sealed);
			n[turn]++;
			job_claim_free(&j);
		} else
			idle++;
		turn = !turn;
	}
	assert_int_equal(got.n, 200);
	assert_int_equal(n[0], 100);
	assert_int_equal(n[1], 100);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sync_jobs WHERE "
	    "collection_id = '%s' AND state = 'running' AND worker IN "
	    "('a:1', 'b:2') AND heartbeat_at IS NOT NULL", f->c1);
	assert_int_equal(count_of(f->admin, sql), 200);
	idset_free(&got);
}

/* A job one indexd holds locked mid-claim is skipped by the other. */
static void
test_claim_skip_locked(void **state)
{
	struct fx	*f = FX(state);
	struct job_claim j;
	char		 s1[UUID_STR_LEN], s2[UUID_STR_LEN];
	char		 j1[UUID_STR_LEN], j2[UUID_STR_LEN], sql[256];

	make_source(f, f->c1, NULL, 0, NULL, s1);
	make_source(f, f->c1, NULL, 0, NULL, s2);
	make_job(f, s1, ", created_at", ", now() - interval '1 hour'", j1);
	make_job(f, s2, "", "", j2);
	exec_ok(f->db2, "BEGIN");
	exec_ok(f->db2, "SET LOCAL ballast.load_all = 'on'");
	snprintf(sql, sizeof(sql), "SELECT id FROM sync_jobs WHERE id = '%s' "
	    "FOR UPDATE", j1);
	exec_ok(f->db2, sql);
	assert_int_equal(claim(f->db1, "a:1", &j), 1);
	assert_string_equal(j.id, j2);
	job_claim_free(&j);
	assert_int_equal(claim(f->db1, "a:1", &j), 0);
	exec_ok(f->db2, "ROLLBACK");
	assert_int_equal(claim(f->db1, "a:1", &j), 1);
	assert_string_equal(j.id, j1);
	job_claim_free(&j);
}

static void
test_lease(void **state)
{
	struct fx	*f = FX(state);
	struct job_claim j;
	char		 s1[UUID_STR_LEN], s2[UUID_STR_LEN];
	char		 dead[UUID_STR_LEN], live[UUID_STR_LEN];
	uint8_t		 salt[32];

	make_source(f, f->c1, f->u1, 0, NULL, s1);
	make_source(f, f->c1, NULL, 0, NULL, s2);
	make_job(f, s1, ", state, worker, heartbeat_at, started_at",
	    ", 'running', 'gone:9', now() - interval '2 minutes', now()", dead);
	make_job(f, s2, ", state, worker, heartbeat_at, started_at",
	    ", 'running', 'here:8', now() - interval '5 seconds', now()", live);
	assert_int_equal(claim(f->db2, "b:2", &j), 1);
	assert_string_equal(j.id, dead);
	assert_int_equal(j.attempt, 2);		/* a re-run */
	/* a personal source's run gets what keyd needs to open it */
	assert_string_equal(j.owner, f->u1);
	assert_string_equal(j.org_id, f->org);
	assert_int_equal(j.sealedlen, 3);
	assert_memory_equal(j.sealed, "\x01\x02\xff", 3);
	assert_int_equal(j.has_salt, 1);
	memset(salt, 0xab, sizeof(salt));
	assert_memory_equal(j.salt, salt, sizeof(salt));
	job_claim_free(&j);
	/* the live one is not taken; the reclaimed one is now fresh */
	assert_int_equal(claim(f->db1, "a:1", &j), 0);
}

static void
test_cancelled_not_claimed(void **state)
{
	struct fx	*f = FX(state);
	struct job_claim j;
	char		 s1[UUID_STR_LEN], s2[UUID_STR_LEN], id[UUID_STR_LEN];
	char		 s3[UUID_STR_LEN];

	make_source(f, f->c1, NULL, 0, NULL, s1);
	make_source(f, f->c1, NULL, 0, NULL, s2);
	make_source(f, f->c1, NULL, 0, NULL, s3);
	make_job(f, s1, ", state, finished_at", ", 'cancelled', now()", id);
	make_job(f, s2, ", cancel_requested", ", true", id);
	/* and one not due yet (a retry waiting) */
	make_job(f, s3, ", run_after", ", now() + interval '1 minute'", id);
	assert_int_equal(claim(f->db1, "a:1", &j), 0);
}

static void
test_scheduler(void **state)
{
	struct fx	*f = FX(state);
	char		 s1[UUID_STR_LEN], s2[UUID_STR_LEN], sql[256];
	char		 err[256];
	int		 n;

	make_source(f, f->c1, NULL, 60, "now() - interval '1 second'", s1);
	make_source(f, f->c1, NULL, 60, "now() + interval '1 hour'", s2);
	assert_int_equal(job_schedule(f->db1, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sync_jobs WHERE "
	    "source_id = '%s' AND trigger = 'schedule' AND state = 'pending'",
	    s1);
	assert_int_equal(count_of(f->admin, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sources WHERE id = "
	    "'%s' AND next_run_at > now() + interval '50 seconds'", s1);
	assert_int_equal(count_of(f->admin, sql), 1);
	/* due again while its job is still pending: no second job */
	snprintf(sql, sizeof(sql), "UPDATE sources SET next_run_at = now() - "
	    "interval '1 second' WHERE id = '%s'", s1);
	exec_ok(f->admin, sql);
	assert_int_equal(job_schedule(f->db2, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sync_jobs WHERE "
	    "source_id IN ('%s', '%s')", s1, s2);
	assert_int_equal(count_of(f->admin, sql), 1);
	/* manual: a conflict while one is active */
	{
		char	id[UUID_STR_LEN];
		assert_int_equal(job_create_manual(f->db1, NULL, s1, id, err,
		    sizeof(err)), 0);
		assert_int_equal(job_create_manual(f->db1, NULL, s2, id, err,
		    sizeof(err)), 1);
	}
}

static void
push_source_docs(struct fx *f, const char *source)
{
	struct docbatch		 b;
	struct ingest_counts	 c;
	struct scope		 sc;
	char			 json[512], err[256];

	snprintf(json, sizeof(json), "{\"documents\":["
	    "{\"external_id\":\"a\",\"text\":\"alpha\",\"source\":\"%s\"},"
	    "{\"external_id\":\"b\",\"text\":\"beta\",\"source\":\"%s\"},"
	    "{\"external_id\":\"c\",\"text\":\"gamma\",\"source\":\"%s\"},"
	    "{\"external_id\":\"c\",\"text\":\"other\",\"source\":\"x\"}]}",
	    source, source, source);
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(scope_add_collection(&sc, f->c1), 0);
	if (docbatch_parse(json, strlen(json), &b, err, sizeof(err)) == -1)
		fail_msg("parse: %s", err);
	if (ingest_batch(&f->e, &sc, f->c1, 0, &b, &c, err, sizeof(err)) == -1)
		fail_msg("ingest: %s", err);
	docbatch_free(&b);
	scope_free(&sc);
}

static void
test_finish(void **state)
{
	struct fx	*f = FX(state);
	struct job_claim j;
	struct job_counts c;
	struct idset	 seen;
	char		 s1[UUID_STR_LEN], id[UUID_STR_LEN], sql[512];
	char		 err[256], v[64];

	make_source(f, f->c1, NULL, 3600, NULL, s1);
	make_job(f, s1, "", "", id);
	push_source_docs(f, s1);
	assert_int_equal(claim(f->db1, "a:1", &j), 1);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(idset_add(&seen, "a"), 1);
	assert_int_equal(idset_add(&seen, "b"), 1);
	assert_int_equal(idset_add(&seen, "b"), 0);
	memset(&c, 0, sizeof(c));
	c.added = 2;
	/* not this worker's job: nothing happens at all */
	assert_int_equal(job_succeed(&f->e, &j, "z:0", "cur-1", &seen, &c,
	    err, sizeof(err)), -1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM documents WHERE "
	    "collection_id = '%s' AND source = '%s'", f->c1, s1);
	assert_int_equal(count_of(f->admin, sql), 3);
	snprintf(sql, sizeof(sql), "SELECT cursor FROM sources WHERE id = "
	    "'%s'", s1);
	one_value(f->admin, sql, v, sizeof(v));
	assert_string_equal(v, "");
	/* the worker's: c goes, the cursor is stored, the job ends */
	assert_int_equal(job_succeed(&f->e, &j, "a:1", "cur-1", &seen, &c,
	    err, sizeof(err)), 0);
	assert_int_equal(c.deleted, 1);
	snprintf(sql, sizeof(sql), "SELECT string_agg(external_id, ',' ORDER "
	    "BY external_id) FROM documents WHERE collection_id = '%s' AND "
	    "source = '%s'", f->c1, s1);
	one_value(f->admin, sql, v, sizeof(v));
	assert_string_equal(v, "a,b");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM documents WHERE "
	    "collection_id = '%s' AND source = 'x'", f->c1);
	assert_int_equal(count_of(f->admin, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT cursor || '/' || (next_run_at > "
	    "now() + interval '3500 seconds') FROM sources WHERE id = '%s'",
	    s1);
	one_value(f->admin, sql, v, sizeof(v));
	assert_string_equal(v, "cur-1/true");
	snprintf(sql, sizeof(sql), "SELECT state || '/' || added || '/' || "
	    "deleted || '/' || (finished_at IS NOT NULL) FROM sync_jobs WHERE "
	    "id = '%s'", id);
	one_value(f->admin, sql, v, sizeof(v));
	assert_string_equal(v, "succeeded/2/1/true");
	idset_free(&seen);
	job_claim_free(&j);
}

static void
test_fail_and_retry(void **state)
{
	struct fx	*f = FX(state);
	struct job_claim j;
	struct job_counts c;
	char		 s1[UUID_STR_LEN], id[UUID_STR_LEN], sql[512];
	char		 err[256], v[128];
	int		 retried;

	make_source(f, f->c1, NULL, 0, NULL, s1);
	make_job(f, s1, "", "", id);
	assert_int_equal(claim(f->db1, "a:1", &j), 1);
	memset(&c, 0, sizeof(c));
	assert_int_equal(job_fail(f->db1, &j, "a:1", "server busy", 1, &c,
	    &retried, err, sizeof(err)), 0);
	assert_int_equal(retried, 1);
	snprintf(sql, sizeof(sql), "SELECT state || '/' || trigger || '/' || "
	    "attempt || '/' || (run_after > now() + interval '25 seconds') || "
	    "'/' || error FROM sync_jobs WHERE id = '%s'", id);
	one_value(f->admin, sql, v, sizeof(v));
	assert_string_equal(v, "pending/retry/2/true/server busy");
	job_claim_free(&j);
	assert_int_equal(claim(f->db1, "a:1", &j), 0);	/* not yet */
	/* the last attempt fails for good, and the cursor stays */
	snprintf(sql, sizeof(sql), "UPDATE sync_jobs SET run_after = now(), "
	    "attempt = 3 WHERE id = '%s'", id);
	exec_ok(f->admin, sql);
	assert_int_equal(claim(f->db1, "a:1", &j), 1);
	assert_int_equal(job_fail(f->db1, &j, "a:1", "server busy", 1, &c,
	    &retried, err, sizeof(err)), 0);
	assert_int_equal(retried, 0);
	snprintf(sql, sizeof(sql), "SELECT state FROM sync_jobs WHERE id = "
	    "'%s'", id);
	one_value(f->admin, sql, v, sizeof(v));
	assert_string_equal(v, "failed");
	job_claim_free(&j);
}

static long
visible(PGconn *db, const char *coll, const char *owner, const char *table)
{
	struct scope	 sc;
	char		 sql[128], err[256];
	long		 n;

	memset(&sc, 0, sizeof(sc));
	assert_int_equal(scope_add_collection(&sc, coll), 0);
	assert_int_equal(scope_set_owner(&sc, owner), 0);
	exec_ok(db, "BEGIN");
	if (scope_apply(db, &sc, err, sizeof(err)) == -1)
		fail_msg("scope: %s", err);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	n = count_of(db, sql);
	exec_ok(db, "COMMIT");
	scope_free(&sc);
	return n;
}

static void
test_rls(void **state)
{
	struct fx	*f = FX(state);
	char		 s1[UUID_STR_LEN], s2[UUID_STR_LEN], id[UUID_STR_LEN];

	make_source(f, f->c1, NULL, 0, NULL, s1);
	make_source(f, f->c1, f->u1, 0, NULL, s2);
	make_job(f, s1, "", "", id);
	make_job(f, s2, "", "", id);
	assert_int_equal(visible(f->db1, f->c2, NULL, "sources"), 0);
	assert_int_equal(visible(f->db1, f->c2, NULL, "sync_jobs"), 0);
	assert_int_equal(visible(f->db1, f->c2, f->u1, "sources"), 0);
	/* the shared one only, without the personal owner */
	assert_int_equal(visible(f->db1, f->c1, NULL, "sources"), 1);
	assert_int_equal(visible(f->db1, f->c1, NULL, "sync_jobs"), 1);
	assert_int_equal(visible(f->db1, f->c1, f->u1, "sources"), 2);
	assert_int_equal(visible(f->db1, f->c1, f->u1, "sync_jobs"), 2);
	/* nothing at all without a scope */
	assert_int_equal(count_of(f->db1, "SELECT count(*) FROM sources"), 0);
}

static void
test_paths(void **state)
{
	struct ballast_conf	 c;

	memset(&c, 0, sizeof(c));
	assert_false(source_path_allowed(&c, "/srv/docs"));	/* no root */
	strlcpy(c.sync_root[0], "/srv/docs", sizeof(c.sync_root[0]));
	c.sync_nroots = 1;
	assert_true(source_path_allowed(&c, "/srv/docs"));
	assert_true(source_path_allowed(&c, "/srv/docs/a/b"));
	assert_false(source_path_allowed(&c, "/srv/docsx"));
	assert_false(source_path_allowed(&c, "/srv"));
	assert_false(source_path_allowed(&c, "/srv/docs/../etc"));
	assert_false(source_path_allowed(&c, "/srv/docs/./a"));
	assert_false(source_path_allowed(&c, "/srv/docs//a"));
	assert_false(source_path_allowed(&c, "/srv/docs/"));
	assert_false(source_path_allowed(&c, "srv/docs"));
	strlcpy(c.sync_root[1], "/", sizeof(c.sync_root[1]));
	c.sync_nroots = 2;
	assert_true(source_path_allowed(&c, "/etc"));
	assert_false(source_path_allowed(&c, "/etc/.."));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test_setup(test_claim_each_once, clean),
		cmocka_unit_test_setup(test_claim_skip_locked, clean),
		cmocka_unit_test_setup(test_lease, clean),
		cmocka_unit_test_setup(test_cancelled_not_claimed, clean),
		cmocka_unit_test_setup(test_scheduler, clean),
		cmocka_unit_test_setup(test_finish, clean),
		cmocka_unit_test_setup(test_fail_and_retry, clean),
		cmocka_unit_test_setup(test_rls, clean),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

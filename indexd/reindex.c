/* ballastctl reindex: the vector store rebuilt from PostgreSQL (reindex.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"
#include "indexd/reindex.h"

#define STR2(x)	#x
#define STR(x)	STR2(x)

static struct {
	int		 active;
	char		 target[UUID_STR_LEN];	/* "" for all */
	char		 after[UUID_STR_LEN];	/* last document done */
	long long	 done, total;
} rx;

static void
answer(struct child *c, uint64_t id, int ok, const char *message)
{
	struct imsg_ctl_result	 r;

	r.ok = ok;
	r.message = (char *)message;
	if (ipc_send(c->parent, IMSG_CTL_ADMIN_REP, id, &r, -1) == -1)
		log_warnx("%s: cannot answer the parent", __func__);
}

/* A statement with every row visible (an administrator's request). */
static PGresult *
all_rows(PGconn *db, const char *sql, int n, const char *const *p)
{
	PGresult	*r;

	r = PQexec(db, "SET LOCAL ballast.load_all = 'on'");
	PQclear(r);
	return PQexecParams(db, sql, n, NULL, p, NULL, NULL, 0);
}

static int
count_docs(PGconn *db, char *err, size_t errlen)
{
	const char	*p[1] = { rx.target };
	PGresult	*r;
	int		 rv = -1;

	if (engine_exec(db, "BEGIN READ ONLY", err, errlen) == -1)
		return -1;
	r = all_rows(db, "SELECT count(*) FROM documents WHERE $1 = '' OR "
	    "collection_id = nullif($1, '')::uuid", 1, p);
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		rx.total = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		rv = 0;
	} else
		snprintf(err, errlen, "count: %.*s", (int)strcspn(
		    PQresultErrorMessage(r), "\n"), PQresultErrorMessage(r));
	PQclear(r);
	(void)engine_exec(db, "COMMIT", NULL, 0);
	return rv;
}

/* Embed a document's chunks (title first, as ingest does) and put them. */
static int
put_doc(struct engine *e, PGresult *d, int row, char *err, size_t errlen)
{
	const char	*p[1] = { PQgetvalue(d, row, 0) };
	const char	*title = PQgetvalue(d, row, 3), **texts;
	struct store_doc sd;
	PGresult	*c;
	size_t		 n, tl = strlen(title), *lens;
	int64_t		*ids;
	float		*vecs;
	char		**bufs;
	int		 rv;

	c = PQexecParams(e->db, "SELECT id, text FROM chunks WHERE "
	    "document_id = $1 ORDER BY position", 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(c) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "chunks: %.*s", (int)strcspn(
		    PQresultErrorMessage(c), "\n"), PQresultErrorMessage(c));
		PQclear(c);
		return -1;
	}
	n = (size_t)PQntuples(c);
	ids = xcalloc(n + 1, sizeof(*ids));
	vecs = xcalloc(n + 1, e->emb->dim * sizeof(float));
	texts = xcalloc(n + 1, sizeof(*texts));
	lens = xcalloc(n + 1, sizeof(*lens));
	bufs = xcalloc(n + 1, sizeof(*bufs));
	for (size_t i = 0; i < n; i++) {
		size_t	 cl = (size_t)PQgetlength(c, (int)i, 1);

		ids[i] = strtoll(PQgetvalue(c, (int)i, 0), NULL, 10);
		lens[i] = tl + 1 + cl;
		bufs[i] = xcalloc(1, lens[i] + 1);
		memcpy(bufs[i], title, tl);
		bufs[i][tl] = '\n';
		memcpy(bufs[i] + tl + 1, PQgetvalue(c, (int)i, 1), cl);
		texts[i] = bufs[i];
	}
	rv = n == 0 ? 0 : embed_texts(e->emb, texts, lens, n, vecs, err,
	    errlen);
	if (rv == 0) {
		sd.document_id = PQgetvalue(d, row, 0);
		sd.collection_id = PQgetvalue(d, row, 1);
		sd.owner = PQgetisnull(d, row, 2) ? NULL :
		    PQgetvalue(d, row, 2);
		sd.chunk_ids = ids;
		sd.vecs = vecs;
		sd.n = n;
		rv = store_put(e->store, e->db, &sd, err, errlen);
	}
	for (size_t i = 0; i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(texts);
	free(lens);
	free(ids);
	free(vecs);
	PQclear(c);
	return rv;
}

/* The next batch in one transaction; 1 when none was left, 0, -1. */
static int
batch(struct engine *e, char *err, size_t errlen)
{
	const char	*p[2] = { rx.target, rx.after };
	char		 last[UUID_STR_LEN] = "";
	PGresult	*d;
	int		 rv = 0, n = 0;

	if (engine_exec(e->db, "BEGIN", err, errlen) == -1)
		return -1;
	d = all_rows(e->db, "SELECT id, collection_id, owner_user, title "
	    "FROM documents WHERE ($1 = '' OR collection_id = "
	    "nullif($1, '')::uuid) AND ($2 = '' OR id > nullif($2, '')::uuid) "
	    "ORDER BY id LIMIT " STR(REINDEX_BATCH), 2, p);
	if (PQresultStatus(d) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "documents: %.*s", (int)strcspn(
		    PQresultErrorMessage(d), "\n"), PQresultErrorMessage(d));
		rv = -1;
	} else
		n = PQntuples(d);
	for (int i = 0; rv == 0 && i < n; i++)
		if ((rv = put_doc(e, d, i, err, errlen)) == 0)
			strlcpy(last, PQgetvalue(d, i, 0), sizeof(last));
	PQclear(d);
	if (rv == 0 && engine_exec(e->db, "COMMIT", err, errlen) == 0) {
		store_commit(e->store);
		if (n > 0)
			strlcpy(rx.after, last, sizeof(rx.after));
		rx.done += n;
		return n == 0;
	}
	(void)engine_exec(e->db, "ROLLBACK", NULL, 0);
	store_rollback(e->store);
	return -1;
}

static int
start(PGconn *db, const char *arg, char *err, size_t errlen)
{
	uint8_t	 raw[16];

	memset(&rx, 0, sizeof(rx));
	if (arg[0] != '\0') {
		if (uuid_parse(arg, raw) == -1) {
			snprintf(err, errlen, "%s: not a collection id", arg);
			return -1;
		}
		uuid_format(raw, rx.target);
	}
	if (count_docs(db, err, errlen) == -1)
		return -1;
	rx.active = 1;
	log_info("reindex: %s, %lld documents: started", rx.target[0] ?
	    rx.target : "every collection", rx.total);
	return 0;
}

void
reindex_admin(struct child *c, PGconn *db, struct engine *e, uint64_t id,
    const struct imsg_ctl_admin *a)
{
	char		 err[512], msg[768], target[UUID_STR_LEN] = "";
	uint8_t		 raw[16];
	uint64_t	 t0 = now_ms();
	int		 st = 0;

	if (a->arg[0] != '\0' && uuid_parse(a->arg, raw) == 0)
		uuid_format(raw, target);
	/* Resume the run of the same target; else start afresh. */
	if ((!rx.active || strcmp(target, rx.target) != 0) &&
	    start(db, a->arg, err, sizeof(err)) == -1) {
		answer(c, id, 0, err);
		return;
	}
	while (st == 0 && now_ms() - t0 < REINDEX_SLICE_MS)
		st = batch(e, err, sizeof(err));
	if (st == -1) {
		log_warnx("reindex: stopped after %lld documents: %s",
		    rx.done, err);
		snprintf(msg, sizeof(msg), "reindex stopped after %lld of "
		    "%lld documents: %s; run it again to resume", rx.done,
		    rx.total, err);
		answer(c, id, 0, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "%lld of %lld documents %s", rx.done,
	    rx.total, st == 1 ? "reindexed, done" : "so far, more");
	if (st == 1) {
		log_info("reindex: %s", msg);
		rx.active = 0;
		/* no vector of another embedder left: vector search is back */
		if (strcmp(e->store->name, "postgres") == 0 &&
		    embedder_check_store(e->emb, db, err, sizeof(err)) == -1)
			log_warnx("reindex: %s", err);
	}
	answer(c, id, 1, msg);
}

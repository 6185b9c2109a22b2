/*
 * indexd: owns documents, chunks and vectors; runs searches under the
 * scope authd granted; drives syncs.  Peers: the parent (fetchers for
 * sync runs, ballastctl's admin requests), the front (content requests,
 * each with an authd grant it checks itself) and keyd (opening
 * credentials for a sync run).  Fetchers talk to indexd on channels the
 * parent hands over (indexd/sync.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "common/child.h"
#include "common/db.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "indexd/admin.h"
#include "indexd/engine.h"
#include "indexd/reindex.h"
#include "indexd/secret.h"
#include "indexd/indexd.h"
#include "indexd/job.h"
#include "indexd/metrics.h"
#include "indexd/serve.h"
#include "indexd/source.h"
#include "indexd/sync.h"

static struct {
	PGconn		*db;
	struct engine	 engine;
	uint8_t		 key[32];
} indexd;

static const char *
indexd_health(struct child *c)
{
	return db_health(indexd.db);
}

static void
indexd_dispatch_front(struct child *c, struct ipc_chan *chan,
    struct ipc_msg *msg)
{
	struct serve_reply	 r;
	struct imsg_auth_rep	 rep;

	if (msg->type == IMSG_METRICS_REQ) {
		metrics_reply(chan, msg->id, &indexd.engine);
		return;
	}
	if (msg->type != IMSG_INDEX_REQ) {
		log_warnx("%s: %s ignored", __func__, ipc_type_name(msg->type));
		return;
	}
	serve_request(&indexd.engine, indexd.key, msg->body, &r);
	memset(&rep, 0, sizeof(rep));
	rep.status = (uint64_t)r.status;
	rep.body = json_dumps(r.body, JSON_COMPACT);
	json_decref(r.body);
	if (rep.body == NULL)
		fatalx("%s: out of memory", __func__);
	if (ipc_send(chan, IMSG_INDEX_REP, msg->id, &rep, -1) == -1)
		log_warnx("%s: cannot answer the front", __func__);
	free(rep.body);
}

static void
indexd_dispatch_keyd(struct child *c, struct ipc_chan *chan,
    struct ipc_msg *msg)
{
	switch (msg->type) {
	case IMSG_KEY_RESULT:
	case IMSG_KEY_ERROR:
		if (!admin_key_reply(c, indexd.db, msg) &&
		    !secret_key_reply(c, indexd.db, msg))
			sync_keyd(msg);
		break;
	default:
		log_warnx("%s: %s ignored", __func__, ipc_type_name(msg->type));
		break;
	}
}

static void
indexd_dispatch_parent(struct child *c, struct ipc_chan *chan,
    struct ipc_msg *msg)
{
	switch (msg->type) {
	case IMSG_FETCH_SPAWNED:
	case IMSG_FETCH_FAILED:
		sync_parent(msg);
		break;
	case IMSG_CTL_ADMIN:
		if (strcmp(((struct imsg_ctl_admin *)msg->body)->op,
		    "reindex") == 0)
			reindex_admin(c, indexd.db, &indexd.engine, msg->id,
			    msg->body);
		else
			admin_request(c, indexd.db, msg->id, msg->body);
		break;
	default:
		log_warnx("%s: %s ignored", __func__, ipc_type_name(msg->type));
		break;
	}
}

/* keyd (re)connected: open the deployment secrets again. */
static void
indexd_peer_change(struct child *c, enum proc_id peer, int up)
{
	if (peer == PROC_KEYD && up)
		secret_init(c, indexd.db);
}

void
indexd_main(int argc, char **argv)
{
	static struct child	 c;
	char			 promises[128] = "stdio";
	char			 err[512];

	child_boot(&c, PROC_INDEXD, argc, argv);
	if (!c.has_decision_key)
		fatalx("indexd: the parent sent no decision key");
	memcpy(indexd.key, c.decision_key, sizeof(indexd.key));
	explicit_bzero(c.decision_key, sizeof(c.decision_key));

	/* The database connection is made while we may still read files. */
	indexd.db = db_connect(c.conf.db_index, "indexd");
	metrics_pg_watch(indexd.db);
	/* what libpq needs to connect again from inside the sandbox */
	if (db_sandbox(c.conf.db_index, promises, sizeof(promises), 1) == -1)
		fatalx("indexd: cannot sandbox the database connection");
	explicit_bzero(c.conf.db_index, sizeof(c.conf.db_index));
	/* the embedder's settings; its API key is asked for per request */
	embedder_configure(&c.conf, secret_get);
	if (embedder_sandbox(promises, sizeof(promises), 1) == -1)
		fatalx("indexd: cannot sandbox the embedder");
	/* the vector store's settings; Qdrant's API key too per request */
	store_qdrant_setup(&c.conf);
	if (store_qdrant_sandbox(&c.conf, promises, sizeof(promises)) == -1)
		fatalx("indexd: cannot sandbox the qdrant store");
	if (engine_open(&indexd.engine, indexd.db, c.conf.embedder,
	    c.conf.vectors, err, sizeof(err)) == -1)
		fatalx("indexd: %s", err);

	/* No chroot: libpq must find PostgreSQL's socket again on reset. */
	if (priv_drop(c.conf.user[PROC_INDEXD], NULL) == -1)
		fatalx("indexd: cannot drop privileges");
	/*
	 * stdio: the event loop and IPC on open channels.
	 * db_sandbox(): what libpq's reconnects need for the conninfo:
	 *   unix (a socket directory), inet and dns (TCP, a host name),
	 *   rpath (TLS files such as sslrootcert, unveiled read-only).
	 */
	if (sandbox_pledge(promises) == -1)
		fatal("indexd: sandbox");
	c.health = indexd_health;
	c.peer_change = indexd_peer_change;
	c.dispatch[PROC_FRONT] = indexd_dispatch_front;
	c.dispatch[PROC_KEYD] = indexd_dispatch_keyd;
	c.dispatch[PROC_PARENT] = indexd_dispatch_parent;
	source_init(&c.conf);
	source_set_key(indexd.key);
	sync_init(&c, &indexd.engine);
	child_serve(&c);
}

/*
 * ballastctl reindex [COLLECTION]: rebuild the vector store from
 * PostgreSQL (every chunk embedded again, its vector written again), for
 * one collection or all.  An IMSG_CTL_ADMIN op "reindex" (arg: the
 * collection id or "") runs for at most REINDEX_SLICE_MS and answers with
 * its progress; ballastctl asks again until the answer says "done".  The
 * position (the last document done) is kept, so a run that failed (the
 * store down) or was interrupted resumes where it stopped; point ids
 * derive from the chunk, so writing a chunk twice is harmless.
 */
#ifndef BALLAST_INDEXD_REINDEX_H
#define BALLAST_INDEXD_REINDEX_H

#include <stdint.h>

#include <libpq-fe.h>

#include "common/child.h"
#include "common/ipc_msg.h"
#include "indexd/engine.h"

#define REINDEX_SLICE_MS	2000	/* of the event loop per request */
#define REINDEX_BATCH		16	/* documents per transaction */

void	reindex_admin(struct child *, PGconn *, struct engine *, uint64_t id,
	    const struct imsg_ctl_admin *);

#endif

/*
 * The sync engine: on indexd's event loop, a scheduler makes jobs for
 * due sources and claims jobs while fewer than "sync workers" run; a
 * run opens the source's credential with keyd, asks the parent for a
 * fetcher, sends it the job and ingests what it sends back, then ends
 * the job (job.h).  Nothing here waits on a peer: every step is a
 * message or a timer.
 */
#ifndef BALLAST_INDEXD_SYNC_H
#define BALLAST_INDEXD_SYNC_H

#include "common/child.h"
#include "common/ipc.h"
#include "indexd/engine.h"
#include "indexd/scope.h"

#define SYNC_TICK_SECONDS	2
#define SYNC_HEARTBEAT_SECONDS	10
#define SYNC_BATCH_DOCS		100
#define SYNC_BATCH_BYTES	(4u * 1024 * 1024)
#define SYNC_MAX_DOCS		1000000
#define SYNC_MAX_BYTES		(4ULL * 1024 * 1024 * 1024)
#define SYNC_MAX_FAILED		100
#define SYNC_MAX_SEALS		8	/* new tokens being sealed */

/* Start the timers; c->conf must stay valid (it is updated on reload). */
void	sync_init(struct child *, struct engine *);
/* Run the scheduler soon (a job was just created). */
void	sync_kick(void);
/* keyd's answers (IMSG_KEY_RESULT, IMSG_KEY_ERROR). */
void	sync_keyd(struct ipc_msg *);
/* The parent's IMSG_FETCH_SPAWNED and IMSG_FETCH_FAILED. */
void	sync_parent(struct ipc_msg *);
/*
 * The callback of an OAuth authorization: a job (trigger "oauth") whose
 * fetcher exchanges code with the PKCE verifier and returns the tokens,
 * which keyd seals.  1 started (id set), 0 a job of the source is
 * active, -1 error (err; "" when the source is not in scope).
 */
int	sync_oauth_exchange(const struct scope *, const char *source,
	    const char *code, const char *verifier, char id[UUID_STR_LEN],
	    char *err, size_t errlen);
/* Runs now. */
int	sync_running(void);

#endif

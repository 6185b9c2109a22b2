/*
 * Sync jobs in the database (etc/schema/014_sources.sql): creating,
 * claiming, heartbeats and the end of a run.  A job is claimed in one
 * transaction with FOR UPDATE SKIP LOCKED, so indexd processes sharing a
 * database run each job once; a running job whose heartbeat is older
 * than the lease belongs to a crashed or stuck indexd and is claimed
 * again.  Every function runs its own transaction on the connection.
 */
#ifndef BALLAST_INDEXD_JOB_H
#define BALLAST_INDEXD_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common/ipc_msg.h"
#include "indexd/engine.h"
#include "indexd/scope.h"

#define JOB_LEASE_SECONDS	30
#define JOB_MAX_ATTEMPTS	3
#define JOB_RETRY_SECONDS	30	/* doubled for every attempt */
#define JOB_MAX_ERROR		1024
#define JOB_WORKER_MAX		300

/* A claimed job and what its run needs of the source. */
struct job_claim {
	char		 id[UUID_STR_LEN];
	char		 source_id[UUID_STR_LEN];
	char		 collection_id[UUID_STR_LEN];
	char		 org_id[UUID_STR_LEN];
	char		 owner[UUID_STR_LEN];	/* "" unless personal */
	char		 type[FETCH_MAX_TYPE + 1];
	char		*config;		/* JSON object text */
	uint8_t		*sealed;		/* NULL: no credentials */
	size_t		 sealedlen;
	uint8_t		 salt[32];		/* the owner's key salt */
	int		 has_salt;
	char		 cursor[FETCH_MAX_CURSOR + 1];
	int		 attempt;
	char		 trigger[16];		/* "manual", ..., "oauth" */
};

struct job_counts {
	int64_t		 added, updated, unchanged, deleted, failed;
};

/*
 * External ids a run saw (documents and keeps): an open-addressing hash
 * set of strings.
 */
struct idset {
	char		**slot;
	size_t		  cap, n;
};

int	idset_add(struct idset *, const char *);	/* 1 new, 0 had it */
int	idset_has(const struct idset *, const char *);
void	idset_free(struct idset *);

/* Claim one job: 1 claimed (out filled), 0 none, -1 error. */
int	job_claim(PGconn *, const char *worker, struct job_claim *,
	    char *err, size_t errlen);
void	job_claim_free(struct job_claim *);

/*
 * Create 'schedule' jobs for due sources and move their next run on;
 * *created counts them.  Also ends jobs whose lease ran out too often.
 */
int	job_schedule(PGconn *, int *created, char *err, size_t errlen);

/*
 * Heartbeat of a running job of this worker: 1 still ours (*cancel set
 * when cancellation was asked), 0 no longer ours, -1 error.
 */
int	job_heartbeat(PGconn *, const char *job, const char *worker,
	    int *cancel, char *err, size_t errlen);

/*
 * A run ended well: in one transaction under the source's scope, delete
 * the source's documents not in seen (when seen is not NULL: the run was
 * complete), store the cursor, end the job as succeeded with the counts
 * (c->deleted is set here) and set the source's first next run.
 */
int	job_succeed(struct engine *, const struct job_claim *,
	    const char *worker, const char *cursor, const struct idset *seen,
	    struct job_counts *c, char *err, size_t errlen);
/*
 * A run failed: the job fails with message, or when transient and
 * attempts are left goes back to pending for a retry later.  The cursor
 * is not stored.  *retried says which.
 */
int	job_fail(PGconn *, const struct job_claim *, const char *worker,
	    const char *message, int transient, const struct job_counts *,
	    int *retried, char *err, size_t errlen);
/* A run stopped because cancellation was asked. */
int	job_cancelled(PGconn *, const struct job_claim *, const char *worker,
	    const struct job_counts *, char *err, size_t errlen);

/*
 * A manual job for source (scope: the caller's, or NULL for every row):
 * 1 created (id set), 0 one is already pending or running, -1 error
 * (including no such source in scope: err "").
 */
int	job_create_manual(PGconn *, const struct scope *, const char *source,
	    char id[UUID_STR_LEN], char *err, size_t errlen);

/*
 * OAuth sources.  job_create_oauth: an "oauth" job of source (under the
 * scope) created already running for worker, out filled as a claim: 1,
 * 0 a job of the source is active, -1 error (err "" when the source is
 * not in scope).  job_store_credentials: new sealed credentials, the
 * source authorized again.  job_needs_reauth: the source waits for its
 * owner to authorize it again (the scheduler skips it).
 */
int	job_create_oauth(PGconn *, const struct scope *, const char *source,
	    const char *worker, struct job_claim *out, char *err,
	    size_t errlen);
int	job_store_credentials(PGconn *, const char *source,
	    const uint8_t *sealed, size_t len, char *err, size_t errlen);
int	job_needs_reauth(PGconn *, const char *source, char *err,
	    size_t errlen);

#endif

/*
 * Sources and sync jobs over the REST API (docs: sources-api): the
 * operations serve_request() runs for source.* and job.*.  Every query
 * runs under the grant's scope, so a source or job outside it is simply
 * not found (404, never 403, so ids do not leak); the source's
 * collection is also checked against the grant itself.
 */
#ifndef BALLAST_INDEXD_SOURCE_H
#define BALLAST_INDEXD_SOURCE_H

#include "common/conf.h"
#include "common/grant.h"
#include "common/ipc_msg.h"
#include "indexd/engine.h"
#include "indexd/scope.h"
#include "indexd/serve.h"

/* Largest body of source.create and source.update. */
#define SOURCE_MAX_BODY		(128u * 1024)
#define SOURCE_MAX_SEALED	(20u * 1024)	/* decoded bytes */
#define SOURCE_MAX_NAME		200
#define SOURCE_MIN_SCHEDULE	60
#define SOURCE_MAX_SCHEDULE	604800
#define JOB_LIST_DEFAULT	20
#define JOB_LIST_MAX		100

/* The configuration whose "sync root" lines the files check reads. */
void	source_init(const struct ballast_conf *);
/* The key OAuth PKCE verifiers are derived with (from the decision key). */
void	source_set_key(const uint8_t key[32]);

/* 1 when path (absolute, normalised) is a root or below one of them. */
int	source_path_allowed(const struct ballast_conf *, const char *path);

typedef void source_op_fn(struct engine *, const struct grant *,
	    const struct scope *, const struct imsg_index_req *,
	    struct serve_reply *);

source_op_fn	source_op_list, source_op_create, source_op_get,
		source_op_update, source_op_delete, source_op_credentials,
		source_op_sync, source_op_oauth_start,
		source_op_oauth_callback, job_op_list, job_op_get, job_op_cancel;

#endif

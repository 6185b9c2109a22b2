/*
 * Deployment secrets: the API keys indexd itself uses (Qdrant's
 * "qdrant-api-key", the embedding server's "embedder-api-key").  An
 * administrator sets one with `ballastctl secret set NAME` (the value on
 * standard input); it travels ballastctl -> parent -> indexd, which has
 * keyd seal it (context org "deployment", source NAME) and stores only the
 * sealed form (table deploy_secrets).  At start indexd has keyd open each
 * one and keeps the plaintext in memory for its requests; it is never
 * logged and never sent anywhere but the service it is for.
 */
#ifndef BALLAST_INDEXD_SECRET_H
#define BALLAST_INDEXD_SECRET_H

#include <stddef.h>

#include <libpq-fe.h>

#include "common/child.h"
#include "common/ipc_msg.h"

#define SECRET_MAX_NAME		64
#define SECRET_MAX_VALUE	4096

/*
 * The secret's plaintext, NUL-terminated, or NULL when it is not set
 * (or not opened yet: at start, until keyd has answered).  Valid until
 * the next secret_* call; copy what you keep.
 */
const char	*secret_get(const char *name);
/* 1 once every stored secret has been opened (or failed to open). */
int		 secret_ready(void);

/* indexd.c's plumbing. */
void	secret_init(struct child *, PGconn *);
/* 1 when msg (IMSG_KEY_RESULT or IMSG_KEY_ERROR) was one of ours. */
int	secret_key_reply(struct child *, PGconn *, struct ipc_msg *);
/* IMSG_CTL_ADMIN "secret-set" / "secret-unset" / "secret-list". */
void	secret_admin(struct child *, PGconn *, uint64_t id,
	    const struct imsg_ctl_admin *);

#endif

/*
 * ballastctl's requests indexd answers (IMSG_CTL_ADMIN from the parent):
 *
 *   rewrap    re-seal every stored source credential under the newest
 *             key: each goes to keyd (IMSG_KEY_REWRAP) and comes back
 *             sealed anew; the plaintext never leaves keyd.  One request
 *             to keyd at a time, so a large rewrap never floods it.
 *   secrets   "ID COUNT" lines: how many stored secrets each key seals
 *   sync      queue a manual sync job of one source
 */
#ifndef BALLAST_INDEXD_ADMIN_H
#define BALLAST_INDEXD_ADMIN_H

#include <stdint.h>

#include <libpq-fe.h>

#include "common/child.h"
#include "common/ipc_msg.h"

void	admin_request(struct child *, PGconn *, uint64_t id,
	    const struct imsg_ctl_admin *);
/* 1 when msg (IMSG_KEY_RESULT or IMSG_KEY_ERROR) was one of ours. */
int	admin_key_reply(struct child *, PGconn *, struct ipc_msg *);

#endif

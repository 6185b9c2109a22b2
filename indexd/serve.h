/*
 * indexd's content requests (IMSG_INDEX_REQ from the front): check the
 * grant authd signed, turn it into a scope, run the operation, answer
 * with an HTTP status and a JSON body.
 */
#ifndef BALLAST_INDEXD_SERVE_H
#define BALLAST_INDEXD_SERVE_H

#include <stdint.h>

#include <jansson.h>

#include "common/ipc_msg.h"
#include "indexd/engine.h"

struct serve_reply {
	int		 status;
	json_t		*body;		/* owned; NULL only on allocation failure */
};

/* Answer one request; key is the decision key from the parent. */
void	serve_request(struct engine *, const uint8_t key[32],
	    const struct imsg_index_req *, struct serve_reply *);

#endif

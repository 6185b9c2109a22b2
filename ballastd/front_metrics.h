/*
 * front_metrics.c: the counters behind GET /metrics and the plain-HTTP
 * listener that serves them ("metrics on ADDR port N", ballastd(8),
 * METRICS).  Everything is counted in the front's own memory; the lines
 * only the parent knows (child restarts, which children are up) and
 * those only indexd knows (sync jobs, documents, database errors) are
 * asked of them per scrape (IMSG_METRICS_REQ) and merged.
 */
#ifndef BALLAST_FRONT_METRICS_H
#define BALLAST_FRONT_METRICS_H

#include <stdint.h>

#include "common/proc.h"

struct child;
struct front_req;
struct ipc_chan;
struct ipc_msg;

/* Monotonic microseconds, for the IPC round trips. */
uint64_t front_metrics_now_us(void);
/* One answered request (front_access_log calls it once per request). */
void	front_metrics_request(const struct front_req *);
/* One ask answered by a peer, usec after it was sent. */
void	front_metrics_ipc(enum proc_id peer, uint64_t usec);
/* Serve GET /metrics on c->fd_metrics_listen, when the parent sent one. */
void	front_metrics_start(struct child *);
/* c->dispatch[PROC_PARENT]: IMSG_METRICS_REP. */
void	front_metrics_parent(struct child *, struct ipc_chan *,
	    struct ipc_msg *);
/*
 * c->dispatch[PROC_INDEXD]: IMSG_METRICS_REP here, every other reply to
 * front_pending_dispatch().
 */
void	front_metrics_peer(struct child *, struct ipc_chan *,
	    struct ipc_msg *);

#endif

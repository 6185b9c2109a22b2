/*
 * IPC channels over Unix stream sockets, driven by libevent.
 *
 * Frame: 4-byte big-endian length, then one msgpack message (ipc_msg.h).
 * A frame longer than IPC_MAX_MSG is refused before anything is allocated
 * for it.  One file descriptor may ride along with a message (SCM_RIGHTS,
 * sent with the frame's first byte).  Every received message is decoded
 * and checked against the trust table (sender = the channel's peer,
 * receiver = this process) before the dispatch callback sees it; anything
 * else is a protocol violation: it is logged with channel and message
 * name, counted, and the channel is closed (the error callback runs).
 */
#ifndef BALLAST_IPC_H
#define BALLAST_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/ipc_msg.h"
#include "common/proc.h"

struct event_base;
struct ipc_chan;

/* The message is valid for the call only; keep a copy of what you need. */
typedef void (*ipc_dispatch_cb)(struct ipc_chan *, struct ipc_msg *, void *arg);
/* The channel is dead (EOF, I/O error or violation); free it from here. */
typedef void (*ipc_error_cb)(struct ipc_chan *, const char *why, void *arg);

struct ipc_chan	*ipc_chan_new(struct event_base *, int fd, enum proc_id self,
		    enum proc_id peer, ipc_dispatch_cb, ipc_error_cb, void *arg);
/* Closes the socket, wipes the buffers. */
void		 ipc_chan_free(struct ipc_chan *);
enum proc_id	 ipc_chan_peer(const struct ipc_chan *);
int		 ipc_chan_fd(const struct ipc_chan *);

/*
 * Queue a message.  Takes ownership of fd (closed once sent, or on
 * failure); pass -1 for none.  Returns -1 if the body fails its own
 * validation, the type is not ours to send on this channel, or the queue
 * is over its limit.
 */
int		 ipc_send(struct ipc_chan *, enum ipc_type, uint64_t id,
		    const void *body, int fd);

/* A fresh, never-zero request id for this process. */
uint64_t	 ipc_next_id(void);

/* Protocol violations seen by this process since start. */
uint64_t	 ipc_violations(void);

/*
 * Blocking variants for the start-up phase, before the event loop runs
 * (a child reading its configuration from the parent, ballastctl).
 * Same framing, decoding and policy checks.  Return 0, or -1 with errno
 * set (EPROTO for a violation, 0 for EOF).
 */
int		 ipc_send_blocking(int fd, enum proc_id self, enum proc_id peer,
		    enum ipc_type, uint64_t id, const void *body, int passfd);
int		 ipc_recv_blocking(int fd, enum proc_id self, enum proc_id peer,
		    struct ipc_msg *msg);

#endif

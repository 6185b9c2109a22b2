/*
 * Fuzz the IPC decoder and the frame readers.  The first input byte picks
 * the mode, the rest is the data:
 *   0, 1 (mod 4)  ipc_decode() on the data (one msgpack message);
 *   2             the data as a byte stream into ipc_recv_blocking();
 *   3             the data as a byte stream into a channel on an event loop.
 * In the stream modes the second byte picks the receiving and the sending
 * process (low and high nibble), so every policy row is reachable.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/ipc.h"
#include "common/log.h"

/* Stream inputs larger than a socket buffer would block the writer. */
#define STREAM_MAX	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_decode(const uint8_t *data, size_t len)
{
	struct ipc_msg	 msg, again;
	char		 err[128];
	uint8_t		*out;
	size_t		 outlen;

	if (ipc_decode(data, len, &msg, err, sizeof(err)) == -1)
		return;
	/*
	 * What decodes must encode again (the sender's checks are the
	 * receiver's), minimally, and decode once more.
	 */
	if (ipc_encode(msg.type, msg.id, msg.body, &out, &outlen) == -1)
		abort();
	if (outlen > len)
		abort();
	if (ipc_decode(out, outlen, &again, err, sizeof(err)) == -1 ||
	    again.type != msg.type || again.id != msg.id)
		abort();
	ipc_msg_clear(&again);
	free(out);
	ipc_msg_clear(&msg);
}

static int
stream_pair(const uint8_t *data, size_t len, int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -1;
	if (len > 0 && write(sv[0], data, len) != (ssize_t)len) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[0]);
	return 0;
}

static void
fuzz_blocking(const uint8_t *data, size_t len, enum proc_id self,
    enum proc_id peer)
{
	struct ipc_msg	 msg;
	int		 sv[2];

	if (stream_pair(data, len, sv) == -1)
		return;
	while (ipc_recv_blocking(sv[1], self, peer, &msg) == 0)
		ipc_msg_clear(&msg);
	close(sv[1]);
}

static void
chan_dispatch(struct ipc_chan *c, struct ipc_msg *msg, void *arg)
{
	/* Nothing to do: the channel wipes the message and closes its fd. */
}

static void
chan_error(struct ipc_chan *c, const char *why, void *arg)
{
	*(int *)arg = 1;
	ipc_chan_free(c);
}

static void
fuzz_channel(const uint8_t *data, size_t len, enum proc_id self,
    enum proc_id peer)
{
	static struct event_base	*base;
	struct ipc_chan			*c;
	int				 sv[2], done = 0;

	if (base == NULL && (base = event_base_new()) == NULL)
		abort();
	if (stream_pair(data, len, sv) == -1)
		return;
	if ((c = ipc_chan_new(base, sv[1], self, peer, chan_dispatch,
	    chan_error, &done)) == NULL) {
		close(sv[1]);
		return;
	}
	/* The writer is closed, so the channel always ends: EOF at worst. */
	while (!done)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	enum proc_id	 self, peer;

	if (len < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
	case 1:
		fuzz_decode(data + 1, len - 1);
		break;
	default:
		if (len < 2 || len - 2 > STREAM_MAX)
			return 0;
		self = (data[1] & 0x0f) % PROC_MAX;
		peer = (data[1] >> 4) % PROC_MAX;
		if (data[0] & 1)
			fuzz_channel(data + 2, len - 2, self, peer);
		else
			fuzz_blocking(data + 2, len - 2, self, peer);
		break;
	}
	return 0;
}

/*
 * IPC channels: framed msgpack messages over a Unix stream socket, driven
 * by libevent, with file descriptors passed beside the bytes.
 *
 * Buffers.  Messages carry secrets (sealed and plain key material,
 * tokens), so every byte that passed through a channel is wiped before its
 * memory is reused or freed.  That is why the channel keeps its own byte
 * buffers instead of evbuffers: an evbuffer frees and reallocates its
 * chains internally, where nothing can wipe them.
 *
 * File descriptors.  A sender attaches an fd to the sendmsg() that starts
 * with the first byte of its frame.  Linux hands the fd to the recvmsg()
 * that reads that byte, so on the receiving side each fd is recorded with
 * the stream range of the read that brought it, and it belongs to a frame
 * that starts inside that range.  A message that wants an fd takes the
 * oldest pending one if it arrived that way, else it is a violation; an fd
 * that no frame starting in its range claimed is a violation as soon as
 * those frames are processed.  A stray fd sent in the same read as a
 * legitimate message is therefore caught only by the frame boundaries it
 * crosses; that is enough, as the pending fds are capped at IPC_MAX_FDS and
 * all are closed with the channel.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"

#define IPC_MAX_FDS	8			/* pending received fds */
#define IPC_MAX_QUEUE	(64u * 1024 * 1024)	/* queued output bytes */
#define IPC_READ_CHUNK	(64 * 1024)
#define IPC_KEEP_CAP	(256 * 1024)		/* larger idle buffers go */
#define IPC_HDR		4

/* A byte buffer whose every growth, compaction and release wipes. */
struct wbuf {
	uint8_t		*data;
	size_t		 off;		/* first unconsumed byte */
	size_t		 len;		/* end of the data */
	size_t		 cap;
};

struct infd {
	int		 fd;
	uint64_t	 start;		/* stream range of the read it came */
	uint64_t	 end;		/* with */
};

struct outfd {
	uint64_t	 pos;		/* stream offset of its frame */
	int		 fd;
};

struct ipc_chan {
	struct event_base	*base;
	int			 fd;
	enum proc_id		 self;
	enum proc_id		 peer;
	ipc_dispatch_cb		 dispatch;
	ipc_error_cb		 error;
	void			*arg;
	struct event		*rev;
	struct event		*wev;
	int			 writing;	/* wev is added */
	int			 dead;		/* no more I/O */
	int			 busy;		/* inside a callback */
	int			 zombie;	/* freed by a callback */

	struct wbuf		 in;
	uint64_t		 in_pos;	/* stream offset of in.off */
	struct infd		 infd[IPC_MAX_FDS];
	size_t			 ninfd;

	struct wbuf		 out;
	uint64_t		 out_pos;	/* stream offset of out.off */
	struct outfd		*outfd;
	size_t			 noutfd;
	size_t			 outfdcap;
};

static uint64_t	 ipc_nviolations;
static uint64_t	 ipc_id_next;

/*
 * Wiping buffers.
 */

static void
wbuf_release(struct wbuf *b)
{
	if (b->data != NULL)
		freezero(b->data, b->cap);
	memset(b, 0, sizeof(*b));
}

/* Move the unconsumed bytes to the front and wipe what they leave. */
static void
wbuf_compact(struct wbuf *b)
{
	size_t	 used = b->len - b->off;

	if (b->off == 0)
		return;
	if (used > 0)
		memmove(b->data, b->data + b->off, used);
	explicit_bzero(b->data + used, b->off);
	b->off = 0;
	b->len = used;
}

/* Copy into a buffer of cap bytes (at least the used ones), wipe the old. */
static int
wbuf_move(struct wbuf *b, size_t cap)
{
	size_t	 used = b->len - b->off;
	uint8_t	*n;

	if ((n = malloc(cap)) == NULL)
		return -1;
	if (used > 0)
		memcpy(n, b->data + b->off, used);
	if (b->data != NULL)
		freezero(b->data, b->cap);
	b->data = n;
	b->cap = cap;
	b->off = 0;
	b->len = used;
	return 0;
}

/* Room for extra more bytes at the end. */
static int
wbuf_reserve(struct wbuf *b, size_t extra)
{
	size_t	 used = b->len - b->off, cap;

	if (b->cap - b->len >= extra)
		return 0;
	if (b->cap - used >= extra) {
		wbuf_compact(b);
		return 0;
	}
	if (extra > IPC_MAX_QUEUE + IPC_MAX_MSG)
		return -1;
	cap = b->cap ? b->cap : 4096;
	while (cap - used < extra)
		cap *= 2;
	return wbuf_move(b, cap);
}

/* Wipe and drop n consumed bytes; give back a big buffer once empty. */
static void
wbuf_consume(struct wbuf *b, size_t n)
{
	explicit_bzero(b->data + b->off, n);
	b->off += n;
	if (b->off == b->len) {
		b->off = b->len = 0;
		if (b->cap > IPC_KEEP_CAP)
			wbuf_release(b);
	}
}

/* After a big frame went through: shrink back when little is left. */
static void
wbuf_trim(struct wbuf *b)
{
	wbuf_compact(b);
	if (b->cap > IPC_KEEP_CAP && b->len < IPC_KEEP_CAP / 2)
		(void)wbuf_move(b, IPC_KEEP_CAP);
}

static const char *
msg_name(enum ipc_type type)
{
	return type == IMSG_NONE ? "unknown" : ipc_type_name(type);
}

static void
violation_log(enum proc_id self, enum proc_id peer, const char *name,
    const char *why)
{
	ipc_nviolations++;
	log_warnx("ipc: protocol violation on channel %s->%s: %s (%s)",
	    proc_name(peer), proc_name(self), name, why);
}

uint64_t
ipc_violations(void)
{
	return ipc_nviolations;
}

uint64_t
ipc_next_id(void)
{
	/* Random start: ids of a restarted process do not repeat old ones. */
	while (ipc_id_next == 0)
		arc4random_buf(&ipc_id_next, sizeof(ipc_id_next));
	return ipc_id_next++;
}

/*
 * Socket I/O shared by the channel and the blocking calls.
 */

/* One sendmsg(); passfd (if >= 0) rides with the first byte. */
static ssize_t
send_chunk(int fd, const uint8_t *p, size_t len, int passfd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 cmsgbuf;
	struct iovec		 iov;
	struct msghdr		 mh;
	struct cmsghdr		*cm;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)p;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (passfd >= 0) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		mh.msg_control = cmsgbuf.buf;
		mh.msg_controllen = sizeof(cmsgbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/*
 * One recvmsg() into p.  Received fds are appended to fds (at most
 * maxfds; the rest are closed and *overflow set).  *ctrunc is set when
 * the kernel dropped fds for lack of control space.
 */
static ssize_t
recv_chunk(int fd, uint8_t *p, size_t len, int *fds, size_t *nfds,
    size_t maxfds, int *overflow)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	}			 cmsgbuf;
	struct iovec		 iov;
	struct msghdr		 mh;
	struct cmsghdr		*cm;
	ssize_t			 n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = p;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	if ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) == -1)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t	 k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int	 rfd;

			memcpy(&rfd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (*nfds < maxfds)
				fds[(*nfds)++] = rfd;
			else {
				(void)close(rfd);
				*overflow = 1;
			}
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		*overflow = 1;
	return n;
}

static int
wait_fd(int fd, short events)
{
	struct pollfd	 pfd = { .fd = fd, .events = events };

	if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
		return -1;
	return 0;
}

/*
 * The channel.
 */

static void	chan_read_cb(int, short, void *);
static void	chan_write_cb(int, short, void *);

/* On failure the caller keeps fd. */
struct ipc_chan *
ipc_chan_new(struct event_base *base, int fd, enum proc_id self,
    enum proc_id peer, ipc_dispatch_cb dispatch, ipc_error_cb error,
    void *arg)
{
	struct ipc_chan	*c;

	if (fd_nonblock(fd) == -1) {
		log_warn("%s: fd_nonblock", __func__);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->fd = fd;
	c->self = self;
	c->peer = peer;
	c->dispatch = dispatch;
	c->error = error;
	c->arg = arg;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, chan_read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, chan_write_cb, c);
	if (c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) == -1) {
		log_warnx("%s: event setup failed", __func__);
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		free(c);
		return NULL;
	}
	return c;
}

static void
chan_destroy(struct ipc_chan *c)
{
	event_free(c->rev);
	event_free(c->wev);
	(void)close(c->fd);
	wbuf_release(&c->in);
	wbuf_release(&c->out);
	for (size_t i = 0; i < c->ninfd; i++)
		(void)close(c->infd[i].fd);
	for (size_t i = 0; i < c->noutfd; i++)
		(void)close(c->outfd[i].fd);
	free(c->outfd);
	freezero(c, sizeof(*c));
}

static void
chan_stop(struct ipc_chan *c)
{
	c->dead = 1;
	event_del(c->rev);
	event_del(c->wev);
	c->writing = 0;
}

/*
 * A callback may free the channel (that is what the error callback is
 * for).  While one runs, ipc_chan_free() only marks the channel; the
 * destruction happens here on return, and the caller must then not touch
 * the channel again: these return -1 when it is gone.
 */
static int
chan_after_cb(struct ipc_chan *c)
{
	c->busy--;
	if (c->zombie && c->busy == 0) {
		chan_destroy(c);
		return -1;
	}
	return 0;
}

static int
chan_fail(struct ipc_chan *c, const char *why)
{
	if (c->dead)
		return -1;
	chan_stop(c);
	if (c->error == NULL)
		return -1;
	c->busy++;
	c->error(c, why, c->arg);
	(void)chan_after_cb(c);
	return -1;
}

static int
chan_violation(struct ipc_chan *c, const char *name, const char *why)
{
	violation_log(c->self, c->peer, name, why);
	return chan_fail(c, "protocol violation");
}

void
ipc_chan_free(struct ipc_chan *c)
{
	if (c == NULL)
		return;
	if (c->busy > 0) {
		chan_stop(c);
		c->zombie = 1;
		return;
	}
	chan_destroy(c);
}

enum proc_id
ipc_chan_peer(const struct ipc_chan *c)
{
	return c->peer;
}

int
ipc_chan_fd(const struct ipc_chan *c)
{
	return c->fd;
}

/*
 * Reading.
 */

/* An fd whose read range lies wholly before the next frame is stray. */
static int
chan_stray_fd(struct ipc_chan *c)
{
	if (c->ninfd > 0 && c->infd[0].end <= c->in_pos)
		return chan_violation(c, "frame", "unexpected fd");
	return 0;
}

static int
chan_pop_fd(struct ipc_chan *c, uint64_t start)
{
	int	 fd;

	if (c->ninfd == 0 || c->infd[0].start > start)
		return -1;
	fd = c->infd[0].fd;
	c->ninfd--;
	memmove(&c->infd[0], &c->infd[1], c->ninfd * sizeof(c->infd[0]));
	return fd;
}

/* Decode, check and dispatch one frame's message.  -1: stop reading. */
static int
chan_frame(struct ipc_chan *c, const uint8_t *p, size_t len)
{
	const struct ipc_msgdef	*def;
	struct ipc_msg		 msg;
	char			 err[128];
	const char		*name;

	if (ipc_decode(p, len, &msg, err, sizeof(err)) == -1)
		return chan_violation(c, msg_name(msg.type), err);
	name = ipc_type_name(msg.type);
	def = ipc_msgdef(msg.type);
	if (!ipc_policy_allows(msg.type, c->peer, c->self)) {
		ipc_msg_clear(&msg);
		return chan_violation(c, name, "not allowed on this channel");
	}
	if (def->wants_fd && (msg.fd = chan_pop_fd(c, c->in_pos)) == -1) {
		ipc_msg_clear(&msg);
		return chan_violation(c, name, "missing fd");
	}
	c->busy++;
	c->dispatch(c, &msg, c->arg);
	ipc_msg_clear(&msg);
	if (chan_after_cb(c) == -1 || c->dead)
		return -1;
	return 0;
}

/* Every complete frame in the input buffer.  -1: stop reading. */
static int
chan_frames(struct ipc_chan *c)
{
	for (;;) {
		size_t		 avail = c->in.len - c->in.off;
		uint8_t		*p = c->in.data + c->in.off;
		uint32_t	 flen;

		if (chan_stray_fd(c) == -1)
			return -1;
		if (avail < IPC_HDR)
			return 0;
		flen = get_be32(p);
		if (flen == 0 || flen > IPC_MAX_MSG)
			return chan_violation(c, "frame", "bad frame length");
		if (avail - IPC_HDR < flen)
			return 0;
		if (chan_frame(c, p + IPC_HDR, flen) == -1)
			return -1;
		wbuf_consume(&c->in, IPC_HDR + flen);
		c->in_pos += IPC_HDR + flen;
	}
}

/* One recvmsg() into the input buffer: >0 bytes, 0 EOF, -1 error, -2 bad fds. */
static ssize_t
chan_recv(struct ipc_chan *c)
{
	int		 fds[IPC_MAX_FDS];
	size_t		 nfds = 0, want = IPC_READ_CHUNK, have;
	int		 overflow = 0;
	uint64_t	 start;
	ssize_t		 n;

	/*
	 * With a frame's header in, make room for more of it, but at most
	 * doubling what has arrived: a peer makes us allocate only as much
	 * as it really sends, not what a 4-byte header announces.
	 */
	have = c->in.len - c->in.off;
	if (have >= IPC_HDR) {
		size_t	 flen = get_be32(c->in.data + c->in.off);

		if (flen <= IPC_MAX_MSG && IPC_HDR + flen > have)
			want = IPC_HDR + flen - have;
		if (want > have && want > IPC_READ_CHUNK)
			want = have > IPC_READ_CHUNK ? have : IPC_READ_CHUNK;
	}
	if (wbuf_reserve(&c->in, want) == -1) {
		errno = ENOMEM;
		return -1;
	}
	start = c->in_pos + have;
	n = recv_chunk(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len,
	    fds, &nfds, IPC_MAX_FDS - c->ninfd, &overflow);
	for (size_t i = 0; i < nfds; i++) {
		c->infd[c->ninfd].fd = fds[i];
		c->infd[c->ninfd].start = start;
		c->infd[c->ninfd].end = start + (n > 0 ? (size_t)n : 0);
		c->ninfd++;
	}
	if (n > 0)
		c->in.len += n;
	if (overflow)
		return -2;
	return n;
}

static void
chan_read_cb(int fd, short events, void *arg)
{
	struct ipc_chan	*c = arg;
	ssize_t		 n;

	if ((n = chan_recv(c)) == -2) {
		(void)chan_violation(c, "frame", "too many fds");
		return;
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		log_warn("%s: channel %s->%s", __func__, proc_name(c->peer),
		    proc_name(c->self));
		(void)chan_fail(c, "read error");
		return;
	}
	if (n == 0) {
		(void)chan_fail(c, "closed");
		return;
	}
	if (chan_frames(c) == -1)
		return;
	wbuf_trim(&c->in);
}

/*
 * Writing.
 */

static void
chan_pop_outfd(struct ipc_chan *c)
{
	(void)close(c->outfd[0].fd);
	c->noutfd--;
	memmove(&c->outfd[0], &c->outfd[1], c->noutfd * sizeof(c->outfd[0]));
}

/* Write until the socket is full.  An fd goes with its frame's first byte. */
static int
chan_flush(struct ipc_chan *c)
{
	while (c->out.len > c->out.off) {
		size_t	 chunk = c->out.len - c->out.off;
		int	 passfd = -1;
		ssize_t	 n;

		if (c->noutfd > 0 && c->outfd[0].pos == c->out_pos) {
			passfd = c->outfd[0].fd;
			if (c->noutfd > 1 &&
			    c->outfd[1].pos - c->out_pos < chunk)
				chunk = c->outfd[1].pos - c->out_pos;
		} else if (c->noutfd > 0 && c->outfd[0].pos - c->out_pos < chunk)
			chunk = c->outfd[0].pos - c->out_pos;
		n = send_chunk(c->fd, c->out.data + c->out.off, chunk, passfd);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (passfd != -1)
			chan_pop_outfd(c);
		wbuf_consume(&c->out, n);
		c->out_pos += n;
	}
	return 0;
}

static void
chan_write_cb(int fd, short events, void *arg)
{
	struct ipc_chan	*c = arg;

	if (chan_flush(c) == -1) {
		log_warn("%s: channel %s->%s", __func__, proc_name(c->self),
		    proc_name(c->peer));
		(void)chan_fail(c, "write error");
		return;
	}
	if (c->out.len == c->out.off) {
		event_del(c->wev);
		c->writing = 0;
	}
}

static int
chan_push_outfd(struct ipc_chan *c, uint64_t pos, int fd)
{
	if (c->noutfd == c->outfdcap) {
		size_t	 cap = c->outfdcap ? c->outfdcap * 2 : 4;

		c->outfd = xreallocarray(c->outfd, cap, sizeof(*c->outfd));
		c->outfdcap = cap;
	}
	c->outfd[c->noutfd].pos = pos;
	c->outfd[c->noutfd].fd = fd;
	c->noutfd++;
	return 0;
}

/* 0 when type (with or without fd) may go from self to peer. */
static int
send_check(enum proc_id self, enum proc_id peer, enum ipc_type type, int fd)
{
	const struct ipc_msgdef	*def;

	if ((def = ipc_msgdef(type)) == NULL)
		return -1;
	if (!ipc_policy_allows(type, self, peer)) {
		log_warnx("%s: %s may not go %s->%s", __func__,
		    ipc_type_name(type), proc_name(self), proc_name(peer));
		return -1;
	}
	if (def->wants_fd != (fd >= 0)) {
		log_warnx("%s: %s: fd %s", __func__, ipc_type_name(type),
		    def->wants_fd ? "missing" : "not expected");
		return -1;
	}
	return 0;
}

/* Encode type into a malloc'd frame (header + message). */
static uint8_t *
frame_encode(enum ipc_type type, uint64_t id, const void *body, size_t *flen)
{
	uint8_t	*msg, *frame;
	size_t	 len;

	if (ipc_encode(type, id, body, &msg, &len) == -1) {
		log_warnx("%s: %s: invalid body", __func__, ipc_type_name(type));
		return NULL;
	}
	if ((frame = malloc(IPC_HDR + len)) != NULL) {
		put_be32(frame, (uint32_t)len);
		memcpy(frame + IPC_HDR, msg, len);
		*flen = IPC_HDR + len;
	}
	freezero(msg, len);
	return frame;
}

int
ipc_send(struct ipc_chan *c, enum ipc_type type, uint64_t id,
    const void *body, int fd)
{
	uint8_t	*msg;
	size_t	 len, flen, queued;

	if (c->dead || send_check(c->self, c->peer, type, fd) == -1)
		goto fail;
	if (ipc_encode(type, id, body, &msg, &len) == -1) {
		log_warnx("%s: %s: invalid body", __func__, ipc_type_name(type));
		goto fail;
	}
	/* Header and message straight into the queue: no frame copy. */
	flen = IPC_HDR + len;
	queued = c->out.len - c->out.off;
	if (flen > IPC_MAX_QUEUE - queued ||
	    wbuf_reserve(&c->out, flen) == -1) {
		log_warnx("%s: channel %s->%s: output queue full", __func__,
		    proc_name(c->self), proc_name(c->peer));
		freezero(msg, len);
		goto fail;
	}
	if (fd >= 0)
		chan_push_outfd(c, c->out_pos + queued, fd);
	put_be32(c->out.data + c->out.len, (uint32_t)len);
	memcpy(c->out.data + c->out.len + IPC_HDR, msg, len);
	c->out.len += flen;
	freezero(msg, len);
	if (!c->writing) {
		if (event_add(c->wev, NULL) == -1)
			log_warnx("%s: event_add", __func__);
		else
			c->writing = 1;
	}
	return 0;
 fail:
	if (fd >= 0)
		(void)close(fd);
	return -1;
}

/*
 * Blocking calls for the start-up phase.
 */

static int
write_full(int fd, const uint8_t *p, size_t len, int passfd)
{
	size_t	 done = 0;
	ssize_t	 n;

	while (done < len) {
		n = send_chunk(fd, p + done, len - done,
		    done == 0 ? passfd : -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    wait_fd(fd, POLLOUT) == 0)
				continue;
			return -1;
		}
		done += n;
	}
	return 0;
}

int
ipc_send_blocking(int fd, enum proc_id self, enum proc_id peer,
    enum ipc_type type, uint64_t id, const void *body, int passfd)
{
	uint8_t	*frame;
	size_t	 flen;
	int	 rv, saved;

	if (send_check(self, peer, type, passfd) == -1 ||
	    (frame = frame_encode(type, id, body, &flen)) == NULL) {
		if (passfd >= 0)
			(void)close(passfd);
		errno = EINVAL;
		return -1;
	}
	rv = write_full(fd, frame, flen, passfd);
	saved = errno;
	freezero(frame, flen);
	if (passfd >= 0)
		(void)close(passfd);
	errno = saved;
	return rv;
}

/* Read exactly len bytes (never more: the rest belongs to a later call). */
static int
read_full(int fd, uint8_t *p, size_t len, int *fds, size_t *nfds,
    int *overflow)
{
	size_t	 done = 0;
	ssize_t	 n;

	while (done < len) {
		n = recv_chunk(fd, p + done, len - done, fds, nfds, 1,
		    overflow);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    wait_fd(fd, POLLIN) == 0)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = 0;
			return -1;
		}
		done += n;
	}
	return 0;
}

static int
recv_violation(enum proc_id self, enum proc_id peer, const char *name,
    const char *why)
{
	violation_log(self, peer, name, why);
	errno = EPROTO;
	return -1;
}

/* Decode and check one received frame; on success msg owns passfd. */
static int
recv_check(enum proc_id self, enum proc_id peer, const uint8_t *buf,
    size_t len, int passfd, int overflow, struct ipc_msg *msg)
{
	const struct ipc_msgdef	*def;
	char			 err[128];
	const char		*why;

	if (ipc_decode(buf, len, msg, err, sizeof(err)) == -1)
		return recv_violation(self, peer, msg_name(msg->type), err);
	def = ipc_msgdef(msg->type);
	if (!ipc_policy_allows(msg->type, peer, self))
		why = "not allowed on this channel";
	else if (overflow)
		why = "too many fds";
	else if (def->wants_fd && passfd == -1)
		why = "missing fd";
	else if (!def->wants_fd && passfd != -1)
		why = "unexpected fd";
	else {
		msg->fd = passfd;
		return 0;
	}
	(void)recv_violation(self, peer, ipc_type_name(msg->type), why);
	ipc_msg_clear(msg);
	errno = EPROTO;
	return -1;
}

int
ipc_recv_blocking(int fd, enum proc_id self, enum proc_id peer,
    struct ipc_msg *msg)
{
	uint8_t		 hdr[IPC_HDR], *buf;
	int		 fds[1] = { -1 }, overflow = 0, rv = -1, saved;
	size_t		 nfds = 0;
	uint32_t	 flen;

	memset(msg, 0, sizeof(*msg));
	msg->fd = -1;
	if (read_full(fd, hdr, sizeof(hdr), fds, &nfds, &overflow) == -1)
		goto out;
	flen = get_be32(hdr);
	if (flen == 0 || flen > IPC_MAX_MSG) {
		recv_violation(self, peer, "frame", "bad frame length");
		goto out;
	}
	if ((buf = malloc(flen)) == NULL)
		goto out;
	if (read_full(fd, buf, flen, fds, &nfds, &overflow) == 0 &&
	    recv_check(self, peer, buf, flen, fds[0], overflow, msg) == 0) {
		fds[0] = -1;	/* msg owns it now */
		rv = 0;
	}
	saved = errno;
	freezero(buf, flen);
	errno = saved;
 out:
	saved = errno;
	if (fds[0] != -1)
		(void)close(fds[0]);
	errno = saved;
	return rv;
}

/*
 * keyd's dispatch behind the IPC layer, on real channels: every message
 * type on every channel keyd could be given, written as raw frames (the
 * sending side's own check is not in the way), and exactly the trust
 * table's pairs are served; every other pair is a protocol violation that
 * drops the channel.  Then what the served requests do: seal and open in
 * one context and not in another, sign only acceptable claims with a
 * token the public key verifies, list the keys, and take a new keyring
 * by fd (or keep the old one when the file is not acceptable).
 *
 * keyd runs in this process on a bare struct child, as keyd_main would
 * leave it minus the sandbox: keyd_attach() with a generated keyring and a
 * trampoline that does what common/child.c does before keyd sees a message
 * (answer IMSG_PING, take resource fds from the parent).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>

#include "common/child.h"
#include "common/conf.h"
#include "common/ipc.h"
#include "keyd/crypto.h"
#include "keyd/keyd.h"
#include "keyd/keyring.h"

#define ID_TEST		1001
#define ID_SENTINEL	9999
#define MAXREP		16
#define PLAIN		"the plaintext of a secret"

static const enum proc_id peers[] = {
	PROC_PARENT, PROC_FRONT, PROC_AUTHD, PROC_INDEXD, PROC_CTL,
	PROC_FETCHER
};

/* keyd under test, and the test's own copy of its keyring. */
static struct child	 kc;
static struct keyring	*tkr;

/* One channel from keyd's side. */
struct link {
	struct ipc_chan	*chan;
	int		 dead;		/* the error callback ran */
	int		 common;	/* handled as child.c does, not by keyd */
};

/* What came back for the message under test. */
struct exch {
	int		 dropped;	/* keyd closed the channel */
	int		 sentinel;	/* the follow-up request was answered */
	size_t		 n;
	struct ipc_msg	 rep[MAXREP];
	uint64_t	 violations;	/* added by this exchange */
};

/*
 * Bodies.
 */

static char *
xstrdup_len(const char *s, size_t len)
{
	char	*p = calloc(1, len + 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

static char *
xstr(const char *s)
{
	return xstrdup_len(s, strlen(s));
}

static void
set_bin(struct ipc_bin *b, const void *data, size_t len)
{
	/* ipc_body_wipe frees len + 1 bytes, like a decoded body. */
	b->data = calloc(1, len + 1);
	assert_non_null(b->data);
	memcpy(b->data, data, len);
	b->len = len;
}

static void *
body_new(enum ipc_type type)
{
	const struct ipc_msgdef	*def = ipc_msgdef(type);
	void			*body;

	assert_non_null(def);
	body = calloc(1, def->bodysize);
	assert_non_null(body);
	return body;
}

static void
body_free(enum ipc_type type, void *body)
{
	if (body == NULL)
		return;
	ipc_body_wipe(type, body);
	free(body);
}

/* Any body that satisfies the type's field table. */
static void *
body_generic(enum ipc_type type)
{
	const struct ipc_msgdef	*def = ipc_msgdef(type);
	char			*body = body_new(type);

	for (size_t i = 0; i < def->nfields; i++) {
		const struct ipc_field	*f = &def->fields[i];
		void			*p = body + f->off;
		uint64_t		 max = f->max ? f->max : UINT64_MAX;
		size_t			 len = f->min > 3 ? f->min : 3;
		char			 fill[64];

		if (len > max)
			len = max;
		if (f->kind == IPC_K_STR || f->kind == IPC_K_BIN) {
			assert_true(len < sizeof(fill));
			memset(fill, 'a' + (char)i, len);
		}
		switch (f->kind) {
		case IPC_K_U64:
			*(uint64_t *)p = f->min + 1 <= max ? f->min + 1 :
			    f->min;
			break;
		case IPC_K_I64:
			*(int64_t *)p = -1;
			break;
		case IPC_K_BOOL:
			*(int *)p = 1;
			break;
		case IPC_K_STR:
			*(char **)p = xstrdup_len(fill, len);
			break;
		case IPC_K_BIN:
			set_bin(p, fill, len);
			break;
		case IPC_K_STRV: {
			struct ipc_strv	*sv = p;

			sv->v = calloc(2, sizeof(char *));
			assert_non_null(sv->v);
			sv->v[0] = xstr("x");
			sv->n = 1;
			break;
		}
		}
	}
	return body;
}

static struct imsg_key_req *
key_req(const char *org, const char *source, const char *user,
    const uint8_t *salt, const void *data, size_t len)
{
	struct imsg_key_req	*r = body_new(IMSG_KEY_SEAL);

	r->org = xstr(org);
	r->source = xstr(source);
	if (user != NULL)
		r->user = xstr(user);
	if (salt != NULL)
		set_bin(&r->user_salt, salt, SEAL_USER_SALTLEN);
	set_bin(&r->data, data, len);
	return r;
}

/* What the test's copy of the keyring seals for org-1/src-1. */
static struct imsg_key_req *
key_req_sealed(void)
{
	struct seal_ctx		 ctx = { .org = "org-1", .source = "src-1" };
	struct imsg_key_req	*r;
	uint8_t			*out;
	size_t			 outlen;

	assert_int_equal(seal(tkr, &ctx, (const uint8_t *)PLAIN,
	    strlen(PLAIN), &out, &outlen), SEAL_OK);
	r = key_req("org-1", "src-1", NULL, NULL, out, outlen);
	free(out);
	return r;
}

static char *
claims_text(int64_t iat, int64_t exp)
{
	char	 buf[512];
	int	 n;

	n = snprintf(buf, sizeof(buf), "{\"iss\":\"ballast\",\"aud\":"
	    "\"ballast\",\"sub\":\"user-1\",\"sid\":\"session-1\",\"org\":"
	    "\"org-1\",\"iat\":%lld,\"exp\":%lld}", (long long)iat,
	    (long long)exp);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return xstr(buf);
}

static struct imsg_key_sign *
key_sign(int64_t iat, int64_t exp)
{
	struct imsg_key_sign	*s = body_new(IMSG_KEY_SIGN);

	s->claims = claims_text(iat, exp);
	return s;
}

static int
is_key_request(enum ipc_type t)
{
	switch (t) {
	case IMSG_KEY_SEAL:
	case IMSG_KEY_OPEN:
	case IMSG_KEY_REWRAP:
	case IMSG_KEY_SIGN:
	case IMSG_KEY_PUBKEY:
	case IMSG_KEY_LIST:
		return 1;
	default:
		return 0;
	}
}

static enum ipc_type
reply_type(enum ipc_type t)
{
	switch (t) {
	case IMSG_KEY_SEAL:
	case IMSG_KEY_OPEN:
	case IMSG_KEY_REWRAP:
		return IMSG_KEY_RESULT;
	case IMSG_KEY_SIGN:
		return IMSG_KEY_SIGNED;
	case IMSG_KEY_PUBKEY:
		return IMSG_KEY_PUBKEY_REP;
	case IMSG_KEY_LIST:
		return IMSG_KEY_INFO;
	case IMSG_PING:
		return IMSG_PONG;
	default:
		return IMSG_NONE;
	}
}

/* A valid body for any type: keyd's requests get meaningful ones. */
static void *
body_for(enum ipc_type t)
{
	time_t	 now = time(NULL);

	switch (t) {
	case IMSG_KEY_SEAL:
		return key_req("org-1", "src-1", NULL, NULL, PLAIN,
		    strlen(PLAIN));
	case IMSG_KEY_OPEN:
	case IMSG_KEY_REWRAP:
		return key_req_sealed();
	case IMSG_KEY_SIGN:
		return key_sign(now, now + 600);
	default:
		return body_generic(t);
	}
}

/*
 * The follow-up request that shows the channel is still up after a
 * message keyd may ignore: the peer's first keyd request, else none.
 */
static enum ipc_type
sentinel_type(enum proc_id peer)
{
	for (int t = 1; t < IMSG_MAX; t++)
		if (is_key_request(t) && ipc_policy_allows(t, peer, PROC_KEYD))
			return t;
	return IMSG_NONE;
}

/*
 * keyd's side of a channel: child.c's work, then keyd's dispatch.
 */

static void
tramp(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct link		*l = arg;
	enum proc_id		 peer = ipc_chan_peer(chan);
	struct imsg_pong	 pong;

	if (msg->type == IMSG_PING) {
		pong.pid = (uint64_t)getpid();
		pong.state = "ok";
		assert_int_equal(ipc_send(chan, IMSG_PONG, msg->id, &pong, -1),
		    0);
		l->common++;
		return;
	}
	if (peer == PROC_PARENT) {
		switch (msg->type) {
		case IMSG_CHANNEL:
		case IMSG_RELOAD:
			l->common++;
			return;
		case IMSG_FD:
			l->common++;
			assert_non_null(kc.fd_received);
			kc.fd_received(&kc, ((struct imsg_fd *)msg->body)->what,
			    msg->fd);
			msg->fd = -1;
			return;
		default:
			break;
		}
	}
	if (kc.dispatch[peer] == NULL) {
		l->common++;
		return;
	}
	kc.dispatch[peer](&kc, chan, msg);
}

static void
link_error(struct ipc_chan *chan, const char *why, void *arg)
{
	struct link	*l = arg;

	l->dead = 1;
	l->chan = NULL;
	ipc_chan_free(chan);
}

/*
 * The peer's side: raw frames.
 */

static void
put_frame(int fd, enum ipc_type type, uint64_t id, const void *body,
    int passfd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 cm;
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*c;
	uint8_t			*msg, *frame;
	size_t			 len, off = 0;
	ssize_t			 n;

	assert_int_equal(ipc_encode(type, id, body, &msg, &len), 0);
	frame = malloc(4 + len);
	assert_non_null(frame);
	frame[0] = len >> 24;
	frame[1] = len >> 16;
	frame[2] = len >> 8;
	frame[3] = len;
	memcpy(frame + 4, msg, len);
	freezero(msg, len);
	while (off < 4 + len) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = frame + off;
		iov.iov_len = 4 + len - off;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (off == 0 && passfd >= 0) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &passfd, sizeof(int));
		}
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		assert_true(n > 0);
		off += (size_t)n;
	}
	freezero(frame, 4 + len);
}

/* Take every complete frame out of buf; 1 when the sentinel answered. */
static int
take_frames(uint8_t *buf, size_t *have, struct exch *x)
{
	struct ipc_msg	 msg;
	char		 err[128];
	size_t		 flen;
	int		 done = 0;

	while (*have >= 4) {
		flen = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
		    (size_t)buf[2] << 8 | buf[3];
		if (*have - 4 < flen)
			break;
		if (ipc_decode(buf + 4, flen, &msg, err, sizeof(err)) == -1)
			fail_msg("keyd sent an undecodable reply: %s", err);
		if (msg.id == ID_SENTINEL) {
			done = 1;
			ipc_msg_clear(&msg);
		} else {
			assert_int_equal(msg.id, ID_TEST);
			assert_true(x->n < MAXREP);
			x->rep[x->n++] = msg;
		}
		memmove(buf, buf + 4 + flen, *have - 4 - flen);
		*have -= 4 + flen;
		if (done)
			break;
	}
	return done;
}

static void
exch_clear(struct exch *x)
{
	for (size_t i = 0; i < x->n; i++)
		ipc_msg_clear(&x->rep[i]);
	memset(x, 0, sizeof(*x));
}

/*
 * Send one message (and the peer's sentinel) on a new channel from peer to
 * keyd, run keyd's event loop, and collect the replies until the sentinel
 * is answered or keyd drops the channel.  passfd rides along when >= 0;
 * a type that wants an fd gets /dev/null otherwise.
 */
static void
exchange_fd(enum proc_id peer, enum ipc_type type, const void *body,
    int passfd, struct exch *x)
{
	static uint8_t	 buf[256 * 1024];
	struct link	 l = { NULL, 0, 0 };
	enum ipc_type	 st = sentinel_type(peer);
	void		*sbody = NULL;
	uint64_t	 v0 = ipc_violations();
	size_t		 have = 0;
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 sv[2], devnull = -1, done = 0;

	memset(x, 0, sizeof(*x));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	l.chan = ipc_chan_new(kc.base, sv[0], PROC_KEYD, peer, tramp,
	    link_error, &l);
	assert_non_null(l.chan);
	if (passfd < 0 && ipc_msgdef(type)->wants_fd) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(devnull >= 0);
		passfd = devnull;
	}
	put_frame(sv[1], type, ID_TEST, body, passfd);
	if (devnull != -1)
		close(devnull);
	if (st != IMSG_NONE) {
		sbody = body_for(st);
		put_frame(sv[1], st, ID_SENTINEL, sbody, -1);
		body_free(st, sbody);
	}
	/* At most about 5 s; a working keyd answers within a few rounds. */
	for (int i = 0; i < 5000 && !done; i++) {
		event_base_loop(kc.base, EVLOOP_NONBLOCK);
		pfd.fd = sv[1];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1) <= 0)
			continue;
		n = read(sv[1], buf + have, sizeof(buf) - have);
		if (n == 0 || (n == -1 && errno == ECONNRESET)) {
			/* ECONNRESET: keyd closed with our sentinel unread. */
			x->dropped = 1;
			done = 1;
		} else if (n > 0) {
			have += (size_t)n;
			if (take_frames(buf, &have, x))
				x->sentinel = done = 1;
		} else
			assert_true(errno == EINTR || errno == EAGAIN);
	}
	assert_true(done);
	x->violations = ipc_violations() - v0;
	/* keyd's side ran its error callback exactly when it dropped. */
	assert_int_equal(l.dead, x->dropped);
	if (l.chan != NULL)
		ipc_chan_free(l.chan);
	close(sv[1]);
	explicit_bzero(buf, sizeof(buf));
}

static void
exchange(enum proc_id peer, enum ipc_type type, const void *body,
    struct exch *x)
{
	exchange_fd(peer, type, body, -1, x);
}

/* One request that must be answered with one reply of want's type. */
static struct ipc_msg *
ask(enum proc_id peer, enum ipc_type type, void *body, enum ipc_type want,
    struct exch *x)
{
	exchange(peer, type, body, x);
	body_free(type, body);
	assert_false(x->dropped);
	assert_true(x->sentinel);
	assert_int_equal(x->violations, 0);
	assert_true(x->n >= 1);
	if (x->rep[0].type != want)
		fail_msg("%s: got %s, wanted %s", ipc_type_name(type),
		    ipc_type_name(x->rep[0].type), ipc_type_name(want));
	return &x->rep[0];
}

static void
assert_key_error(struct exch *x, const char *code)
{
	struct imsg_key_error	*e;

	assert_int_equal(x->n, 1);
	e = x->rep[0].body;
	assert_string_equal(e->code, code);
	assert_true(strlen(e->message) > 0);
}

/*
 * Set-up: keyd on a bare child with a fresh keyring.
 */

static int
setup(void **state)
{
	struct keyring	*kr;
	char		*text;
	size_t		 len;
	char		 err[256];

	memset(&kc, 0, sizeof(kc));
	kc.self = PROC_KEYD;
	kc.fd_keyring = kc.fd_tls_cert = kc.fd_tls_key = kc.fd_listen = -1;
	conf_defaults(&kc.conf);
	if ((kc.base = event_base_new()) == NULL)
		return -1;
	if ((kr = keyring_generate()) == NULL)
		return -1;
	/* The test's copy, through the file format keyd reads. */
	if ((text = calloc(1, KEYRING_MAX_FILE)) == NULL ||
	    keyring_format(kr, text, KEYRING_MAX_FILE, &len) == -1 ||
	    keyring_parse(text, len, "copy", &tkr, err, sizeof(err)) == -1)
		return -1;
	freezero(text, KEYRING_MAX_FILE);
	keyd_attach(&kc, kr);
	return 0;
}

static int
teardown(void **state)
{
	keyring_free(tkr);
	event_base_free(kc.base);
	return 0;
}

/*
 * The matrix.
 */

static int	 served[PROC_MAX][IMSG_MAX];

/* served[P][T] per the design's table, written out, not derived. */
static void
assert_trust_table(void)
{
	/* front may seal and nothing else of keyd's */
	assert_true(served[PROC_FRONT][IMSG_KEY_SEAL]);
	assert_false(served[PROC_FRONT][IMSG_KEY_OPEN]);
	assert_false(served[PROC_FRONT][IMSG_KEY_REWRAP]);
	assert_false(served[PROC_FRONT][IMSG_KEY_SIGN]);
	assert_false(served[PROC_FRONT][IMSG_KEY_PUBKEY]);
	assert_false(served[PROC_FRONT][IMSG_KEY_LIST]);
	/* indexd seals, opens and rewraps; never signs */
	assert_true(served[PROC_INDEXD][IMSG_KEY_SEAL]);
	assert_true(served[PROC_INDEXD][IMSG_KEY_OPEN]);
	assert_true(served[PROC_INDEXD][IMSG_KEY_REWRAP]);
	assert_false(served[PROC_INDEXD][IMSG_KEY_SIGN]);
	assert_false(served[PROC_INDEXD][IMSG_KEY_PUBKEY]);
	assert_false(served[PROC_INDEXD][IMSG_KEY_LIST]);
	/* authd signs and fetches the public key; never seals or opens */
	assert_true(served[PROC_AUTHD][IMSG_KEY_SIGN]);
	assert_true(served[PROC_AUTHD][IMSG_KEY_PUBKEY]);
	assert_false(served[PROC_AUTHD][IMSG_KEY_SEAL]);
	assert_false(served[PROC_AUTHD][IMSG_KEY_OPEN]);
	assert_false(served[PROC_AUTHD][IMSG_KEY_REWRAP]);
	assert_false(served[PROC_AUTHD][IMSG_KEY_LIST]);
	/* the parent lists keys only */
	for (int t = 1; t < IMSG_MAX; t++)
		if (is_key_request(t))
			assert_int_equal(served[PROC_PARENT][t],
			    t == IMSG_KEY_LIST);
	/* ballastctl and a fetcher get nothing from keyd */
	for (int t = 1; t < IMSG_MAX; t++) {
		assert_false(served[PROC_CTL][t]);
		assert_false(served[PROC_FETCHER][t]);
	}
}

/* A served reply does what its request asked. */
static void
check_served(enum proc_id peer, enum ipc_type t, struct exch *x)
{
	struct seal_ctx		 ctx = { .org = "org-1", .source = "src-1" };
	struct imsg_key_data	*d = x->rep[0].body;
	uint8_t			*pt;
	size_t			 ptlen;

	switch (t) {
	case IMSG_KEY_OPEN:
		assert_int_equal(d->data.len, strlen(PLAIN));
		assert_memory_equal(d->data.data, PLAIN, strlen(PLAIN));
		break;
	case IMSG_KEY_SEAL:
	case IMSG_KEY_REWRAP:
		assert_int_equal(seal_open(tkr, &ctx, d->data.data,
		    d->data.len, &pt, &ptlen), SEAL_OK);
		assert_int_equal(ptlen, strlen(PLAIN));
		assert_memory_equal(pt, PLAIN, ptlen);
		freezero(pt, ptlen);
		break;
	case IMSG_KEY_LIST:
		assert_int_equal(x->n, tkr->nkeys);
		break;
	default:
		break;
	}
}

static void
test_every_message_on_every_channel(void **state)
{
	struct exch	 x;
	size_t		 nserved = 0;

	memset(served, 0, sizeof(served));
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		enum proc_id	 p = peers[i];

		for (int t = 1; t < IMSG_MAX; t++) {
			int	 allowed = ipc_policy_allows(t, p, PROC_KEYD);
			void	*body = body_for(t);

			exchange(p, t, body, &x);
			body_free(t, body);
			if (!allowed) {
				/* refused: dropped, counted, unanswered */
				if (!x.dropped)
					fail_msg("%s from %s was not refused",
					    ipc_type_name(t), proc_name(p));
				assert_int_equal(x.violations, 1);
				assert_int_equal(x.n, 0);
			} else {
				if (x.dropped)
					fail_msg("%s from %s was refused",
					    ipc_type_name(t), proc_name(p));
				assert_int_equal(x.violations, 0);
				assert_true(x.sentinel);
			}
			if (allowed && x.n > 0 && t != IMSG_PING) {
				if (x.rep[0].type != reply_type(t))
					fail_msg("%s from %s: answered %s",
					    ipc_type_name(t), proc_name(p),
					    ipc_type_name(x.rep[0].type));
				check_served(p, t, &x);
				served[p][t] = 1;
				nserved++;
			}
			if (allowed && t == IMSG_PING) {
				/* the common code's answer, as in child.c */
				assert_int_equal(x.n, 1);
				assert_int_equal(x.rep[0].type, IMSG_PONG);
			}
			assert_int_equal(served[p][t], is_key_request(t) &&
			    allowed);
			exch_clear(&x);
		}
	}
	assert_trust_table();
	/* SEAL x2, OPEN, REWRAP, SIGN, PUBKEY, LIST */
	assert_int_equal(nserved, 7);
}

/*
 * Sealing and opening.
 */

static void
test_seal_then_open(void **state)
{
	struct exch		 x, y;
	struct ipc_msg		*m;
	struct imsg_key_data	*d;
	uint32_t		 id;

	m = ask(PROC_INDEXD, IMSG_KEY_SEAL, key_req("org-7", "mail", NULL,
	    NULL, PLAIN, strlen(PLAIN)), IMSG_KEY_RESULT, &x);
	d = m->body;
	assert_int_equal(d->data.len, SEAL_OVERHEAD + strlen(PLAIN));
	/* sealed, not copied: the plaintext is not in there */
	assert_null(memmem(d->data.data, d->data.len, PLAIN, strlen(PLAIN)));
	assert_int_equal(seal_key_id(d->data.data, d->data.len, &id), 0);
	assert_int_equal(id, keyring_newest(tkr)->id);

	/* the same context opens it */
	m = ask(PROC_INDEXD, IMSG_KEY_OPEN, key_req("org-7", "mail", NULL,
	    NULL, d->data.data, d->data.len), IMSG_KEY_RESULT, &y);
	assert_int_equal(((struct imsg_key_data *)m->body)->data.len,
	    strlen(PLAIN));
	assert_memory_equal(((struct imsg_key_data *)m->body)->data.data,
	    PLAIN, strlen(PLAIN));
	exch_clear(&y);

	/* another organisation, another source: one answer, bad_message */
	ask(PROC_INDEXD, IMSG_KEY_OPEN, key_req("org-8", "mail", NULL, NULL,
	    d->data.data, d->data.len), IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "bad_message");
	exch_clear(&y);
	ask(PROC_INDEXD, IMSG_KEY_OPEN, key_req("org-7", "mailx", NULL, NULL,
	    d->data.data, d->data.len), IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "bad_message");
	exch_clear(&y);

	/* rewrap keeps the context: the result opens there */
	m = ask(PROC_INDEXD, IMSG_KEY_REWRAP, key_req("org-7", "mail", NULL,
	    NULL, d->data.data, d->data.len), IMSG_KEY_RESULT, &y);
	assert_false(((struct imsg_key_data *)m->body)->data.len ==
	    d->data.len && memcmp(((struct imsg_key_data *)m->body)->data.data,
	    d->data.data, d->data.len) == 0);
	exch_clear(&x);
	x = y;
	memset(&y, 0, sizeof(y));
	d = x.rep[0].body;
	m = ask(PROC_INDEXD, IMSG_KEY_OPEN, key_req("org-7", "mail", NULL,
	    NULL, d->data.data, d->data.len), IMSG_KEY_RESULT, &y);
	assert_memory_equal(((struct imsg_key_data *)m->body)->data.data,
	    PLAIN, strlen(PLAIN));
	exch_clear(&y);

	/* garbage does not open */
	ask(PROC_INDEXD, IMSG_KEY_OPEN, key_req("org-7", "mail", NULL, NULL,
	    "not sealed", 10), IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "bad_message");
	exch_clear(&y);
	exch_clear(&x);
}

static void
test_personal_secrets(void **state)
{
	struct exch		 x, y;
	struct imsg_key_data	*d;
	uint8_t			 salt[SEAL_USER_SALTLEN], salt2[SEAL_USER_SALTLEN];

	memset(salt, 0x5a, sizeof(salt));
	memset(salt2, 0xa5, sizeof(salt2));
	/* a user without a salt, or a salt without a user: invalid */
	ask(PROC_FRONT, IMSG_KEY_SEAL, key_req("org-1", "src", "u1", NULL,
	    PLAIN, strlen(PLAIN)), IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "invalid");
	exch_clear(&y);
	ask(PROC_FRONT, IMSG_KEY_SEAL, key_req("org-1", "src", NULL, salt,
	    PLAIN, strlen(PLAIN)), IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "invalid");
	exch_clear(&y);

	/* the front seals for a user; indexd opens with user and salt only */
	d = ask(PROC_FRONT, IMSG_KEY_SEAL, key_req("org-1", "src", "u1", salt,
	    PLAIN, strlen(PLAIN)), IMSG_KEY_RESULT, &x)->body;
	assert_memory_equal(((struct imsg_key_data *)ask(PROC_INDEXD,
	    IMSG_KEY_OPEN, key_req("org-1", "src", "u1", salt, d->data.data,
	    d->data.len), IMSG_KEY_RESULT, &y)->body)->data.data, PLAIN,
	    strlen(PLAIN));
	exch_clear(&y);
	ask(PROC_INDEXD, IMSG_KEY_OPEN, key_req("org-1", "src", NULL, NULL,
	    d->data.data, d->data.len), IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "bad_message");
	exch_clear(&y);
	ask(PROC_INDEXD, IMSG_KEY_OPEN, key_req("org-1", "src", "u2", salt,
	    d->data.data, d->data.len), IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "bad_message");
	exch_clear(&y);
	/* the user's salt deleted (a new one): unreadable */
	ask(PROC_INDEXD, IMSG_KEY_OPEN, key_req("org-1", "src", "u1", salt2,
	    d->data.data, d->data.len), IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "bad_message");
	exch_clear(&y);
	exch_clear(&x);
}

/*
 * Signing.
 */

static void
test_sign_and_verify(void **state)
{
	struct exch		 x, y;
	struct imsg_key_token	*t;
	struct imsg_key_sign	*s;
	struct imsg_key_pubkey	*p;
	uint8_t			 pub[ED25519_PUBLEN];
	time_t			 now = time(NULL);
	char			*want, *claims = NULL, *bad;
	size_t			 claimslen;

	t = ask(PROC_AUTHD, IMSG_KEY_SIGN, key_sign(now, now + 900),
	    IMSG_KEY_SIGNED, &x)->body;
	p = ask(PROC_AUTHD, IMSG_KEY_PUBKEY, body_new(IMSG_KEY_PUBKEY),
	    IMSG_KEY_PUBKEY_REP, &y)->body;
	assert_int_equal(p->kid, tkr->sign_id);
	assert_int_equal(p->pub.len, ED25519_PUBLEN);
	assert_int_equal(ed25519_public_key(tkr->sign_seed, pub), 0);
	assert_memory_equal(p->pub.data, pub, ED25519_PUBLEN);

	/* the token verifies with the public key keyd gave, claims intact */
	assert_int_equal(jwt_verify_eddsa(p->pub.data, t->token,
	    strlen(t->token), &claims, &claimslen), 0);
	want = claims_text(now, now + 900);
	assert_string_equal(claims, want);
	free(want);
	free(claims);
	claims = NULL;

	/* and not once a byte of the payload changed */
	bad = xstr(t->token);
	bad[strchr(bad, '.') - bad + 5] ^= 0x01;
	assert_int_equal(jwt_verify_eddsa(p->pub.data, bad, strlen(bad),
	    &claims, &claimslen), -1);
	free(bad);
	exch_clear(&y);
	exch_clear(&x);

	/* keyd signs only what it may: too long, too old, not a token */
	ask(PROC_AUTHD, IMSG_KEY_SIGN, key_sign(now, now + JWT_MAX_LIFETIME +
	    1), IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "refused");
	assert_non_null(strstr(((struct imsg_key_error *)y.rep[0].body)->
	    message, "exp"));
	exch_clear(&y);
	ask(PROC_AUTHD, IMSG_KEY_SIGN, key_sign(now - 3600, now - 3000),
	    IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "refused");
	exch_clear(&y);
	s = body_new(IMSG_KEY_SIGN);
	s->claims = xstr("{\"admin\":true}");
	ask(PROC_AUTHD, IMSG_KEY_SIGN, s, IMSG_KEY_ERROR, &y);
	assert_key_error(&y, "refused");
	exch_clear(&y);
}

/*
 * The key list and keyring reloads.
 */

static void
assert_list(const struct keyring *want)
{
	struct exch	 x;

	ask(PROC_PARENT, IMSG_KEY_LIST, body_new(IMSG_KEY_LIST), IMSG_KEY_INFO,
	    &x);
	assert_int_equal(x.n, want->nkeys);
	for (size_t i = 0; i < x.n; i++) {
		struct imsg_key_info	*k = x.rep[i].body;

		assert_int_equal(x.rep[i].type, IMSG_KEY_INFO);
		assert_int_equal(k->id, want->keys[i].id);
		assert_int_equal(k->created, want->keys[i].created);
		assert_int_equal(k->newest, i + 1 == x.n);
		assert_int_equal(k->last, i + 1 == x.n);
	}
	exch_clear(&x);
}

static void
test_list(void **state)
{
	assert_list(tkr);
}

/* The parent hands keyd a keyring file, as on reload. */
static void
send_keyring(const char *path)
{
	struct imsg_fd	*f = body_new(IMSG_FD);
	struct exch	 x;
	int		 fd;

	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
	f->what = xstr("keyring");
	exchange_fd(PROC_PARENT, IMSG_FD, f, fd, &x);
	close(fd);
	body_free(IMSG_FD, f);
	assert_false(x.dropped);
	assert_true(x.sentinel);
	assert_int_equal(x.n, 0);
	exch_clear(&x);
}

static void
test_keyring_reload(void **state)
{
	char		 dir[] = "/tmp/test_keyd_policy.XXXXXX";
	char		 path[PATH_MAX], bad[PATH_MAX];
	char		 err[512];
	struct exch	 x, y;
	struct keyring	*next;
	struct imsg_key_data *d;
	uint32_t	 id;

	/* keyd_attach leaves the expected owner at root. */
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_true((size_t)snprintf(path, sizeof(path), "%s/keyring", dir) <
	    sizeof(path));
	assert_true((size_t)snprintf(bad, sizeof(bad), "%s/bad", dir) <
	    sizeof(bad));

	/* a secret sealed under key 1 before the rotation */
	ask(PROC_INDEXD, IMSG_KEY_SEAL, key_req("org-1", "src-1", NULL, NULL,
	    PLAIN, strlen(PLAIN)), IMSG_KEY_RESULT, &x);

	/* rotate: the test's copy gains key 2, keyd reads the file */
	assert_int_equal(keyring_add_key(tkr, &id), 0);
	assert_int_equal(keyring_write(tkr, path, err, sizeof(err)), 0);
	send_keyring(path);
	assert_list(tkr);
	d = ask(PROC_INDEXD, IMSG_KEY_SEAL, key_req("org-1", "src-1", NULL,
	    NULL, PLAIN, strlen(PLAIN)), IMSG_KEY_RESULT, &y)->body;
	assert_int_equal(seal_key_id(d->data.data, d->data.len, &id), 0);
	assert_int_equal(id, 2);
	exch_clear(&y);
	/* what key 1 sealed still opens */
	d = x.rep[0].body;
	ask(PROC_INDEXD, IMSG_KEY_OPEN, key_req("org-1", "src-1", NULL, NULL,
	    d->data.data, d->data.len), IMSG_KEY_RESULT, &y);
	exch_clear(&y);
	exch_clear(&x);

	/* a group-readable keyring is refused; keyd keeps the two keys */
	assert_non_null(next = keyring_generate());
	assert_int_equal(keyring_write(next, bad, err, sizeof(err)), 0);
	keyring_free(next);
	assert_int_equal(chmod(bad, 0440), 0);
	send_keyring(bad);
	assert_list(tkr);
	/* so is a file that is no keyring */
	assert_int_equal(chmod(bad, 0600), 0);
	assert_int_equal(truncate(bad, 3), 0);
	assert_int_equal(chmod(bad, 0400), 0);
	send_keyring(bad);
	assert_list(tkr);
	/* and any resource but a keyring */
	{
		struct imsg_fd	*f = body_new(IMSG_FD);
		int		 fd = open(path, O_RDONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		f->what = xstr("tls-key");
		exchange_fd(PROC_PARENT, IMSG_FD, f, fd, &x);
		close(fd);
		body_free(IMSG_FD, f);
		assert_true(x.sentinel);
		exch_clear(&x);
	}
	assert_list(tkr);

	assert_int_equal(unlink(bad), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_message_on_every_channel),
		cmocka_unit_test(test_seal_then_open),
		cmocka_unit_test(test_personal_secrets),
		cmocka_unit_test(test_sign_and_verify),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_keyring_reload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

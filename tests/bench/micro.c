/*
 * micro: the C micro-benchmarks of make bench, each beside its baseline,
 * printing one JSON object on stdout.  Built by tests/bench/run against
 * the suite's own libraries; not part of the suite.
 *
 *   micro ipc ITER
 *	One search-sized IMSG_INDEX_REQ front -> indexd and a ten-result
 *	IMSG_INDEX_REP back, through ipc_send_blocking/ipc_recv_blocking
 *	(encode, frame, validate, decode, trust table), over a socketpair to
 *	a forked echo process; beside a raw write/read of the same number of
 *	bytes on the same kind of socketpair.  p50 and mean round trip, us.
 *   micro keyd SIZE ITER
 *	Seal and open of SIZE-byte secrets by keyd's own dispatch running in
 *	a forked process (keyd_attach on a bare child, its event loop, no
 *	sandbox), asked through IPC as indexd asks it: one request at a time
 *	(blocking calls: the round-trip-bound rate), and pipelined, with
 *	PIPE_WINDOW requests in flight on the same channel through an
 *	ipc_chan in this process (as the front and authd ask, with ipc_send
 *	on their event loop): keyd answers a channel in order, so this is
 *	keyd's CPU rate.  Every reply is checked (type, id in order, length;
 *	an open's plaintext byte for byte, a seal's header, and one seal in
 *	64 opened again here).  Beside them, a raw write/read round trip of
 *	the same byte counts (an open's request and reply frames) to a
 *	forked process: the floor of the one-at-a-time rate.  And the same
 *	seal()/seal_open() called in this process.  Operations per second.
 *   micro argon2 MEMKIB ITERATIONS N
 *	argon2id_hash_raw at the cost authd uses (1 lane, 16-byte salt,
 *	32-byte hash): ms per hash and hashes per second.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <argon2.h>
#include <event2/event.h>

#include "common/child.h"
#include "common/conf.h"
#include "common/ipc.h"
#include "common/log.h"
#include "keyd/crypto.h"
#include "keyd/keyd.h"
#include "keyd/keyring.h"

#define REPLY_RESULTS	10

static double
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
die(const char *what)
{
	fprintf(stderr, "micro: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
p50(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
mean(const double *v, size_t n)
{
	double	 s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s / (double)n;
}

static long
num(const char *s, long lo, long hi)
{
	const char	*err;
	long long	 v = strtonum(s, lo, hi, &err);

	if (err != NULL) {
		fprintf(stderr, "micro: %s is %s\n", s, err);
		exit(2);
	}
	return (long)v;
}

static void
readn(int fd, void *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		if ((n = read(fd, (char *)buf + off, len - off)) <= 0) {
			if (n == 0)
				exit(0);	/* the other side is done */
			if (errno == EINTR)
				continue;
			die("read");
		}
		off += (size_t)n;
	}
}

static void
writen(int fd, const void *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		if ((n = write(fd, (const char *)buf + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		off += (size_t)n;
	}
}

static pid_t
fork_peer(int sv[2], void (*serve)(int, void *), void *arg)
{
	pid_t	 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair");
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		close(sv[1]);
		serve(sv[0], arg);
		_exit(0);
	}
	close(sv[0]);
	return pid;
}

static void
reap(int fd, pid_t pid)
{
	int	 st;

	close(fd);
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "micro: peer %d failed\n", (int)pid);
		exit(1);
	}
}

/*
 * ipc
 */

static char	*req_params[] = { "0d4c1f6e-8a33-4a47-9b7e-1f1f0c2a9d11" };
static uint8_t	 req_mac[32];
static char	 req_body[] = "{\"query\":\"alpha beta\",\"mode\":\"keyword\","
		    "\"limit\":10}";
static char	 req_grant[] = "v1;req=3f1c2a9e-0b6d-4a53-8d1e-5c8f2b7a9e01;"
		    "org=9b1e4c2d-7a3f-4e8b-a1c6-2d5f8e9b0a13;coll="
		    "0d4c1f6e-8a33-4a47-9b7e-1f1f0c2a9d11;cap=read;user="
		    "5e2a8c1d-3b7f-4a9e-8c6d-1f0b2e4a7c93;exp=1764411111";
static char	 rep_body[4096];

static struct imsg_index_req	 ireq = {
	"search", { req_params, 1 }, "",
	"3f1c2a9e0b6d4a538d1e5c8f2b7a9e01",
	{ (uint8_t *)req_body, sizeof(req_body) - 1 }, req_grant,
	{ req_mac, sizeof(req_mac) }
};
static struct imsg_auth_rep	 irep = { 200, rep_body, { NULL, 0 } };

/* A ten-result answer of the shape indexd sends (~2.5 KB). */
static void
make_reply(void)
{
	size_t	 off = 0;
	int	 n;

	off = strlcpy(rep_body, "{\"results\":[", sizeof(rep_body));
	for (int i = 0; i < REPLY_RESULTS; i++) {
		n = snprintf(rep_body + off, sizeof(rep_body) - off,
		    "%s{\"document_id\":\"0d4c1f6e-8a33-4a47-9b7e-1f1f0c2a9d%02d\","
		    "\"chunk_id\":%d,\"title\":\"Document title %d\",\"score\":"
		    "0.%04d,\"snippet\":\"... the <mark>alpha</mark> words of a "
		    "sentence and then <mark>beta</mark> with more text ...\"}",
		    i ? "," : "", i, 1000 + i, i, 9000 - i);
		if (n < 0 || (size_t)n >= sizeof(rep_body) - off)
			die("reply too long");
		off += (size_t)n;
	}
	if (strlcat(rep_body, "],\"took_ms\":3}", sizeof(rep_body)) >=
	    sizeof(rep_body))
		die("reply too long");
}

static size_t
frame_len(enum ipc_type t, const void *body)
{
	uint8_t	*out;
	size_t	 len;

	if (ipc_encode(t, 1, body, &out, &len) == -1)
		die("ipc_encode");
	free(out);
	return len + 4;
}

static void
serve_ipc(int fd, void *arg)
{
	struct ipc_msg	 m;

	for (;;) {
		if (ipc_recv_blocking(fd, PROC_INDEXD, PROC_FRONT, &m) == -1) {
			if (errno == 0)
				return;
			die("ipc_recv_blocking (indexd)");
		}
		if (ipc_send_blocking(fd, PROC_INDEXD, PROC_FRONT,
		    IMSG_INDEX_REP, m.id, &irep, -1) == -1)
			die("ipc_send_blocking (indexd)");
		ipc_msg_clear(&m);
	}
}

static size_t	 raw_req, raw_rep;

static void
serve_raw(int fd, void *arg)
{
	static uint8_t	 buf[8192];

	for (;;) {
		readn(fd, buf, raw_req);
		writen(fd, buf, raw_rep);
	}
}

static void
bench_ipc(long iter)
{
	static uint8_t	 buf[8192];
	double		*t_ipc, *t_raw, t;
	struct ipc_msg	 m;
	pid_t		 pid;
	int		 sv[2];

	make_reply();
	raw_req = frame_len(IMSG_INDEX_REQ, &ireq);
	raw_rep = frame_len(IMSG_INDEX_REP, &irep);
	if (raw_req > sizeof(buf) || raw_rep > sizeof(buf))
		die("frames too large");
	if ((t_ipc = calloc(iter, sizeof(double))) == NULL ||
	    (t_raw = calloc(iter, sizeof(double))) == NULL)
		die("calloc");

	pid = fork_peer(sv, serve_ipc, NULL);
	for (long i = -iter / 10; i < iter; i++) {
		t = now_us();
		if (ipc_send_blocking(sv[1], PROC_FRONT, PROC_INDEXD,
		    IMSG_INDEX_REQ, (uint64_t)i + 1000000, &ireq, -1) == -1)
			die("ipc_send_blocking (front)");
		if (ipc_recv_blocking(sv[1], PROC_FRONT, PROC_INDEXD, &m) == -1)
			die("ipc_recv_blocking (front)");
		if (i >= 0)
			t_ipc[i] = now_us() - t;
		ipc_msg_clear(&m);
	}
	reap(sv[1], pid);

	pid = fork_peer(sv, serve_raw, NULL);
	for (long i = -iter / 10; i < iter; i++) {
		t = now_us();
		writen(sv[1], buf, raw_req);
		readn(sv[1], buf, raw_rep);
		if (i >= 0)
			t_raw[i] = now_us() - t;
	}
	reap(sv[1], pid);

	printf("{\"iterations\": %ld, \"req_bytes\": %zu, \"rep_bytes\": %zu, "
	    "\"ipc_p50_us\": %.2f, \"ipc_mean_us\": %.2f, "
	    "\"raw_p50_us\": %.2f, \"raw_mean_us\": %.2f}\n", iter, raw_req,
	    raw_rep, p50(t_ipc, iter), mean(t_ipc, iter), p50(t_raw, iter),
	    mean(t_raw, iter));
	free(t_ipc);
	free(t_raw);
}

/*
 * keyd
 */

#define PIPE_WINDOW	32	/* requests in flight, pipelined mode */
#define PIPE_CHECK	64	/* one pipelined seal in this many reopened */

static struct child	 kc;

/* What common/child.c does before keyd sees a message, for one peer. */
static void
keyd_tramp(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	enum proc_id	 peer = ipc_chan_peer(chan);

	if (kc.dispatch[peer] != NULL)
		kc.dispatch[peer](&kc, chan, msg);
}

static void
keyd_gone(struct ipc_chan *chan, const char *why, void *arg)
{
	ipc_chan_free(chan);
	event_base_loopbreak(kc.base);
}

static void
serve_keyd(int fd, void *arg)
{
	struct keyring	*kr = arg;

	kc.self = PROC_KEYD;
	kc.fd_keyring = kc.fd_tls_cert = kc.fd_tls_key = kc.fd_listen = -1;
	conf_defaults(&kc.conf);
	if ((kc.base = event_base_new()) == NULL)
		die("event_base_new");
	keyd_attach(&kc, kr);
	if (ipc_chan_new(kc.base, fd, PROC_KEYD, PROC_INDEXD, keyd_tramp,
	    keyd_gone, NULL) == NULL)
		die("ipc_chan_new");
	event_base_dispatch(kc.base);
}

static void
ask_keyd(int fd, enum ipc_type t, struct imsg_key_req *r, struct ipc_msg *m)
{
	if (ipc_send_blocking(fd, PROC_INDEXD, PROC_KEYD, t, ipc_next_id(), r,
	    -1) == -1)
		die("ipc_send_blocking (keyd)");
	if (ipc_recv_blocking(fd, PROC_INDEXD, PROC_KEYD, m) == -1)
		die("ipc_recv_blocking (keyd)");
	if (m->type != IMSG_KEY_RESULT) {
		fprintf(stderr, "micro: keyd answered %s\n",
		    ipc_type_name(m->type));
		exit(1);
	}
}

static double
per_s(double t0, long n)
{
	return (double)n / ((now_us() - t0) / 1e6);
}

static void
fail_reply(const char *why, long n)
{
	fprintf(stderr, "micro: keyd reply %ld: %s\n", n, why);
	exit(1);
}

/* What a reply to one of our requests must hold. */
struct expect {
	const struct keyring	*kr;
	const struct seal_ctx	*ctx;
	const uint8_t		*pt;
	size_t			 size;
};

static void
check_open(const struct expect *e, const struct ipc_bin *b, long n)
{
	if (b->len != e->size)
		fail_reply("open: wrong length", n);
	if (memcmp(b->data, e->pt, e->size) != 0)
		fail_reply("open: wrong plaintext", n);
}

static void
check_seal(const struct expect *e, const struct ipc_bin *b, long n)
{
	uint8_t		*out;
	size_t		 outlen;
	uint32_t	 id;

	if (b->len != e->size + SEAL_OVERHEAD)
		fail_reply("seal: wrong length", n);
	if (seal_key_id(b->data, b->len, &id) != SEAL_OK ||
	    id != keyring_newest(e->kr)->id)
		fail_reply("seal: wrong header", n);
	if (n % PIPE_CHECK != 0)
		return;
	if (seal_open(e->kr, e->ctx, b->data, b->len, &out, &outlen) !=
	    SEAL_OK || outlen != e->size || memcmp(out, e->pt, e->size) != 0)
		fail_reply("seal: does not open to the plaintext", n);
	freezero(out, outlen);
}

/* The pipelined client: an ipc_chan on this process's event loop. */
static struct {
	struct event_base	*base;
	struct ipc_chan		*chan;
	enum ipc_type		 type;		/* IMSG_KEY_SEAL or _OPEN */
	struct imsg_key_req	*req;
	const struct expect	*expect;
	uint64_t		 first_id;
	long			 total, sent, got;
} pipe_st;

static void
pipe_send(void)
{
	if (ipc_send(pipe_st.chan, pipe_st.type,
	    pipe_st.first_id + (uint64_t)pipe_st.sent, pipe_st.req, -1) == -1)
		die("ipc_send (pipelined)");
	pipe_st.sent++;
}

static void
pipe_reply(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	const struct ipc_bin	*b;
	long			 n = pipe_st.got;

	if (msg->type != IMSG_KEY_RESULT)
		fail_reply(ipc_type_name(msg->type), n);
	/* keyd answers a channel in order. */
	if (msg->id != pipe_st.first_id + (uint64_t)n)
		fail_reply("out of order or wrong id", n);
	b = &((struct imsg_key_data *)msg->body)->data;
	if (pipe_st.type == IMSG_KEY_OPEN)
		check_open(pipe_st.expect, b, n);
	else
		check_seal(pipe_st.expect, b, n);
	pipe_st.got++;
	if (pipe_st.sent < pipe_st.total)
		pipe_send();
	else if (pipe_st.got == pipe_st.total)
		event_base_loopbreak(pipe_st.base);
}

static void
pipe_gone(struct ipc_chan *chan, const char *why, void *arg)
{
	fprintf(stderr, "micro: channel to keyd: %s\n", why);
	exit(1);
}

/* n requests of type, PIPE_WINDOW in flight; operations per second. */
static double
pipelined(enum ipc_type type, struct imsg_key_req *r, const struct expect *e,
    long n)
{
	double	 t0;

	pipe_st.type = type;
	pipe_st.req = r;
	pipe_st.expect = e;
	pipe_st.first_id = ipc_next_id();
	/* Ids are ours to pick; keep them clear of ipc_next_id()'s. */
	for (long i = 0; i < n; i++)
		(void)ipc_next_id();
	pipe_st.total = n;
	pipe_st.sent = pipe_st.got = 0;
	t0 = now_us();
	while (pipe_st.sent < PIPE_WINDOW && pipe_st.sent < n)
		pipe_send();
	if (event_base_dispatch(pipe_st.base) == -1)
		die("event_base_dispatch");
	if (pipe_st.got != n)
		fail_reply("missing replies", pipe_st.got);
	return per_s(t0, n);
}

/* One at a time, blocking: the round-trip-bound rate. */
static double
one_at_a_time(int fd, enum ipc_type type, struct imsg_key_req *r,
    const struct expect *e, long n)
{
	struct ipc_msg	 m;
	double		 t0;

	t0 = now_us();
	for (long i = 0; i < n; i++) {
		ask_keyd(fd, type, r, &m);
		if (type == IMSG_KEY_OPEN)
			check_open(e, &((struct imsg_key_data *)m.body)->data,
			    i);
		else
			check_seal(e, &((struct imsg_key_data *)m.body)->data,
			    i);
		ipc_msg_clear(&m);
	}
	return per_s(t0, n);
}

/* Raw write/read round trips of raw_req/raw_rep bytes, per second. */
static double
raw_rate(long n)
{
	static uint8_t	 buf[8192];
	double		 t0;
	pid_t		 pid;
	int		 sv[2];

	if (raw_req > sizeof(buf) || raw_rep > sizeof(buf))
		die("frames too large");
	pid = fork_peer(sv, serve_raw, NULL);
	for (long i = 0; i < n / 10; i++) {
		writen(sv[1], buf, raw_req);
		readn(sv[1], buf, raw_rep);
	}
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		writen(sv[1], buf, raw_req);
		readn(sv[1], buf, raw_rep);
	}
	t0 = per_s(t0, n);
	reap(sv[1], pid);
	return t0;
}

static void
bench_keyd(long size, long iter)
{
	struct seal_ctx		 ctx = { "org-bench", "source-bench", NULL,
				    NULL, 0 };
	struct imsg_key_req	 r = { "org-bench", "source-bench", NULL,
				    { NULL, 0 }, { NULL, 0 } };
	struct imsg_key_data	 d;
	struct expect		 e;
	struct keyring		*kr;
	uint8_t			*pt, *sealed, *out;
	size_t			 sealedlen, outlen;
	double			 t0, ipc_seal, ipc_open, pipe_seal, pipe_open;
	double			 in_seal, in_open, raw_open;
	pid_t			 pid;
	int			 sv[2], st;

	if ((kr = keyring_generate()) == NULL)
		die("keyring_generate");
	if ((pt = malloc(size)) == NULL)
		die("malloc");
	arc4random_buf(pt, size);
	e.kr = kr;
	e.ctx = &ctx;
	e.pt = pt;
	e.size = size;

	/* In this process. */
	if (seal(kr, &ctx, pt, size, &sealed, &sealedlen) != SEAL_OK)
		die("seal");
	t0 = now_us();
	for (long i = 0; i < iter; i++) {
		if (seal(kr, &ctx, pt, size, &out, &outlen) != SEAL_OK)
			die("seal");
		free(out);
	}
	in_seal = per_s(t0, iter);
	t0 = now_us();
	for (long i = 0; i < iter; i++) {
		if (seal_open(kr, &ctx, sealed, sealedlen, &out, &outlen) !=
		    SEAL_OK || outlen != (size_t)size)
			die("seal_open");
		freezero(out, outlen);
	}
	in_open = per_s(t0, iter);

	/* The floor of one open at a time: its frames' raw round trip. */
	r.data.data = sealed;
	r.data.len = sealedlen;
	d.data.data = pt;
	d.data.len = size;
	raw_req = frame_len(IMSG_KEY_OPEN, &r);
	raw_rep = frame_len(IMSG_KEY_RESULT, &d);
	raw_open = raw_rate(iter);

	/* Through keyd's dispatch in another process; it owns kr there. */
	pid = fork_peer(sv, serve_keyd, kr);
	r.data.data = pt;
	r.data.len = size;
	(void)one_at_a_time(sv[1], IMSG_KEY_SEAL, &r, &e, iter / 10);
	ipc_seal = one_at_a_time(sv[1], IMSG_KEY_SEAL, &r, &e, iter);
	r.data.data = sealed;
	r.data.len = sealedlen;
	ipc_open = one_at_a_time(sv[1], IMSG_KEY_OPEN, &r, &e, iter);

	/* The same channel, now driven by an event loop, requests queued. */
	if ((pipe_st.base = event_base_new()) == NULL)
		die("event_base_new");
	if ((pipe_st.chan = ipc_chan_new(pipe_st.base, sv[1], PROC_INDEXD,
	    PROC_KEYD, pipe_reply, pipe_gone, NULL)) == NULL)
		die("ipc_chan_new");
	r.data.data = pt;
	r.data.len = size;
	(void)pipelined(IMSG_KEY_SEAL, &r, &e, iter / 10);
	pipe_seal = pipelined(IMSG_KEY_SEAL, &r, &e, iter);
	r.data.data = sealed;
	r.data.len = sealedlen;
	pipe_open = pipelined(IMSG_KEY_OPEN, &r, &e, iter);
	ipc_chan_free(pipe_st.chan);	/* closes sv[1]: keyd sees EOF */
	event_base_free(pipe_st.base);
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "micro: keyd %d failed\n", (int)pid);
		exit(1);
	}

	printf("{\"size\": %ld, \"iterations\": %ld, \"window\": %d, "
	    "\"ipc_seal_per_s\": %.0f, \"ipc_open_per_s\": %.0f, "
	    "\"pipelined_seal_per_s\": %.0f, \"pipelined_open_per_s\": %.0f, "
	    "\"raw_open_req_bytes\": %zu, \"raw_open_rep_bytes\": %zu, "
	    "\"raw_open_round_trips_per_s\": %.0f, "
	    "\"inproc_seal_per_s\": %.0f, \"inproc_open_per_s\": %.0f}\n",
	    size, iter, PIPE_WINDOW, ipc_seal, ipc_open, pipe_seal, pipe_open,
	    raw_req, raw_rep, raw_open, in_seal, in_open);
	free(sealed);
	freezero(pt, size);
	keyring_free(kr);
}

/*
 * argon2
 */

static void
bench_argon2(long mkib, long t_cost, long n)
{
	static const char	 pw[] = "bench-password-123";
	uint8_t			 salt[16], hash[32];
	double			*t, t0;

	if ((t = calloc(n, sizeof(double))) == NULL)
		die("calloc");
	arc4random_buf(salt, sizeof(salt));
	for (long i = 0; i < n; i++) {
		t0 = now_us();
		if (argon2id_hash_raw(t_cost, mkib, 1, pw, sizeof(pw) - 1, salt,
		    sizeof(salt), hash, sizeof(hash)) != ARGON2_OK)
			die("argon2id_hash_raw");
		t[i] = now_us() - t0;
	}
	printf("{\"memory_kib\": %ld, \"iterations\": %ld, \"n\": %ld, "
	    "\"p50_ms\": %.3f, \"mean_ms\": %.3f, \"per_s\": %.1f}\n", mkib,
	    t_cost, n, p50(t, n) / 1000, mean(t, n) / 1000,
	    1e6 / mean(t, n));
	free(t);
}

int
main(int argc, char *argv[])
{
	log_init(1, LOG_LEVEL_WARN, "micro");
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "ipc") == 0)
		bench_ipc(num(argv[2], 10, 10000000));
	else if (argc == 4 && strcmp(argv[1], "keyd") == 0)
		bench_keyd(num(argv[2], 1, SEAL_MAX_PLAINTEXT),
		    num(argv[3], 10, 100000000));
	else if (argc == 5 && strcmp(argv[1], "argon2") == 0)
		bench_argon2(num(argv[2], 8, 4194304), num(argv[3], 1, 100),
		    num(argv[4], 1, 100000));
	else {
		fprintf(stderr, "usage: micro ipc ITER | keyd SIZE ITER | "
		    "argon2 MEMKIB ITERATIONS N\n");
		return 2;
	}
	return 0;
}

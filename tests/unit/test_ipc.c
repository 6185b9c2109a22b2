/*
 * IPC: the message catalogue (every type round-trips; exact decoding
 * refuses every kind of malformed message), the trust table, and channels
 * over real socketpairs on a real event loop (fd passing, big messages,
 * violations, freeing a channel from its own callbacks).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <msgpack.h>

#include "common/conf.h"
#include "common/ipc.h"
#include "common/util.h"

/*
 * Helpers: filled bodies, comparison, hand-built msgpack.
 */

static char *
make_str(size_t len, char c)
{
	char	*s = malloc(len + 1);

	assert_non_null(s);
	memset(s, c, len);
	s[len] = '\0';
	return s;
}

/* A body of the type with every field set to a valid, non-trivial value. */
static void *
fill_body(enum ipc_type type)
{
	const struct ipc_msgdef	*def = ipc_msgdef(type);
	char			*body;

	assert_non_null(def);
	body = calloc(1, def->bodysize);
	assert_non_null(body);
	for (size_t i = 0; i < def->nfields; i++) {
		const struct ipc_field	*f = &def->fields[i];
		void			*p = body + f->off;
		uint64_t		 max = f->max ? f->max : UINT64_MAX;
		size_t			 slen = f->min > 3 ? f->min : 3;

		switch (f->kind) {
		case IPC_K_U64:
			*(uint64_t *)p = f->min + 1 <= max ? f->min + 1 : f->min;
			break;
		case IPC_K_I64:
			*(int64_t *)p = -12345;
			break;
		case IPC_K_BOOL:
			*(int *)p = 1;
			break;
		case IPC_K_STR:
			*(char **)p = make_str(slen, 'a' + (char)i);
			break;
		case IPC_K_BIN: {
			struct ipc_bin	*b = p;

			b->data = (uint8_t *)make_str(slen, '\0');
			b->len = slen;
			break;
		}
		case IPC_K_STRV: {
			struct ipc_strv	*sv = p;

			sv->v = calloc(3, sizeof(char *));
			assert_non_null(sv->v);
			sv->v[0] = make_str(1, 'x');
			sv->v[1] = make_str(2, 'y');
			sv->n = 2;
			break;
		}
		}
	}
	return body;
}

static void
free_body(enum ipc_type type, void *body)
{
	ipc_body_wipe(type, body);
	free(body);
}

static void
assert_body_equal(enum ipc_type type, const void *a, const void *b)
{
	const struct ipc_msgdef	*def = ipc_msgdef(type);

	for (size_t i = 0; i < def->nfields; i++) {
		const struct ipc_field	*f = &def->fields[i];
		const char		*pa = (const char *)a + f->off;
		const char		*pb = (const char *)b + f->off;

		switch (f->kind) {
		case IPC_K_U64:
			assert_int_equal(*(const uint64_t *)pa,
			    *(const uint64_t *)pb);
			break;
		case IPC_K_I64:
			assert_true(*(const int64_t *)pa ==
			    *(const int64_t *)pb);
			break;
		case IPC_K_BOOL:
			assert_int_equal(*(const int *)pa, *(const int *)pb);
			break;
		case IPC_K_STR:
			assert_string_equal(*(char *const *)pa,
			    *(char *const *)pb);
			break;
		case IPC_K_BIN: {
			const struct ipc_bin	*ba = (const void *)pa;
			const struct ipc_bin	*bb = (const void *)pb;

			assert_int_equal(ba->len, bb->len);
			assert_memory_equal(ba->data, bb->data, ba->len);
			break;
		}
		case IPC_K_STRV: {
			const struct ipc_strv	*sa = (const void *)pa;
			const struct ipc_strv	*sb = (const void *)pb;

			assert_int_equal(sa->n, sb->n);
			for (size_t k = 0; k < sa->n; k++)
				assert_string_equal(sa->v[k], sb->v[k]);
			break;
		}
		}
	}
}

struct mp {
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
};

static void
mp_init(struct mp *m)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void
mp_free(struct mp *m)
{
	msgpack_sbuffer_destroy(&m->sb);
}

static void
mp_str(struct mp *m, const char *s, size_t len)
{
	msgpack_pack_str(&m->pk, len);
	msgpack_pack_str_body(&m->pk, s, len);
}

static void
mp_key(struct mp *m, const char *s)
{
	mp_str(m, s, strlen(s));
}

/* [type, id, {  -- with nkeys keys to follow */
static void
mp_head(struct mp *m, uint64_t type, uint32_t nkeys)
{
	mp_init(m);
	msgpack_pack_array(&m->pk, 3);
	msgpack_pack_uint64(&m->pk, type);
	msgpack_pack_uint64(&m->pk, 42);
	msgpack_pack_map(&m->pk, nkeys);
}

static int
decode_buf(const void *buf, size_t len, char *err, size_t errlen)
{
	struct ipc_msg	 msg;
	int		 rv;

	rv = ipc_decode(buf, len, &msg, err, errlen);
	if (rv == 0)
		ipc_msg_clear(&msg);
	else {
		assert_null(msg.body);
		assert_int_equal(msg.fd, -1);
	}
	return rv;
}

/* The message is refused, and the reason mentions `why`. */
static void
assert_reject(const void *buf, size_t len, const char *why)
{
	char	 err[128];

	assert_int_equal(decode_buf(buf, len, err, sizeof(err)), -1);
	if (strstr(err, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err, why);
}

static void
mp_reject(struct mp *m, const char *why)
{
	assert_reject(m->sb.data, m->sb.size, why);
	mp_free(m);
}

static void
mp_accept(struct mp *m)
{
	char	 err[128];

	if (decode_buf(m->sb.data, m->sb.size, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	mp_free(m);
}

/*
 * The catalogue.
 */

static void
test_roundtrip_all(void **state)
{
	for (int t = IMSG_NONE + 1; t < IMSG_MAX; t++) {
		void		*body = fill_body(t);
		struct ipc_msg	 msg;
		uint8_t		*buf;
		size_t		 len;
		char		 err[128];

		assert_int_equal(ipc_encode(t, 1000 + t, body, &buf, &len), 0);
		if (ipc_decode(buf, len, &msg, err, sizeof(err)) != 0)
			fail_msg("%s: %s", ipc_type_name(t), err);
		assert_int_equal(msg.type, t);
		assert_int_equal(msg.id, 1000 + t);
		assert_int_equal(msg.fd, -1);
		assert_non_null(msg.body);
		assert_body_equal(t, body, msg.body);
		ipc_msg_clear(&msg);
		assert_null(msg.body);
		free(buf);
		free_body(t, body);
	}
}

static void
test_names(void **state)
{
	assert_string_equal(ipc_type_name(IMSG_CONF), "IMSG_CONF");
	assert_string_equal(ipc_type_name(IMSG_CTL_RESULT), "IMSG_CTL_RESULT");
	assert_string_equal(ipc_type_name(IMSG_MAX), "unknown");
	assert_string_equal(ipc_type_name((enum ipc_type)-1), "unknown");
	assert_null(ipc_msgdef(IMSG_NONE));
	assert_null(ipc_msgdef(IMSG_MAX));
	for (int t = IMSG_NONE + 1; t < IMSG_MAX; t++) {
		assert_non_null(ipc_msgdef(t));
		assert_true(strncmp(ipc_type_name(t), "IMSG_", 5) == 0);
		assert_true(ipc_msgdef(t)->senders != 0);
		assert_true(ipc_msgdef(t)->receivers != 0);
	}
	assert_int_equal(ipc_msgdef(IMSG_FD)->wants_fd, 1);
	assert_int_equal(ipc_msgdef(IMSG_CHANNEL)->wants_fd, 1);
	assert_int_equal(ipc_msgdef(IMSG_CONF)->wants_fd, 0);
}

static void
test_truncated(void **state)
{
	for (int t = IMSG_NONE + 1; t < IMSG_MAX; t++) {
		void	*body = fill_body(t);
		uint8_t	*buf;
		size_t	 len;
		char	 err[128];

		assert_int_equal(ipc_encode(t, UINT64_MAX, body, &buf, &len),
		    0);
		for (size_t n = 0; n < len; n++) {
			/* an exact-size copy so ASan catches overreads */
			uint8_t	*cut = malloc(n ? n : 1);

			memcpy(cut, buf, n);
			assert_int_equal(decode_buf(cut, n, err, sizeof(err)),
			    -1);
			free(cut);
		}
		free(buf);
		free_body(t, body);
	}
}

static void
test_trailing(void **state)
{
	struct imsg_conf	 c = { "x = 1" };
	uint8_t			*buf, *longer;
	size_t			 len;

	assert_int_equal(ipc_encode(IMSG_CONF, 1, &c, &buf, &len), 0);
	longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0xc0;
	assert_reject(longer, len + 1, "trailing");
	free(longer);
	/* two messages in one buffer are not one message */
	longer = malloc(2 * len);
	memcpy(longer, buf, len);
	memcpy(longer + len, buf, len);
	assert_reject(longer, 2 * len, "trailing");
	free(longer);
	free(buf);
}

static void
test_envelope(void **state)
{
	struct mp	 m;
	static const uint8_t	 notarray[] = { 0x81, 0xa1, 'a', 0x01 };
	static const uint8_t	 two[] = { 0x92, 0x01, 0x01 };
	static const uint8_t	 four[] = { 0x94, 0x03, 0x01, 0x80, 0xc0 };
	static const uint8_t	 negid[] = { 0x93, 0x03, 0xff, 0x80 };
	static const uint8_t	 nilbody[] = { 0x93, 0x03, 0x01, 0xc0 };
	static const uint8_t	 strtype[] = { 0x93, 0xa1, '3', 0x01, 0x80 };
	static const uint8_t	 good[] = { 0x93, 0x03, 0x01, 0x80 };

	mp_head(&m, IMSG_CONF_END, 0);
	mp_accept(&m);
	assert_reject(notarray, sizeof(notarray), "array");
	assert_reject(two, sizeof(two), "array");
	assert_reject(four, sizeof(four), "array");
	assert_reject(negid, sizeof(negid), "bad id");
	assert_reject(nilbody, sizeof(nilbody), "not a map");
	assert_reject(strtype, sizeof(strtype), "bad type");
	assert_reject(good, 0, "length");
	assert_reject("\xc1", 1, "malformed");

	/* non-string key */
	mp_head(&m, IMSG_CONF, 1);
	msgpack_pack_uint64(&m.pk, 1);
	mp_key(&m, "x");
	mp_reject(&m, "key not a string");
}

static void
test_unknown_type(void **state)
{
	struct mp	 m;
	static const uint8_t	 negtype[] = { 0x93, 0xff, 0x01, 0x80 };

	mp_head(&m, IMSG_NONE, 0);
	mp_reject(&m, "unknown type");
	mp_head(&m, IMSG_MAX, 0);
	mp_reject(&m, "unknown type");
	mp_head(&m, UINT64_MAX, 0);
	mp_reject(&m, "unknown type");
	assert_reject(negtype, sizeof(negtype), "bad type");
}

static void
test_wrong_types(void **state)
{
	struct mp	 m;

	/* U64 given a string */
	mp_head(&m, IMSG_PONG, 2);
	mp_key(&m, "pid");
	mp_key(&m, "12");
	mp_key(&m, "state");
	mp_key(&m, "ok");
	mp_reject(&m, "field 'pid': wrong type");

	/* U64 given a negative number */
	mp_head(&m, IMSG_PONG, 2);
	mp_key(&m, "pid");
	msgpack_pack_int64(&m.pk, -5);
	mp_key(&m, "state");
	mp_key(&m, "ok");
	mp_reject(&m, "field 'pid': wrong type");

	/* U64 given a float */
	mp_head(&m, IMSG_CHANNEL, 1);
	mp_key(&m, "peer");
	msgpack_pack_double(&m.pk, 2.0);
	mp_reject(&m, "field 'peer': wrong type");

	/* STR given an int, and given bin */
	mp_head(&m, IMSG_CONF, 1);
	mp_key(&m, "text");
	msgpack_pack_uint64(&m.pk, 7);
	mp_reject(&m, "field 'text': wrong type");
	mp_head(&m, IMSG_CONF, 1);
	mp_key(&m, "text");
	msgpack_pack_bin(&m.pk, 2);
	msgpack_pack_bin_body(&m.pk, "ab", 2);
	mp_reject(&m, "field 'text': wrong type");

	/* BOOL given an int */
	mp_head(&m, IMSG_CTL_RESULT, 2);
	mp_key(&m, "ok");
	msgpack_pack_uint64(&m.pk, 1);
	mp_key(&m, "message");
	mp_key(&m, "done");
	mp_reject(&m, "field 'ok': wrong type");

	/* ranges */
	mp_head(&m, IMSG_CHANNEL, 1);
	mp_key(&m, "peer");
	msgpack_pack_uint64(&m.pk, 0);
	mp_reject(&m, "field 'peer': out of range");
	mp_head(&m, IMSG_CHANNEL, 1);
	mp_key(&m, "peer");
	msgpack_pack_uint64(&m.pk, PROC_MAX);
	mp_reject(&m, "field 'peer': out of range");
	mp_head(&m, IMSG_CHANNEL, 1);
	mp_key(&m, "peer");
	msgpack_pack_uint64(&m.pk, PROC_MAX - 1);
	mp_accept(&m);
	mp_head(&m, IMSG_READY, 3);
	mp_key(&m, "pid");
	msgpack_pack_uint64(&m.pk, 0);
	mp_key(&m, "uid");
	msgpack_pack_uint64(&m.pk, 1);
	mp_key(&m, "gid");
	msgpack_pack_uint64(&m.pk, 1);
	mp_reject(&m, "field 'pid': out of range");
}

static void
test_lengths(void **state)
{
	struct mp	 m;
	char		*s;

	mp_head(&m, IMSG_FD, 1);
	mp_key(&m, "what");
	mp_key(&m, "");
	mp_reject(&m, "field 'what': too short");

	s = make_str(33, 'k');
	mp_head(&m, IMSG_FD, 1);
	mp_key(&m, "what");
	mp_key(&m, s);
	mp_reject(&m, "field 'what': too long");
	s[32] = '\0';
	mp_head(&m, IMSG_FD, 1);
	mp_key(&m, "what");
	mp_key(&m, s);
	mp_accept(&m);
	free(s);

	s = make_str(CONF_MAX_SIZE + 1, 'c');
	mp_head(&m, IMSG_CONF, 1);
	mp_key(&m, "text");
	mp_key(&m, s);
	mp_reject(&m, "field 'text': too long");
	s[CONF_MAX_SIZE] = '\0';
	mp_head(&m, IMSG_RELOAD, 1);
	mp_key(&m, "text");
	mp_key(&m, s);
	mp_accept(&m);
	free(s);
}

static void
test_extra_missing_duplicate(void **state)
{
	struct mp	 m;

	/* an extra key (map one larger than the table) */
	mp_head(&m, IMSG_CONF, 2);
	mp_key(&m, "text");
	mp_key(&m, "a");
	mp_key(&m, "more");
	mp_key(&m, "b");
	mp_reject(&m, "body:");

	/* an unknown key in place of a known one */
	mp_head(&m, IMSG_PONG, 2);
	mp_key(&m, "pid");
	msgpack_pack_uint64(&m.pk, 10);
	mp_key(&m, "status");
	mp_key(&m, "ok");
	mp_reject(&m, "body: unknown key");

	/* a key that is a prefix of a known one */
	mp_head(&m, IMSG_CONF, 1);
	mp_key(&m, "tex");
	mp_key(&m, "a");
	mp_reject(&m, "body: unknown key");

	/* an empty body where keys are required */
	mp_head(&m, IMSG_CTL_PROC, 0);
	mp_reject(&m, "missing");

	/* one required key short */
	mp_head(&m, IMSG_READY, 2);
	mp_key(&m, "pid");
	msgpack_pack_uint64(&m.pk, 10);
	mp_key(&m, "uid");
	msgpack_pack_uint64(&m.pk, 10);
	mp_reject(&m, "field 'gid': missing");

	/* duplicate */
	mp_head(&m, IMSG_PONG, 2);
	mp_key(&m, "pid");
	msgpack_pack_uint64(&m.pk, 10);
	mp_key(&m, "pid");
	msgpack_pack_uint64(&m.pk, 11);
	mp_reject(&m, "body: duplicate key");

	/* an empty body must be empty */
	mp_head(&m, IMSG_PING, 1);
	mp_key(&m, "x");
	mp_key(&m, "y");
	mp_reject(&m, "body:");
}

static void
test_bad_strings(void **state)
{
	static const char *const bad[] = {
		"\xff\xfe",		/* not UTF-8 */
		"\xc0\xaf",		/* overlong */
		"\xed\xa0\x80",		/* surrogate */
		"ab\xe2\x82",		/* cut sequence */
	};
	struct mp	 m;

	for (size_t i = 0; i < nitems(bad); i++) {
		mp_head(&m, IMSG_CONF, 1);
		mp_key(&m, "text");
		mp_key(&m, bad[i]);
		mp_reject(&m, "field 'text': not UTF-8");
	}
	mp_head(&m, IMSG_CONF, 1);
	mp_key(&m, "text");
	mp_str(&m, "a\0b", 3);
	mp_reject(&m, "has NUL");
	mp_head(&m, IMSG_CONF, 1);
	mp_key(&m, "text");
	mp_key(&m, "caf\xc3\xa9 \xf0\x9f\x94\x91");
	mp_accept(&m);
}

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 +
	    (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
test_bombs(void **state)
{
	static const uint8_t	 arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0 };
	static const uint8_t	 map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0 };
	static const uint8_t	 str32[] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 0 };
	static const uint8_t	 bin32[] = { 0xc6, 0x7f, 0xff, 0xff, 0xff, 0 };
	static const uint8_t	 ext32[] = { 0xc9, 0x7f, 0xff, 0xff, 0xff, 1 };
	/* [IMSG_CONF, 1, {"text": array32 of 4G}] */
	static const uint8_t	 inner[] = { 0x93, 0x01, 0x01, 0x81,
	    0xa4, 't', 'e', 'x', 't', 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0 };
	struct timespec		 t0;
	uint8_t			 deep[32];
	uint8_t			*wide;
	size_t			 n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_reject(arr32, sizeof(arr32), "too large");
	assert_reject(map32, sizeof(map32), "too large");
	assert_reject(str32, sizeof(str32), "truncated");
	assert_reject(bin32, sizeof(bin32), "truncated");
	assert_reject(ext32, sizeof(ext32), "truncated");
	assert_reject(inner, sizeof(inner), "too large");
	assert_true(elapsed_ms(&t0) < 50.0);

	/* nesting: 9 arrays deep is refused, 8 is only ill-typed */
	memset(deep, 0x91, sizeof(deep));
	deep[9] = 0xc0;
	assert_reject(deep, 10, "too deep");
	deep[8] = 0xc0;
	assert_reject(deep, 9, "array of 3");

	/* many small elements: bounded as a whole */
	n = 5 + 70000;
	wide = malloc(n);
	wide[0] = 0xdd;
	wide[1] = 0x00;
	wide[2] = 0x01;
	wide[3] = 0x11;
	wide[4] = 0x70;		/* 70000 elements */
	memset(wide + 5, 0xc0, n - 5);
	assert_reject(wide, n, "too large");
	free(wide);
}

static void
test_encode_validates(void **state)
{
	struct imsg_conf	 conf = { NULL };
	struct imsg_fd		 fdb = { "123456789012345678901234567890123" };
	struct imsg_channel	 ch = { 0 };
	struct imsg_pong	 pong = { 1, "" };
	uint8_t			*buf;
	size_t			 len;

	assert_int_equal(ipc_encode(IMSG_CONF, 1, &conf, &buf, &len), -1);
	assert_null(buf);
	conf.text = "\xff";
	assert_int_equal(ipc_encode(IMSG_CONF, 1, &conf, &buf, &len), -1);
	assert_int_equal(ipc_encode(IMSG_CONF, 1, NULL, &buf, &len), -1);
	assert_int_equal(ipc_encode(IMSG_FD, 1, &fdb, &buf, &len), -1);
	assert_int_equal(ipc_encode(IMSG_CHANNEL, 1, &ch, &buf, &len), -1);
	ch.peer = PROC_MAX;
	assert_int_equal(ipc_encode(IMSG_CHANNEL, 1, &ch, &buf, &len), -1);
	assert_int_equal(ipc_encode(IMSG_PONG, 1, &pong, &buf, &len), -1);
	assert_int_equal(ipc_encode(IMSG_NONE, 1, NULL, &buf, &len), -1);
	assert_int_equal(ipc_encode(IMSG_MAX, 1, NULL, &buf, &len), -1);
	/* empty bodies need no struct */
	assert_int_equal(ipc_encode(IMSG_PING, 7, NULL, &buf, &len), 0);
	free(buf);
}

static void
test_policy(void **state)
{
	assert_false(ipc_policy_allows(IMSG_CTL_STOP, PROC_FRONT, PROC_PARENT));
	assert_true(ipc_policy_allows(IMSG_CTL_STOP, PROC_CTL, PROC_PARENT));
	assert_false(ipc_policy_allows(IMSG_CTL_STOP, PROC_CTL, PROC_FRONT));
	assert_true(ipc_policy_allows(IMSG_PING, PROC_FRONT, PROC_KEYD));
	assert_true(ipc_policy_allows(IMSG_PING, PROC_PARENT, PROC_FRONT));
	assert_false(ipc_policy_allows(IMSG_PING, PROC_KEYD, PROC_FRONT));
	assert_true(ipc_policy_allows(IMSG_PONG, PROC_KEYD, PROC_FRONT));
	assert_false(ipc_policy_allows(IMSG_PONG, PROC_KEYD, PROC_AUTHD));
	assert_false(ipc_policy_allows(IMSG_CONF, PROC_FRONT, PROC_KEYD));
	assert_true(ipc_policy_allows(IMSG_CONF, PROC_PARENT, PROC_KEYD));
	assert_false(ipc_policy_allows(IMSG_CONF, PROC_PARENT, PROC_CTL));
	assert_false(ipc_policy_allows(IMSG_CONF, PROC_PARENT, PROC_FETCHER));
	assert_true(ipc_policy_allows(IMSG_READY, PROC_INDEXD, PROC_PARENT));
	assert_false(ipc_policy_allows(IMSG_READY, PROC_CTL, PROC_PARENT));
	assert_true(ipc_policy_allows(IMSG_CTL_RESULT, PROC_PARENT, PROC_CTL));
	assert_false(ipc_policy_allows(IMSG_CTL_RESULT, PROC_PARENT,
	    PROC_FRONT));
	assert_false(ipc_policy_allows(IMSG_NONE, PROC_PARENT, PROC_FRONT));
	assert_false(ipc_policy_allows(IMSG_MAX, PROC_PARENT, PROC_FRONT));
	assert_false(ipc_policy_allows(IMSG_CONF, PROC_MAX, PROC_FRONT));
	assert_false(ipc_policy_allows(IMSG_CONF, PROC_PARENT, PROC_MAX));
	assert_false(ipc_policy_allows(IMSG_CONF, (enum proc_id)-1,
	    PROC_FRONT));
	/* nobody talks to itself */
	for (int t = IMSG_NONE + 1; t < IMSG_MAX; t++)
		for (int p = 0; p < PROC_MAX; p++)
			assert_false(ipc_policy_allows(t, p, p));
}

static void
test_next_id(void **state)
{
	uint64_t	 a = ipc_next_id(), b = ipc_next_id();

	assert_true(a != 0);
	assert_true(b != 0);
	assert_true(a != b);
}

static void
test_msg_clear_closes_fd(void **state)
{
	struct ipc_msg	 msg;
	int		 p[2];
	char		 err[64];
	uint8_t		*buf;
	size_t		 len;
	struct imsg_fd	 b = { "keyring" };

	assert_int_equal(ipc_encode(IMSG_FD, 3, &b, &buf, &len), 0);
	assert_int_equal(ipc_decode(buf, len, &msg, err, sizeof(err)), 0);
	free(buf);
	assert_int_equal(pipe(p), 0);
	msg.fd = p[0];
	ipc_msg_clear(&msg);
	assert_int_equal(msg.fd, -1);
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	close(p[1]);
}

/*
 * Channels.
 */

struct side {
	struct ipc_chan	*chan;
	int		 nmsg;
	enum ipc_type	 types[16];
	uint64_t	 ids[16];
	char		*text;		/* a copy of the last string payload */
	int		 gotfd_ok;
	int		 errors;
	char		 why[64];
	int		 free_in_dispatch;
	struct event_base *base;
	struct side	*other;
	int		 want;		/* stop the loop at this many msgs */
};

static void
side_dispatch(struct ipc_chan *c, struct ipc_msg *msg, void *arg)
{
	struct side	*s = arg;

	assert_true(c == s->chan);
	if (s->nmsg < 16) {
		s->types[s->nmsg] = msg->type;
		s->ids[s->nmsg] = msg->id;
	}
	s->nmsg++;
	switch (msg->type) {
	case IMSG_FD:
		/* the passed fd works on this side */
		if (msg->fd >= 0 && write(msg->fd, "hello", 5) == 5)
			s->gotfd_ok = 1;
		break;
	case IMSG_CONF:
		free(s->text);
		s->text = strdup(((struct imsg_conf *)msg->body)->text);
		break;
	case IMSG_CTL_RESULT:
		free(s->text);
		s->text = strdup(((struct imsg_ctl_result *)msg->body)->message);
		break;
	case IMSG_PING: {
		struct imsg_pong	 p = { (uint64_t)getpid(), "ok" };

		assert_int_equal(ipc_send(c, IMSG_PONG, msg->id, &p, -1), 0);
		break;
	}
	default:
		break;
	}
	if (s->free_in_dispatch) {
		ipc_chan_free(c);
		s->chan = NULL;
	}
	if (s->want && s->nmsg >= s->want)
		event_base_loopbreak(s->base);
}

static void
side_error(struct ipc_chan *c, const char *why, void *arg)
{
	struct side	*s = arg;

	assert_true(c == s->chan);
	s->errors++;
	strlcpy(s->why, why, sizeof(s->why));
	ipc_chan_free(c);
	s->chan = NULL;
	event_base_loopbreak(s->base);
}

static void
timeout_cb(int fd, short ev, void *arg)
{
	*(int *)arg = 1;
}

/* Run the loop until a callback breaks it; fail after 10 s. */
static void
run_loop(struct event_base *base)
{
	struct timeval	 tv = { 10, 0 };
	struct event	*t;
	int		 timedout = 0;

	t = evtimer_new(base, timeout_cb, &timedout);
	evtimer_add(t, &tv);
	event_base_loop(base, 0);
	event_free(t);
	assert_false(timedout);
}

struct pair {
	struct event_base	*base;
	struct side		 a;
	struct side		 b;
	int			 sv[2];
};

static void
pair_open(struct pair *p, enum proc_id a, enum proc_id b)
{
	memset(p, 0, sizeof(*p));
	p->base = event_base_new();
	assert_non_null(p->base);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->sv), 0);
	p->a.base = p->b.base = p->base;
	p->a.other = &p->b;
	p->b.other = &p->a;
	p->a.chan = ipc_chan_new(p->base, p->sv[0], a, b, side_dispatch,
	    side_error, &p->a);
	p->b.chan = ipc_chan_new(p->base, p->sv[1], b, a, side_dispatch,
	    side_error, &p->b);
	assert_non_null(p->a.chan);
	assert_non_null(p->b.chan);
	assert_int_equal(ipc_chan_peer(p->a.chan), b);
	assert_int_equal(ipc_chan_fd(p->b.chan), p->sv[1]);
}

static void
pair_close(struct pair *p)
{
	ipc_chan_free(p->a.chan);
	ipc_chan_free(p->b.chan);
	free(p->a.text);
	free(p->b.text);
	event_base_free(p->base);
}

static void
test_chan_exchange(void **state)
{
	struct pair		 p;
	struct imsg_conf	 conf = { "log level debug\n" };
	struct imsg_fd		 fdb = { "keyring" };
	struct imsg_ready	 ready = { 1234, 100, 100 };
	int			 pfd[2];
	char			 buf[8];
	uint64_t		 pingid = ipc_next_id();

	pair_open(&p, PROC_PARENT, PROC_FRONT);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(ipc_send(p.a.chan, IMSG_CONF, 1, &conf, -1), 0);
	assert_int_equal(ipc_send(p.a.chan, IMSG_FD, 2, &fdb, pfd[1]), 0);
	assert_int_equal(ipc_send(p.a.chan, IMSG_CONF_END, 3, NULL, -1), 0);
	assert_int_equal(ipc_send(p.a.chan, IMSG_PING, pingid, NULL, -1), 0);
	assert_int_equal(ipc_send(p.b.chan, IMSG_READY, 4, &ready, -1), 0);
	p.a.want = 2;	/* READY, then the PONG */
	run_loop(p.base);

	assert_int_equal(p.b.nmsg, 4);
	assert_int_equal(p.b.types[0], IMSG_CONF);
	assert_int_equal(p.b.types[1], IMSG_FD);
	assert_int_equal(p.b.types[2], IMSG_CONF_END);
	assert_int_equal(p.b.types[3], IMSG_PING);
	assert_int_equal(p.b.ids[1], 2);
	assert_string_equal(p.b.text, conf.text);
	assert_true(p.b.gotfd_ok);
	assert_int_equal(read(pfd[0], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);

	assert_int_equal(p.a.nmsg, 2);
	assert_int_equal(p.a.types[0], IMSG_READY);
	assert_int_equal(p.a.types[1], IMSG_PONG);
	assert_true(p.a.ids[1] == pingid);
	assert_int_equal(p.a.errors + p.b.errors, 0);
	close(pfd[0]);
	pair_close(&p);
}

static void
test_chan_refuses_to_send(void **state)
{
	struct pair		 p;
	struct imsg_conf	 conf = { "x" };
	struct imsg_fd		 fdb = { "keyring" };
	int			 pfd[2];

	pair_open(&p, PROC_FRONT, PROC_PARENT);
	/* not ours to send */
	assert_int_equal(ipc_send(p.a.chan, IMSG_CONF, 1, &conf, -1), -1);
	assert_int_equal(ipc_send(p.a.chan, IMSG_CTL_STOP, 1, NULL, -1), -1);
	/* an fd where none belongs is closed */
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(ipc_send(p.a.chan, IMSG_PING, 1, NULL, pfd[0]), -1);
	assert_int_equal(fcntl(pfd[0], F_GETFD), -1);
	close(pfd[1]);
	/* an fd message without its fd */
	assert_int_equal(ipc_send(p.b.chan, IMSG_FD, 1, &fdb, -1), -1);
	/* invalid bodies */
	conf.text = "\xc3";
	assert_int_equal(ipc_send(p.b.chan, IMSG_CONF, 1, &conf, -1), -1);
	assert_int_equal(ipc_send(p.b.chan, IMSG_CONF, 1, NULL, -1), -1);
	pair_close(&p);
}

static void
test_chan_big(void **state)
{
	struct pair		 p;
	size_t			 big = 5 * 1024 * 1024;
	struct imsg_ctl_result	 res = { 1, NULL };

	pair_open(&p, PROC_PARENT, PROC_CTL);
	res.message = make_str(big, 'z');
	res.message[big / 2] = 'q';
	assert_int_equal(ipc_send(p.a.chan, IMSG_CTL_RESULT, 9, &res, -1), 0);
	assert_int_equal(ipc_send(p.a.chan, IMSG_CTL_RESULT, 10, &res, -1), 0);
	assert_int_equal(ipc_send(p.b.chan, IMSG_CTL_STATUS, 11, NULL, -1), 0);
	p.b.want = 2;
	run_loop(p.base);
	assert_int_equal(p.b.nmsg, 2);
	assert_non_null(p.b.text);
	assert_int_equal(strlen(p.b.text), big);
	assert_string_equal(p.b.text, res.message);
	assert_int_equal(p.a.nmsg, 1);
	assert_int_equal(p.a.types[0], IMSG_CTL_STATUS);
	free(res.message);
	pair_close(&p);
}

static void
write_frame(int fd, const void *msg, size_t len)
{
	uint8_t	 hdr[4] = { len >> 24, len >> 16, len >> 8, len };

	assert_int_equal(write(fd, hdr, 4), 4);
	if (len > 0)
		assert_int_equal(write(fd, msg, len), (ssize_t)len);
}

/* One bad input written raw to the front's channel: dropped, counted. */
static void
violation_case(const void *raw, size_t rawlen, int frame)
{
	struct pair	 p;
	uint64_t	 before = ipc_violations();

	pair_open(&p, PROC_PARENT, PROC_FRONT);
	/* write under the parent channel's feet, as a broken parent would */
	if (frame)
		write_frame(p.sv[0], raw, rawlen);
	else
		assert_int_equal(write(p.sv[0], raw, rawlen), (ssize_t)rawlen);
	run_loop(p.base);
	assert_int_equal(p.b.errors, 1);
	assert_string_equal(p.b.why, "protocol violation");
	assert_null(p.b.chan);
	assert_int_equal(p.b.nmsg, 0);
	assert_true(ipc_violations() == before + 1);
	pair_close(&p);
}

static void
test_chan_violations(void **state)
{
	static const uint8_t	 hugelen[] = { 0x02, 0x00, 0x00, 0x01 };
	static const uint8_t	 zerolen[] = { 0, 0, 0, 0 };
	static const uint8_t	 garbage[] = { 0xc1, 0xc1 };
	static const uint8_t	 bomb[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	uint8_t			*buf;
	size_t			 len;

	/* a frame over IPC_MAX_MSG: refused on its header alone */
	violation_case(hugelen, sizeof(hugelen), 0);
	violation_case(zerolen, sizeof(zerolen), 0);
	violation_case(garbage, sizeof(garbage), 1);
	violation_case(bomb, sizeof(bomb), 1);
	/* well-formed, but a parent never sends CTL_STOP to the front */
	assert_int_equal(ipc_encode(IMSG_CTL_STOP, 1, NULL, &buf, &len), 0);
	violation_case(buf, len, 1);
	free(buf);
	/* IMSG_FD without the fd */
	{
		struct imsg_fd	 fdb = { "keyring" };

		assert_int_equal(ipc_encode(IMSG_FD, 1, &fdb, &buf, &len), 0);
		violation_case(buf, len, 1);
		free(buf);
	}
}

/* sendmsg() the bytes with an fd attached, as a broken peer would. */
static void
send_with_fd(int sock, const void *data, size_t len, int fd)
{
	char		 cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec	 iov = { (void *)data, len };
	struct msghdr	 mh;
	struct cmsghdr	*cm;

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	assert_int_equal(sendmsg(sock, &mh, 0), (ssize_t)len);
}

static void
test_chan_stray_fd(void **state)
{
	struct pair	 p;
	uint8_t		*buf, *frame;
	size_t		 len;
	uint64_t	 before = ipc_violations();
	int		 pfd[2];

	pair_open(&p, PROC_PARENT, PROC_FRONT);
	assert_int_equal(ipc_encode(IMSG_PING, 1, NULL, &buf, &len), 0);
	frame = malloc(len + 4);
	frame[0] = frame[1] = frame[2] = 0;
	frame[3] = len;
	memcpy(frame + 4, buf, len);
	assert_int_equal(pipe(pfd), 0);
	send_with_fd(p.sv[0], frame, len + 4, pfd[0]);
	close(pfd[0]);
	close(pfd[1]);
	p.b.want = 0;
	run_loop(p.base);
	/* the PING itself may be seen; then the fd nobody asked for */
	assert_int_equal(p.b.errors, 1);
	assert_string_equal(p.b.why, "protocol violation");
	assert_true(ipc_violations() == before + 1);
	free(frame);
	free(buf);
	pair_close(&p);
}

static void
test_chan_eof(void **state)
{
	struct pair	 p;
	uint64_t	 before = ipc_violations();

	pair_open(&p, PROC_PARENT, PROC_FRONT);
	ipc_chan_free(p.a.chan);
	p.a.chan = NULL;
	run_loop(p.base);
	assert_int_equal(p.b.errors, 1);
	assert_string_equal(p.b.why, "closed");
	assert_true(ipc_violations() == before);
	pair_close(&p);
}

/* Frames already buffered behind the one whose dispatch frees the channel. */
static void
test_chan_free_in_dispatch(void **state)
{
	struct pair	 p;

	pair_open(&p, PROC_PARENT, PROC_FRONT);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ipc_send(p.a.chan, IMSG_PING, i + 1, NULL,
		    -1), 0);
	p.b.free_in_dispatch = 1;
	/* the parent side sees EOF once the front's channel is gone */
	run_loop(p.base);
	assert_int_equal(p.b.nmsg, 1);
	assert_null(p.b.chan);
	assert_int_equal(p.a.errors, 1);
	assert_null(p.a.chan);
	pair_close(&p);
}

/*
 * Blocking calls.
 */

static void
test_blocking(void **state)
{
	struct imsg_conf	 conf = { "listen on 127.0.0.1\n" };
	struct imsg_fd		 fdb = { "tls-key" };
	struct ipc_msg		 msg;
	int			 sv[2], pfd[2];
	char			 c;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(ipc_send_blocking(sv[0], PROC_PARENT, PROC_KEYD,
	    IMSG_CONF, 5, &conf, -1), 0);
	assert_int_equal(ipc_send_blocking(sv[0], PROC_PARENT, PROC_KEYD,
	    IMSG_FD, 6, &fdb, pfd[1]), 0);
	/* refused before anything is written */
	assert_int_equal(ipc_send_blocking(sv[0], PROC_KEYD, PROC_PARENT,
	    IMSG_CONF, 7, &conf, -1), -1);
	assert_int_equal(errno, EINVAL);

	assert_int_equal(ipc_recv_blocking(sv[1], PROC_KEYD, PROC_PARENT,
	    &msg), 0);
	assert_int_equal(msg.type, IMSG_CONF);
	assert_int_equal(msg.id, 5);
	assert_string_equal(((struct imsg_conf *)msg.body)->text, conf.text);
	ipc_msg_clear(&msg);
	assert_int_equal(ipc_recv_blocking(sv[1], PROC_KEYD, PROC_PARENT,
	    &msg), 0);
	assert_int_equal(msg.type, IMSG_FD);
	assert_true(msg.fd >= 0);
	assert_int_equal(write(msg.fd, "!", 1), 1);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	ipc_msg_clear(&msg);

	/* EOF: -1 with errno 0 */
	close(sv[0]);
	assert_int_equal(ipc_recv_blocking(sv[1], PROC_KEYD, PROC_PARENT,
	    &msg), -1);
	assert_int_equal(errno, 0);
	close(sv[1]);
	close(pfd[0]);
}

static void
test_blocking_violations(void **state)
{
	static const uint8_t	 hugelen[] = { 0xff, 0xff, 0xff, 0xff };
	struct imsg_conf	 conf = { "x" };
	struct ipc_msg		 msg;
	uint64_t		 before = ipc_violations();
	uint8_t			*buf, *frame;
	size_t			 len;
	int			 sv[2], pfd[2];

	/* oversized: refused on the header, the body is never waited for */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], hugelen, 4), 4);
	assert_int_equal(ipc_recv_blocking(sv[1], PROC_FRONT, PROC_PARENT,
	    &msg), -1);
	assert_int_equal(errno, EPROTO);
	assert_true(ipc_violations() == before + 1);
	close(sv[0]);
	close(sv[1]);

	/* the wrong direction */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ipc_send_blocking(sv[0], PROC_PARENT, PROC_FRONT,
	    IMSG_CONF, 1, &conf, -1), 0);
	assert_int_equal(ipc_recv_blocking(sv[1], PROC_CTL, PROC_PARENT,
	    &msg), -1);
	assert_int_equal(errno, EPROTO);
	assert_null(msg.body);
	close(sv[0]);
	close(sv[1]);

	/* an fd riding on a message that takes none */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ipc_encode(IMSG_CONF, 1, &conf, &buf, &len), 0);
	frame = malloc(len + 4);
	frame[0] = frame[1] = frame[2] = 0;
	frame[3] = len;
	memcpy(frame + 4, buf, len);
	assert_int_equal(pipe(pfd), 0);
	send_with_fd(sv[0], frame, len + 4, pfd[0]);
	close(pfd[0]);
	close(pfd[1]);
	assert_int_equal(ipc_recv_blocking(sv[1], PROC_FRONT, PROC_PARENT,
	    &msg), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(msg.fd, -1);
	assert_true(ipc_violations() == before + 3);
	free(frame);
	free(buf);
	close(sv[0]);
	close(sv[1]);
}

/* A 1 MiB config from a forked writer: partial writes and reads. */
static void
test_blocking_big(void **state)
{
	struct imsg_conf	 conf;
	struct ipc_msg		 msg;
	int			 sv[2], status;
	pid_t			 pid;

	conf.text = make_str(CONF_MAX_SIZE, 'w');
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if ((pid = fork()) == 0) {
		close(sv[1]);
		/* and a non-blocking socket, which must wait, not fail */
		(void)fd_nonblock(sv[0]);
		_exit(ipc_send_blocking(sv[0], PROC_PARENT, PROC_INDEXD,
		    IMSG_CONF, 77, &conf, -1) == 0 ? 0 : 1);
	}
	assert_true(pid > 0);
	close(sv[0]);
	assert_int_equal(ipc_recv_blocking(sv[1], PROC_INDEXD, PROC_PARENT,
	    &msg), 0);
	assert_int_equal(msg.id, 77);
	assert_string_equal(((struct imsg_conf *)msg.body)->text, conf.text);
	ipc_msg_clear(&msg);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[1]);
	free(conf.text);
}

/* Start-up hand-over: blocking reads, then a channel on the same socket. */
static void
test_blocking_then_channel(void **state)
{
	struct pair		 p;
	struct imsg_conf	 conf = { "a\n" };
	struct ipc_msg		 msg;
	struct event_base	*base;
	int			 sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ipc_send_blocking(sv[0], PROC_PARENT, PROC_AUTHD,
	    IMSG_CONF, 1, &conf, -1), 0);
	assert_int_equal(ipc_send_blocking(sv[0], PROC_PARENT, PROC_AUTHD,
	    IMSG_CONF_END, 2, NULL, -1), 0);
	assert_int_equal(ipc_send_blocking(sv[0], PROC_PARENT, PROC_AUTHD,
	    IMSG_PING, 3, NULL, -1), 0);
	assert_int_equal(ipc_recv_blocking(sv[1], PROC_AUTHD, PROC_PARENT,
	    &msg), 0);
	ipc_msg_clear(&msg);
	assert_int_equal(ipc_recv_blocking(sv[1], PROC_AUTHD, PROC_PARENT,
	    &msg), 0);
	assert_int_equal(msg.type, IMSG_CONF_END);
	ipc_msg_clear(&msg);

	memset(&p, 0, sizeof(p));
	base = event_base_new();
	p.b.base = base;
	p.b.want = 1;
	p.b.chan = ipc_chan_new(base, sv[1], PROC_AUTHD, PROC_PARENT,
	    side_dispatch, side_error, &p.b);
	assert_non_null(p.b.chan);
	run_loop(base);
	assert_int_equal(p.b.nmsg, 1);
	assert_int_equal(p.b.types[0], IMSG_PING);
	/* its PONG comes back on the blocking side */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(ipc_recv_blocking(sv[0], PROC_PARENT, PROC_AUTHD,
	    &msg), 0);
	assert_int_equal(msg.type, IMSG_PONG);
	assert_int_equal(msg.id, 3);
	ipc_msg_clear(&msg);
	ipc_chan_free(p.b.chan);
	close(sv[0]);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_extra_missing_duplicate),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_encode_validates),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_next_id),
		cmocka_unit_test(test_msg_clear_closes_fd),
		cmocka_unit_test(test_chan_exchange),
		cmocka_unit_test(test_chan_refuses_to_send),
		cmocka_unit_test(test_chan_big),
		cmocka_unit_test(test_chan_violations),
		cmocka_unit_test(test_chan_stray_fd),
		cmocka_unit_test(test_chan_eof),
		cmocka_unit_test(test_chan_free_in_dispatch),
		cmocka_unit_test(test_blocking),
		cmocka_unit_test(test_blocking_violations),
		cmocka_unit_test(test_blocking_big),
		cmocka_unit_test(test_blocking_then_channel),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

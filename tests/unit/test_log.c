/*
 * common/log.c: log_access_lines() in the foreground.  stderr is made a
 * SOCK_SEQPACKET socket so that every write(2) arrives as one message:
 * each must hold whole lines only, each line with the process prefix,
 * none longer than PIPE_BUF (the size a pipe never interleaves), and all
 * lines in order.  Below level info nothing is written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

static int	 peer = -1, saved_stderr = -1;

/* stderr -> one end of a seqpacket pair; the other end to read. */
static int
setup(void **state)
{
	int	 sp[2];

	(void)state;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1)
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	if (saved_stderr == -1 || dup2(sp[0], STDERR_FILENO) == -1)
		return -1;
	close(sp[0]);
	peer = sp[1];
	return fcntl(peer, F_SETFL, O_NONBLOCK);
}

static int
teardown(void **state)
{
	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(peer);
	return 0;
}

/* n lines of JSON-ish text, each of the given length with its newline. */
static size_t
make_lines(char *buf, size_t cap, int n, size_t linelen)
{
	size_t	 len = 0;

	for (int i = 0; i < n; i++) {
		assert_true(len + linelen <= cap);
		memset(buf + len, 'a' + i % 26, linelen - 1);
		snprintf(buf + len, linelen, "{\"n\":%05d}", i);
		buf[len + 10] = ' ';	/* snprintf's NUL: keep the filler */
		buf[len + linelen - 1] = '\n';
		len += linelen;
	}
	return len;
}

/*
 * Few enough that even a write per line fits in the socket's buffer: the
 * test must report that regression, not hang on it (stderr blocks, and
 * nothing reads until log_access_lines returns).
 */
#define NLINES	60

static void
test_batches_whole_lines(void **state)
{
	static char	 in[NLINES * 300], msg[PIPE_BUF + 100];
	char		 prefix[64];
	size_t		 len, plen;
	ssize_t		 got;
	int		 writes = 0, next = 0;

	(void)state;
	log_init(1, LOG_LEVEL_INFO, "front");
	plen = (size_t)snprintf(prefix, sizeof(prefix), "front[%d]: access ",
	    (int)getpid());
	len = make_lines(in, sizeof(in), NLINES, 300);
	log_access_lines(in, len);
	while ((got = recv(peer, msg, sizeof(msg), 0)) > 0) {
		const char	*p = msg, *end = msg + got;

		writes++;
		assert_true((size_t)got <= PIPE_BUF);
		assert_int_equal(msg[got - 1], '\n');	/* whole lines only */
		while (p < end) {
			const char	*nl = memchr(p, '\n', (size_t)(end - p));
			char		 want[32];

			assert_non_null(nl);
			assert_memory_equal(p, prefix, plen);
			assert_int_equal((size_t)(nl - p), plen + 299);
			snprintf(want, sizeof(want), "{\"n\":%05d}", next++);
			assert_memory_equal(p + plen, want, 10);
			p = nl + 1;
		}
	}
	assert_int_equal(next, NLINES);
	/* lines of ~320 bytes: a dozen a write, not one a line */
	assert_true(writes >= NLINES * 320 / PIPE_BUF);
	assert_true(writes <= NLINES * 320 / PIPE_BUF + 1);
}

static void
test_quiet_below_info(void **state)
{
	char	 in[600], msg[64];
	size_t	 len;

	(void)state;
	while (recv(peer, msg, sizeof(msg), 0) > 0)
		;	/* whatever a failed test before left */
	log_init(1, LOG_LEVEL_WARN, "front");
	len = make_lines(in, sizeof(in), 2, 300);
	log_access_lines(in, len);
	assert_int_equal(recv(peer, msg, sizeof(msg), 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches_whole_lines),
		cmocka_unit_test(test_quiet_below_info),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

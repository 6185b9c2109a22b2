/*
 * evil-peer: a hostile stand-in for authd, for the fault-injection system
 * test (tests/system/test_faults.py installs it as "authd" in a suite's
 * libexec directory, beside "authd.real", a link to the real authd).
 *
 * First start (no "evil-peer.done" beside the binary): it creates that
 * file, speaks the start-up protocol like a real child (reads its
 * configuration with child_boot(), says IMSG_READY), collects the
 * channels the parent wires to the front, keyd and indexd, and waits for
 * the test to create "evil-go" beside the binary.  Then it writes
 * garbage frames on those channels (random bytes in a plausible frame to
 * the front, an impossible frame length to keyd, random bytes to
 * indexd), waits a second, and writes garbage to the parent.
 *
 * Any later start (the parent's restart after killing it): it execs the
 * real authd, so the suite becomes whole again.
 *
 * Not built into the suite, never installed.  Runs as root and is not
 * sandboxed: it is the test's process, not Ballast's.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/child.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"

static char	 dir[PATH_MAX];

static void
path_in_dir(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		fatalx("evil-peer: path too long");
}

static void
find_dir(void)
{
	ssize_t	 n;
	char	*slash;

	if ((n = readlink("/proc/self/exe", dir, sizeof(dir) - 1)) <= 0)
		fatal("evil-peer: readlink /proc/self/exe");
	dir[n] = '\0';
	if ((slash = strrchr(dir, '/')) == NULL)
		fatalx("evil-peer: odd path %s", dir);
	*slash = '\0';
}

/* Every start after the first is the real authd. */
static void
maybe_become_real(char **argv)
{
	char	 done[PATH_MAX], real[PATH_MAX];
	int	 fd;

	path_in_dir(done, sizeof(done), "evil-peer.done");
	path_in_dir(real, sizeof(real), "authd.real");
	if (access(done, F_OK) == 0) {
		execv(real, argv);
		fatal("evil-peer: exec %s", real);
	}
	if ((fd = open(done, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1)
		fatal("evil-peer: %s", done);
	close(fd);
}

static void
garbage(int fd, const char *to, int badlen)
{
	uint8_t	 buf[64];
	ssize_t	 n;

	arc4random_buf(buf, sizeof(buf));
	if (badlen)
		put_be32(buf, 0xffffffffu);	/* far over IPC_MAX_MSG */
	else
		put_be32(buf, sizeof(buf) - 4);	/* a frame of random bytes */
	n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
	log_warnx("evil-peer: %zd garbage bytes to %s", n, to);
}

int
main(int argc, char **argv)
{
	struct child		 c;
	struct imsg_ready	 ready;
	struct ipc_msg		 msg;
	char			 go[PATH_MAX];
	int			 chan[PROC_MAX];

	find_dir();
	maybe_become_real(argv);
	child_boot(&c, PROC_AUTHD, argc, argv);
	for (size_t i = 0; i < nitems(chan); i++)
		chan[i] = -1;
	memset(&ready, 0, sizeof(ready));
	ready.pid = (uint64_t)getpid();
	ready.uid = (uint64_t)getuid();
	ready.gid = (uint64_t)getgid();
	if (ipc_send_blocking(PROC_PARENT_FD, PROC_AUTHD, PROC_PARENT,
	    IMSG_READY, 0, &ready, -1) == -1)
		fatal("evil-peer: READY");
	log_warnx("evil-peer: posing as authd, pid %d", (int)getpid());

	path_in_dir(go, sizeof(go), "evil-go");
	while (access(go, F_OK) == -1) {
		struct pollfd	 pfd = { .fd = PROC_PARENT_FD, .events = POLLIN };

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		memset(&msg, 0, sizeof(msg));
		msg.fd = -1;
		if (ipc_recv_blocking(PROC_PARENT_FD, PROC_AUTHD, PROC_PARENT,
		    &msg) == -1)
			fatal("evil-peer: reading from the parent");
		if (msg.type == IMSG_CHANNEL) {
			uint64_t peer = ((struct imsg_channel *)msg.body)->peer;

			if (peer < PROC_MAX && msg.fd != -1) {
				if (chan[peer] != -1)
					close(chan[peer]);
				chan[peer] = msg.fd;
				msg.fd = -1;
				log_warnx("evil-peer: have a channel to %s",
				    proc_name((enum proc_id)peer));
			}
		}
		ipc_msg_clear(&msg);
	}
	if (chan[PROC_FRONT] != -1)
		garbage(chan[PROC_FRONT], "front", 0);
	if (chan[PROC_KEYD] != -1)
		garbage(chan[PROC_KEYD], "keyd", 1);
	if (chan[PROC_INDEXD] != -1)
		garbage(chan[PROC_INDEXD], "indexd", 0);
	sleep(1);
	garbage(PROC_PARENT_FD, "parent", 0);
	/* the parent kills us; should it not, leave after a while */
	sleep(30);
	return 3;
}

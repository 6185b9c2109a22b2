/*
 * sandbox_pledge()/sandbox_unveil()/priv_drop()/priv_nodump().  Every case
 * runs in a fork()ed child, since a sandbox cannot be left again; the
 * parent checks how the child ended (exit 0, or killed by SIGSYS).  Inside
 * a child only CHILD_CHECK is used: a cmocka assertion there would unwind
 * into the child's copy of the test runner.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/landlock.h>

#include <errno.h>
#include <netdb.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/sandbox.h"

#define ALL_PROMISES	"stdio rpath wpath cpath unix inet dns proc exec " \
			"id recvfd sendfd thread"

static char	 tmpdir[64];	/* /tmp/sbx-test.XXXXXX, made by setup */
static char	 tmpfile_path[128];

static __attribute__((noreturn)) void
child_fail(int line, const char *what)
{
	char	 buf[256];
	int	 n;
	ssize_t	 w = 0;

	n = snprintf(buf, sizeof(buf), "child check failed at line %d: %s "
	    "(errno %d)\n", line, what, errno);
	if (n > 0)
		w = write(STDERR_FILENO, buf, (size_t)n < sizeof(buf) ?
		    (size_t)n : sizeof(buf) - 1);
	_exit(w > 0 ? 1 : 2);
}

#define CHILD_CHECK(c)	do {						\
	if (!(c))							\
		child_fail(__LINE__, #c);				\
} while (0)

/* Run fn in a child; the child exits 0 when fn returns. */
static int
run_child(void (*fn)(const void *), const void *arg)
{
	pid_t	 pid;
	int	 status;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_exit0(int status)
{
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
assert_sigsys(int status)
{
	if (WIFEXITED(status))
		fail_msg("child exited %d instead of dying of SIGSYS",
		    WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* The kernel's Landlock ABI, asked once in setup (0: none). */
static int	 ll_abi;

static int
landlock_abi(void)
{
	return ll_abi;
}

static void
pledge_or_die(const char *promises)
{
	CHILD_CHECK(sandbox_pledge(promises) == 0);
}

/* Status as seen from outside, while the child waits on a pipe. */

static void
test_status(void **state)
{
	int	 up[2], down[2], status;
	char	 desc[64], line[256], path[64], want[64];
	ssize_t	 n;
	pid_t	 pid;
	FILE	*fp;
	int	 seccomp = 0, nnp = 0;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		const char	*d;
		char		 c;

		close(up[0]);
		close(down[1]);
		pledge_or_die("stdio");
		/* once only, refused without a kill */
		errno = 0;
		CHILD_CHECK(sandbox_pledge("stdio") == -1 && errno == EPERM);
		d = sandbox_describe();
		CHILD_CHECK(write(up[1], d, strlen(d)) == (ssize_t)strlen(d));
		CHILD_CHECK(read(down[0], &c, 1) == 1);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	n = read(up[0], desc, sizeof(desc) - 1);
	assert_true(n > 0);
	desc[n] = '\0';
	if (landlock_abi() > 0)
		snprintf(want, sizeof(want), "seccomp+landlock(abi %d)",
		    landlock_abi());
	else
		snprintf(want, sizeof(want), "seccomp");
	assert_string_equal(desc, want);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strcmp(line, "Seccomp:\t2\n") == 0)
			seccomp = 1;
		if (strcmp(line, "NoNewPrivs:\t1\n") == 0)
			nnp = 1;
	}
	fclose(fp);
	assert_int_equal(write(down[1], "x", 1), 1);
	close(up[0]);
	close(down[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit0(status);
	assert_true(seccomp);
	assert_true(nnp);
	assert_string_equal(sandbox_describe(), "none");	/* parent */
}

/* "stdio" alone */

static void
child_stdio_open(const void *arg)
{
	char		 path[160];
	struct stat	 st;

	pledge_or_die("stdio");
	errno = 0;
	CHILD_CHECK(open("/etc/passwd", O_RDONLY) == -1 && errno == EACCES);
	errno = 0;
	snprintf(path, sizeof(path), "%s/new", tmpdir);
	CHILD_CHECK(open(path, O_WRONLY | O_CREAT, 0600) == -1 &&
	    errno == EACCES);
	/* path lookups fail too, without killing (libpq stats ~/.pgpass) */
	errno = 0;
	CHILD_CHECK(stat("/etc/passwd", &st) == -1 && errno == EACCES);
	errno = 0;
	CHILD_CHECK(access("/etc/passwd", R_OK) == -1 && errno == EACCES);
	CHILD_CHECK(fstat(STDERR_FILENO, &st) == 0);
}

static void
test_stdio_open_eacces(void **state)
{
	char	 path[160];

	assert_exit0(run_child(child_stdio_open, NULL));
	snprintf(path, sizeof(path), "%s/new", tmpdir);
	assert_int_equal(access(path, F_OK), -1);
}

static void
child_execve(const void *arg)
{
	char	*argv[] = { "true", NULL };
	char	*envp[] = { NULL };

	pledge_or_die(arg);
	execve("/bin/true", argv, envp);
	child_fail(__LINE__, "execve returned");
}

static void
test_stdio_execve(void **state)
{
	assert_sigsys(run_child(child_execve, "stdio"));
	/* unix, inet, proc give no exec either */
	assert_sigsys(run_child(child_execve, "stdio rpath unix inet proc"));
}

static void
child_socket_inet(const void *arg)
{
	pledge_or_die(arg);
	(void)socket(AF_INET, SOCK_STREAM, 0);
	child_fail(__LINE__, "socket(AF_INET) returned");
}

static void
child_socket_unix(const void *arg)
{
	pledge_or_die(arg);
	(void)socket(AF_UNIX, SOCK_STREAM, 0);
	child_fail(__LINE__, "socket(AF_UNIX) returned");
}

static void
child_fork(const void *arg)
{
	pledge_or_die(arg);
	(void)fork();
	child_fail(__LINE__, "fork returned");
}

static void
child_ptrace(const void *arg)
{
	pledge_or_die(arg);
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	child_fail(__LINE__, "ptrace returned");
}

static void
test_stdio_denied(void **state)
{
	assert_sigsys(run_child(child_socket_inet, "stdio"));
	assert_sigsys(run_child(child_socket_unix, "stdio"));
	assert_sigsys(run_child(child_socket_unix, "stdio inet"));
	assert_sigsys(run_child(child_fork, "stdio"));
	assert_sigsys(run_child(child_fork, "stdio thread"));
	assert_sigsys(run_child(child_ptrace, "stdio"));
}

/* Never allowed, whatever the promises. */
static const long forbidden[] = {
	SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev,
	SYS_kexec_load, SYS_init_module, SYS_finit_module, SYS_mount,
	SYS_umount2, SYS_unshare, SYS_setns, SYS_bpf, SYS_perf_event_open,
	SYS_personality, SYS_keyctl, SYS_add_key, SYS_chroot, SYS_pivot_root,
	SYS_seccomp, SYS_prctl, SYS_userfaultfd, SYS_io_uring_setup,
	SYS_openat2,
};

static void
child_forbidden(const void *arg)
{
	pledge_or_die(ALL_PROMISES);
	(void)syscall(*(const long *)arg, 0, 0, 0, 0, 0, 0);
	child_fail(__LINE__, "forbidden syscall returned");
}

static void
test_forbidden_always(void **state)
{
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		int	 status = run_child(child_forbidden, &forbidden[i]);

		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
			fail_msg("syscall %ld was not killed", forbidden[i]);
	}
}

/* W^X */

static void
child_mmap_wx(const void *arg)
{
	pledge_or_die(ALL_PROMISES);
	(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	child_fail(__LINE__, "mmap(W|X) returned");
}

static void
child_mprotect_wx(const void *arg)
{
	void	*p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(p != MAP_FAILED);
	pledge_or_die("stdio");
	/* W then X separately is fine, both at once is not */
	CHILD_CHECK(mprotect(p, 4096, PROT_READ) == 0);
	CHILD_CHECK(mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0);
	(void)mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
	child_fail(__LINE__, "mprotect(W|X) returned");
}

static void
test_wx(void **state)
{
	assert_sigsys(run_child(child_mmap_wx, NULL));
	assert_sigsys(run_child(child_mprotect_wx, NULL));
}

/* Normal work under "stdio". */

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg += 1;
}

static void
child_stdio_work(const void *arg)
{
	struct event_base	*base;
	struct event		*ev;
	struct timeval		 tv = { 0, 10000 };
	char			*big, buf[16];
	int			 p[2], fd, fired = 0;
	struct stat		 st;

	/* opened before, read after */
	CHILD_CHECK((fd = open(tmpfile_path, O_RDONLY)) != -1);
	CHILD_CHECK(pipe(p) == 0);
	pledge_or_die("stdio");

	CHILD_CHECK((big = malloc(10 * 1024 * 1024)) != NULL);
	memset(big, 0xa5, 10 * 1024 * 1024);
	CHILD_CHECK(big[10 * 1024 * 1024 - 1] == (char)0xa5);
	free(big);

	CHILD_CHECK(write(p[1], "hello", 5) == 5);
	CHILD_CHECK(read(p[0], buf, sizeof(buf)) == 5);
	CHILD_CHECK(memcmp(buf, "hello", 5) == 0);

	CHILD_CHECK(fstat(fd, &st) == 0 && st.st_size == 7);
	CHILD_CHECK(read(fd, buf, sizeof(buf)) == 7);
	CHILD_CHECK(memcmp(buf, "secret\n", 7) == 0);
	close(fd);

	CHILD_CHECK((base = event_base_new()) != NULL);
	CHILD_CHECK((ev = evtimer_new(base, timer_cb, &fired)) != NULL);
	CHILD_CHECK(evtimer_add(ev, &tv) == 0);
	CHILD_CHECK(event_base_dispatch(base) == 1);	/* no events left */
	CHILD_CHECK(fired == 1);
	event_free(ev);
	event_base_free(base);

	/* logging still works (stderr, getpid) and so does the clock */
	log_info("%s: logging under the sandbox", __func__);
	CHILD_CHECK(time(NULL) > 0);
}

static void
test_stdio_work(void **state)
{
	assert_exit0(run_child(child_stdio_work, NULL));
}

/* Network promises */

static void
child_unix(const void *arg)
{
	int	 s, sv[2];

	pledge_or_die("stdio unix");
	CHILD_CHECK((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1);
	close(s);
	CHILD_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	CHILD_CHECK(write(sv[0], "x", 1) == 1);
	(void)socket(AF_INET, SOCK_STREAM, 0);
	child_fail(__LINE__, "socket(AF_INET) returned");
}

static void
test_unix(void **state)
{
	assert_sigsys(run_child(child_unix, NULL));
}

static void
child_inet(const void *arg)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 l, c, a;

	pledge_or_die("stdio inet");
	CHILD_CHECK((l = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHILD_CHECK(bind(l, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHILD_CHECK(listen(l, 1) == 0);
	CHILD_CHECK(getsockname(l, (struct sockaddr *)&sin, &len) == 0);
	CHILD_CHECK((c = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	CHILD_CHECK(connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHILD_CHECK((a = accept4(l, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) != -1);
	CHILD_CHECK(write(c, "ping", 4) == 4);
	CHILD_CHECK(setsockopt(a, SOL_SOCKET, SO_KEEPALIVE, &(int){ 1 },
	    sizeof(int)) == 0);
	/* inet is not unix */
	(void)socket(AF_UNIX, SOCK_STREAM, 0);
	child_fail(__LINE__, "socket(AF_UNIX) returned");
}

static void
test_inet(void **state)
{
	assert_sigsys(run_child(child_inet, NULL));
}

/* "dns": getaddrinfo() from /etc/hosts (no network), but no TCP */
static void
child_dns(const void *arg)
{
	static const char *const files[] = { "/etc/hosts", "/etc/resolv.conf",
	    "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf" };
	struct addrinfo	 hints, *res;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		CHILD_CHECK(sandbox_unveil(files[i], "r") == 0);
	pledge_or_die("stdio dns");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	CHILD_CHECK(getaddrinfo("localhost", "443", &hints, &res) == 0);
	freeaddrinfo(res);
	/* only what the unveil list names */
	errno = 0;
	CHILD_CHECK(open("/etc/passwd", O_RDONLY) == -1 && errno == EACCES);
	(void)socket(AF_INET, SOCK_STREAM, 0);
	child_fail(__LINE__, "socket(AF_INET, SOCK_STREAM) returned");
}

static void
test_dns(void **state)
{
	assert_sigsys(run_child(child_dns, NULL));
}

/* fd passing over an already open socket: "recvfd"/"sendfd" add nothing. */
static void
child_sendfd(const void *arg)
{
	int		 sv[2], p[2], got;
	char		 cbuf[CMSG_SPACE(sizeof(int))], c = 'x';
	struct iovec	 iov = { &c, 1 };
	struct msghdr	 msg;
	struct cmsghdr	*cm;

	CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHILD_CHECK(pipe(p) == 0);
	pledge_or_die("stdio recvfd sendfd");
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
	CHILD_CHECK(sendmsg(sv[0], &msg, 0) == 1);
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_controllen = sizeof(cbuf);
	CHILD_CHECK(recvmsg(sv[1], &msg, 0) == 1);
	cm = CMSG_FIRSTHDR(&msg);
	CHILD_CHECK(cm != NULL && cm->cmsg_type == SCM_RIGHTS);
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	CHILD_CHECK(write(got, "y", 1) == 1);
	CHILD_CHECK(read(p[0], &c, 1) == 1 && c == 'y');
}

static void
test_sendfd(void **state)
{
	assert_exit0(run_child(child_sendfd, NULL));
}

/* proc and thread */

static void
child_proc(const void *arg)
{
	pid_t	 pid;
	int	 status;

	pledge_or_die("stdio proc");
	CHILD_CHECK((pid = fork()) != -1);
	if (pid == 0)
		_exit(7);
	CHILD_CHECK(waitpid(pid, &status, 0) == pid);
	CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	if (landlock_abi() >= 6) {
		/* Landlock scope: no signals out of the domain */
		errno = 0;
		CHILD_CHECK(kill(getppid(), 0) == -1 && errno == EPERM);
	}
}

static void *
thread_fn(void *arg)
{
	return arg;
}

static void
child_thread(const void *arg)
{
	pthread_t	 t;
	void		*ret;
	int		 x;

	pledge_or_die(arg);
	CHILD_CHECK(pthread_create(&t, NULL, thread_fn, &x) == 0);
	CHILD_CHECK(pthread_join(t, &ret) == 0 && ret == &x);
}

static void
test_proc_thread(void **state)
{
	assert_exit0(run_child(child_proc, NULL));
	assert_exit0(run_child(child_thread, "stdio thread"));
	assert_sigsys(run_child(child_thread, "stdio"));
}

/* File system: Landlock for paths, seccomp for open flags. */

static void
child_rpath(const void *arg)
{
	char	 buf[16];
	int	 fd;

	CHILD_CHECK(sandbox_unveil(tmpdir, "r") == 0);
	pledge_or_die(arg);
	CHILD_CHECK((fd = open(tmpfile_path, O_RDONLY)) != -1);
	CHILD_CHECK(read(fd, buf, sizeof(buf)) == 7);
	close(fd);
	if (landlock_abi() > 0) {
		errno = 0;
		CHILD_CHECK(open("/etc/passwd", O_RDONLY) == -1 &&
		    errno == EACCES);
	}
	/* no wpath: seccomp; wpath but "r" only: Landlock */
	errno = 0;
	CHILD_CHECK(open(tmpfile_path, O_WRONLY) == -1 && errno == EACCES);
	errno = 0;
	CHILD_CHECK(open(tmpfile_path, O_RDONLY | O_TRUNC) == -1 &&
	    errno == EACCES);
}

static void
child_cpath(const void *arg)
{
	char	 path[160];
	int	 fd;

	CHILD_CHECK(sandbox_unveil(tmpdir, "rwc") == 0);
	CHILD_CHECK(sandbox_unveil("/nonexistent-sbx", "r") == 0);
	pledge_or_die("stdio rpath wpath cpath");
	snprintf(path, sizeof(path), "%s/made", tmpdir);
	CHILD_CHECK((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) != -1);
	CHILD_CHECK(write(fd, "ok", 2) == 2);
	close(fd);
	CHILD_CHECK(unlink(path) == 0);
	if (landlock_abi() > 0) {
		errno = 0;
		CHILD_CHECK(open("/tmp/sbx-outside", O_WRONLY | O_CREAT,
		    0600) == -1 && errno == EACCES);
	}
}

static void
test_fs(void **state)
{
	assert_exit0(run_child(child_rpath, "stdio rpath"));
	assert_exit0(run_child(child_rpath, "stdio rpath wpath"));
	assert_exit0(run_child(child_cpath, NULL));
	assert_int_equal(access("/tmp/sbx-outside", F_OK), -1);
}

/* Interface errors */

static void
child_bad_args(const void *arg)
{
	errno = 0;
	CHILD_CHECK(sandbox_pledge("stdio bogus") == -1 && errno == EINVAL);
	errno = 0;
	CHILD_CHECK(sandbox_unveil("/tmp", "rq") == -1 && errno == EINVAL);
	/* nothing was applied */
	CHILD_CHECK(strcmp(sandbox_describe(), "none") == 0);
	CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0);
}

static void
test_bad_args(void **state)
{
	assert_exit0(run_child(child_bad_args, NULL));
}

/* BALLAST_SANDBOX_LOG=1 logs instead of killing. */
static void
child_logmode(const void *arg)
{
	int	 s;

	CHILD_CHECK(setenv("BALLAST_SANDBOX_LOG", "1", 1) == 0);
	pledge_or_die("stdio");
	CHILD_CHECK((s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
}

static void
test_logmode(void **state)
{
	assert_exit0(run_child(child_logmode, NULL));
}

/* priv_drop / priv_nodump */

static char	 chroot_path[] = "/run/sbx-chroot.XXXXXX";
static uid_t	 nobody_uid;
static gid_t	 nobody_gid;

static void
child_drop(const void *arg)
{
	char	 cwd[16];
	gid_t	 groups[4];

	CHILD_CHECK(priv_drop("nobody", arg) == 0);
	CHILD_CHECK(getuid() == nobody_uid && geteuid() == nobody_uid);
	CHILD_CHECK(getgid() == nobody_gid && getegid() == nobody_gid);
	CHILD_CHECK(getgroups(4, groups) == 1 && groups[0] == nobody_gid);
	CHILD_CHECK(setuid(0) == -1);
	errno = 0;
	CHILD_CHECK(access("/etc/passwd", F_OK) == -1 && errno == ENOENT);
	CHILD_CHECK(getcwd(cwd, sizeof(cwd)) != NULL &&
	    strcmp(cwd, "/") == 0);
	/* a second call, no longer root, changes nothing */
	CHILD_CHECK(priv_drop("nobody", NULL) == 0);
}

static void
child_drop_refused(const void *arg)
{
	CHILD_CHECK(priv_drop(arg, NULL) == -1);
	CHILD_CHECK(getuid() == 0);
}

static void
child_drop_badroot(const void *arg)
{
	CHILD_CHECK(priv_drop("nobody", arg) == -1);
	CHILD_CHECK(getuid() == 0);
	CHILD_CHECK(access("/etc/passwd", F_OK) == 0);	/* no chroot */
}

static void
test_priv_drop(void **state)
{
	struct passwd	*pw;
	char		*root = chroot_path;
	char		 bad[160];

	if (geteuid() != 0) {
		print_message("priv_drop: not root, uid drop not tested\n");
		skip();
	}
	assert_non_null(pw = getpwnam("nobody"));
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	assert_non_null(mkdtemp(root));
	assert_int_equal(chmod(root, 0755), 0);
	assert_exit0(run_child(child_drop, root));

	/* unsafe chroot directories are refused */
	assert_int_equal(chmod(root, 0775), 0);
	assert_exit0(run_child(child_drop_badroot, root));
	assert_int_equal(chmod(root, 0755), 0);
	assert_int_equal(chown(root, nobody_uid, 0), 0);
	assert_exit0(run_child(child_drop_badroot, root));
	assert_int_equal(chown(root, 0, 0), 0);
	snprintf(bad, sizeof(bad), "%s/sub", tmpdir);	/* under 1777 /tmp */
	assert_int_equal(mkdir(bad, 0755), 0);
	assert_exit0(run_child(child_drop_badroot, bad));
	assert_exit0(run_child(child_drop_badroot, "/run/sbx-nonexistent"));
	assert_exit0(run_child(child_drop_badroot, "relative/dir"));
	assert_int_equal(rmdir(bad), 0);
	assert_int_equal(rmdir(root), 0);

	assert_exit0(run_child(child_drop_refused, "root"));
	assert_exit0(run_child(child_drop_refused, "no-such-user-sbx"));
}

static void
child_nodump(const void *arg)
{
	struct rlimit	 rl;

	CHILD_CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1);
	CHILD_CHECK(priv_nodump() == 0);
	CHILD_CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	CHILD_CHECK(getrlimit(RLIMIT_CORE, &rl) == 0);
	CHILD_CHECK(rl.rlim_cur == 0 && rl.rlim_max == 0);
}

static void
test_priv_nodump(void **state)
{
	assert_exit0(run_child(child_nodump, NULL));
}

static int
setup(void **state)
{
	int	 fd;

	/* a developer's BALLAST_SANDBOX_LOG=1 would turn kills into logs */
	unsetenv("BALLAST_SANDBOX_LOG");
	ll_abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (ll_abi < 0)
		ll_abi = 0;
	strlcpy(tmpdir, "/tmp/sbx-test.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/file", tmpdir);
	if ((fd = open(tmpfile_path, O_WRONLY | O_CREAT, 0644)) == -1)
		return -1;
	if (write(fd, "secret\n", 7) != 7)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	char	 sub[160];

	/* also after a failed case */
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	rmdir(sub);
	unlink(tmpfile_path);
	rmdir(tmpdir);
	if (strchr(chroot_path, 'X') == NULL)
		rmdir(chroot_path);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_stdio_open_eacces),
		cmocka_unit_test(test_stdio_execve),
		cmocka_unit_test(test_stdio_denied),
		cmocka_unit_test(test_forbidden_always),
		cmocka_unit_test(test_wx),
		cmocka_unit_test(test_stdio_work),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_inet),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_sendfd),
		cmocka_unit_test(test_proc_thread),
		cmocka_unit_test(test_fs),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_logmode),
		cmocka_unit_test(test_priv_drop),
		cmocka_unit_test(test_priv_nodump),
	};

	log_init(1, LOG_LEVEL_WARN, "test_sandbox");
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * sandbox_unveil()/sandbox_pledge(): lock a process in after start-up.
 *
 * OpenBSD: real unveil(2) and pledge(2).
 *
 * Linux, in this order:
 *  1. PR_SET_NO_NEW_PRIVS (required by both layers below, and no set-id
 *     binary can give the privileges back).
 *  2. Landlock, when the kernel has it: every file system right the ABI
 *     knows is handled, and only the sandbox_unveil()'d paths get rights
 *     back.  Nothing unveiled means no file system access at all.  On ABI
 *     6 and later the process also cannot signal or reach the abstract
 *     Unix sockets of processes outside its domain.
 *  3. seccomp-bpf built with libseccomp: an allow list made from the
 *     promises; anything else kills the whole process (SIGSYS).  open and
 *     openat are the exception: an open the promises do not cover fails
 *     with EACCES instead, so that glibc's optional reads (/etc/localtime,
 *     gconv, ...) fail gracefully, as in OpenSSH's seccomp sandbox.
 *
 * Call sandbox_pledge() once, before any thread is started: the filter
 * forbids seccomp(2) and prctl(2), and Landlock binds the calling thread.
 *
 * Development aid: with BALLAST_SANDBOX_LOG=1 in the environment, a
 * syscall outside the promises is allowed and logged by the kernel instead
 * of killing the process ("audit: type=1326 ... syscall=N" in dmesg or the
 * audit log), so one run shows every syscall that is missing.  Never set
 * it in production.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sandbox.h"

const char *const sandbox_resolver_files[] = {
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
	"/etc/host.conf", "/etc/gai.conf", NULL
};
const char *const sandbox_system_ca[] = {
	"/etc/ssl", "/usr/lib/ssl", "/usr/share/ca-certificates", NULL
};

int
sandbox_unveil_existing(const char *const *paths)
{
	struct stat	 st;

	for (; *paths != NULL; paths++)
		if (stat(*paths, &st) == 0 && sandbox_unveil(*paths, "r") == -1)
			return -1;
	return 0;
}

#ifdef __OpenBSD__

static int	 unveiled;

int
sandbox_unveil(const char *path, const char *perms)
{
	unveiled = 1;
	return unveil(path, perms);
}

int
sandbox_pledge(const char *promises)
{
	/* Same rule as on Linux: nothing unveiled, no file system. */
	if (!unveiled && unveil("/", "") == -1)
		return -1;
	if (unveil(NULL, NULL) == -1)
		return -1;
	return pledge(promises, NULL);
}

const char *
sandbox_describe(void)
{
	return "pledge+unveil";
}

#else /* Linux */

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/landlock.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdint.h>
#include <termios.h>

#include <seccomp.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "common/util.h"

/* Promises, as bits. */
#define P_STDIO		0x0001u
#define P_RPATH		0x0002u
#define P_WPATH		0x0004u
#define P_CPATH		0x0008u
#define P_UNIX		0x0010u
#define P_INET		0x0020u
#define P_DNS		0x0040u
#define P_PROC		0x0080u
#define P_EXEC		0x0100u
#define P_ID		0x0200u
#define P_RECVFD	0x0400u
#define P_SENDFD	0x0800u
#define P_THREAD	0x1000u

static const struct {
	const char	*name;
	unsigned int	 bit;
} promise_names[] = {
	{ "stdio", P_STDIO },	{ "rpath", P_RPATH },	{ "wpath", P_WPATH },
	{ "cpath", P_CPATH },	{ "unix", P_UNIX },	{ "inet", P_INET },
	{ "dns", P_DNS },	{ "proc", P_PROC },	{ "exec", P_EXEC },
	{ "id", P_ID },		{ "recvfd", P_RECVFD },	{ "sendfd", P_SENDFD },
	{ "thread", P_THREAD },
};

/* unveil perms, as bits. */
#define U_R	0x1
#define U_W	0x2
#define U_C	0x4
#define U_X	0x8

#define UNVEIL_MAX	32

static struct {
	char	 path[PATH_MAX];
	int	 perms;
} unveils[UNVEIL_MAX];
static size_t	 nunveils;
static int	 pledged;
static char	 describe[64] = "none";

/*
 * Landlock, newer than Debian 12's <linux/landlock.h> (ABI 2): the rights
 * and fields of later ABIs, numbered as in the kernel's uapi header.
 */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)	/* ABI 6 */

struct ll_ruleset_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;	/* ABI 4 */
	uint64_t	 scoped;		/* ABI 6 */
};

/* Rights that only make sense on a directory. */
#define LL_DIR_ONLY	(LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER)

int
sandbox_unveil(const char *path, const char *perms)
{
	int	 bits = 0;

	for (const char *p = perms; *p != '\0'; p++) {
		switch (*p) {
		case 'r': bits |= U_R; break;
		case 'w': bits |= U_W; break;
		case 'c': bits |= U_C; break;
		case 'x': bits |= U_X; break;
		default:
			errno = EINVAL;
			return -1;
		}
	}
	if (nunveils >= UNVEIL_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (strlcpy(unveils[nunveils].path, path,
	    sizeof(unveils[nunveils].path)) >= sizeof(unveils[nunveils].path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unveils[nunveils++].perms = bits;
	return 0;
}

const char *
sandbox_describe(void)
{
	return describe;
}

static int
parse_promises(const char *promises, unsigned int *out)
{
	char	 buf[256], *s, *word;
	size_t	 i;

	if (strlcpy(buf, promises, sizeof(buf)) >= sizeof(buf)) {
		errno = EINVAL;
		return -1;
	}
	*out = 0;
	s = buf;
	while ((word = strsep(&s, " \t")) != NULL) {
		if (*word == '\0')
			continue;
		for (i = 0; i < nitems(promise_names); i++)
			if (strcmp(word, promise_names[i].name) == 0)
				break;
		if (i == nitems(promise_names)) {
			log_warnx("%s: unknown promise \"%s\"", __func__, word);
			errno = EINVAL;
			return -1;
		}
		*out |= promise_names[i].bit;
	}
	return 0;
}

/* Landlock */

static uint64_t
ll_handled_fs(int abi)
{
	uint64_t	 m = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1 */

	if (abi >= 2)
		m |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		m |= LL_FS_TRUNCATE;
	if (abi >= 5)
		m |= LL_FS_IOCTL_DEV;
	return m;
}

/*
 * unveil perms → Landlock rights.  MAKE_CHAR/MAKE_BLOCK and IOCTL_DEV are
 * never given back: no daemon of ours makes device nodes or drives a
 * device opened after the sandbox is up.
 */
static uint64_t
ll_rights(int perms, int isdir, uint64_t handled)
{
	uint64_t	 r = 0;

	if (perms & U_R)
		r |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	if (perms & U_W)
		r |= LANDLOCK_ACCESS_FS_WRITE_FILE | LL_FS_TRUNCATE;
	if (perms & U_C)
		r |= LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR |
		    LANDLOCK_ACCESS_FS_REMOVE_FILE |
		    LANDLOCK_ACCESS_FS_REMOVE_DIR |
		    LANDLOCK_ACCESS_FS_MAKE_SOCK |
		    LANDLOCK_ACCESS_FS_MAKE_FIFO |
		    LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER;
	if (perms & U_X)
		r |= LANDLOCK_ACCESS_FS_EXECUTE;
	if (!isdir)
		r &= ~LL_DIR_ONLY;
	return r & handled;
}

/* One path-beneath rule; a path that does not exist gets no rights. */
static int
ll_add_path(int rfd, const char *path, int perms, uint64_t handled)
{
	struct landlock_path_beneath_attr pb;
	struct stat	 st;
	int		 fd, rc, saved;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			log_warnx("%s: %s does not exist; not unveiled",
			    __func__, path);
			return 0;
		}
		log_warn("%s: %s", __func__, path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = ll_rights(perms, S_ISDIR(st.st_mode), handled);
	rc = 0;
	if (pb.allowed_access != 0 && syscall(SYS_landlock_add_rule, rfd,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1) {
		log_warn("%s: landlock_add_rule %s", __func__, path);
		rc = -1;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Returns the ABI in force, 0 when the kernel has no Landlock, -1 on error. */
static int
ll_restrict(void)
{
	static int		 warned;
	struct ll_ruleset_attr	 attr;
	int			 abi, rfd, saved;
	size_t			 i;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi <= 0) {
		if (!warned++)
			log_info("%s: Landlock not available (%s); the file "
			    "system is limited by seccomp only", __func__,
			    strerror(errno));
		return 0;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = ll_handled_fs(abi);
	if (abi >= 6)
		attr.scoped = LL_SCOPE_SIGNAL | LL_SCOPE_ABSTRACT_UNIX;
	/* Later fields stay zero, which older kernels accept. */
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rfd == -1) {
		log_warn("%s: landlock_create_ruleset", __func__);
		return -1;
	}
	for (i = 0; i < nunveils; i++)
		if (ll_add_path(rfd, unveils[i].path, unveils[i].perms,
		    attr.handled_access_fs) == -1)
			goto fail;
	if (syscall(SYS_landlock_restrict_self, rfd, 0) == -1) {
		log_warn("%s: landlock_restrict_self", __func__);
		goto fail;
	}
	close(rfd);
	return abi;
fail:
	saved = errno;
	close(rfd);
	errno = saved;
	return -1;
}

/* seccomp */

/*
 * "stdio": what every process needs on descriptors it already holds.
 * Syscalls with argument checks (mmap, mprotect, ioctl, prlimit64,
 * newfstatat, tgkill) are added by sc_stdio_args().
 */
static const int sc_stdio[] = {
	/* I/O on open descriptors; IPC needs sendmsg/recvmsg (STYLE.md) */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(close),
	SCMP_SYS(close_range), SCMP_SYS(lseek), SCMP_SYS(fcntl),
	SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(pipe2),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	/* libpq on its socket: send()/recv() are sendto/recvfrom */
	SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(getpeername), SCMP_SYS(getsockname), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(shutdown),
	/* exit, signals; glibc's abort() and stack overflow handling */
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
	/* memory: malloc (glibc), ASan's allocator; keyd mlocks its keyring */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(mlock), SCMP_SYS(munlock),
	/* time, sleeping, locks: libevent's clock, pthread mutexes */
	SCMP_SYS(futex), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(sched_yield),
	/* identity: log.c (getpid), libpq (geteuid for the peer check) */
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(getresuid), SCMP_SYS(getresgid),
	SCMP_SYS(getgroups), SCMP_SYS(umask),
	/* OpenSSL's and libbsd's arc4random entropy */
	SCMP_SYS(getrandom),
	/* libevent: epoll backend, its notify fd, timers; poll for libpq */
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(poll),
	SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	/* glibc: fstat() of an open fd, limits, uname() for libpq/OpenSSL */
	SCMP_SYS(fstat), SCMP_SYS(getrlimit), SCMP_SYS(uname),
	SCMP_SYS(sysinfo),
	/* glibc thread bookkeeping (also after fork in the child) */
	SCMP_SYS(rseq), SCMP_SYS(set_robust_list),
};

/*
 * "rpath": path lookups that only read (open itself: sc_open()).  Landlock
 * does not cover metadata, so without rpath the lookups fail with EACCES
 * (sc_lookups()): libpq stat()s ~/.pgpass on every connect, glibc probes
 * files, and neither should die for it.
 */
static const int sc_lookup[] = {
	SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(statx), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat),
};

static const int sc_rpath[] = {
	SCMP_SYS(newfstatat), SCMP_SYS(getdents64), SCMP_SYS(getcwd),
	SCMP_SYS(chdir), SCMP_SYS(fchdir),
};

/* "wpath": files opened for writing (log files, indexd's spool) */
static const int sc_wpath[] = {
	SCMP_SYS(ftruncate), SCMP_SYS(truncate), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync),
};

/* "cpath": creating and removing names, as pledge(2)'s cpath */
static const int sc_cpath[] = {
	SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir),
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename),
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(link),
	SCMP_SYS(linkat), SCMP_SYS(symlink), SCMP_SYS(symlinkat),
};

/* "unix" and "inet" (socket() itself is checked by domain). */
static const int sc_net[] = {
	SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
	SCMP_SYS(accept), SCMP_SYS(accept4),
};

/* "dns": glibc's stub resolver (sendmmsg: parallel A and AAAA queries) */
static const int sc_dns[] = {
	SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(sendmmsg), SCMP_SYS(bind),
};

/* "proc": the parent's fork/wait/kill (fork itself is clone: sc_clone()) */
static const int sc_proc[] = {
	SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(wait4), SCMP_SYS(waitid),
	SCMP_SYS(kill), SCMP_SYS(setpgid), SCMP_SYS(getpgid),
	SCMP_SYS(getpgrp), SCMP_SYS(setsid), SCMP_SYS(getsid),
};

/* "exec": running a program still needs "x" on its path (Landlock) */
static const int sc_exec[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat),
};

/* "id": changing ids after the sandbox is up (none of ours does) */
static const int sc_id[] = {
	SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setgroups),
	SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setreuid),
	SCMP_SYS(setregid),
};

/* "thread": the rest of pthread_create (clone itself: sc_clone()) */
static const int sc_thread[] = {
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_getaffinity),
};

/* A libseccomp error (negative errno) → -1 with errno. */
static int
sc_err(int rc)
{
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

static int
sc_allow(scmp_filter_ctx ctx, const int *nrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sc_err(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nrs[i],
		    0)) == -1) {
			log_warnx("%s: syscall %d: %s", __func__, nrs[i],
			    strerror(errno));
			return -1;
		}
	return 0;
}

#define SC_ALLOW(ctx, a)	sc_allow((ctx), (a), nitems(a))

/* Allow nr when (arg[argn] & mask) == val. */
static int
sc_allow_masked(scmp_filter_ctx ctx, int nr, unsigned int argn,
    uint64_t mask, uint64_t val)
{
	return sc_err(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
	    SCMP_CMP(argn, SCMP_CMP_MASKED_EQ, mask, val)));
}

static int
sc_allow_eq(scmp_filter_ctx ctx, int nr, unsigned int argn, uint64_t val)
{
	return sc_err(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
	    SCMP_CMP(argn, SCMP_CMP_EQ, val)));
}

/*
 * W^X: mmap and mprotect may map writable or executable memory, never
 * both.  PROT_EXEC alone stays allowed: glibc's dlopen (NSS, gconv) and
 * ASan need it.
 */
static int
sc_wx(scmp_filter_ctx ctx, int nr)
{
	const uint64_t	 wx = PROT_WRITE | PROT_EXEC;

	if (sc_allow_masked(ctx, nr, 2, wx, 0) == -1 ||
	    sc_allow_masked(ctx, nr, 2, wx, PROT_WRITE) == -1 ||
	    sc_allow_masked(ctx, nr, 2, wx, PROT_EXEC) == -1)
		return -1;
	return 0;
}

static int
sc_stdio_args(scmp_filter_ctx ctx)
{
	/* isatty() in stdio (TCGETS), libevent/libpq (FIONBIO, FIONREAD) */
	static const unsigned long ioctls[] = {
		TCGETS, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX,
	};

	if (sc_wx(ctx, SCMP_SYS(mmap)) == -1 ||
	    sc_wx(ctx, SCMP_SYS(mprotect)) == -1)
		return -1;
	for (size_t i = 0; i < nitems(ioctls); i++)
		if (sc_allow_eq(ctx, SCMP_SYS(ioctl), 1, ioctls[i]) == -1)
			return -1;
	/* getrlimit through prlimit64: reading only, new limit NULL */
	if (sc_allow_eq(ctx, SCMP_SYS(prlimit64), 2, 0) == -1)
		return -1;
	/* glibc's fstat() is newfstatat(fd, "", buf, AT_EMPTY_PATH) */
	if (sc_allow_masked(ctx, SCMP_SYS(newfstatat), 3, AT_EMPTY_PATH,
	    AT_EMPTY_PATH) == -1)
		return -1;
	/* raise()/abort() signal the calling process only */
	if (sc_allow_eq(ctx, SCMP_SYS(tgkill), 0, (uint64_t)getpid()) == -1)
		return -1;
	return 0;
}

/*
 * open/openat: every combination of access mode, O_CREAT, O_TRUNC and
 * O_TMPFILE gets its own rule, allowed when the promises cover it and
 * EACCES otherwise (never a kill), like pledge(2): reading needs rpath,
 * writing or truncating wpath, creating cpath.
 */
#define OPEN_TMPFILE	(O_TMPFILE & ~O_DIRECTORY)
#define OPEN_MASK	(O_ACCMODE | O_CREAT | O_TRUNC | OPEN_TMPFILE)

static uint32_t
open_action(unsigned int promises, int flags)
{
	unsigned int	 need = 0;
	int		 acc = flags & O_ACCMODE;

	/*
	 * "dns" reads /etc/resolv.conf, /etc/hosts, nsswitch.conf like
	 * pledge(2)'s; which files exactly is the unveil list's job.
	 */
	if (promises & P_DNS)
		promises |= P_RPATH;

	if (acc == O_ACCMODE)
		return SCMP_ACT_ERRNO(EACCES);
	if (acc == O_RDONLY || acc == O_RDWR)
		need |= P_RPATH;
	if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC))
		need |= P_WPATH;
	if (flags & (O_CREAT | OPEN_TMPFILE))
		need |= P_CPATH;
	if ((promises & need) == need)
		return SCMP_ACT_ALLOW;
	return SCMP_ACT_ERRNO(EACCES);
}

static int
sc_open(scmp_filter_ctx ctx, unsigned int promises)
{
	static const int	 extra[] = { O_CREAT, O_TRUNC, OPEN_TMPFILE };
	int			 flags, bits, j;

	for (int acc = 0; acc <= O_ACCMODE; acc++)
		for (bits = 0; bits < 8; bits++) {
			flags = acc;
			for (j = 0; j < 3; j++)
				if (bits & (1 << j))
					flags |= extra[j];
			if (sc_err(seccomp_rule_add(ctx, open_action(promises,
			    flags), SCMP_SYS(openat), 1, SCMP_A2(
			    SCMP_CMP_MASKED_EQ, OPEN_MASK, flags))) == -1 ||
			    sc_err(seccomp_rule_add(ctx, open_action(promises,
			    flags), SCMP_SYS(open), 1, SCMP_A1(
			    SCMP_CMP_MASKED_EQ, OPEN_MASK, flags))) == -1)
				return -1;
		}
	return 0;
}

/* Path lookups: allowed with rpath, EACCES without. */
static int
sc_lookups(scmp_filter_ctx ctx, unsigned int p)
{
	uint32_t	 act = SCMP_ACT_ERRNO(EACCES);

	if (p & P_RPATH)
		return SC_ALLOW(ctx, sc_lookup) == -1 ||
		    SC_ALLOW(ctx, sc_rpath) == -1 ? -1 : 0;
	for (size_t i = 0; i < nitems(sc_lookup); i++)
		if (sc_err(seccomp_rule_add(ctx, act, sc_lookup[i], 0)) == -1)
			return -1;
	/* newfstatat(fd, "", AT_EMPTY_PATH) is fstat(): see sc_stdio_args() */
	return sc_err(seccomp_rule_add(ctx, act, SCMP_SYS(newfstatat), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0)));
}

/* socket()/socketpair() by domain (and type for "dns"). */
static int
sc_sockets(scmp_filter_ctx ctx, unsigned int p)
{
	/*
	 * socketpair(AF_UNIX) reaches no one outside the process; pledge's
	 * "stdio" allows it too.  libcurl makes one to wake itself.
	 */
	if (sc_allow_eq(ctx, SCMP_SYS(socketpair), 0, AF_UNIX) == -1)
		return -1;
	if (p & P_UNIX) {
		if (sc_allow_eq(ctx, SCMP_SYS(socket), 0, AF_UNIX) == -1)
			return -1;
	}
	if (p & P_INET) {
		if (sc_allow_eq(ctx, SCMP_SYS(socket), 0, AF_INET) == -1 ||
		    sc_allow_eq(ctx, SCMP_SYS(socket), 0, AF_INET6) == -1)
			return -1;
	}
	if (p & P_DNS) {
		/* type & 0xf: SOCK_NONBLOCK/SOCK_CLOEXEC are high bits */
		if (sc_err(seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ, AF_INET),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM))) == -1 ||
		    sc_err(seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ, AF_INET6),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM))) == -1)
			return -1;
		/* getaddrinfo() asks the kernel for local addresses first */
		if (sc_err(seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
		    SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE))) == -1)
			return -1;
		/*
		 * ... and tries nscd's Unix socket: refuse it gently so that
		 * glibc falls back to its own lookup, without "unix".
		 */
		if (!(p & P_UNIX) && sc_err(seccomp_rule_add(ctx,
		    SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX))) == -1)
			return -1;
	}
	return 0;
}

/*
 * clone: new namespaces never.  "proc" allows fork(); "thread" only
 * threads (CLONE_THREAD|CLONE_VM).  clone3 passes its flags in memory the
 * filter cannot read, so it fails with ENOSYS and glibc falls back to
 * clone.
 */
#define CLONE_NS	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
	CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

static int
sc_clone(scmp_filter_ctx ctx, unsigned int p)
{
	const uint64_t	 thr = CLONE_THREAD | CLONE_VM;

	if (sc_err(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(clone3), 0)) == -1)
		return -1;
	if ((p & P_PROC) &&
	    sc_allow_masked(ctx, SCMP_SYS(clone), 0, CLONE_NS, 0) == -1)
		return -1;
	if ((p & P_THREAD) &&
	    sc_allow_masked(ctx, SCMP_SYS(clone), 0, CLONE_NS | thr, thr) == -1)
		return -1;
	return 0;
}

static int
sc_rules(scmp_filter_ctx ctx, unsigned int p)
{
	if (SC_ALLOW(ctx, sc_stdio) == -1 || sc_stdio_args(ctx) == -1 ||
	    sc_open(ctx, p) == -1 || sc_lookups(ctx, p) == -1 ||
	    sc_sockets(ctx, p) == -1 || sc_clone(ctx, p) == -1)
		return -1;
	if ((p & P_WPATH) && SC_ALLOW(ctx, sc_wpath) == -1)
		return -1;
	if ((p & P_CPATH) && SC_ALLOW(ctx, sc_cpath) == -1)
		return -1;
	if ((p & (P_UNIX | P_INET)) && SC_ALLOW(ctx, sc_net) == -1)
		return -1;
	if ((p & P_DNS) && SC_ALLOW(ctx, sc_dns) == -1)
		return -1;
	if ((p & P_PROC) && SC_ALLOW(ctx, sc_proc) == -1)
		return -1;
	if ((p & P_EXEC) && SC_ALLOW(ctx, sc_exec) == -1)
		return -1;
	if ((p & P_ID) && SC_ALLOW(ctx, sc_id) == -1)
		return -1;
	if ((p & P_THREAD) && SC_ALLOW(ctx, sc_thread) == -1)
		return -1;
	return 0;
}

static scmp_filter_ctx
sc_build(unsigned int promises)
{
	scmp_filter_ctx	 ctx;
	const char	*env = getenv("BALLAST_SANDBOX_LOG");
	int		 logmode = env != NULL && strcmp(env, "1") == 0;
	int		 saved;

	/* BALLAST_SANDBOX_LOG=1: log instead of kill; see the top comment. */
	ctx = seccomp_init(logmode ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (logmode)
		log_warnx("%s: BALLAST_SANDBOX_LOG=1: syscalls outside the "
		    "promises are logged, not refused", __func__);
	if (sc_err(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) == -1 ||
	    (logmode && sc_err(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG,
	    1)) == -1) || sc_rules(ctx, promises) == -1) {
		saved = errno;
		seccomp_release(ctx);
		errno = saved;
		return NULL;
	}
	return ctx;
}

/*
 * LeakSanitizer stops the world with ptrace at exit, which the filter
 * rightly kills; so a sanitizer build checks for leaks now, once, and the
 * exit-time check is then skipped.
 */
static void
san_prepare(void)
{
#if defined(__SANITIZE_ADDRESS__)
	__lsan_do_leak_check();
#endif
}

/*
 * Leak-check mode, in a sanitizer build only (-DBALLAST_SAN) and only with
 * BALLAST_LSAN=1 in the environment (the parent passes it to its
 * children): no seccomp filter and no Landlock, so that LeakSanitizer can
 * stop the world (ptrace) and read /proc/self/maps when the process exits.
 * `make leakcheck` runs the suite this way.  A production build never
 * looks at the variable.
 */
static int
san_leakcheck(void)
{
#if defined(BALLAST_SAN)
	const char	*env = getenv("BALLAST_LSAN");

	if (env != NULL && strcmp(env, "1") == 0) {
		log_warnx("sandbox_pledge: BALLAST_LSAN=1 (leak-check build): "
		    "NO SECCOMP FILTER AND NO LANDLOCK in this process");
		return 1;
	}
#endif
	return 0;
}

int
sandbox_pledge(const char *promises)
{
	scmp_filter_ctx	 ctx;
	unsigned int	 p;
	int		 abi, rc, saved;

	if (pledged) {
		/* the first filter forbids seccomp(2): narrowing is for OpenBSD */
		log_warnx("%s: already pledged", __func__);
		errno = EPERM;
		return -1;
	}
	if (parse_promises(promises, &p) == -1)
		return -1;
	if (san_leakcheck()) {
		pledged = 1;
		(void)strlcpy(describe, "none (BALLAST_LSAN=1)",
		    sizeof(describe));
		return 0;
	}
	san_prepare();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("%s: PR_SET_NO_NEW_PRIVS", __func__);
		return -1;
	}
	if ((ctx = sc_build(p)) == NULL) {
		log_warn("%s: building the seccomp filter", __func__);
		return -1;
	}
	if ((abi = ll_restrict()) == -1) {
		saved = errno;
		seccomp_release(ctx);
		errno = saved;
		return -1;
	}
	rc = sc_err(seccomp_load(ctx));
	saved = errno;
	seccomp_release(ctx);
	if (rc == -1) {
		errno = saved;
		log_warn("%s: seccomp_load", __func__);
		return -1;
	}
	pledged = 1;
	if (abi > 0)
		(void)snprintf(describe, sizeof(describe),
		    "seccomp+landlock(abi %d)", abi);
	else
		(void)strlcpy(describe, "seccomp", sizeof(describe));
	return 0;
}

#endif /* Linux */

/*
 * sandbox-probe: what a child's sandbox does to a forbidden call.
 *
 *   sandbox-probe [-d conninfo] [-u path]... promises probe...
 *
 * For each probe, a fresh process unveils the paths given with -u (and,
 * with -d, does what authd and indexd do for their database:
 * db_sandbox(conninfo) adds promises and unveils the socket directory and
 * TLS files), calls the real sandbox_pledge(promises), then tries the
 * probe.  One line per probe on stdout:
 *
 *   PROBE killed SIGSYS | refused ERRNO-NAME | allowed
 *
 * Probes: execve (/bin/true), open:PATH (read-only), socket-inet,
 * socket-unix, socket-packet, ptrace (PTRACE_ATTACH to the parent),
 * fork (a plain fork).
 * The final promises (after -d) go to stderr as "promises: ...".
 */
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/db.h"
#include "common/sandbox.h"

#define MAXPATHS	16

static char	*paths[MAXPATHS];
static size_t	 npaths;

static void
usage(void)
{
	fprintf(stderr, "usage: sandbox-probe [-d conninfo] [-u path]... "
	    "promises probe...\n");
	exit(2);
}

/* In the probing process: 0 when the call worked, else errno. */
static int
probe_try(const char *probe, pid_t parent)
{
	char	*argv[] = { (char *)"/bin/true", NULL };
	int	 fd = -1;

	errno = 0;
	if (strcmp(probe, "execve") == 0)
		execve(argv[0], argv, NULL);
	else if (strncmp(probe, "open:", 5) == 0)
		fd = open(probe + 5, O_RDONLY | O_CLOEXEC);
	else if (strcmp(probe, "socket-inet") == 0)
		fd = socket(AF_INET, SOCK_STREAM, 0);
	else if (strcmp(probe, "socket-unix") == 0)
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
	else if (strcmp(probe, "socket-packet") == 0)
		fd = socket(AF_PACKET, SOCK_RAW, 0);
	else if (strcmp(probe, "ptrace") == 0)
		return ptrace(PTRACE_ATTACH, parent, NULL, NULL) == 0 ? 0 :
		    errno;
	else if (strcmp(probe, "fork") == 0) {
		pid_t p = (pid_t)syscall(SYS_fork);
		if (p == 0)
			_exit(0);
		return p > 0 ? 0 : errno;
	} else
		return EINVAL;
	return fd >= 0 ? 0 : errno;
}

static void
probe(const char *promises, const char *conninfo, const char *what)
{
	char	 pr[256];
	pid_t	 pid, parent = getpid();
	int	 st, e;

	fflush(stdout);
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		if (strlcpy(pr, promises, sizeof(pr)) >= sizeof(pr))
			_exit(100);
		for (size_t i = 0; i < npaths; i++)
			if (sandbox_unveil(paths[i], "r") == -1)
				_exit(101);
		if (conninfo != NULL &&
		    db_sandbox(conninfo, pr, sizeof(pr), 1) == -1)
			_exit(102);
		if (strcmp(what, "execve") == 0)
			fprintf(stderr, "promises: %s\n", pr);
		if (sandbox_pledge(pr) == -1)
			_exit(103);
		e = probe_try(what, parent);
		_exit(e > 0 && e < 100 ? e : (e == 0 ? 0 : 99));
	}
	if (waitpid(pid, &st, 0) == -1) {
		perror("waitpid");
		exit(1);
	}
	if (WIFSIGNALED(st))
		printf("%s killed %s\n", what, sigabbrev_np(WTERMSIG(st)) ?
		    sigabbrev_np(WTERMSIG(st)) : "?");
	else if (WEXITSTATUS(st) == 0)
		printf("%s allowed\n", what);
	else if (WEXITSTATUS(st) >= 100)
		printf("%s setup-failed %d\n", what, WEXITSTATUS(st));
	else
		printf("%s refused %s\n", what,
		    strerrorname_np(WEXITSTATUS(st)) ?
		    strerrorname_np(WEXITSTATUS(st)) : "?");
}

int
main(int argc, char *argv[])
{
	const char	*conninfo = NULL;
	int		 ch;

	while ((ch = getopt(argc, argv, "d:u:")) != -1) {
		switch (ch) {
		case 'd':
			conninfo = optarg;
			break;
		case 'u':
			if (npaths >= MAXPATHS)
				usage();
			paths[npaths++] = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();
	for (int i = 1; i < argc; i++)
		probe(argv[0], conninfo, argv[i]);
	return 0;
}

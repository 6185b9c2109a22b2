/*
 * ballastctl: control a running suite through the parent's control socket.
 * See ballastctl(8).  Exit status: 0 success, 1 the suite said no or is
 * unreachable, 2 usage.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/ipc.h"
#include "common/log.h"
#include "ballastd/ctl.h"

#ifndef BALLAST_CONFFILE
#define BALLAST_CONFFILE	"/etc/ballast/ballast.conf"
#endif

static const char	*conffile = BALLAST_CONFFILE;
static const char	*sockpath;

void
ctl_usage(void)
{
	fprintf(stderr,
	    "usage: ballastctl [-f file] [-s socket] command [argument ...]\n"
	    "commands:\n"
	    "  status | reload | stop\n"
	    "  key init PATH | key rotate | key rewrap | key retire ID | "
	    "key status\n"
	    "  sync run SOURCE | reindex [COLLECTION]\n"
	    "  secret set NAME (the value on standard input) | "
	    "secret unset NAME | secret list\n"
	    "  db migrate | db status\n"
	    "  user add [-o | --owner organization] [-n | --name name] EMAIL\n"
	    "           (the password on standard input)\n"
	    "  user disable EMAIL | user reset-password EMAIL\n"
	    "           (the new password on standard input)\n"
	    "  apikey revoke ID | audit tail [-n rows] [-o organization]\n"
	    "  init -u | --owner EMAIL -o | --org organization [-n | --name name]\n"
	    "           (the password on standard input)\n");
	exit(2);
}

const struct ballast_conf *
ctl_conf(void)
{
	static struct ballast_conf	 conf;
	static int			 loaded;
	char				 err[512];

	if (!loaded) {
		if (conf_parse_file(conffile, &conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "ballastctl: %s\n", err);
			exit(1);
		}
		loaded = 1;
	}
	return &conf;
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		fprintf(stderr, "ballastctl: %s: path too long\n", path);
		exit(1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "ballastctl: cannot reach ballastd at %s: %s\n",
		    path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void
ctl_print_proc(const struct imsg_ctl_proc *p)
{
	printf("%-8s %-10s %7llu %7llu %9llu %8llu\n", p->name, p->state,
	    (unsigned long long)p->pid, (unsigned long long)p->uid,
	    (unsigned long long)p->uptime, (unsigned long long)p->restarts);
}

/* Read replies until IMSG_CTL_RESULT; print them. */
static int
ctl_replies(int fd, uint64_t id)
{
	struct ipc_msg	 msg;
	int		 ok, header = 0;

	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.fd = -1;
		if (ipc_recv_blocking(fd, PROC_CTL, PROC_PARENT, &msg) == -1) {
			fprintf(stderr, "ballastctl: no answer from ballastd"
			    "%s%s\n", errno ? ": " : "",
			    errno ? strerror(errno) : "");
			return 1;
		}
		if (msg.id != id) {
			ipc_msg_clear(&msg);
			continue;
		}
		if (msg.type == IMSG_CTL_PROC) {
			if (!header++)
				printf("%-8s %-10s %7s %7s %9s %8s\n", "PROCESS",
				    "STATE", "PID", "UID", "UPTIME",
				    "RESTARTS");
			ctl_print_proc(msg.body);
			ipc_msg_clear(&msg);
			continue;
		}
		if (msg.type != IMSG_CTL_RESULT) {
			ipc_msg_clear(&msg);
			return 1;
		}
		ok = ((struct imsg_ctl_result *)msg.body)->ok;
		if (!header || !ok)
			fprintf(ok ? stdout : stderr, "%s\n",
			    ((struct imsg_ctl_result *)msg.body)->message);
		ipc_msg_clear(&msg);
		return ok ? 0 : 1;
	}
}

static const char *
ctl_socket_path(void)
{
	return sockpath != NULL ? sockpath : ctl_conf()->control_socket;
}

/* One request to the parent; replies printed unless quiet. */
static int
ctl_request(enum ipc_type type, int quiet)
{
	struct imsg_empty	 e = { 0 };
	uint64_t		 id;
	int			 fd, saved, rv;

	fd = ctl_connect(ctl_socket_path());
	id = ipc_next_id();
	if (ipc_send_blocking(fd, PROC_CTL, PROC_PARENT, type, id, &e, -1) ==
	    -1) {
		fprintf(stderr, "ballastctl: send: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	if (quiet) {
		saved = dup(STDOUT_FILENO);
		if (freopen("/dev/null", "w", stdout) == NULL)
			return 1;
		rv = ctl_replies(fd, id);
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
		close(saved);
	} else
		rv = ctl_replies(fd, id);
	close(fd);
	return rv;
}

/*
 * A request indexd answers (IMSG_CTL_ADMIN through the parent): 0 and
 * the answer in *answer (malloc'd), or 1 with the reason on stderr.
 * quiet: a suite that is not running is not an error worth printing.
 */
int
ctl_admin_request(const char *op, const char *arg, char **answer, int quiet)
{
	return ctl_admin_data(op, arg, NULL, 0, answer, quiet);
}

int
ctl_admin_data(const char *op, const char *arg, const uint8_t *data,
    size_t datalen, char **answer, int quiet)
{
	struct imsg_ctl_admin	 a;
	struct imsg_ctl_result	*r;
	struct ipc_msg		 msg;
	struct sockaddr_un	 sun;
	struct timeval		 tv;
	uint64_t		 id;
	int			 fd, ok;

	*answer = NULL;
	if (quiet) {
		/* ctl_connect() exits; here a stopped suite is an answer */
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlcpy(sun.sun_path, ctl_socket_path(),
		    sizeof(sun.sun_path)) >= sizeof(sun.sun_path) ||
		    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return 1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			close(fd);
			return 1;
		}
	} else
		fd = ctl_connect(ctl_socket_path());
	/* never wait forever on a suite that cannot answer */
	tv.tv_sec = strcmp(op, "rewrap") == 0 ? 600 : 30;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&a, 0, sizeof(a));
	a.op = (char *)op;
	a.arg = (char *)arg;
	a.data.data = (uint8_t *)data;
	a.data.len = datalen;
	id = ipc_next_id();
	if (ipc_send_blocking(fd, PROC_CTL, PROC_PARENT, IMSG_CTL_ADMIN, id, &a,
	    -1) == -1) {
		fprintf(stderr, "ballastctl: send: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.fd = -1;
		if (ipc_recv_blocking(fd, PROC_CTL, PROC_PARENT, &msg) == -1) {
			if (!quiet)
				fprintf(stderr, "ballastctl: no answer from "
				    "ballastd%s%s\n", errno ? ": " : "",
				    errno ? strerror(errno) : "");
			close(fd);
			return 1;
		}
		if (msg.id == id && msg.type == IMSG_CTL_ADMIN_REP)
			break;
		ipc_msg_clear(&msg);
	}
	close(fd);
	r = msg.body;
	ok = r->ok;
	if (ok)
		*answer = strdup(r->message);
	else if (!quiet)
		fprintf(stderr, "ballastctl: %s\n", r->message);
	ipc_msg_clear(&msg);
	return ok && *answer != NULL ? 0 : 1;
}

int
ctl_reload_quiet(void)
{
	return ctl_request(IMSG_CTL_RELOAD, 1);
}

int
main(int argc, char *argv[])
{
	int	 ch;

	log_init(1, LOG_LEVEL_WARN, "ballastctl");
	while ((ch = getopt(argc, argv, "+f:s:")) != -1) {
		switch (ch) {
		case 'f':
			conffile = optarg;
			break;
		case 's':
			sockpath = optarg;
			break;
		default:
			ctl_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		ctl_usage();
	if (strcmp(argv[0], "key") == 0)
		return ctl_key(argc - 1, argv + 1);
	if (strcmp(argv[0], "db") == 0)
		return ctl_db(argc - 1, argv + 1);
	if (strcmp(argv[0], "sync") == 0)
		return ctl_sync(argc - 1, argv + 1);
	if (strcmp(argv[0], "reindex") == 0)
		return ctl_reindex(argc - 1, argv + 1);
	if (strcmp(argv[0], "secret") == 0)
		return ctl_secret(argc - 1, argv + 1);
	if ((strcmp(argv[0], "user") == 0 && argc >= 2 &&
	    (strcmp(argv[1], "disable") == 0 ||
	    strcmp(argv[1], "reset-password") == 0)) ||
	    strcmp(argv[0], "apikey") == 0 || strcmp(argv[0], "audit") == 0)
		return ctl_admin(argc, argv);
	if (strcmp(argv[0], "user") == 0)
		return ctl_user(argc - 1, argv + 1);
	if (strcmp(argv[0], "init") == 0)
		return ctl_init(argc, argv);
	if (argc != 1)
		ctl_usage();
	if (strcmp(argv[0], "status") == 0)
		return ctl_request(IMSG_CTL_STATUS, 0);
	if (strcmp(argv[0], "reload") == 0)
		return ctl_request(IMSG_CTL_RELOAD, 0);
	if (strcmp(argv[0], "stop") == 0)
		return ctl_request(IMSG_CTL_STOP, 0);
	ctl_usage();
}

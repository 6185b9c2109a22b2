/*
 * ballastctl: control a running suite through the parent's control socket.
 * See ballastctl(8).  Exit status: 0 success, 1 the suite said no or is
 * unreachable, 2 usage.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/ipc.h"
#include "common/log.h"
#include "keyd/keyring.h"

#ifndef BALLAST_CONFFILE
#define BALLAST_CONFFILE	"/etc/ballast/ballast.conf"
#endif

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr,
	    "usage: ballastctl [-f file] [-s socket] command\n"
	    "commands: status, reload, stop, key init PATH\n");
	exit(2);
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

/* key init PATH: a new keyring, written 0400; an existing file is kept. */
static int
ctl_key_init(const char *path)
{
	struct keyring	*kr;
	char		 err[512];

	if (access(path, F_OK) == 0) {
		fprintf(stderr, "ballastctl: %s exists; not replacing a "
		    "keyring (every sealed secret depends on it)\n", path);
		return 1;
	}
	if ((kr = keyring_generate()) == NULL) {
		fprintf(stderr, "ballastctl: cannot generate a keyring\n");
		return 1;
	}
	if (keyring_write(kr, path, err, sizeof(err)) == -1) {
		keyring_free(kr);
		fprintf(stderr, "ballastctl: %s\n", err);
		return 1;
	}
	keyring_free(kr);
	printf("keyring %s created with key 1 and a token signing key\n",
	    path);
	return 0;
}

static const char *
ctl_socket_path(const char *conffile, const char *sock)
{
	static struct ballast_conf	 conf;
	char				 err[512];

	if (sock != NULL)
		return sock;
	if (conf_parse_file(conffile, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "ballastctl: %s (use -s to name the control "
		    "socket)\n", err);
		exit(1);
	}
	return conf.control_socket;
}

int
main(int argc, char *argv[])
{
	const char		*conffile = BALLAST_CONFFILE, *sock = NULL;
	struct imsg_empty	 e = { 0 };
	enum ipc_type		 type;
	uint64_t		 id;
	int			 ch, fd;

	log_init(1, LOG_LEVEL_WARN, "ballastctl");
	while ((ch = getopt(argc, argv, "f:s:")) != -1) {
		switch (ch) {
		case 'f':
			conffile = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 3 && strcmp(argv[0], "key") == 0 &&
	    strcmp(argv[1], "init") == 0)
		return ctl_key_init(argv[2]);
	if (argc != 1)
		usage();
	if (strcmp(argv[0], "status") == 0)
		type = IMSG_CTL_STATUS;
	else if (strcmp(argv[0], "reload") == 0)
		type = IMSG_CTL_RELOAD;
	else if (strcmp(argv[0], "stop") == 0)
		type = IMSG_CTL_STOP;
	else
		usage();

	fd = ctl_connect(ctl_socket_path(conffile, sock));
	id = ipc_next_id();
	if (ipc_send_blocking(fd, PROC_CTL, PROC_PARENT, type, id, &e, -1) ==
	    -1) {
		fprintf(stderr, "ballastctl: send: %s\n", strerror(errno));
		return 1;
	}
	return ctl_replies(fd, id);
}

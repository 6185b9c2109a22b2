/*
 * ballastd: the parent of the suite, and (as "ballastd -P front") the
 * front.  See ballastd(8).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ballastd/front.h"
#include "ballastd/parent.h"
#include "common/conf.h"
#include "common/log.h"

#ifndef BALLAST_CONFFILE
#define BALLAST_CONFFILE	"/etc/ballast/ballast.conf"
#endif

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: ballastd [-dnv] [-f file]\n");
	exit(2);
}

static void
self_exe(struct parent *p, const char *argv0)
{
	ssize_t	 n;

	n = readlink("/proc/self/exe", p->self_exe, sizeof(p->self_exe) - 1);
	if (n > 0) {
		p->self_exe[n] = '\0';
		return;
	}
	if (argv0[0] != '/' || strlcpy(p->self_exe, argv0,
	    sizeof(p->self_exe)) >= sizeof(p->self_exe))
		fatalx("start ballastd with an absolute path");
}

static int
check_only(struct parent *p, int verbose)
{
	if (verbose && conf_print(stdout, &p->conf) == -1)
		return 1;
	if (!verbose)
		fprintf(stderr, "configuration OK\n");
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct parent	 p;
	char			 err[512];
	int			 ch, noaction = 0;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-P") == 0 &&
		    strcmp(argv[i + 1], "front") == 0)
			front_main(argc, argv);

	p.conffile = BALLAST_CONFFILE;
	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			p.foreground = 1;
			break;
		case 'f':
			p.conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			p.verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(1, p.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, "ballastd");
	if (conf_parse_file(p.conffile, &p.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "ballastd: %s\n", err);
		exit(1);
	}
	if (noaction)
		exit(check_only(&p, p.verbose));

	self_exe(&p, argv[0]);
	log_init(p.foreground, p.verbose ? LOG_LEVEL_DEBUG :
	    p.conf.log_level, "ballastd");
	/* Under systemd (Type=notify) the service manager keeps us in front. */
	if (!p.foreground && getenv("NOTIFY_SOCKET") == NULL &&
	    daemon(0, 0) == -1)
		fatal("daemon");
	p.listen_fd = p.control_fd = -1;
	parent_main(&p);
}

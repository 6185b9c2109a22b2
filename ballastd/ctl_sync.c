/*
 * ballastctl sync run SOURCE: queue a sync of one source now, as
 * POST /v1/sources/{id}/sync would, for an administrator on the host.
 * indexd creates the job; its id is printed for scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ballastd/ctl.h"

static int
uuid_shaped(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (strchr("0123456789abcdefABCDEF", s[i]) == NULL)
			return 0;
	}
	return 1;
}

int
ctl_sync(int argc, char **argv)
{
	char	*answer;

	if (argc != 2 || strcmp(argv[0], "run") != 0)
		ctl_usage();
	if (!uuid_shaped(argv[1])) {
		fprintf(stderr, "ballastctl: %s: a source id is a UUID\n",
		    argv[1]);
		return 2;
	}
	if (ctl_admin_request("sync", argv[1], &answer, 0) != 0)
		return 1;
	printf("%s\n", answer);
	free(answer);
	return 0;
}

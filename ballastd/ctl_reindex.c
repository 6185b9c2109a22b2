/*
 * ballastctl reindex [COLLECTION]: rebuild the vector store (of one
 * collection, or all) from PostgreSQL.  indexd works in slices and
 * answers with its progress; we print each answer and ask again until it
 * says "done".  A run that stopped (the store down) resumes where it was
 * when asked again.
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

static int
finished(const char *answer)
{
	size_t	 n = strlen(answer);

	return n >= 4 && strcmp(answer + n - 4, "done") == 0;
}

int
ctl_reindex(int argc, char **argv)
{
	const char	*coll = argc == 1 ? argv[0] : "";
	char		*answer;
	int		 done;

	if (argc > 1)
		ctl_usage();
	if (argc == 1 && !uuid_shaped(coll)) {
		fprintf(stderr, "ballastctl: %s: a collection id is a UUID\n",
		    coll);
		return 2;
	}
	do {
		if (ctl_admin_request("reindex", coll, &answer, 0) != 0)
			return 1;
		printf("reindex: %s\n", answer);
		fflush(stdout);
		done = finished(answer);
		free(answer);
	} while (!done);
	return 0;
}

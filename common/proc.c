#include <string.h>

#include "common/proc.h"

static const char *const proc_names[PROC_MAX] = {
	[PROC_PARENT] = "parent",
	[PROC_FRONT] = "front",
	[PROC_KEYD] = "keyd",
	[PROC_AUTHD] = "authd",
	[PROC_INDEXD] = "indexd",
	[PROC_CTL] = "ballastctl",
	[PROC_FETCHER] = "fetcher",
};

const char *
proc_name(enum proc_id id)
{
	if ((int)id < 0 || id >= PROC_MAX)
		return "unknown";
	return proc_names[id];
}

int
proc_from_name(const char *name)
{
	for (int i = 0; i < PROC_MAX; i++)
		if (strcmp(proc_names[i], name) == 0)
			return i;
	return -1;
}

/* The child-to-child channels of DESIGN.md's trust table. */
int
proc_peers(enum proc_id a, enum proc_id b)
{
	static const unsigned pairs[][2] = {
		{ PROC_FRONT, PROC_AUTHD },
		{ PROC_FRONT, PROC_KEYD },
		{ PROC_FRONT, PROC_INDEXD },
		{ PROC_AUTHD, PROC_KEYD },
		{ PROC_INDEXD, PROC_KEYD },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if ((pairs[i][0] == a && pairs[i][1] == b) ||
		    (pairs[i][0] == b && pairs[i][1] == a))
			return 1;
	return 0;
}

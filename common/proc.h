/*
 * The processes of the suite and how they start.  PROC_* numbers index the
 * peers table; they also name channels in the IPC policy.
 */
#ifndef BALLAST_PROC_H
#define BALLAST_PROC_H

#include <stdint.h>
#include <sys/types.h>

enum proc_id {
	PROC_PARENT = 0,
	PROC_FRONT,
	PROC_KEYD,
	PROC_AUTHD,
	PROC_INDEXD,
	PROC_CTL,	/* ballastctl on the control socket */
	PROC_FETCHER,
	PROC_MAX
};
#define PROC_BIT(p)	(1U << (p))
#define PROC_CHILDREN	(PROC_BIT(PROC_FRONT) | PROC_BIT(PROC_KEYD) | \
			 PROC_BIT(PROC_AUTHD) | PROC_BIT(PROC_INDEXD))

/* The parent hands each child its channel to the parent as this fd. */
#define PROC_PARENT_FD	3

const char	*proc_name(enum proc_id);
/* -1 when unknown. */
int		 proc_from_name(const char *);

/*
 * The channels between children (DESIGN.md, "who may ask whom"): 1 when
 * a and b are meant to have a socketpair between them.
 */
int		 proc_peers(enum proc_id a, enum proc_id b);

#endif

/*
 * The search scope authd decided for a request: the collections a
 * principal may read and, for personal content, the owner user.  Every
 * content query runs in a transaction that first calls scope_apply(),
 * which sets the settings the row-level security policies of
 * etc/schema/010_content.sql read, so a query that forgets its own
 * filter still sees nothing outside the scope.
 */
#ifndef BALLAST_INDEXD_SCOPE_H
#define BALLAST_INDEXD_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define UUID_STR_LEN	37	/* 36 characters and NUL */
#define SCOPE_MAX_COLLECTIONS	100000

struct scope {
	char	(*collections)[UUID_STR_LEN];	/* lower-case, canonical */
	size_t	  ncollections;
	char	  owner[UUID_STR_LEN];		/* "" for none */
};

/* 0, or -1 when s is not a uuid (any case accepted, stored lower). */
int	scope_add_collection(struct scope *, const char *s);
int	scope_set_owner(struct scope *, const char *s);	/* NULL or "": none */
void	scope_free(struct scope *);
int	scope_has_collection(const struct scope *, const char *uuid);

/* "a,b,c" (for ballast.collections) and "{a,b,c}" (a uuid[] literal). */
char	*scope_csv(const struct scope *);
char	*scope_array(const struct scope *);

/*
 * Inside an open transaction: set ballast.collections and ballast.owner
 * for this transaction only.  0, or -1 with err.
 */
int	scope_apply(PGconn *, const struct scope *, char *err, size_t errlen);
/*
 * Inside an open transaction: every row visible (ballast.load_all).  Only
 * for the vector store's loader, which filters by scope itself.
 */
int	scope_apply_all(PGconn *, char *err, size_t errlen);

/* 36-character text form to 16 bytes and back. */
int	uuid_parse(const char *s, uint8_t out[16]);
void	uuid_format(const uint8_t in[16], char out[UUID_STR_LEN]);

#endif

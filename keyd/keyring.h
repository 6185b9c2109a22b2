/*
 * The master keyring: AES-256 keys with ids (the newest seals, any opens)
 * and the Ed25519 seed that signs JWTs.  It lives in one page-aligned
 * allocation that is mlock()ed and excluded from core dumps, and is wiped
 * when freed.
 *
 * File format (text, one entry per line, so an administrator can read its
 * structure but the keys stay base64):
 *
 *	ballast-keyring 1
 *	key <id> <created> <base64 of 32 bytes>
 *	...
 *	sign <id> <created> <base64 of the 32-byte Ed25519 seed>
 *
 * <id> is a decimal 1..4294967295 without leading zeros, <created> decimal
 * unix seconds.  Fields are separated by one space, every line ends in
 * "\n", no blank lines or comments.  Key lines come in strictly increasing
 * id order, 1..KEYRING_MAX_KEYS of them; exactly one sign line, last.  The
 * file is at most KEYRING_MAX_FILE bytes.
 */
#ifndef BALLAST_KEYD_KEYRING_H
#define BALLAST_KEYD_KEYRING_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define KEYRING_KEYLEN		32
#define KEYRING_SEEDLEN		32
#define KEYRING_MAX_KEYS	64
#define KEYRING_MAX_FILE	(64 * 1024)
#define KEYRING_MAGIC		"ballast-keyring 1"

struct keyring_key {
	uint32_t	 id;
	uint64_t	 created;	/* unix time */
	uint8_t		 key[KEYRING_KEYLEN];
};

struct keyring {
	size_t			 nkeys;		/* >= 1; keys[] by id, ascending */
	struct keyring_key	 keys[KEYRING_MAX_KEYS];
	uint32_t		 sign_id;
	uint64_t		 sign_created;
	uint8_t			 sign_seed[KEYRING_SEEDLEN];
	size_t			 mapsize;	/* of this allocation */
};

/* Page-aligned, mlock()ed, MADV_DONTDUMP memory, zeroed; NULL on failure. */
void	*secmem_alloc(size_t len);
/* explicit_bzero, munlock, munmap.  len as passed to secmem_alloc. */
void	 secmem_free(void *p, size_t len);

/* An empty keyring (nkeys 0, no sign key) in secure memory. */
struct keyring	*keyring_new(void);
void		 keyring_free(struct keyring *);

/* A new keyring: key id 1 and a sign key id 1, both random, created now. */
struct keyring	*keyring_generate(void);
/* Rotation: a new random key with id = newest + 1.  errno ENOSPC, EOVERFLOW. */
int	keyring_add_key(struct keyring *, uint32_t *newid);
/*
 * Drop a key.  Refuses (EBUSY) the newest key, which is also the only one
 * when there is one; ENOENT when id is unknown.
 */
int	keyring_retire(struct keyring *, uint32_t id);
/* The key that seals new secrets. */
const struct keyring_key *keyring_newest(const struct keyring *);
const struct keyring_key *keyring_find(const struct keyring *, uint32_t id);

/*
 * Parse a keyring file's bytes.  name is for errors: "name:line: why".
 * Errors never quote key material.
 */
int	keyring_parse(const char *buf, size_t len, const char *name,
	    struct keyring **, char *err, size_t errlen);
/*
 * The file text into buf (secure memory of bufsz bytes is best); *len
 * excludes the NUL.  Fails when it does not fit.
 */
int	keyring_format(const struct keyring *, char *buf, size_t bufsz,
	    size_t *len);

/*
 * Load from an open file: a regular file, mode & 077 == 0, owned by
 * expected_owner or root, at most KEYRING_MAX_FILE bytes.  Each refusal
 * says why and what to do.  The read buffer is wiped.  fd is not closed.
 */
int	keyring_load_fd(int fd, const char *name, uid_t expected_owner,
	    struct keyring **, char *err, size_t errlen);
/* open(O_NOFOLLOW) + keyring_load_fd: a symbolic link is refused. */
int	keyring_load(const char *path, uid_t expected_owner,
	    struct keyring **, char *err, size_t errlen);
/*
 * Write atomically: path.tmp (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0400), fsync,
 * rename over path, fsync the directory.  Buffers are wiped.
 */
int	keyring_write(const struct keyring *, const char *path, char *err,
	    size_t errlen);

#endif

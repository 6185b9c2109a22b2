/*
 * The keyring in memory: one page-aligned allocation, mlock()ed so it is
 * never swapped, MADV_DONTDUMP so it is never in a core file, wiped when
 * freed.  Rotation adds keys; retiring drops old ones.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keyd/crypto.h"
#include "keyd/keyring.h"

static size_t
page_round(size_t len)
{
	long	 pg = sysconf(_SC_PAGESIZE);
	size_t	 p = pg > 0 ? (size_t)pg : 4096;

	return (len + p - 1) / p * p;
}

void *
secmem_alloc(size_t len)
{
	void	*p;
	size_t	 sz;
	int	 saved;

	if (len == 0 || len > SIZE_MAX / 2)
		return NULL;
	sz = page_round(len);
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Keys must never reach swap or a core file; fail rather than risk it. */
	if (mlock(p, sz) == -1 || madvise(p, sz, MADV_DONTDUMP) == -1) {
		saved = errno;
		munmap(p, sz);
		errno = saved;
		return NULL;
	}
	return p;		/* anonymous mappings start zeroed */
}

void
secmem_free(void *p, size_t len)
{
	size_t	 sz;

	if (p == NULL)
		return;
	sz = page_round(len);
	explicit_bzero(p, sz);
	munlock(p, sz);
	munmap(p, sz);
}

struct keyring *
keyring_new(void)
{
	struct keyring	*kr;

	if ((kr = secmem_alloc(sizeof(*kr))) == NULL)
		return NULL;
	kr->mapsize = sizeof(*kr);
	return kr;
}

void
keyring_free(struct keyring *kr)
{
	/* The cipher contexts may hold one of its keys' schedules. */
	aes256gcm_forget();
	if (kr != NULL)
		secmem_free(kr, kr->mapsize);
}

struct keyring *
keyring_generate(void)
{
	struct keyring	*kr;
	uint64_t	 now = (uint64_t)time(NULL);

	if ((kr = keyring_new()) == NULL)
		return NULL;
	kr->nkeys = 1;
	kr->keys[0].id = 1;
	kr->keys[0].created = now;
	arc4random_buf(kr->keys[0].key, sizeof(kr->keys[0].key));
	kr->sign_id = 1;
	kr->sign_created = now;
	arc4random_buf(kr->sign_seed, sizeof(kr->sign_seed));
	return kr;
}

const struct keyring_key *
keyring_newest(const struct keyring *kr)
{
	if (kr == NULL || kr->nkeys == 0)
		return NULL;
	return &kr->keys[kr->nkeys - 1];
}

const struct keyring_key *
keyring_find(const struct keyring *kr, uint32_t id)
{
	size_t	 i;

	if (kr == NULL)
		return NULL;
	for (i = 0; i < kr->nkeys; i++)
		if (kr->keys[i].id == id)
			return &kr->keys[i];
	return NULL;
}

int
keyring_add_key(struct keyring *kr, uint32_t *newid)
{
	struct keyring_key	*k;
	const struct keyring_key *newest;

	if ((newest = keyring_newest(kr)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (kr->nkeys >= KEYRING_MAX_KEYS) {
		errno = ENOSPC;
		return -1;
	}
	if (newest->id == UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	k = &kr->keys[kr->nkeys];
	k->id = newest->id + 1;
	k->created = (uint64_t)time(NULL);
	arc4random_buf(k->key, sizeof(k->key));
	kr->nkeys++;
	if (newid != NULL)
		*newid = k->id;
	return 0;
}

int
keyring_retire(struct keyring *kr, uint32_t id)
{
	size_t	 i;

	if (kr == NULL || kr->nkeys == 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < kr->nkeys; i++)
		if (kr->keys[i].id == id)
			break;
	if (i == kr->nkeys) {
		errno = ENOENT;
		return -1;
	}
	/* The newest key seals; with one key it is also the only one. */
	if (i == kr->nkeys - 1) {
		errno = EBUSY;
		return -1;
	}
	explicit_bzero(&kr->keys[i], sizeof(kr->keys[i]));
	memmove(&kr->keys[i], &kr->keys[i + 1],
	    (kr->nkeys - i - 1) * sizeof(kr->keys[0]));
	kr->nkeys--;
	explicit_bzero(&kr->keys[kr->nkeys], sizeof(kr->keys[0]));
	return 0;
}

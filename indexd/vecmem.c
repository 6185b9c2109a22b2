/* The exact in-memory vector index (see vecmem.h). */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/vecmem.h"

#define LANES	16

void
vecmem_init(struct vecmem *vm, size_t dim)
{
	memset(vm, 0, sizeof(*vm));
	vm->dim = dim;
}

void
vecmem_clear(struct vecmem *vm)
{
	size_t	 dim = vm->dim;

	free(vm->m);
	free(vm->chunk);
	free(vm->coll);
	free(vm->owner);
	free(vm->colls);
	free(vm->owners);
	free(vm->mkey);
	free(vm->mrow);
	vecmem_init(vm, dim);
}

/*
 * Sixteen independent partial sums (four 4-float vectors, GCC/Clang
 * vector extensions, native SSE/NEON width): vectorised without
 * reassociating floating point, so the result is the same on every
 * machine.  At 384 dimensions the scan is bound by memory bandwidth.
 */
typedef float v4f __attribute__((vector_size(16)));

float
vec_dot(const float *a, const float *b, size_t n)
{
	v4f	 s0 = { 0 }, s1 = { 0 }, s2 = { 0 }, s3 = { 0 }, x[4], y[4];
	float	 tail = 0, s = 0;
	size_t	 i = 0;

	for (; i + LANES <= n; i += LANES) {
		memcpy(x, a + i, sizeof(x));
		memcpy(y, b + i, sizeof(y));
		s0 += x[0] * y[0];
		s1 += x[1] * y[1];
		s2 += x[2] * y[2];
		s3 += x[3] * y[3];
	}
	for (; i < n; i++)
		tail += a[i] * b[i];
	s0[0] += tail;
	for (size_t j = 0; j < 4; j++)
		s += s0[j];
	for (size_t j = 0; j < 4; j++)
		s += s1[j];
	for (size_t j = 0; j < 4; j++)
		s += s2[j];
	for (size_t j = 0; j < 4; j++)
		s += s3[j];
	return s;
}

static size_t
slot(int64_t key, size_t cap)
{
	uint64_t	 h = (uint64_t)key * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (cap - 1);
}

static void
map_insert(struct vecmem *vm, int64_t key, uint32_t row)
{
	size_t	 i = slot(key, vm->mcap);

	while (vm->mkey[i] != 0 && vm->mkey[i] != key)
		i = (i + 1) & (vm->mcap - 1);
	vm->mkey[i] = key;
	vm->mrow[i] = row;
}

static long
map_find(const struct vecmem *vm, int64_t key)
{
	size_t	 i;

	if (vm->mcap == 0)
		return -1;
	for (i = slot(key, vm->mcap); vm->mkey[i] != 0;
	    i = (i + 1) & (vm->mcap - 1))
		if (vm->mkey[i] == key)
			return (long)i;
	return -1;
}

/* Remove slot i, shifting back later entries of its probe run. */
static void
map_delete(struct vecmem *vm, size_t i)
{
	size_t	 j = i, k, mask = vm->mcap - 1;

	for (;;) {
		j = (j + 1) & mask;
		if (vm->mkey[j] == 0)
			break;
		k = slot(vm->mkey[j], vm->mcap);
		/* Move j to i unless its home k lies cyclically in (i, j]. */
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			vm->mkey[i] = vm->mkey[j];
			vm->mrow[i] = vm->mrow[j];
			i = j;
		}
	}
	vm->mkey[i] = 0;
}

static void
map_grow(struct vecmem *vm)
{
	int64_t		*ok = vm->mkey;
	uint32_t	*orow = vm->mrow;
	size_t		 ocap = vm->mcap;

	vm->mcap = ocap ? ocap * 2 : 1024;
	vm->mkey = xcalloc(vm->mcap, sizeof(*vm->mkey));
	vm->mrow = xcalloc(vm->mcap, sizeof(*vm->mrow));
	for (size_t i = 0; i < ocap; i++)
		if (ok[i] != 0)
			map_insert(vm, ok[i], orow[i]);
	free(ok);
	free(orow);
}

static uint32_t
intern(uint8_t (**dict)[16], size_t *n, const uint8_t *id)
{
	/* Rows arrive grouped by document: look at the last one first. */
	if (*n > 0 && memcmp((*dict)[*n - 1], id, 16) == 0)
		return (uint32_t)(*n - 1);
	for (size_t i = 0; i < *n; i++)
		if (memcmp((*dict)[i], id, 16) == 0)
			return (uint32_t)i;
	*dict = xreallocarray(*dict, *n + 1, sizeof(**dict));
	memcpy((*dict)[*n], id, 16);
	return (uint32_t)(*n)++;
}

static void
grow(struct vecmem *vm)
{
	vm->cap = vm->cap ? vm->cap * 2 : 1024;
	vm->m = xreallocarray(vm->m, vm->cap, vm->dim * sizeof(float));
	vm->chunk = xreallocarray(vm->chunk, vm->cap, sizeof(*vm->chunk));
	vm->coll = xreallocarray(vm->coll, vm->cap, sizeof(*vm->coll));
	vm->owner = xreallocarray(vm->owner, vm->cap, sizeof(*vm->owner));
}

void
vecmem_put(struct vecmem *vm, int64_t chunk_id, const uint8_t *coll,
    const uint8_t *owner, const float *v)
{
	long	 at = map_find(vm, chunk_id);
	size_t	 r;

	if (at >= 0)
		r = vm->mrow[at];
	else {
		if (vm->n == vm->cap)
			grow(vm);
		if ((vm->n + 1) * 2 > vm->mcap)
			map_grow(vm);
		r = vm->n++;
		map_insert(vm, chunk_id, (uint32_t)r);
	}
	memcpy(vm->m + r * vm->dim, v, vm->dim * sizeof(float));
	vm->chunk[r] = chunk_id;
	vm->coll[r] = intern(&vm->colls, &vm->ncolls, coll);
	vm->owner[r] = owner ? intern(&vm->owners, &vm->nowners, owner) + 1 : 0;
}

int
vecmem_remove(struct vecmem *vm, int64_t chunk_id)
{
	long	 at = map_find(vm, chunk_id);
	size_t	 r, last;

	if (at < 0)
		return 0;
	r = vm->mrow[at];
	map_delete(vm, (size_t)at);
	last = --vm->n;
	if (r != last) {
		/* The last row fills the hole. */
		memcpy(vm->m + r * vm->dim, vm->m + last * vm->dim,
		    vm->dim * sizeof(float));
		vm->chunk[r] = vm->chunk[last];
		vm->coll[r] = vm->coll[last];
		vm->owner[r] = vm->owner[last];
		vm->mrow[map_find(vm, vm->chunk[r])] = (uint32_t)r;
	}
	return 1;
}

int
vecmem_has(const struct vecmem *vm, int64_t chunk_id)
{
	return map_find(vm, chunk_id) >= 0;
}

/* a ranks below b: lower score, or equal score and higher chunk id. */
static int
worse(const struct vhit *a, const struct vhit *b)
{
	return a->score < b->score ||
	    (a->score == b->score && a->chunk_id > b->chunk_id);
}

/* Min-heap on "worse": the root is the worst of the k kept. */
static void
sift_down(struct vhit *h, size_t n, size_t i)
{
	struct vhit	 t;
	size_t		 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && worse(&h[c + 1], &h[c]))
			c++;
		if (!worse(&h[c], &h[i]))
			break;
		t = h[c];
		h[c] = h[i];
		h[i] = t;
		i = c;
	}
}

static void
sift_up(struct vhit *h, size_t i)
{
	struct vhit	 t;

	while (i > 0 && worse(&h[i], &h[(i - 1) / 2])) {
		t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/* Which dictionary entries the scope admits. */
static uint8_t *
allowed_collections(const struct vecmem *vm, const struct scope *sc)
{
	uint8_t	*ok = xcalloc(vm->ncolls ? vm->ncolls : 1, 1);
	uint8_t	 b[16];

	for (size_t i = 0; i < sc->ncollections; i++) {
		if (uuid_parse(sc->collections[i], b) == -1)
			continue;
		for (size_t j = 0; j < vm->ncolls; j++)
			if (memcmp(vm->colls[j], b, 16) == 0)
				ok[j] = 1;
	}
	return ok;
}

static uint32_t
allowed_owner(const struct vecmem *vm, const struct scope *sc)
{
	uint8_t	 b[16];

	if (sc->owner[0] == '\0' || uuid_parse(sc->owner, b) == -1)
		return 0;
	for (size_t j = 0; j < vm->nowners; j++)
		if (memcmp(vm->owners[j], b, 16) == 0)
			return (uint32_t)j + 1;
	return 0;
}

static int
by_rank(const void *a, const void *b)
{
	const struct vhit	*x = a, *y = b;

	if (worse(x, y))
		return 1;
	if (worse(y, x))
		return -1;
	return 0;
}

size_t
vecmem_search(const struct vecmem *vm, const float *q,
    const struct scope *sc, size_t k, struct vhit *out)
{
	uint8_t		*ok;
	uint32_t	 own;
	size_t		 n = 0;
	struct vhit	 h;

	if (k == 0 || vm->n == 0)
		return 0;
	ok = allowed_collections(vm, sc);
	own = allowed_owner(vm, sc);
	for (size_t r = 0; r < vm->n; r++) {
		/* The scope first: nothing outside it is ever scored. */
		if (!ok[vm->coll[r]] ||
		    (vm->owner[r] != 0 && vm->owner[r] != own))
			continue;
		h.chunk_id = vm->chunk[r];
		h.score = vec_dot(q, vm->m + r * vm->dim, vm->dim);
		if (n < k) {
			out[n] = h;
			sift_up(out, n++);
		} else if (worse(&out[0], &h)) {
			out[0] = h;
			sift_down(out, n, 0);
		}
	}
	free(ok);
	qsort(out, n, sizeof(*out), by_rank);
	return n;
}

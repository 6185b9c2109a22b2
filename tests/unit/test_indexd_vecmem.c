/*
 * The in-memory vector index: top-k against a brute-force reference on
 * random data, scope filtering (collections, personal owners), removal
 * and replacement, and search time at 100k vectors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/vecmem.h"

#define DIM	64

static uint64_t	 rng = 88172645463325252ull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void
rand_vec(float *v, size_t dim)
{
	float	 n = 0;

	for (size_t i = 0; i < dim; i++) {
		v[i] = (float)(rnd() % 20001) / 10000.0f - 1.0f;
		n += v[i] * v[i];
	}
	n = 1.0f / sqrtf(n);
	for (size_t i = 0; i < dim; i++)
		v[i] *= n;
}

static void
uuid_of(int i, uint8_t b[16], char s[UUID_STR_LEN])
{
	memset(b, 0, 16);
	b[0] = 0xc0;
	b[15] = (uint8_t)i;
	uuid_format(b, s);
}

/* The reference: every row, filtered and sorted in full. */
struct ref {
	int64_t		 id;
	int		 coll, owner;	/* owner -1 none */
	float		 v[DIM];
	int		 live;
};

static int
ref_cmp(const void *a, const void *b)
{
	const struct vhit	*x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->chunk_id < y->chunk_id ? -1 : x->chunk_id > y->chunk_id;
}

static size_t
ref_search(struct ref *rows, size_t n, const float *q, const int *colls,
    size_t ncolls, int owner, size_t k, struct vhit *out)
{
	struct vhit	*all = xcalloc(n + 1, sizeof(*all));
	size_t		 m = 0;

	for (size_t i = 0; i < n; i++) {
		int in = 0;
		if (!rows[i].live)
			continue;
		for (size_t c = 0; c < ncolls; c++)
			in |= rows[i].coll == colls[c];
		if (!in || (rows[i].owner != -1 && rows[i].owner != owner))
			continue;
		all[m].chunk_id = rows[i].id;
		all[m++].score = vec_dot(q, rows[i].v, DIM);
	}
	qsort(all, m, sizeof(*all), ref_cmp);
	if (m > k)
		m = k;
	memcpy(out, all, m * sizeof(*out));
	free(all);
	return m;
}

static void
test_dot(void **state)
{
	float	 a[37], b[37];
	double	 s = 0;

	for (int i = 0; i < 37; i++) {
		a[i] = (float)i / 10;
		b[i] = 1.0f - (float)i / 50;
		s += (double)a[i] * b[i];
	}
	assert_float_equal(vec_dot(a, b, 37), s, 1e-4);
}

static void
test_against_reference(void **state)
{
	enum { N = 3000, K = 25 };
	struct ref	*rows = xcalloc(N, sizeof(*rows));
	struct vecmem	 vm;
	struct vhit	 got[K + 5], want[K + 5];
	uint8_t		 cb[6][16], ob[3][16];
	char		 cs[6][UUID_STR_LEN], os[3][UUID_STR_LEN];
	float		 q[DIM];

	for (int i = 0; i < 6; i++)
		uuid_of(i, cb[i], cs[i]);
	for (int i = 0; i < 3; i++)
		uuid_of(100 + i, ob[i], os[i]);
	vecmem_init(&vm, DIM);
	for (int i = 0; i < N; i++) {
		rows[i].id = 1000 + i * 7;
		rows[i].coll = rnd() % 6;
		rows[i].owner = (rnd() % 4 == 0) ? (int)(rnd() % 3) : -1;
		rows[i].live = 1;
		rand_vec(rows[i].v, DIM);
		vecmem_put(&vm, rows[i].id, cb[rows[i].coll],
		    rows[i].owner == -1 ? NULL : ob[rows[i].owner], rows[i].v);
	}
	/* Remove a third, replace another few (new vector, new collection). */
	for (int i = 0; i < N; i += 3) {
		assert_true(vecmem_remove(&vm, rows[i].id));
		assert_false(vecmem_remove(&vm, rows[i].id));
		rows[i].live = 0;
	}
	for (int i = 1; i < N; i += 10) {
		rows[i].coll = (rows[i].coll + 1) % 6;
		rows[i].live = 1;	/* a removed row comes back */
		rand_vec(rows[i].v, DIM);
		vecmem_put(&vm, rows[i].id, cb[rows[i].coll],
		    rows[i].owner == -1 ? NULL : ob[rows[i].owner], rows[i].v);
	}
	{
		size_t live = 0;
		for (int i = 0; i < N; i++) {
			assert_int_equal(vecmem_has(&vm, rows[i].id),
			    rows[i].live);
			live += rows[i].live;
		}
		assert_int_equal(vm.n, live);
		assert_true(live < N);
	}

	for (int trial = 0; trial < 40; trial++) {
		struct scope	 sc = { 0 };
		int		 colls[6], ncolls = 0, owner = -1;
		size_t		 k = 1 + rnd() % K, ng, nw;

		for (int c = 0; c < 6; c++)
			if (rnd() % 2) {
				colls[ncolls++] = c;
				assert_int_equal(scope_add_collection(&sc,
				    cs[c]), 0);
			}
		if (rnd() % 2) {
			owner = rnd() % 3;
			assert_int_equal(scope_set_owner(&sc, os[owner]), 0);
		}
		rand_vec(q, DIM);
		ng = vecmem_search(&vm, q, &sc, k, got);
		nw = ref_search(rows, N, q, colls, ncolls, owner, k, want);
		assert_int_equal(ng, nw);
		for (size_t i = 0; i < ng; i++) {
			assert_int_equal(got[i].chunk_id, want[i].chunk_id);
			assert_true(got[i].score == want[i].score);
		}
		scope_free(&sc);
	}
	vecmem_clear(&vm);
	free(rows);
}

static void
test_scope_walls(void **state)
{
	struct vecmem	 vm;
	struct scope	 sc = { 0 };
	struct vhit	 out[10];
	uint8_t		 c1[16], c2[16], u1[16], u2[16];
	char		 s1[UUID_STR_LEN], s2[UUID_STR_LEN];
	char		 su1[UUID_STR_LEN], su2[UUID_STR_LEN];
	float		 v[DIM];

	uuid_of(1, c1, s1);
	uuid_of(2, c2, s2);
	uuid_of(51, u1, su1);
	uuid_of(52, u2, su2);
	rand_vec(v, DIM);
	vecmem_init(&vm, DIM);
	vecmem_put(&vm, 1, c1, NULL, v);	/* shared, c1 */
	vecmem_put(&vm, 2, c1, u1, v);		/* personal of u1, c1 */
	vecmem_put(&vm, 3, c2, NULL, v);	/* shared, c2 */
	vecmem_put(&vm, 4, c1, u2, v);		/* personal of u2, c1 */

	/* Empty scope: nothing. */
	assert_int_equal(vecmem_search(&vm, v, &sc, 10, out), 0);
	/* c1 without owner: only the shared row. */
	scope_add_collection(&sc, s1);
	assert_int_equal(vecmem_search(&vm, v, &sc, 10, out), 1);
	assert_int_equal(out[0].chunk_id, 1);
	/* c1 as u1: shared plus u1's own, never u2's. */
	scope_set_owner(&sc, su1);
	assert_int_equal(vecmem_search(&vm, v, &sc, 10, out), 2);
	assert_int_equal(out[0].chunk_id, 1);	/* tie: lower id first */
	assert_int_equal(out[1].chunk_id, 2);
	/* An owner the index never saw: no personal rows. */
	assert_int_equal(scope_set_owner(&sc,
	    "C0000000-0000-0000-0000-0000000000FF"), 0);
	assert_int_equal(vecmem_search(&vm, v, &sc, 10, out), 1);
	assert_int_equal(scope_set_owner(&sc, "not-a-uuid"), -1);
	/* k = 0 and k = 1. */
	assert_int_equal(vecmem_search(&vm, v, &sc, 0, out), 0);
	scope_free(&sc);
	vecmem_clear(&vm);
}

static void
test_speed_100k(void **state)
{
	enum { N = 100000, D = 384 };
	struct vecmem	 vm;
	struct scope	 sc = { 0 };
	struct vhit	 out[100];
	uint8_t		 cb[16];
	char		 cs[UUID_STR_LEN];
	float		*v = xcalloc(D, sizeof(float));
	uint64_t	 t0, ms;

	uuid_of(9, cb, cs);
	vecmem_init(&vm, D);
	for (int i = 0; i < N; i++) {
		rand_vec(v, D);
		vecmem_put(&vm, i + 1, cb, NULL, v);
	}
	scope_add_collection(&sc, cs);
	rand_vec(v, D);
	t0 = now_ms();
	for (int i = 0; i < 10; i++)
		assert_int_equal(vecmem_search(&vm, v, &sc, 100, out), 100);
	ms = now_ms() - t0;
	printf("vecmem: 100k x %d search, top 100: %.1f ms per query\n", D,
	    ms / 10.0);
	for (int i = 1; i < 100; i++)
		assert_true(out[i - 1].score >= out[i].score);
	free(v);
	scope_free(&sc);
	vecmem_clear(&vm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dot),
		cmocka_unit_test(test_against_reference),
		cmocka_unit_test(test_scope_walls),
		cmocka_unit_test(test_speed_100k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

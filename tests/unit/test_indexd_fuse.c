/* Reciprocal rank fusion and search mode names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "indexd/search.h"

static void
test_rrf_math(void **state)
{
	int64_t		 a[] = { 10, 20, 30 }, b[] = { 30, 40, 10 };
	struct fused	 f[6];
	size_t		 n;

	n = rrf_fuse(a, 3, b, 3, 60, f);
	assert_int_equal(n, 4);
	/* 10: 1/61 + 1/63; 30: 1/63 + 1/61 (tie, lower id first). */
	assert_int_equal(f[0].chunk_id, 10);
	assert_int_equal(f[1].chunk_id, 30);
	assert_float_equal(f[0].score, 1.0 / 61 + 1.0 / 63, 1e-12);
	assert_float_equal(f[1].score, f[0].score, 1e-12);
	/* 20 (rank 2 in a) = 40 (rank 2 in b): 1/62, tie by id. */
	assert_int_equal(f[2].chunk_id, 20);
	assert_int_equal(f[3].chunk_id, 40);
	assert_float_equal(f[2].score, 1.0 / 62, 1e-12);
}

static void
test_rrf_one_side(void **state)
{
	int64_t		 a[] = { 5, 4, 3 };
	struct fused	 f[3];

	assert_int_equal(rrf_fuse(a, 3, NULL, 0, 60, f), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f[i].chunk_id, 5 - i);
	assert_int_equal(rrf_fuse(NULL, 0, NULL, 0, 60, f), 0);
	/* A document high in both lists beats one top in only one. */
	{
		int64_t	 x[] = { 1, 2 }, y[] = { 3, 2 };
		assert_int_equal(rrf_fuse(x, 2, y, 2, 60, f), 3);
		assert_int_equal(f[0].chunk_id, 2);
	}
}

static void
test_modes(void **state)
{
	enum search_mode	 m;

	assert_int_equal(search_mode_parse("hybrid", &m), 0);
	assert_int_equal(m, SEARCH_HYBRID);
	assert_int_equal(search_mode_parse("keyword", &m), 0);
	assert_int_equal(m, SEARCH_KEYWORD);
	assert_int_equal(search_mode_parse("vector", &m), 0);
	assert_int_equal(m, SEARCH_VECTOR);
	assert_int_equal(search_mode_parse("Vector", &m), -1);
	assert_int_equal(search_mode_parse("", &m), -1);
}

/* A weight on one list moves its items ahead of the other list's. */
static void
test_rrf_weighted(void **state)
{
	const int64_t	 a[] = { 1, 2 }, b[] = { 3, 4 };
	struct fused	 f[4];

	/* Equal weights: ranks tie across lists; the tie goes to lower ids. */
	assert_int_equal(rrf_fuse_weighted(a, 2, 1.0, b, 2, 1.0, 5, f), 4);
	assert_true(f[0].chunk_id == 1 && f[1].chunk_id == 3);
	/* b weighted 3x: its second (3/7) beats a's first (1/6). */
	assert_int_equal(rrf_fuse_weighted(a, 2, 1.0, b, 2, 3.0, 5, f), 4);
	assert_int_equal(f[0].chunk_id, 3);
	assert_int_equal(f[1].chunk_id, 4);
	assert_int_equal(f[2].chunk_id, 1);
	assert_true(f[0].score > f[1].score && f[1].score > f[2].score);
	assert_true(fabs(f[0].score - 3.0 / 6) < 1e-12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rrf_math),
		cmocka_unit_test(test_rrf_one_side),
		cmocka_unit_test(test_rrf_weighted),
		cmocka_unit_test(test_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

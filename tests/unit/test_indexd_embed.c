/* The builtin embedder: determinism, norm, similarity, speed. */
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
#include "indexd/embed.h"

#define KA_NZ 35
#define KA_TOP 102
#define KA_VTOP 0.382639
#define KA_SUM 100.806334

static float *
embed1(struct embedder *e, const char *s)
{
	float	*v = xcalloc(e->dim, sizeof(*v));
	size_t	 len = strlen(s);
	char	 err[128];

	assert_int_equal(embed_texts(e, &s, &len, 1, v, err, sizeof(err)), 0);
	return v;
}

static float
dot(const float *a, const float *b, size_t n)
{
	float	 s = 0;

	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static void
test_registry(void **state)
{
	struct embedder	*e;

	assert_null(embedder_new("nonesuch", 0));
	assert_null(embed_builtin_new(3));
	e = embedder_new("builtin", 0);
	assert_non_null(e);
	assert_string_equal(e->name, "builtin");
	assert_int_equal(e->dim, EMBED_BUILTIN_DIM);
	embedder_free(e);
}

static void
test_normalised_and_deterministic(void **state)
{
	struct embedder	*e = embedder_new("builtin", 0);
	const char	*t = "Vitamin D deficiency is associated with "
			    "higher mortality in older adults.";
	float		*a = embed1(e, t), *b = embed1(e, t);

	assert_float_equal(dot(a, a, e->dim), 1.0, 1e-5);
	assert_memory_equal(a, b, e->dim * sizeof(float));
	free(a);
	free(b);
	embedder_free(e);
}

/*
 * A known answer: the same text must give the same vector on every
 * machine and every build (stored vectors stay comparable with fresh
 * query vectors).  Values recorded from this implementation.
 */
static void
test_known_answer(void **state)
{
	struct embedder	*e = embedder_new("builtin", 0);
	float		*v = embed1(e, "The quick brown fox jumps.");
	size_t		 nz = 0, top = 0;
	double		 sum = 0;

	for (size_t i = 0; i < e->dim; i++) {
		if (v[i] != 0)
			nz++;
		if (fabsf(v[i]) > fabsf(v[top]))
			top = i;
		sum += v[i] * (double)(i + 1);
	}
	printf("known answer: nz=%zu top=%zu v[top]=%.6f sum=%.6f\n", nz,
	    top, v[top], sum);
	assert_int_equal(nz, KA_NZ);
	assert_int_equal(top, KA_TOP);
	assert_float_equal(v[top], KA_VTOP, 1e-5);
	assert_float_equal(sum, KA_SUM, 1e-3);
	free(v);
	embedder_free(e);
}

static void
test_empty_is_zero(void **state)
{
	struct embedder	*e = embedder_new("builtin", 0);
	float		*v = embed1(e, " ... !! the of ");

	for (size_t i = 0; i < e->dim; i++)
		assert_true(v[i] == 0);
	free(v);
	embedder_free(e);
}

static void
test_similar_closer(void **state)
{
	struct embedder	*e = embedder_new("builtin", 0);
	float	*q = embed1(e, "effects of smoking on lung cancer risk");
	float	*near = embed1(e, "Cigarette smoking strongly increases the "
		    "risk of lung cancers in adults.");
	float	*far = embed1(e, "The orchestra performed a symphony by "
		    "Mahler at the concert hall.");
	float	*morph = embed1(e, "smokers and lung cancer");

	assert_true(dot(q, near, e->dim) > dot(q, far, e->dim) + 0.2f);
	assert_true(dot(q, morph, e->dim) > dot(q, far, e->dim) + 0.2f);
	/* Plural folding: "cancers" and "cancer" are one word feature. */
	assert_true(dot(q, near, e->dim) > 0.3f);
	free(q);
	free(near);
	free(far);
	free(morph);
	embedder_free(e);
}

static void
test_case_and_unicode(void **state)
{
	struct embedder	*e = embedder_new("builtin", 0);
	float	*a = embed1(e, "Zurich CAFE");
	float	*b = embed1(e, "zurich cafe");
	float	*c = embed1(e, "Z\xc3\xbcrich caf\xc3\xa9");
	float	*d;
	char	 longw[400];

	assert_memory_equal(a, b, e->dim * sizeof(float));
	assert_true(dot(a, c, e->dim) < 0.99f);
	/* A very long word of 2-byte code points: cut, no crash. */
	for (size_t i = 0; i + 2 < sizeof(longw); i += 2)
		memcpy(longw + i, "\xc3\xa9", 2);
	longw[sizeof(longw) - 2] = 'x';
	longw[sizeof(longw) - 1] = '\0';
	d = embed1(e, longw);
	assert_float_equal(dot(d, d, e->dim), 1.0, 1e-5);
	free(a);
	free(b);
	free(c);
	free(d);
	embedder_free(e);
}

/* Speed: report chunks per second for 800-byte chunks. */
static void
test_speed(void **state)
{
	struct embedder	*e = embedder_new("builtin", 0);
	enum { N = 2000 };
	static char	 buf[N][801];
	const char	*texts[N];
	size_t		 lens[N];
	float		*out = xcalloc((size_t)N * e->dim, sizeof(float));
	const char	*words[] = { "protein", "cells", "expression",
			    "patients", "increased", "the", "of", "mice",
			    "receptor", "significantly", "treatment", "gene" };
	uint32_t	 x = 1;
	uint64_t	 t0, ms;
	char		 err[64];

	for (int i = 0; i < N; i++) {
		size_t len = 0;
		while (len < 790) {
			x = x * 1103515245 + 12345;
			len += snprintf(buf[i] + len, sizeof(buf[i]) - len,
			    "%s ", words[(x >> 16) % nitems(words)]);
		}
		texts[i] = buf[i];
		lens[i] = strlen(buf[i]);
	}
	t0 = now_ms();
	assert_int_equal(embed_texts(e, texts, lens, N, out, err,
	    sizeof(err)), 0);
	ms = now_ms() - t0;
	printf("builtin embedder: %d chunks of ~800 bytes in %llu ms "
	    "(%.0f chunks/s, one core)\n", N, (unsigned long long)ms,
	    ms ? N * 1000.0 / ms : 0.0);
	free(out);
	embedder_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_normalised_and_deterministic),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_empty_is_zero),
		cmocka_unit_test(test_similar_closer),
		cmocka_unit_test(test_case_and_unicode),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

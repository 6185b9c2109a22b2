/*
 * The builtin embedder: feature hashing of lexical features into a
 * dense vector.  Features of a text are its lower-cased words (stop
 * words dropped, plurals folded), pairs of neighbouring words, and the
 * character 3- and 4-grams of each word with boundary marks ("^ca",
 * "cat$"), which tie together spellings and word forms.  Each feature
 * is hashed (32-bit FNV-1a, a different seed per kind) to a coordinate
 * and a sign; its weight is the kind's weight times 1 + ln(tf); the
 * vector is L2-normalised.  Same bytes, same vector, on every machine
 * (only integer hashing and IEEE single-precision arithmetic in a fixed
 * order).  Non-ASCII bytes count as letters and are kept as they are.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/embed.h"

#define WORD_MAX	48	/* longer words are cut (at a code point) */
#define W_WORD		1.0f
#define W_PAIR		0.6f
#define W_GRAM		0.25f

#define SEED_WORD	0x811c9dc5u
#define SEED_PAIR	0x050c5d1fu
#define SEED_GRAM	0x2f3a9b61u

struct feat {
	uint32_t	 key;
	uint32_t	 tf;
	float		 w;
	uint32_t	 stamp;
};

struct table {
	struct feat	*v;
	size_t		 cap;		/* power of two */
	uint32_t	 stamp;		/* entries of older stamps are free */
	uint32_t	*used;		/* slots taken for this text */
	size_t		 nused;
};

static const char *stopwords[] = {
	"a", "about", "after", "all", "also", "an", "and", "any", "are",
	"as", "at", "be", "been", "being", "but", "by", "can", "could",
	"did", "do", "does", "for", "from", "had", "has", "have", "he",
	"her", "his", "how", "i", "if", "in", "into", "is", "it", "its",
	"may", "me", "more", "most", "my", "no", "not", "of", "on", "or",
	"other", "our", "she", "should", "so", "some", "such", "than",
	"that", "the", "their", "them", "then", "there", "these", "they",
	"this", "those", "to", "was", "we", "were", "what", "when",
	"where", "which", "who", "will", "with", "would", "you", "your",
};

static uint32_t
fnv1a(uint32_t h, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x01000193u;
	}
	return h;
}

/* A final mix so that nearby keys spread over coordinates and signs. */
static uint32_t
mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	h ^= h >> 16;
	return h;
}

static int
is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80;
}

static int
is_stopword(const char *w, size_t n)
{
	size_t	 lo = 0, hi = nitems(stopwords), mid;
	int	 c;

	if (n > 6)
		return 0;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strncmp(w, stopwords[mid], n);
		if (c == 0 && stopwords[mid][n] != '\0')
			c = -1;
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static int
ends(const char *w, size_t n, const char *suf)
{
	size_t	 k = strlen(suf);

	return n >= k && memcmp(w + n - k, suf, k) == 0;
}

/* Harman's S-stemmer: folds most English plurals.  May rewrite w. */
static size_t
stem(char *w, size_t n)
{
	if (n < 4 || (unsigned char)w[n - 1] >= 0x80)
		return n;
	if (ends(w, n, "ies") && !ends(w, n, "eies") && !ends(w, n, "aies")) {
		w[n - 3] = 'y';
		return n - 2;
	}
	if (ends(w, n, "es") && !ends(w, n, "aes") && !ends(w, n, "ees") &&
	    !ends(w, n, "oes"))
		return n - 1;
	if (ends(w, n, "s") && !ends(w, n, "us") && !ends(w, n, "ss"))
		return n - 1;
	return n;
}

static void
table_add(struct table *t, uint32_t key, float w)
{
	size_t		 mask = t->cap - 1, i = mix(key) & mask;
	struct feat	*f;

	for (;; i = (i + 1) & mask) {
		f = &t->v[i];
		if (f->stamp != t->stamp) {
			f->stamp = t->stamp;
			f->key = key;
			f->tf = 1;
			f->w = w;
			t->used[t->nused++] = (uint32_t)i;
			return;
		}
		if (f->key == key) {
			f->tf++;
			return;
		}
	}
}

static void
add_grams(struct table *t, const char *w, size_t n)
{
	unsigned char	 b[WORD_MAX + 2];

	if (n < 2)
		return;
	b[0] = '^';
	memcpy(b + 1, w, n);
	b[n + 1] = '$';
	for (size_t len = 3; len <= 4; len++)
		for (size_t i = 0; i + len <= n + 2; i++) {
			/* Start n-grams on code point boundaries only. */
			if ((b[i] & 0xc0) == 0x80)
				continue;
			table_add(t, fnv1a(SEED_GRAM + (uint32_t)len, b + i,
			    len), W_GRAM);
		}
}

/* Length of w[0..n) without a code point cut short at its end. */
static size_t
whole_code_points(const char *w, size_t n)
{
	size_t		 p = n, need;
	unsigned char	 c;

	while (p > 0 && ((unsigned char)w[p - 1] & 0xc0) == 0x80)
		p--;
	if (p == 0)
		return n;
	c = (unsigned char)w[p - 1];
	if (c < 0x80)
		return n;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	return (n - (p - 1) >= need) ? n : p - 1;
}

/* Collect the features of one text into t. */
static void
features(struct table *t, const unsigned char *s, size_t len)
{
	char		 w[WORD_MAX];
	size_t		 i = 0, n;
	uint32_t	 hw, prev = 0;
	int		 have_prev = 0, cut;

	while (i < len) {
		if (!is_word_byte(s[i])) {
			i++;
			continue;
		}
		for (n = 0, cut = 0; i < len && is_word_byte(s[i]); i++) {
			if (n < WORD_MAX)
				w[n++] = (s[i] >= 'A' && s[i] <= 'Z') ?
				    (char)(s[i] + 32) : (char)s[i];
			else
				cut = 1;
		}
		if (cut)
			n = whole_code_points(w, n);
		if (n == 0 || is_stopword(w, n))
			continue;
		n = stem(w, n);
		hw = fnv1a(SEED_WORD, (unsigned char *)w, n);
		table_add(t, hw, W_WORD);
		if (have_prev)
			table_add(t, fnv1a(SEED_PAIR ^ prev,
			    (unsigned char *)w, n), W_PAIR);
		prev = hw;
		have_prev = 1;
		add_grams(t, w, n);
	}
}

static void
project(const struct table *t, float *out, size_t dim)
{
	const struct feat	*f;
	uint32_t		 h;
	float			 norm = 0, x;

	memset(out, 0, dim * sizeof(*out));
	for (size_t k = 0; k < t->nused; k++) {
		f = &t->v[t->used[k]];
		h = mix(f->key ^ 0x9e3779b9u);
		x = f->w * (1.0f + logf((float)f->tf));
		out[((uint64_t)(h >> 1) * dim) >> 31] += (h & 1) ? x : -x;
	}
	for (size_t j = 0; j < dim; j++)
		norm += out[j] * out[j];
	if (norm > 0) {
		norm = 1.0f / sqrtf(norm);
		for (size_t j = 0; j < dim; j++)
			out[j] *= norm;
	}
}

static int
builtin_embed(struct embedder *e, const char *const *texts,
    const size_t *lens, size_t n, float *out, char *err, size_t errlen)
{
	struct table	 t;
	size_t		 most = 0;

	for (size_t i = 0; i < n; i++)
		if (lens[i] > most)
			most = lens[i];
	/* At most two n-grams and two words per byte, load <= 1/2. */
	for (t.cap = 64; t.cap < 4 * (most + 4) * 2; t.cap *= 2)
		;
	t.v = xcalloc(t.cap, sizeof(*t.v));
	t.used = xcalloc(t.cap, sizeof(*t.used));
	t.stamp = 0;
	for (size_t i = 0; i < n; i++) {
		t.stamp++;
		t.nused = 0;
		features(&t, (const unsigned char *)texts[i], lens[i]);
		project(&t, out + i * e->dim, e->dim);
	}
	free(t.v);
	free(t.used);
	return 0;
}

static void
builtin_free(struct embedder *e)
{
	free(e);
}

static const struct embedder_ops builtin_ops = {
	builtin_embed,
	builtin_free,
};

struct embedder *
embed_builtin_new(size_t dim)
{
	struct embedder	*e;

	if (dim < 16 || dim > 8192)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	e->ops = &builtin_ops;
	e->name = "builtin";
	e->dim = dim;
	return e;
}

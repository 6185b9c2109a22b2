"""A deterministic synthetic corpus for the benchmarks.

A vocabulary of pronounceable made-up words (syllables from a fixed list,
seeded generator), sampled with a Zipf law (s = 1.07, like English word
frequencies), so common words match many chunks and rare ones few, as in
real text.  Documents are titled, have paragraphs of sentences, a little
metadata, and about 3 KB of text (four or five chunks).  Queries are one
to three words of middling frequency.  Same seed, same bytes, every run.
"""
import bisect
import itertools
import random

SYLLABLES = ("ba be bi bo bu ca ce co da de di do du fa fe fi fo ga ge go "
             "ha he hi ho ka ke ki ko la le li lo lu ma me mi mo mu na ne "
             "ni no nu pa pe pi po ra re ri ro ru sa se si so su ta te ti "
             "to tu va ve vi vo za ze bar ber cor dan del fin gar hol lin "
             "mar nor pen ras sel tor ven wil").split()
DEPTS = ("finance", "legal", "engineering", "sales", "support", "people")


def vocabulary(n, rng):
    seen, out = set(), []
    while len(out) < n:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


class Corpus:
    def __init__(self, seed=20240501, vocab=30000):
        self.rng = random.Random(seed)
        self.words = vocabulary(vocab, self.rng)
        self.cum = list(itertools.accumulate(1.0 / (r ** 1.07)
                                             for r in range(1, vocab + 1)))

    def sample(self, k):
        total = self.cum[-1]
        rnd = self.rng.random
        cum, words = self.cum, self.words
        return [words[bisect.bisect_left(cum, rnd() * total)] for _ in range(k)]

    def sentence(self):
        w = self.sample(self.rng.randint(8, 18))
        w[0] = w[0].capitalize()
        return " ".join(w) + "."

    def document(self, i, nbytes=3000):
        rng = self.rng
        paras, size = [], 0
        while size < nbytes:
            p = " ".join(self.sentence() for _ in range(rng.randint(3, 6)))
            paras.append(p)
            size += len(p) + 2
        return {
            "external_id": "doc-%06d" % i,
            "title": " ".join(self.sample(rng.randint(3, 6))).capitalize(),
            "text": "\n\n".join(paras),
            "source": "bench",
            "metadata": {"dept": DEPTS[i % len(DEPTS)], "n": str(i % 97)},
        }

    def queries(self, n):
        """Words of rank 20..3000: neither stop-like nor absent."""
        rng = random.Random(7)
        out = []
        for i in range(n):
            k = 1 + i % 3
            out.append(" ".join(self.words[rng.randint(20, 3000)] for _ in range(k)))
        return out

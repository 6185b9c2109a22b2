"""Issue 8: the "openai" embedder against a local stand-in for an
OpenAI-compatible /v1/embeddings server (tests/standin/openai.py; no real
model server can run here).  Push and search with its vectors, batching,
the API key (sent, never shown), a 429 retried, a 500 and a wrong
dimension failing the push cleanly, and a switch of embedder on an
existing store refusing vector search until a reindex.
"""
import os
import subprocess
import sys

import harness
from authlib import SEEN, Api, Principal, bearer
from contentlib import count_super, push, search

sys.path.insert(0, os.path.join(harness.TOP, "tests", "standin"))
import openai as standin  # noqa: E402

PW = "correct horse battery staple"
DIM = 64
BATCH = 4
MODEL = "standin-embed"
KEY = "sk-standin-6f1e0c9a2b7d4e58a1c3"

# One stand-in for the module; CONF needs its port when the suites are made.
S = standin.Server(0, DIM, None, MODEL).start()

CONF = """
embedder type openai
embedder url "%s"
embedder model "%s"
embedder dimension %d
embedder batch %d
embedder timeout 2
""" % (S.url(), MODEL, DIM, BATCH)

DOCS = [
    {"external_id": "e-heron", "title": "Marsh birds",
     "text": "The grey heron waits motionless in the reeds for a passing fish."},
    {"external_id": "e-kiln", "title": "Pottery",
     "text": "Fire the clay vase slowly in the kiln until the glaze melts."},
    {"external_id": "e-comet", "title": "Night sky",
     "text": "A bright comet crossed the northern sky with a long dusty tail."},
]
# Many chunks: one embedding request could not hold them all.
LONG = {"external_id": "e-long", "title": "Almanac",
        "text": " ".join("Entry %d of the almanac records rainfall, frost and "
                         "the first swallows of spring in the valley." % i
                         for i in range(120))}


class World:
    pass


W = None


def set_key(suite, key):
    """ballastctl secret set embedder-api-key; False when not available."""
    r = subprocess.run([os.path.join(harness.BUILD, "ballastctl"), "-f", suite.conf,
                        "secret", "set", "embedder-api-key"], input=key,
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0


def world(suite):
    global W
    if W is not None and W.suite is suite:
        return W
    w = World()
    w.suite = suite
    api = w.api = Api(suite)
    _, w.org = api.bootstrap("owner@e.test", PW, "OrgE")
    w.owner = api.session("e_owner", "owner@e.test", PW)
    w.C = api.ok("POST", "/v1/orgs/%s/collections" % w.org, w.owner,
                 {"name": "E"}, want=(201,))["id"]
    r = api.new_key(w.owner, w.org, "ke", "read-write", w.C)
    w.k = Principal("ke", bearer(r["key"]), "key", "e_owner", coll=w.C, cap="read-write")
    w.keyed = set_key(suite, KEY)
    if w.keyed:
        S.key = KEY
        # keyd opens the secret for indexd: wait until a push gets through
        harness.wait_for(lambda: api.call("POST", "/v1/collections/%s/documents" % w.C,
                                          w.k, {"documents": [DOCS[0]]}).status == 200,
                         15, 0.5, "a push with the API key")
    W = w
    return w


def test_push_and_search(suite):
    w = world(suite)
    S.reset()
    r = push(w.api, w.k, w.C, DOCS + [LONG])
    assert r["chunks"] > BATCH + 2, r
    fails = []
    for q, want in (("heron waiting in reeds", "e-heron"), ("clay kiln glaze", "e-kiln"),
                    ("comet tail in the sky", "e-comet")):
        for mode in ("vector", "hybrid"):
            res = search(w.api, w.k, q, w.C, mode)
            if not res or res[0]["external_id"] != want:
                fails.append("%s %r: top %s" % (mode, q, res[0]["external_id"] if res else None))
    assert not fails, fails
    # Vectors are stored under the configured embedder's name.
    names = subprocess_rows(suite, "SELECT DISTINCT embedder FROM chunk_vectors")
    assert names == ["openai:%s:%d" % (MODEL, DIM)], names


def subprocess_rows(suite, sql):
    from contentlib import psql_super
    out = psql_super(suite, sql)
    return out.splitlines() if out else []


def test_batches_bounded(suite):
    w = world(suite)
    S.reset()
    push(w.api, w.k, w.C, [dict(LONG, external_id="e-long2", title="Almanac 2")])
    assert S.batches, "no request reached the stand-in"
    assert max(S.batches) <= BATCH, S.batches
    assert S.batches.count(BATCH) >= 2, "a long document went in one request each: %r" % (
        S.batches,)


def test_api_key_sent_not_shown(suite):
    w = world(suite)
    if not w.keyed:
        print("     (ballastctl secret set is not available: tested without a key)")
        assert all(a is None for a in S.auth), S.auth
        return
    S.reset()
    search(w.api, w.k, "heron", w.C, "vector")
    assert S.auth and all(a == "Bearer " + KEY for a in S.auth), S.auth
    assert KEY not in suite.log_text(), "the API key is in the daemons' log"
    for method, path, status, body in SEEN:
        assert KEY.encode() not in (body or b""), "the API key in a response to %s %s" % (
            method, path)
    # A wrong key: the push fails with a clear 502, nothing written.
    S.key = "another-key"
    try:
        r = w.api.call("POST", "/v1/collections/%s/documents" % w.C, w.k,
                       {"documents": [dict(DOCS[0], external_id="e-badkey")]})
        assert r.status == 502, (r.status, r.body)
        e = r.json()["error"]
        assert e["code"] == "embedder_error" and "401" in e["message"], e
    finally:
        S.key = KEY
    assert count_super(suite, "documents", "external_id = 'e-badkey'") == 0


def test_429_retried(suite):
    w = world(suite)
    S.reset("429once")
    r = push(w.api, w.k, w.C, [dict(DOCS[1], external_id="e-429")])
    assert r["added"] == 1, r
    assert S.requests >= 2 and S.batches, (S.requests, S.batches)
    assert search(w.api, w.k, "clay kiln glaze", w.C, "vector")


def test_wrong_dimension_fails_cleanly(suite):
    w = world(suite)
    S.reset("wrongdim")
    before = count_super(suite, "chunks")
    r = w.api.call("POST", "/v1/collections/%s/documents" % w.C, w.k,
                   {"documents": [dict(DOCS[2], external_id="e-dim")]})
    S.reset()
    assert r.status == 502, (r.status, r.body)
    e = r.json()["error"]
    assert e["code"] == "embedder_error", e
    assert "%d dimensions" % (DIM - 1) in e["message"] and "%d" % DIM in e["message"], e
    assert count_super(suite, "documents", "external_id = 'e-dim'") == 0
    assert count_super(suite, "chunks") == before


def test_server_error_is_bounded(suite):
    w = world(suite)
    S.reset("500")
    import time
    t0 = time.monotonic()
    r = w.api.call("POST", "/v1/collections/%s/documents" % w.C, w.k,
                   {"documents": [dict(DOCS[2], external_id="e-500")]})
    took = time.monotonic() - t0
    n = S.requests
    S.reset()
    assert r.status == 502, (r.status, r.body)
    assert "500" in r.json()["error"]["message"], r.body
    assert n >= 2, "a 500 was not retried (%d requests)" % n
    assert took < 15, "the retries took %.1f s" % took
    # a search meanwhile: a 503 while the server cannot be reached
    S.reset("slow")
    S.delay = 4
    try:
        r = w.api.call("POST", "/v1/collections/%s/search" % w.C, w.k,
                       {"query": "heron", "mode": "vector"})
        assert r.status == 503 and r.json()["error"]["code"] == "embedder_unavailable", (
            r.status, r.body)
    finally:
        S.reset()
    assert count_super(suite, "documents", "external_id = 'e-500'") == 0


def rewrite_conf(suite, replace):
    with open(suite.conf) as f:
        lines = f.read().splitlines()
    out = []
    for ln in lines:
        k = " ".join(ln.split()[:2])
        if k in replace:
            if replace[k] is not None:
                out.append(replace[k])
            continue
        out.append(ln)
    with open(suite.conf, "w") as f:
        f.write("\n".join(out) + "\n")


def test_switch_embedder_refuses_vector_search(suite):
    w = world(suite)
    S.reset()
    push(w.api, w.k, w.C, DOCS)
    suite.stop()
    rewrite_conf(suite, {"embedder model": 'embedder model "other-model"'})
    suite.start()
    harness.wait_for(lambda: "ballastctl reindex" in suite.log_text(), 10,
                     what="the reindex warning in the log")
    assert "openai:%s:%d" % (MODEL, DIM) in suite.log_text()
    for mode in ("vector", "hybrid"):
        r = w.api.call("POST", "/v1/collections/%s/search" % w.C, w.k,
                       {"query": "heron", "mode": mode})
        assert r.status == 503, (mode, r.status, r.body)
        e = r.json()["error"]
        assert e["code"] == "reindex_required" and "ballastctl reindex" in e["message"], e
    res = search(w.api, w.k, "heron", w.C, "keyword")
    assert res and res[0]["external_id"] == "e-heron", res
    # builtin after openai: the same
    suite.stop()
    rewrite_conf(suite, {"embedder type": "embedder type builtin"})
    suite.start()
    r = w.api.call("POST", "/v1/collections/%s/search" % w.C, w.k,
                   {"query": "heron", "mode": "vector"})
    assert r.status == 503 and r.json()["error"]["code"] == "reindex_required", r.body
test_switch_embedder_refuses_vector_search.FRESH = True

"""Issue 8: the "qdrant" vector store, against tests/standin/qdrant.py --
a STAND-IN for Qdrant (which cannot run here) that checks every request
against Qdrant's OpenAPI spec and keeps points in memory.

The content checks of test_content.py (ingest, update, delete, every
search mode, isolation between orgs and collections, personal documents,
retrieval quality) run again with "vectors qdrant"; then: every query
carried the scope filter, payloads hold no text, faults (slow, down, 503
then recovering, a failed upsert) and ballastctl reindex.
"""
import importlib.util
import os
import subprocess
import sys
import time

import harness
from contentlib import psql_super, push, search

TOP = harness.TOP
sys.path.insert(0, os.path.join(TOP, "tests", "standin"))
import qdrant as standin_mod  # noqa: E402

TIMEOUT = 2     # qdrant timeout: a request, retries included
STANDIN = standin_mod.Standin().start()
CONF = """
vectors qdrant
qdrant url "%s"
qdrant collection "ballast"
qdrant timeout %d
""" % (STANDIN.url, TIMEOUT)
PAYLOAD_KEYS = {"collection_id", "owner_user", "source", "document_id", "chunk_id"}


def _content():
    """A private copy of test_content (its own cached world)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_content.py")
    spec = importlib.util.spec_from_file_location("content_on_qdrant", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    real = mod.count_super

    def count_super(suite, table, where="true"):
        # Vectors live in Qdrant: count the stand-in's points instead.
        if table != "chunk_vectors":
            return real(suite, table, where)
        assert where.startswith("document_id = '"), where
        doc = where.split("'")[1]
        return sum(1 for _, pl in STANDIN.points().values() if pl.get("document_id") == doc)
    mod.count_super = count_super
    return mod


C = _content()


def test_collection_made_at_start(suite):
    coll = STANDIN.collections.get("ballast")
    assert coll is not None, "no collection created: %r" % STANDIN.requests()
    assert coll["size"] == 384, coll
    idx = coll["indexes"]
    for f in ("collection_id", "org_id", "owner_user", "source", "document_id"):
        assert f in idx and idx[f]["data_type"] == "keyword", (f, idx)
    assert idx["collection_id"]["params"].get("is_tenant") is True, idx
    assert not STANDIN.violations, STANDIN.violations


# The checks of the postgres store, run on this suite.
def test_content_ingest_and_search(suite):
    C.test_ingest_and_search_every_mode(suite)


def test_content_unchanged_repush(suite):
    C.test_unchanged_repush(suite)


def test_content_update(suite):
    C.test_update_replaces_chunks(suite)


def test_content_delete(suite):
    C.test_delete_everywhere(suite)


def test_content_other_org(suite):
    C.test_other_org_never_seen(suite)


def test_content_collection_key(suite):
    C.test_collection_scoped_key(suite)


def test_content_viewer(suite):
    C.test_viewer_and_read_caps(suite)


def test_content_personal(suite):
    C.test_personal_documents(suite)


def test_content_personal_clash(suite):
    C.test_personal_external_id_clash(suite)


def test_content_ir_eval(suite):
    C.test_ir_eval_tiny(suite)


def test_every_query_carried_the_scope(suite):
    w = C.world(suite)
    search(w.api, w.k_u_pers, C.PWORD, None, "vector")      # a personal scope too
    queries = STANDIN.requests("POST", "/points/query")
    assert len(queries) >= 20, "only %d queries reached the stand-in" % len(queries)
    fails = []
    owners = 0
    for _, path, _, body, _ in queries:
        must = (body.get("filter") or {}).get("must")
        if not isinstance(must, list) or len(must) != 2:
            fails.append("%s: no scope filter: %r" % (path, body.get("filter")))
            continue
        coll, owner = must
        if coll.get("key") != "collection_id" or not coll.get("match", {}).get("any"):
            fails.append("collection condition %r" % coll)
        if owner == {"is_empty": {"key": "owner_user"}}:
            continue
        should = owner.get("should", [])
        if (len(should) != 2 or should[0] != {"is_empty": {"key": "owner_user"}} or
                should[1].get("key") != "owner_user"):
            fails.append("owner condition %r" % owner)
        owners += 1
    if owners == 0:
        fails.append("no query carried a personal owner")
    assert not fails, "\n  ".join([""] + fails[:10])
    assert not STANDIN.violations, STANDIN.violations


def test_payload_has_no_text(suite):
    w = C.world(suite)
    pts = STANDIN.points()
    assert pts, "no points"
    words = list(C.WORDS.values()) + [C.SHARED, C.BWORD, C.PWORD]
    for pid, (_, pl) in pts.items():
        assert set(pl) == PAYLOAD_KEYS, "payload keys %r" % sorted(pl)
        for v in pl.values():
            assert not (isinstance(v, str) and any(x in v for x in words)), pl
    # Every upsert asked to wait, so that a search right after sees it.
    for _, path, query, _, _ in STANDIN.requests("PUT", "/points"):
        assert query.get("wait") == ["true"], path
    # Personal points carry their owner; shared ones null.
    owners = {pl["owner_user"] for _, pl in pts.values()}
    assert None in owners and w.u.user_id in owners, owners


def _timed_search(w, mode="hybrid"):
    t0 = time.monotonic()
    r = search(w.api, w.k_c1, "zorblaxian", w.C1, mode, want=None)
    return r, time.monotonic() - t0


def _ok_mode():
    STANDIN.set_mode("ok")


def test_fault_slow_is_bounded(suite):
    w = C.world(suite)
    try:
        STANDIN.set_mode("slow", delay=TIMEOUT * 3)
        r, took = _timed_search(w)
        assert r.status == 503 and C.err_code(r) == "vectors_unavailable", (r.status, r.body[:300])
        assert took < TIMEOUT + 2, "a slow Qdrant held the search %.1f s" % took
        # Keyword search does not need Qdrant.
        r, took = _timed_search(w, "keyword")
        assert r.status == 200 and took < 2, (r.status, took)
    finally:
        _ok_mode()
        time.sleep(TIMEOUT * 2 + 0.5)     # the breaker's cool-down


def test_fault_down_then_recovering(suite):
    w = C.world(suite)
    try:
        STANDIN.set_mode("down")
        for _ in range(4):
            r, took = _timed_search(w)
            assert r.status == 503 and C.err_code(r) == "vectors_unavailable", r.status
            assert took < TIMEOUT + 2, took
        # The breaker is open: no more requests reach Qdrant for a while.
        n = len(STANDIN.requests())
        r, took = _timed_search(w)
        assert r.status == 503 and took < 1, (r.status, took)
        assert len(STANDIN.requests()) == n, "requests while the breaker is open"
        # 503s then recovery: after the cool-down searches work again.
        STANDIN.set_mode("503-then-ok", count=2)
        time.sleep(TIMEOUT * 2 + 0.5)
        harness.wait_for(lambda: _timed_search(w)[0].status == 200, 15,
                         what="search to work again after the outage")
        res = search(w.api, w.k_c1, "zorblaxian", w.C1, "vector")
        assert res and res[0]["external_id"] == "p-flamingo", res
    finally:
        _ok_mode()


def qdrant_counters(port):
    import http.client
    import re
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    out = {}
    for name in ("ballast_qdrant_requests_total", "ballast_qdrant_errors_total"):
        m = re.search(r"^%s (\d+)$" % name, text, re.M)
        assert m, "%s not in /metrics" % name
        out[name] = int(m.group(1))
    return out


def test_fault_429_retry_after(suite):
    w = C.world(suite)
    try:
        STANDIN.set_mode("429", retry_after=1)
        t0 = time.monotonic()
        r, took = _timed_search(w)
        # Retry-After 1 s honoured within the 2 s budget, then given up.
        assert r.status == 503 and 0.9 < took < TIMEOUT + 2, (r.status, took)
        assert STANDIN.requests()[-1][1].endswith("/points/query")
        assert time.monotonic() - t0 < TIMEOUT + 2
    finally:
        _ok_mode()
        time.sleep(TIMEOUT * 2 + 0.5)


def test_failed_upsert_fails_push_and_repairs(suite):
    w = C.world(suite)
    doc = {"external_id": "flaky", "text": "The quixotrope survives an outage."}
    try:
        STANDIN.set_mode("503")
        r = w.api.call("POST", C.docs_path(w.C1), w.k_c1, {"documents": [doc]})
        assert r.status >= 500, "push with Qdrant failing: %d %s" % (r.status, r.body[:200])
    finally:
        _ok_mode()
        time.sleep(TIMEOUT * 2 + 0.5)
    assert C.count_super(suite, "documents", "external_id = 'flaky'") == 0, \
        "the failed push left a document"
    r = push(w.api, w.k_c1, w.C1, [doc])
    assert r["added"] == 1, r
    res = search(w.api, w.k_c1, "quixotrope", w.C1, "vector")
    assert res and res[0]["external_id"] == "flaky", res


def test_reindex_rebuilds(suite):
    w = C.world(suite)
    before = {pid: pl for pid, (_, pl) in STANDIN.points().items()}
    STANDIN.wipe_points()
    assert not search(w.api, w.k_c1, "zorblaxian", w.C1, "vector")
    r = suite.ctl("reindex", check=False)
    assert r.returncode == 0, "ballastctl reindex: %d %s %s" % (r.returncode, r.stdout, r.stderr)
    assert "documents" in r.stdout, r.stdout
    after = {pid: pl for pid, (_, pl) in STANDIN.points().items()}
    # Every point that named a chunk still in the database is back, same id.
    live = set(int(x) for x in psql_super(suite, "SELECT id FROM chunks").split())
    want = {pid for pid, pl in before.items() if pl["chunk_id"] in live}
    assert want <= set(after), "missing after reindex: %d" % len(want - set(after))
    assert {pl["chunk_id"] for pl in after.values()} == live
    res = search(w.api, w.k_c1, "zorblaxian", w.C1, "vector")
    assert res and res[0]["external_id"] == "p-flamingo", res
    # One collection only.
    STANDIN.wipe_points()
    r = suite.ctl("reindex", w.C2, check=False)
    assert r.returncode == 0, r.stderr
    colls = {pl["collection_id"] for _, pl in STANDIN.points().values()}
    assert colls == {w.C2}, colls
    suite.ctl("reindex")
    assert not STANDIN.violations, STANDIN.violations


def _fresh_conf(suite, extra):
    with open(suite.conf) as f:
        lines = [x for x in f.read().splitlines() if not x.startswith("qdrant collection")]
    with open(suite.conf, "w") as f:
        f.write("\n".join(lines) + "\n" + extra)


def test_outage_keyword_policy(suite):
    _fresh_conf(suite, 'qdrant outage keyword\nqdrant collection "kwpolicy"\n')
    suite.start()
    from authlib import Api
    api = Api(suite)
    _, org = api.bootstrap("kw@q.test", C.PW, "KwOrg")
    who = api.session("kw", "kw@q.test", C.PW)
    coll = api.ok("POST", "/v1/orgs/%s/collections" % org, who, {"name": "K"}, want=(201,))["id"]
    push(api, who, coll, [{"external_id": "k1", "text": "The brontolith is keyword-findable."}])
    try:
        STANDIN.set_mode("down")
        for mode in ("hybrid", "vector"):
            r = api.call("POST", "/v1/collections/%s/search" % coll, who,
                         {"query": "brontolith", "mode": mode})
            assert r.status == 200, (mode, r.status, r.body[:200])
            body = r.json()
            assert body.get("degraded") is True, body
            assert [x["external_id"] for x in body["results"]] == ["k1"], body
    finally:
        _ok_mode()
    time.sleep(TIMEOUT * 2 + 0.5)
    r = api.call("POST", "/v1/collections/%s/search" % coll, who, {"query": "brontolith"})
    assert r.status == 200 and "degraded" not in r.json(), r.body[:200]


test_outage_keyword_policy.FRESH = True
test_outage_keyword_policy.START = False


def test_wrong_vector_size_is_fatal(suite):
    STANDIN.collections["wrongdim"] = {"size": 3, "indexes": {}, "points": {}}
    _fresh_conf(suite, 'qdrant collection "wrongdim"\n')
    suite.start(wait=False)
    harness.wait_for(lambda: "holds vectors of size 3" in suite.log_text(), 20,
                     what="indexd to refuse the collection")
    assert "reindex" in suite.log_text()


test_wrong_vector_size_is_fatal.FRESH = True
test_wrong_vector_size_is_fatal.START = False


def test_api_key_from_a_sealed_secret(suite):
    """Qdrant with an api-key: refused until `ballastctl secret set
    qdrant-api-key`, then used on every request; never in the log."""
    key = "PLANTED-qdrant-api-key-3d9a"
    keyed = standin_mod.Standin(api_key=key).start()
    try:
        text = open(suite.conf).read().replace(STANDIN.url, keyed.url)
        open(suite.conf, "w").write(text)
        suite.start()
        api = C.Api(suite)
        _, org = api.bootstrap("k@q.test", C.PW, "KeyOrg")
        who = api.session("k", "k@q.test", C.PW)
        coll = api.ok("POST", "/v1/orgs/%s/collections" % org, who, {"name": "K"},
                      want=(201,))["id"]
        doc = [{"external_id": "k1", "text": "The quillimar keeps its key."}]
        r = api.call("POST", C.docs_path(coll), who, {"documents": doc})
        assert r.status >= 500, (r.status, r.body)
        r = subprocess.run([os.path.join(harness.BUILD, "ballastctl"), "-f", suite.conf,
                            "secret", "set", "qdrant-api-key"], input=key + "\n",
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        time.sleep(TIMEOUT * 2 + 0.5)   # the breaker's cool-down after the 401s
        harness.wait_for(lambda: api.call("POST", C.docs_path(coll), who,
                                          {"documents": doc}).status == 200, 20,
                         what="the push with the key")
        res = search(api, who, "quillimar", coll, "vector")
        assert res and res[0]["external_id"] == "k1", res
        assert key.encode() not in open(suite.logpath, "rb").read()
    finally:
        keyed.stop()


test_api_key_from_a_sealed_secret.FRESH = True
test_api_key_from_a_sealed_secret.START = False


def test_tls_with_a_pinned_ca(suite):
    """Qdrant over HTTPS: verified against `qdrant ca`; a certificate
    from another CA is refused (503), never used."""
    import ssl
    from test_pg_tls import make_ca, make_server_cert
    d = os.path.join(suite.dir, "qdrant-tls")
    os.makedirs(d, mode=0o755)
    ca = make_ca(d, "ca")
    other = make_ca(d, "other")
    make_server_cert(d)
    tls = standin_mod.Standin()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    tls.httpd.socket = ctx.wrap_socket(tls.httpd.socket, server_side=True)
    tls.url = "https://localhost:%d" % tls.port
    tls.start()
    try:
        text = open(suite.conf).read().replace('"%s"' % STANDIN.url, '"%s"' % tls.url)
        open(suite.conf, "w").write(text + 'qdrant ca "%s"\n' % other)
        suite.start()
        api = C.Api(suite)
        _, org = api.bootstrap("t@q.test", C.PW, "TlsOrg")
        who = api.session("t", "t@q.test", C.PW)
        coll = api.ok("POST", "/v1/orgs/%s/collections" % org, who, {"name": "T"},
                      want=(201,))["id"]
        doc = [{"external_id": "t1", "text": "The vellumwing crosses over TLS."}]
        r = api.call("POST", C.docs_path(coll), who, {"documents": doc})
        assert r.status >= 500, (r.status, r.body)
        assert not tls.requests(), "a request got through with the wrong CA"
        suite.stop()
        text = open(suite.conf).read().replace('qdrant ca "%s"' % other,
                                               'qdrant ca "%s"' % ca)
        open(suite.conf, "w").write(text)
        suite.start()
        api.ok("POST", C.docs_path(coll), who, {"documents": doc}, want=(200,))
        res = search(api, who, "vellumwing", coll, "vector")
        assert res and res[0]["external_id"] == "t1", res
        assert tls.requests(), "no request reached the TLS stand-in"
    finally:
        tls.stop()


test_tls_with_a_pinned_ca.FRESH = True
test_tls_with_a_pinned_ca.START = False


# After every shared-suite test: C.world() keeps one world at a time.
def test_qdrant_requests_and_errors_are_counted(suite):
    """/metrics counts Qdrant requests, and the failed ones apart."""
    port = harness.free_port()
    with open(suite.conf, "a") as f:
        f.write("metrics on 127.0.0.1 port %d\n" % port)
    suite.start()
    w = C.world(suite)
    before = qdrant_counters(port)
    assert before["ballast_qdrant_requests_total"] > 0, before
    search(w.api, w.k_c1, "zorblaxian", w.C1, "vector")
    ok = qdrant_counters(port)
    assert ok["ballast_qdrant_requests_total"] > before[
        "ballast_qdrant_requests_total"], (before, ok)
    assert ok["ballast_qdrant_errors_total"] == before[
        "ballast_qdrant_errors_total"], (before, ok)
    try:
        STANDIN.set_mode("down")
        r, _ = _timed_search(w)
        assert r.status == 503, r.status
    finally:
        _ok_mode()
    bad = qdrant_counters(port)
    assert bad["ballast_qdrant_errors_total"] > ok["ballast_qdrant_errors_total"], (ok, bad)


test_qdrant_requests_and_errors_are_counted.FRESH = True
test_qdrant_requests_and_errors_are_counted.START = False

"""GET /metrics on its own plain-HTTP listener (ballastd(8), METRICS)."""
import os
import re
import shutil
import signal
import socket
import ssl
import time

import harness
from authlib import Api
from contentlib import count_super, psql_super, search
from harness import CHILDREN, wait_for

MPORT = harness.free_port()
ROOT = os.path.join(harness.test_base(), "metrics-root")
CONF = "metrics on 127.0.0.1 port %d\nsync root \"%s\"\nsync timeout 10\n" % (MPORT, ROOT)
PW = "correct horse battery staple"
JOB_STATES = ("pending", "running", "succeeded", "failed", "cancelled")
INDEXD_TYPES = {
    "ballast_sync_jobs": "gauge",
    "ballast_documents": "gauge",
    "ballast_chunks": "gauge",
    "ballast_vectors": "gauge",
    "ballast_keyword_ranking_functions": "gauge",
    "ballast_sync_runs_total": "counter",
    "ballast_sync_documents_total": "counter",
    "ballast_postgres_errors_total": "counter",
    "ballast_authd_postgres_errors_total": "counter",
    "ballast_qdrant_requests_total": "counter",
    "ballast_qdrant_errors_total": "counter",
}

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)$" % (NAME, LABEL, LABEL))
HELP = re.compile(r"^# HELP (%s) \S.*$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def raw(data, timeout=5):
    """Send bytes to the metrics port; everything until the server closes."""
    with socket.create_connection(("127.0.0.1", MPORT), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
    return out


def parse(text):
    """Strict text format 0.0.4: {(name, frozenset(labels)): value}, types."""
    samples, types, helps = {}, {}, set()
    assert text.endswith("\n"), "no final newline"
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            m = HELP.match(line) or TYPE.match(line)
            assert m, "bad comment line: %r" % line
            if line.startswith("# TYPE"):
                assert m.group(1) not in types, "TYPE twice: %s" % line
                types[m.group(1)] = m.group(2)
            else:
                helps.add(m.group(1))
            continue
        m = SAMPLE.match(line)
        assert m, "bad sample line: %r" % line
        labels = frozenset(LABEL_RE.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in samples, "sample twice: %r" % line
        v = m.group(3)
        samples[key] = float("inf") if v == "+Inf" else float(v)
        base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        assert m.group(1) in types or base in types, "no TYPE for %s" % line
    assert set(types) <= helps, "TYPE without HELP"
    return samples, types


def scrape(timeout=5):
    out = raw(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", timeout)
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK", lines[0]
    hdrs = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4"), hdrs
    assert hdrs["connection"] == "close"
    assert int(hdrs["content-length"]) == len(body)
    return parse(body.decode())


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_by(samples):
    out = {}
    for (name, labels), v in samples.items():
        if name == "ballast_http_requests_total":
            d = dict(labels)
            out[(d["route"], d["method"], d["status"])] = v
    return out


def test_format_and_types(suite):
    samples, types = scrape()
    assert types["ballast_http_requests_total"] == "counter"
    assert types["ballast_http_request_duration_seconds"] == "histogram"
    assert types["ballast_ipc_round_trip_seconds"] == "histogram"
    assert types["ballast_ipc_protocol_violations_total"] == "counter"
    assert types["ballast_child_restarts_total"] == "counter"
    assert types["ballast_child_up"] == "gauge"
    assert types["ballast_connections_open"] == "gauge"
    for c in CHILDREN:
        assert val(samples, "ballast_child_up", process=c) == 1, c
    assert ("ballast_ipc_protocol_violations_total",
            frozenset({("process", "front")})) in samples
    assert ("ballast_connections_open", frozenset()) in samples


def test_counters_move_exactly(suite):
    before, _ = scrape()
    for _ in range(3):
        assert suite.get("/healthz").status == 200
    for _ in range(2):
        assert suite.get("/no/such/path").status == 404
    assert suite.get("/v1/me").status == 401
    assert suite.get("/v1/orgs/abc/members").status == 401
    after, _ = scrape()
    b, a = requests_by(before), requests_by(after)
    delta = {k: a[k] - b.get(k, 0) for k in a if a[k] != b.get(k, 0)}
    assert delta == {
        ("/healthz", "GET", "200"): 3,
        ("none", "GET", "404"): 2,
        ("/v1/me", "GET", "401"): 1,
        # the route pattern, never the raw path
        ("/v1/orgs/*/members", "GET", "401"): 1,
    }, delta
    for route, n in (("/healthz", 3), ("none", 2), ("/v1/me", 1)):
        got = (val(after, "ballast_http_request_duration_seconds_count", route=route) -
               val(before, "ballast_http_request_duration_seconds_count", route=route))
        assert got == n, (route, got)
    # authd answered the two 401s: its round trips were timed
    assert (val(after, "ballast_ipc_round_trip_seconds_count", peer="authd") >=
            val(before, "ballast_ipc_round_trip_seconds_count", peer="authd") + 2)


def test_histograms_cumulative(suite):
    suite.get("/healthz")
    samples, _ = scrape()
    hists = {}
    for (name, labels), v in samples.items():
        if name.endswith("_bucket"):
            d = dict(labels)
            le = d.pop("le")
            key = (name[:-7], frozenset(d.items()))
            hists.setdefault(key, []).append((float("inf") if le == "+Inf" else float(le), v))
    assert hists
    seen_route = False
    for (base, labels), bs in hists.items():
        bs.sort()
        assert bs[-1][0] == float("inf"), (base, labels)
        counts = [c for _, c in bs]
        assert counts == sorted(counts), (base, labels, counts)
        assert counts[-1] == samples[(base + "_count", labels)], (base, labels)
        assert samples[(base + "_sum", labels)] >= 0
        if base == "ballast_http_request_duration_seconds" and \
                dict(labels)["route"] == "/healthz":
            seen_route = True
            n = requests_by(samples)
            total = sum(v for (r, _, _), v in n.items() if r == "/healthz")
            assert counts[-1] == total, (counts[-1], total)
    assert seen_route


def test_kill9_child_counts_restart(suite):
    before, _ = scrape()
    st = suite.status()
    pid = st["authd"]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: suite.status()["authd"]["pid"] not in (0, pid) and
             suite.status()["authd"]["state"] == "running", 10, what="authd back")
    suite.wait_healthy(10)
    after, _ = scrape()
    assert (val(after, "ballast_child_restarts_total", process="authd") ==
            val(before, "ballast_child_restarts_total", process="authd") + 1)
    assert val(after, "ballast_child_up", process="authd") == 1


def test_kill9_front_resets_front_counters(suite):
    # the parent's counters survive a front restart; the front's start over
    before, _ = scrape()
    pid = suite.status()["front"]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: suite.status()["front"]["pid"] not in (0, pid) and
             suite.status()["front"]["state"] == "running", 10, what="front back")
    suite.wait_healthy(10)
    after = wait_for(lambda: _try_scrape(), 10, what="metrics back")
    assert (val(after, "ballast_child_restarts_total", process="front") ==
            val(before, "ballast_child_restarts_total", process="front") + 1)


def _try_scrape():
    try:
        return scrape()[0]
    except (OSError, AssertionError):
        return None


def test_only_get_metrics(suite):
    for req in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /metrics/x HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"):
        out = raw(req)
        assert out.startswith(b"HTTP/1.1 404 "), (req, out[:40])
        assert b"\r\nConnection: close\r\n" in out


def test_garbage_and_tls_refused(suite):
    out = raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64)
    assert out == b"" or out.startswith(b"HTTP/1.1 400 "), out[:60]
    # a real TLS handshake fails instead of hanging
    ctx = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", MPORT), timeout=5) as s:
        try:
            ctx.wrap_socket(s, server_hostname="localhost")
            raise AssertionError("TLS handshake succeeded on the metrics port")
        except (ssl.SSLError, OSError):
            pass
    out = raw(b"GET /metrics HTTP/1.1\r\n\r\n")     # no Host
    assert out.startswith(b"HTTP/1.1 400 "), out[:60]
    # still serving afterwards
    assert scrape()[0]


def test_not_on_https_port(suite):
    r = suite.get("/metrics")
    assert r.status == 404, r.status
    assert b"ballast_" not in r.body


def test_slow_scraper_cut_off(suite):
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", MPORT), timeout=15) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        out = s.recv(100)
    assert out == b"", out
    assert time.monotonic() - t0 < 12


# -- indexd's lines ----------------------------------------------------------
def files_dir(name):
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, mode=0o755)
    for p in (harness.test_base(), ROOT, d):
        os.chmod(p, 0o755)
    return d


def write(d, rel, text):
    p = os.path.join(d, rel)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, 0o644)


W = {}


def world(suite):
    """An org, a collection and a files source with three documents."""
    if W.get("suite") is suite:
        return W
    api = Api(suite)
    _, org = api.bootstrap("owner@metrics.test", PW, "MetricsOrg")
    owner = api.session("owner", "owner@metrics.test", PW)
    coll = api.ok("POST", "/v1/orgs/%s/collections" % org, owner, {"name": "Docs"},
                  want=(201,))["id"]
    d = files_dir("share")
    write(d, "a.txt", "Alpha gronkulated the flux capacitor.\n")
    write(d, "b.txt", "Bravo recalibrated the wibbler.\n")
    write(d, "c.txt", "Charlie misplaced the sprocket.\n")
    src = api.ok("POST", "/v1/collections/%s/sources" % coll, owner,
                 {"type": "files", "name": "Share", "config": {"path": d}}, want=(201,))
    W.clear()
    W.update(suite=suite, api=api, owner=owner, coll=coll, dir=d, src=src["id"])
    return W


def ctl_sync(suite, sid):
    """ballastctl sync run SOURCE: the job it queued, once it ended."""
    r = suite.ctl("sync", "run", sid)
    m = re.fullmatch(r"job ([0-9a-f-]{36}) queued\n", r.stdout)
    assert m, r.stdout
    w = W

    def ended():
        j = w["api"].ok("GET", "/v1/jobs/%s" % m.group(1), w["owner"], want=(200,))
        return j if j["state"] in ("succeeded", "failed", "cancelled") else None
    return wait_for(ended, 60, 0.3, "job %s to end" % m.group(1))


def db_counts(suite):
    return {"documents": count_super(suite, "documents"),
            "chunks": count_super(suite, "chunks"),
            "vectors": count_super(suite, "chunk_vectors"),
            "jobs": {s: count_super(suite, "sync_jobs", "state = '%s'" % s)
                     for s in JOB_STATES}}


def gauges(samples):
    return {"documents": val(samples, "ballast_documents"),
            "chunks": val(samples, "ballast_chunks"),
            "vectors": val(samples, "ballast_vectors", store="postgres"),
            "jobs": {s: val(samples, "ballast_sync_jobs", state=s) for s in JOB_STATES}}


def gauges_match_db(suite):
    """The scrape, once indexd's cached gauges (5 s) agree with the database."""
    want = db_counts(suite)

    def agree():
        samples, _ = scrape()
        return samples if gauges(samples) == want else None
    return wait_for(agree, 15, 0.5, "gauges to match %s" % want)


def test_indexd_lines_present(suite):
    samples, types = scrape()
    for name, t in INDEXD_TYPES.items():
        assert types.get(name) == t, (name, types.get(name))
    for s in JOB_STATES:
        assert ("ballast_sync_jobs", frozenset({("state", s)})) in samples, s
    for r in ("succeeded", "failed", "retried", "cancelled"):
        assert ("ballast_sync_runs_total", frozenset({("result", r)})) in samples, r
    for o in ("added", "updated", "unchanged", "deleted", "failed"):
        assert ("ballast_sync_documents_total", frozenset({("outcome", o)})) in samples, o
    assert ("ballast_postgres_errors_total",
            frozenset({("process", "indexd")})) in samples
    assert ("ballast_vectors", frozenset({("store", "postgres")})) in samples
    assert val(samples, "ballast_keyword_ranking_functions") == 1
    assert val(samples, "ballast_qdrant_requests_total") == 0
    assert val(samples, "ballast_qdrant_errors_total") == 0


def test_sync_run_moves_sync_and_document_metrics(suite):
    w = world(suite)
    before = gauges_match_db(suite)

    job = ctl_sync(suite, w["src"])
    assert job["state"] == "succeeded", job
    assert (job["added"], job["updated"], job["deleted"]) == (3, 0, 0), job
    # the counters move as the run ends, before the job reads as ended
    after, _ = scrape()
    assert (val(after, "ballast_sync_runs_total", result="succeeded") ==
            val(before, "ballast_sync_runs_total", result="succeeded") + 1)
    for o, n in (("added", 3), ("updated", 0), ("unchanged", 0), ("deleted", 0),
                 ("failed", 0)):
        got = (val(after, "ballast_sync_documents_total", outcome=o) -
               val(before, "ballast_sync_documents_total", outcome=o))
        assert got == n, (o, got)
    after = gauges_match_db(suite)
    g0, g1 = gauges(before), gauges(after)
    assert g1["jobs"]["succeeded"] == g0["jobs"]["succeeded"] + 1, (g0, g1)
    assert g1["documents"] == g0["documents"] + 3, (g0, g1)
    assert g1["chunks"] >= g0["chunks"] + 3, (g0, g1)
    assert g1["vectors"] == g1["chunks"], g1
    assert search(w["api"], w["owner"], "gronkulated", w["coll"], mode="keyword")

    # one changed, one gone, one new, one unchanged
    write(w["dir"], "b.txt", "Bravo replaced the wibbler with a frobnicator.\n")
    os.unlink(os.path.join(w["dir"], "c.txt"))
    write(w["dir"], "d.txt", "Delta found the sprocket.\n")
    job = ctl_sync(suite, w["src"])
    assert (job["added"], job["updated"], job["deleted"]) == (1, 1, 1), job
    again, _ = scrape()
    # a.txt was kept (unchanged since the cursor), not sent: no outcome
    for o in ("added", "updated", "unchanged", "deleted", "failed"):
        got = (val(again, "ballast_sync_documents_total", outcome=o) -
               val(after, "ballast_sync_documents_total", outcome=o))
        assert got == job[o], (o, got, job)
    again = gauges_match_db(suite)
    assert gauges(again)["documents"] == g1["documents"], gauges(again)
    assert gauges(again)["jobs"]["succeeded"] == g1["jobs"]["succeeded"] + 1


def test_ctl_sync_run_refusals(suite):
    r = suite.ctl("sync", "run", "not-a-uuid", check=False)
    assert r.returncode == 2 and "a source id is a UUID" in r.stderr, (r.returncode, r.stderr)
    assert r.stdout == "", r.stdout
    r = suite.ctl("sync", "run", "00000000-0000-4000-8000-000000000000", check=False)
    assert r.returncode == 1 and "no such source" in r.stderr, (r.returncode, r.stderr)
    assert r.stdout == "", r.stdout
    r = suite.ctl("sync", "run", check=False)
    assert r.returncode != 0 and r.stdout == "", (r.returncode, r.stdout)


def test_postgres_errors_counted(suite):
    w = world(suite)
    before, _ = scrape()
    n0 = val(before, "ballast_postgres_errors_total", process="indexd")
    # end indexd's database session under it: its next statement fails
    killed = psql_super(suite, "SELECT count(pg_terminate_backend(pid)) FROM "
                        "pg_stat_activity WHERE usename = 'ballast_index'")
    assert int(killed) >= 1, killed
    # the scheduler's next tick (2 s) or a scrape's query meets the error
    wait_for(lambda: val(scrape()[0], "ballast_postgres_errors_total",
                         process="indexd") > n0, 15, 0.5, "a counted error")
    # indexd connects again (on its health check) and serves as before
    suite.wait_healthy(15)
    wait_for(lambda: search(w["api"], w["owner"], "gronkulated", w["coll"], mode="keyword",
                            want=None).status == 200, 15, 0.5, "search back")
    gauges_match_db(suite)


def test_authd_postgres_errors_counted(suite):
    w = world(suite)
    n0 = val(scrape()[0], "ballast_authd_postgres_errors_total")
    killed = psql_super(suite, "SELECT count(pg_terminate_backend(pid)) FROM "
                        "pg_stat_activity WHERE usename = 'ballast_auth'")
    assert int(killed) >= 1, killed
    # authd's next statement (a login, a decision) meets the error
    for _ in range(3):
        w["api"].call("GET", "/v1/me", w["owner"])
    wait_for(lambda: val(scrape()[0], "ballast_authd_postgres_errors_total") > n0,
             15, 0.5, "a counted authd error")
    suite.wait_healthy(15)
    wait_for(lambda: w["api"].call("GET", "/v1/me", w["owner"]).status == 200, 15, 0.5,
             "authd back")


def test_indexd_stopped_scrape_still_answers(suite):
    pid = suite.status()["indexd"]["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        samples, types = scrape(timeout=10)
        took = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    print("scrape with indexd stopped took %.2fs" % took)
    assert "ballast_sync_jobs" not in types and "ballast_documents" not in types, types
    assert types["ballast_child_up"] == "gauge"
    assert types["ballast_http_requests_total"] == "counter"
    # and back once indexd runs again
    wait_for(lambda: "ballast_sync_jobs" in scrape()[1], 10, 0.3, "indexd's lines back")

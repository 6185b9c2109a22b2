"""GET /metrics on its own plain-HTTP listener (ballastd(8), METRICS)."""
import os
import re
import signal
import socket
import ssl
import time

import harness
from harness import CHILDREN, wait_for

MPORT = harness.free_port()
CONF = "metrics on 127.0.0.1 port %d\n" % MPORT

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


def scrape():
    out = raw(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
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

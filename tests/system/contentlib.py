"""Helpers for the content-path system tests (test_content.py) and for
running tests/bench/ir-eval against a suite started by hand.

  BUILD=build python3 tests/system/contentlib.py serve ENVFILE

starts a suite (harness.Suite) with one organization, one collection and
a read-write key on it, writes DIR, PORT, URL, CERT, ORG, COLL and KEY to
ENVFILE as shell assignments, and runs until SIGTERM or SIGINT, when it
stops the suite and removes its folder.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from authlib import Api  # noqa: E402

MODES = ("hybrid", "keyword", "vector")
TABLES = ("documents", "chunks", "chunk_vectors")


def docs_path(coll, doc=None):
    p = "/v1/collections/%s/documents" % coll
    return p if doc is None else p + "/" + doc


def search(api, who, query, coll=None, mode="hybrid", want=(200,), **extra):
    """Results of one search (asserting the status), or the Response when
    want is None."""
    body = {"query": query, "mode": mode}
    body.update(extra)
    path = "/v1/search" if coll is None else "/v1/collections/%s/search" % coll
    if want is None:
        return api.call("POST", path, who, body)
    return api.ok("POST", path, who, body, want=want)["results"]


def push(api, who, coll, docs, personal=False, want=(200,)):
    path = docs_path(coll) + ("?personal=1" if personal else "")
    return api.ok("POST", path, who, {"documents": docs}, want=want)


def ext_ids(results):
    return {r["external_id"] for r in results}


def psql_as(suite, role, sql):
    """psql as one of the suite's roles (peer-mapped for root)."""
    r = subprocess.run(["psql", "-h", os.path.join(suite.dir, "pg", "run"), "-U", role,
                        "ballast", "-Atc", sql],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("psql -U %s: %s" % (role, r.stderr))
    return r.stdout.strip()


def psql_super(suite, sql):
    """psql as the cluster's superuser (row-level security does not apply)."""
    r = subprocess.run([os.path.join(harness.TOP, "scripts", "pg-cluster"), suite.dir,
                        "psql", "ballast", "-Atc", sql],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("psql as superuser: %s" % r.stderr)
    return r.stdout.strip()


def count_super(suite, table, where="true"):
    return int(psql_super(suite, "SELECT count(*) FROM %s WHERE %s" % (table, where)))


def metric_value(port, name):
    """One unlabelled sample from a plain-HTTP metrics listener."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    m = re.search(rb"^" + name.encode() + rb" (\d+)$", out, re.M)
    assert m, out[-2000:]
    return int(m.group(1))


def serve(envfile):
    s = harness.Suite("ir-eval")
    s.start()
    api = Api(s)
    pw = "correct horse battery staple"
    _, org = api.bootstrap("eval@ir.test", pw, "IrEval")
    who = api.session("eval", "eval@ir.test", pw)
    coll = api.ok("POST", "/v1/orgs/%s/collections" % org, who, {"name": "eval"},
                  want=(201,))["id"]
    key = api.new_key(who, org, "ir-eval", "read-write", coll)["key"]
    with open(envfile, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write("DIR=%s\nPORT=%d\nURL=https://localhost:%d\nCERT=%s\nORG=%s\nCOLL=%s\n"
                "KEY=%s\n" % (s.dir, s.port, s.port, s.cert, org, coll, key))
    done = []
    signal.signal(signal.SIGTERM, lambda *a: done.append(1))
    signal.signal(signal.SIGINT, lambda *a: done.append(1))
    try:
        while not done and s.proc.poll() is None:
            time.sleep(1)
        if s.proc.poll() is not None:
            print("ballastd exited:\n" + s.log_tail(), file=sys.stderr)
    finally:
        s.destroy()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "serve":
        sys.exit("usage: contentlib.py serve ENVFILE")
    serve(sys.argv[2])

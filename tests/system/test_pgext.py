"""Keyword ranking's PostgreSQL module (pgext/, indexd(8) KEYWORD RANKING).

The suite's cluster gets the functions from the build (scripts/setup-var).
Dropped while indexd runs, a search still answers, ranked in SQL; the
module and script that `make install` writes, loaded with the command the
manual gives, bring the C ranking back without a restart (indexd asks
again after a minute; the test makes that minute pass by restarting
instead, and checks the very next search after the drop for the other
direction).  Rankings are the same either way.
"""
import http.client
import os
import shutil
import subprocess
import tempfile

import harness
from authlib import Api, Principal, bearer
from contentlib import psql_super, push, search

PW = "pgext-password-1"
MPORT = harness.free_port()
CONF = "metrics on 127.0.0.1 port %d\n" % MPORT
DOCS = [
    {"external_id": "x1", "title": "Kestrel", "text": "kestrel kestrel over the heath"},
    {"external_id": "x2", "title": "Heath", "text": "heather on the heath, a kestrel once"},
    {"external_id": "x3", "title": "Moor", "text": "grouse and heather on the moor"},
    {"external_id": "x4", "title": "Falcon", "text": "a falcon, not a kestrel, over the moor"},
]
QUERIES = ("kestrel", "heath kestrel", "heather moor", "falcon grouse kestrel")
DROP = ("DROP AGGREGATE ballast_df(integer[]); "
        "DROP FUNCTION ballast_df_add(bigint[], integer[]), "
        "ballast_tf(tsvector, text[], integer), "
        "ballast_bm25(integer[], integer, double precision[], double precision, "
        "double precision, double precision)")


def rankings(api, k, coll):
    return [[r["external_id"] for r in search(api, k, q, coll, "keyword")] for q in QUERIES]


def ranking_logs(suite):
    return [l.split("keyword ranking: ", 1)[1][:3] for l in suite.log_text().splitlines()
            if "keyword ranking: " in l]


def ranking_gauge():
    """ballast_keyword_ranking_functions from GET /metrics."""
    c = http.client.HTTPConnection("127.0.0.1", MPORT, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    vals = [l.split()[1] for l in text.splitlines()
            if l.startswith("ballast_keyword_ranking_functions ")]
    assert len(vals) == 1, text[-2000:]
    return int(vals[0])


def install_into(d):
    """make install into d; the module's (without .so) and script's paths."""
    os.chmod(d, 0o755)
    r = subprocess.run(["make", "-C", harness.TOP, "BUILD=" + harness.BUILD,
                        "DESTDIR=" + d, "PREFIX=/usr/local", "install"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return (os.path.join(d, "usr/local/lib/ballast/ballast_bm25"),
            os.path.join(d, "usr/local/share/ballast/ballast_bm25.sql"))


def test_pgext_dropped_and_installed(suite):
    api = Api(suite)
    _, org = api.bootstrap("owner@pgext.test", PW, "OrgX")
    owner = api.session("x_owner", "owner@pgext.test", PW)
    coll = api.ok("POST", "/v1/orgs/%s/collections" % org, owner, {"name": "X"},
                  want=(201,))["id"]
    k = Principal("kx", bearer(api.new_key(owner, org, "kx", "read-write", coll)["key"]),
                  "key", "x_owner", coll=coll, cap="read-write")
    push(api, k, coll, DOCS)
    with_c = rankings(api, k, coll)
    assert with_c[0][:2] == ["x1", "x2"], with_c
    assert ranking_logs(suite) == ["bal"], ranking_logs(suite)
    assert ranking_gauge() == 1

    # Dropped under a running indexd: the next search is answered, in SQL.
    psql_super(suite, DROP)
    assert rankings(api, k, coll) == with_c
    harness.wait_for(lambda: ranking_logs(suite) == ["bal", "SQL"], 5,
                     what="indexd to log SQL ranking")
    assert "once more" in suite.log_text()
    assert ranking_gauge() == 0

    # Installed as indexd(8) says, by the superuser, from make install's files.
    d = tempfile.mkdtemp(prefix="pgext-", dir=harness.test_base())
    try:
        reinstall(suite, d)
        assert rankings(api, k, coll) == with_c
        assert ranking_logs(suite)[-1] == "bal", ranking_logs(suite)
        assert ranking_gauge() == 1
    finally:
        shutil.rmtree(d, ignore_errors=True)


def reinstall(suite, d):
    """The functions from make install's files, as indexd(8) says; a restart."""
    lib, script = install_into(d)
    r = subprocess.run([os.path.join(harness.TOP, "scripts", "pg-cluster"), suite.dir,
                        "psql", "-d", "ballast", "-q", "-v", "lib=" + lib, "-f", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert psql_super(suite, "SELECT probin FROM pg_proc WHERE proname = 'ballast_tf'") == lib
    suite.stop()
    suite.start()


test_pgext_dropped_and_installed.FRESH = True

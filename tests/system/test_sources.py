"""Issue 6: sources and the sync engine on the real suite, end to end.

Sources are created over HTTPS, their credentials sealed in keyd on the
way in; sync jobs run in a fetcher process (own uid, sandboxed) that
indexd starts through the parent; documents land in the collection and
are searchable.  Covered: the files connector (add, change, delete), the
http connector against a local HTTPS feed that checks a planted bearer
token, personal sources (invisible to everyone but their owner), the
credential never in clear anywhere, key rotation with rewrap, a killed
indexd or fetcher mid-run, and hostile fetchers (tests/tools/
evil-fetcher) that send oversized, malformed or no messages.
"""
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time

import harness
from authlib import SEEN, Api, Principal, bearer, err_code
from contentlib import ext_ids, psql_super, search
from harness import wait_for

PW = "correct horse battery staple"
PLANTED = "PLANTED-feed-token-7c1e9a4b2d"
ROOT = os.path.join(harness.test_base(), "sources-root")
CONF = 'sync root "%s"\nsync timeout 10\n' % ROOT


def files_dir(name):
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, mode=0o755)
    for p in (harness.test_base(), ROOT, d):
        os.chmod(p, 0o755)
    return d


def write(d, rel, text, mtime=None):
    p = os.path.join(d, rel)
    os.makedirs(os.path.dirname(p), mode=0o755, exist_ok=True)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, 0o644)
    if mtime is not None:
        os.utime(p, (mtime, mtime))


class World:
    pass


WORLDS = {}


def world(suite):
    """The principals and collection of one suite, made once per suite."""
    if id(suite) in WORLDS and WORLDS[id(suite)].suite is suite:
        return WORLDS[id(suite)]
    w = World()
    w.suite = suite
    api = w.api = Api(suite)
    _, w.A = api.bootstrap("owner@src.test", PW, "SrcOrg")
    w.owner = api.session("owner", "owner@src.test", PW)
    for name, role in (("admin", "admin"), ("u", "member"), ("m2", "member")):
        api.add_member(w.owner, w.A, "%s@src.test" % name, role, PW)
    w.admin = api.session("admin", "admin@src.test", PW)
    w.u = api.session("u", "u@src.test", PW)
    w.m2 = api.session("m2", "m2@src.test", PW)
    w.C = api.ok("POST", "/v1/orgs/%s/collections" % w.A, w.owner, {"name": "Docs"},
                 want=(201,))["id"]
    for who in (w.u, w.m2):
        api.ok("POST", "/v1/collections/%s/members" % w.C, w.owner,
               {"user_id": who.user_id, "role": "editor"}, want=(201,))
    r = api.new_key(w.owner, w.A, "org-rw", "read-write")
    w.k_org = Principal("k_org", bearer(r["key"]), "key", "owner")
    WORLDS[id(suite)] = w
    return w


def sources_path(coll):
    return "/v1/collections/%s/sources" % coll


def create(w, who, body, want=(201,)):
    return w.api.ok("POST", sources_path(w.C), who, body, want=want)


def sync(w, who, sid):
    return w.api.ok("POST", "/v1/sources/%s/sync" % sid, who, None, want=(202,))


def wait_job(w, who, jid, states=("succeeded", "failed", "cancelled"), timeout=60):
    def done():
        j = w.api.ok("GET", "/v1/jobs/%s" % jid, who, want=(200,))
        return j if j["state"] in states else None
    return wait_for(done, timeout, 0.3, "job %s to end" % jid)


def run_sync(w, who, sid, want="succeeded", timeout=60):
    job = wait_job(w, who, sync(w, who, sid)["id"], timeout=timeout)
    assert job["state"] == want, job
    return job


# -- files -----------------------------------------------------------------
def test_files_source_syncs_adds_changes_and_deletes(suite):
    w = world(suite)
    d = files_dir("team")
    write(d, "readme.md", "# Onboarding\nThe glorptastic onboarding guide.\n", 1700000000)
    write(d, "notes/ops.txt", "Rotate the quibbleton certificates monthly.\n", 1700000000)
    write(d, "site/index.html", "<html><head><title>Intranet</title><script>var x='hidden"
          "script';</script></head><body><p>The snorkwise &amp; plan</p></body></html>",
          1700000000)
    write(d, "image.png", "not text, skipped")
    write(d, ".hidden.txt", "a hidden file is skipped")
    src = create(w, w.u, {"type": "files", "name": "Team share", "config": {"path": d}})
    assert src["type"] == "files" and src["personal"] is False, src
    assert src["has_credentials"] is False and src["collection_id"] == w.C, src
    job = run_sync(w, w.u, src["id"])
    assert (job["added"], job["updated"], job["deleted"], job["failed"]) == (3, 0, 0, 0), job
    res = search(w.api, w.u, "glorptastic", w.C)
    assert res and res[0]["external_id"] == "readme.md", res
    assert res[0]["title"] == "Onboarding", res[0]
    assert res[0]["source"] == src["id"], res[0]
    res = search(w.api, w.u, "snorkwise", w.C)
    assert res and res[0]["title"] == "Intranet", res
    assert not search(w.api, w.u, "hiddenscript", w.C, mode="keyword")
    assert not search(w.api, w.u, "skipped", w.C, mode="keyword")

    # change one, delete one, add one: the collection follows the tree
    write(d, "notes/ops.txt", "Rotate the frobnicator certificates weekly.\n")
    os.unlink(os.path.join(d, "site", "index.html"))
    write(d, "new.txt", "A wuzzlewick arrived.\n")
    job = run_sync(w, w.u, src["id"])
    assert (job["added"], job["updated"], job["deleted"]) == (1, 1, 1), job
    assert not search(w.api, w.u, "quibbleton", w.C, mode="keyword")
    assert ext_ids(search(w.api, w.u, "frobnicator", w.C, mode="keyword")) == {"notes/ops.txt"}
    assert not search(w.api, w.u, "snorkwise", w.C, mode="keyword")
    assert ext_ids(search(w.api, w.u, "wuzzlewick", w.C, mode="keyword")) == {"new.txt"}

    jobs = w.api.ok("GET", "/v1/sources/%s/jobs" % src["id"], w.u, want=(200,))["jobs"]
    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"], jobs
    got = w.api.ok("GET", "/v1/sources/%s" % src["id"], w.u, want=(200,))
    assert got["last_job"]["id"] == jobs[0]["id"], got
    listed = w.api.ok("GET", sources_path(w.C), w.u, want=(200,))["sources"]
    assert src["id"] in [s["id"] for s in listed], listed


def test_source_input_is_checked(suite):
    w = world(suite)
    bad = [
        ({"type": "files", "name": "x", "config": {"path": "/etc"}}, "invalid_config"),
        ({"type": "files", "name": "x", "config": {"path": ROOT + "/../etc"}},
         "invalid_config"),
        ({"type": "files", "name": "x", "config": {"path": ROOT, "bogus": 1}},
         "invalid_config"),
        ({"type": "nosuch", "name": "x", "config": {}}, None),
        ({"type": "files", "name": "", "config": {"path": ROOT}}, None),
        ({"type": "files", "name": "x", "config": {"path": ROOT}, "extra": 1}, None),
        ({"type": "files", "name": "x", "config": {"path": ROOT},
          "schedule_seconds": 5}, None),
        ({"type": "files", "name": "x", "config": {"path": ROOT},
          "id": "00000000-0000-4000-8000-000000000000"}, None),
    ]
    for body, code in bad:
        r = w.api.call("POST", sources_path(w.C), w.u, body)
        assert r.status == 400, (body, r.status, r.body)
        if code:
            assert err_code(r) == code, (body, r.body)
        assert "message" in r.json()["error"], r.body
    # a viewer-less outsider cannot even see the collection's sources
    r = w.api.call("GET", "/v1/sources/00000000-0000-4000-8000-000000000000", w.u)
    assert r.status == 404, r.body


# -- credentials: the http connector with a planted bearer token ----------
class Feed:
    """A local HTTPS RSS feed that wants one bearer token."""

    def __init__(self, suite, token):
        self.dir = os.path.join(harness.test_base(), "feed-%d" % os.getpid())
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        os.chmod(self.dir, 0o755)
        from test_pg_tls import make_ca, make_server_cert
        self.ca = make_ca(self.dir, "ca")
        make_server_cert(self.dir)
        self.items = [("item-1", "The blorpington report"),
                      ("item-2", "Quarterly fizzwhack numbers")]
        self.auth_seen = []
        feed = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                feed.auth_seen.append(self.headers.get("Authorization"))
                if self.headers.get("Authorization") != "Bearer " + token:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
                        + "".join("<item><guid>%s</guid><title>%s</title><description>%s"
                                  "</description></item>" % (g, t, t)
                                  for g, t in feed.items)
                        + "</channel></rss>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.dir, "server.crt"),
                            os.path.join(self.dir, "server.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.url = "https://localhost:%d/feed.xml" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()


def feed_source(w, who, feed, name, token, personal=False):
    return create(w, who, {"type": "http", "name": name, "personal": personal,
                           "config": {"url": feed.url, "auth": "bearer", "ca_file": feed.ca},
                           "credentials": token})


def test_credentials_sealed_used_and_never_shown(suite):
    w = world(suite)
    feed = w.feed = Feed(suite, PLANTED)
    src = feed_source(w, w.u, feed, "News", PLANTED)
    w.feed_src = src
    assert src["has_credentials"] is True and src["credentials_rotated_at"], src
    job = run_sync(w, w.u, src["id"])
    assert job["added"] == 2, job
    assert ("Bearer " + PLANTED) in feed.auth_seen
    assert ext_ids(search(w.api, w.u, "blorpington", w.C, mode="keyword")) == {"item-1"}

    # rotate to a wrong token: the next run fails cleanly, token-free
    r = w.api.ok("PUT", "/v1/sources/%s/credentials" % src["id"], w.u,
                 {"credentials": PLANTED + "-wrong"}, want=(200,))
    assert r["credentials_rotated_at"] >= src["credentials_rotated_at"], r
    job = run_sync(w, w.u, src["id"], want="failed")
    assert job["error"] and PLANTED not in job["error"], job
    w.api.ok("PUT", "/v1/sources/%s/credentials" % src["id"], w.u,
             {"credentials": PLANTED}, want=(200,))
    run_sync(w, w.u, src["id"])

    # the sealed bytes are bound to their source: copied to another
    # source's row they do not open, and the job says only that
    other = feed_source(w, w.m2, feed, "Copy target", "something-else")
    psql_super(suite, "UPDATE sources SET credentials = (SELECT credentials FROM sources "
               "WHERE id = '%s') WHERE id = '%s'" % (src["id"], other["id"]))
    job = run_sync(w, w.m2, other["id"], want="failed")
    assert "credential" in job["error"].lower(), job
    assert PLANTED not in job["error"]
    w.api.ok("DELETE", "/v1/sources/%s" % other["id"], w.m2, want=(200,))


def test_planted_secret_appears_nowhere(suite):
    w = world(suite)
    assert getattr(w, "feed_src", None), "runs after the credential test"
    needle = PLANTED.encode()
    for m, path, st, body in SEEN:
        assert needle not in body, "%s %s answered the token" % (m, path)
    assert needle not in open(suite.logpath, "rb").read(), "the token is in the log"
    dump = subprocess.run([os.path.join(harness.TOP, "scripts", "pg-cluster"), suite.dir,
                           "psql", "ballast", "-Atc",
                           "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM sources) t; "
                           "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM sync_jobs) t; "
                           "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM audit_log) t"],
                          capture_output=True, timeout=30)
    assert dump.returncode == 0, dump.stderr
    assert needle not in dump.stdout and needle.hex().encode() not in dump.stdout


# -- personal sources --------------------------------------------------------
def test_personal_source_is_its_owners_alone(suite):
    w = world(suite)
    d = files_dir("u-private")
    write(d, "diary.txt", "The zimbleflax secret of u.\n")
    src = create(w, w.u, {"type": "files", "name": "Mine", "personal": True,
                          "config": {"path": d}})
    assert src["personal"] is True, src
    run_sync(w, w.u, src["id"])
    assert ext_ids(search(w.api, w.u, "zimbleflax", w.C, mode="keyword")) == {"diary.txt"}
    for who in (w.m2, w.owner, w.admin, w.k_org):
        found = search(w.api, who, "zimbleflax", w.C, mode="keyword")
        assert not found, (who, found)
        for m, p in (("GET", "/v1/sources/%s" % src["id"]),
                     ("GET", "/v1/sources/%s/jobs" % src["id"]),
                     ("POST", "/v1/sources/%s/sync" % src["id"]),
                     ("PATCH", "/v1/sources/%s" % src["id"]),
                     ("DELETE", "/v1/sources/%s" % src["id"])):
            r = w.api.call(m, p, who, {"name": "x"} if m == "PATCH" else None)
            assert r.status == 404, (who, m, p, r.status, r.body)
        ids = [s["id"] for s in w.api.ok("GET", sources_path(w.C), who,
                                         want=(200,))["sources"]]
        assert src["id"] not in ids, who
    # a key without include_personal cannot make personal sources
    r = w.api.call("POST", sources_path(w.C), w.k_org,
                   {"type": "files", "name": "p", "personal": True, "config": {"path": d}})
    assert r.status == 403, r.body


def test_personal_credential_needs_its_owners_key(suite):
    w = world(suite)
    mine = feed_source(w, w.u, w.feed, "u's feed", PLANTED, personal=True)
    run_sync(w, w.u, mine["id"])
    theirs = feed_source(w, w.m2, w.feed, "m2's feed", "m2-token", personal=True)
    psql_super(suite, "UPDATE sources SET credentials = (SELECT credentials FROM sources "
               "WHERE id = '%s') WHERE id = '%s'" % (mine["id"], theirs["id"]))
    job = run_sync(w, w.m2, theirs["id"], want="failed")
    assert PLANTED not in (job["error"] or ""), job
    w.api.ok("DELETE", "/v1/sources/%s" % theirs["id"], w.m2, want=(200,))


# -- key rotation -------------------------------------------------------------
def key_counts(suite):
    rows = {}
    for line in suite.ctl("key", "status").stdout.splitlines():
        f = line.split()
        if f and f[0].isdigit() and len(f) >= 4:
            rows[int(f[0])] = f[3]
    return rows


def test_rotate_rewrap_retire_keeps_credentials_working(suite):
    w = world(suite)
    before = key_counts(suite)
    n = int(before[1])
    assert n >= 2, before
    suite.ctl("key", "rotate")
    r = suite.ctl("key", "rewrap")
    assert "rewrapped %d secrets" % n in r.stdout, r.stdout
    after = key_counts(suite)
    assert after == {1: "0", 2: str(n)}, after
    suite.ctl("key", "retire", "1")
    run_sync(w, w.u, w.feed_src["id"])
    r = suite.ctl("sync", "run", w.feed_src["id"])
    jid = r.stdout.split()[1]
    assert wait_job(w, w.u, jid)["state"] == "succeeded"


# -- crashes --------------------------------------------------------------------
def pids_named(name):
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def big_tree(name, n):
    d = files_dir(name)
    for i in range(n):
        write(d, "f%04d.txt" % i, ("Document %d mentions the plonkwort. " % i) * 40)
    return d


def test_killed_fetcher_fails_the_job_and_the_next_run_completes(suite):
    w = world(suite)
    d = big_tree("big-fetcher", 1500)
    src = create(w, w.u, {"type": "files", "name": "Big", "config": {"path": d}})
    job = sync(w, w.u, src["id"])
    wait_for(lambda: pids_named("fetcher"), 20, 0.05, "a fetcher")
    for p in pids_named("fetcher"):
        os.kill(p, signal.SIGKILL)
    job = wait_job(w, w.u, job["id"])
    assert job["state"] == "failed" and job["error"], job
    job = run_sync(w, w.u, src["id"], timeout=120)
    n = int(psql_super(suite, "SELECT count(*) FROM documents WHERE source = '%s'" %
                       src["id"]))
    assert n == 1500, n
    assert suite.get("/healthz").status == 200


def test_killed_indexd_mid_sync_is_resumed(suite):
    w = world(suite)
    d = big_tree("big-indexd", 1500)
    src = create(w, w.u, {"type": "files", "name": "Big2", "config": {"path": d}})
    job = sync(w, w.u, src["id"])
    wait_for(lambda: int(psql_super(suite, "SELECT count(*) FROM documents WHERE "
                                    "source = '%s'" % src["id"])) > 0, 60, 0.05,
             "the first documents")
    os.kill(suite.status()["indexd"]["pid"], signal.SIGKILL)
    suite.wait_healthy(30)
    # the job is claimed again once its lease runs out, and finishes
    job = wait_job(w, w.u, job["id"], states=("succeeded",), timeout=150)
    n = int(psql_super(suite, "SELECT count(*) FROM documents WHERE source = '%s'" %
                       src["id"]))
    assert n == 1500, n
    dup = psql_super(suite, "SELECT count(*) FROM (SELECT external_id FROM documents "
                     "WHERE source = '%s' GROUP BY 1 HAVING count(*) > 1) x" % src["id"])
    assert dup == "0", dup


def test_delete_source_removes_its_documents(suite):
    w = world(suite)
    d = files_dir("deleteme")
    write(d, "a.txt", "The vexillotron stays until its source goes.\n")
    src = create(w, w.u, {"type": "files", "name": "Doomed", "config": {"path": d}})
    run_sync(w, w.u, src["id"])
    assert search(w.api, w.u, "vexillotron", w.C)
    w.api.ok("DELETE", "/v1/sources/%s" % src["id"], w.u, want=(200,))
    assert not search(w.api, w.u, "vexillotron", w.C, mode="keyword")
    assert w.api.call("GET", "/v1/sources/%s" % src["id"], w.u).status == 404


class SlowFeed:
    """An HTTPS feed that takes its time: a run stays running."""

    def __init__(self, ca_dir, delay):
        from test_pg_tls import make_ca, make_server_cert
        self.dir = os.path.join(ca_dir, "slowfeed")
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.ca = make_ca(self.dir, "ca")
        make_server_cert(self.dir)

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                time.sleep(delay)
                self.send_response(503)
                self.end_headers()

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.dir, "server.crt"),
                            os.path.join(self.dir, "server.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.url = "https://localhost:%d/slow.xml" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()


def test_cancel_and_schedule(suite):
    w = world(suite)
    slow = SlowFeed(suite.dir, 25)
    src = create(w, w.u, {"type": "http", "name": "Slow", "config": {
        "url": slow.url, "ca_file": slow.ca, "timeout": 60}})
    job = sync(w, w.u, src["id"])
    wait_job(w, w.u, job["id"], states=("running",), timeout=30)
    wait_for(lambda: pids_named("fetcher"), 10, 0.1, "the fetcher")
    r = w.api.ok("POST", "/v1/jobs/%s/cancel" % job["id"], w.u, None, want=(200,))
    assert r["cancel_requested"] is True or r["state"] == "cancelled", r
    job = wait_job(w, w.u, job["id"], timeout=20)
    assert job["state"] == "cancelled", job
    wait_for(lambda: not pids_named("fetcher"), 5, 0.1, "the fetcher killed")
    r = w.api.call("POST", "/v1/jobs/%s/cancel" % job["id"], w.u)
    assert r.status == 409, r.body
    slow.srv.shutdown()
    # a schedule runs the source without anyone asking
    d = files_dir("scheduled")
    write(d, "s.txt", "The scheduled blimflower.\n")
    src = create(w, w.u, {"type": "files", "name": "Every minute", "config": {"path": d},
                          "schedule_seconds": 60})
    assert src["schedule_seconds"] == 60, src

    def scheduled():
        jobs = w.api.ok("GET", "/v1/sources/%s/jobs" % src["id"], w.u, want=(200,))["jobs"]
        return [j for j in jobs if j["trigger"] == "schedule" and j["state"] == "succeeded"]
    wait_for(scheduled, 30, 0.5, "a scheduled run")
    assert ext_ids(search(w.api, w.u, "blimflower", w.C, mode="keyword")) == {"s.txt"}
    w.api.ok("PATCH", "/v1/sources/%s" % src["id"], w.u, {"schedule_seconds": 0},
             want=(200,))


# -- hostile fetchers -----------------------------------------------------------
def test_hostile_fetchers_fail_their_jobs_and_harm_nothing(suite):
    """A libexec folder whose fetcher is tests/tools/evil-fetcher."""
    libexec = os.path.join(suite.dir, "evil-libexec")
    os.makedirs(libexec, mode=0o755)
    for p in ("keyd", "authd", "indexd"):
        os.symlink(os.path.join(harness.BUILD, p), os.path.join(libexec, p))
    shutil.copy(os.path.join(harness.BUILD, "tests", "tools", "evil-fetcher"),
                os.path.join(libexec, "fetcher"))
    os.chmod(os.path.join(libexec, "fetcher"), 0o755)
    text = open(suite.conf).read()
    text = "\n".join(('libexec "%s"' % libexec) if l.startswith("libexec ") else l
                     for l in text.splitlines()) + "\n"
    open(suite.conf, "w").write(text)
    suite.start()
    w = world(suite)
    pids = {k: v["pid"] for k, v in suite.status().items()}

    def evil(mode, want):
        src = create(w, w.u, {"type": "http", "name": mode, "config": {
            "url": "http://127.0.0.1:9/%s" % mode}})
        job = run_sync(w, w.u, src["id"], want=want, timeout=40)
        return src, job

    src, job = evil("evil-good", "succeeded")
    assert job["added"] == 2, job
    for mode in ("evil-oversize", "evil-badtype", "evil-garbage", "evil-crash",
                 "evil-silent"):
        src, job = evil(mode, "failed")
        assert job["error"], (mode, job)
    # a document that is not UTF-8 is refused; the run fails or counts it
    src = create(w, w.u, {"type": "http", "name": "utf8", "config": {
        "url": "http://127.0.0.1:9/evil-badutf8"}})
    job = wait_job(w, w.u, sync(w, w.u, src["id"])["id"], timeout=40)
    assert job["state"] == "failed" or job["failed"] == 1, job
    now = {k: v["pid"] for k, v in suite.status().items()}
    assert now == pids, ("a daemon restarted", pids, now)
    found = ext_ids(search(w.api, w.u, "zebrafish", w.C, mode="keyword"))
    assert found == {"good-1"}, found
    wait_for(lambda: not pids_named("fetcher"), 10, 0.1, "no fetcher left running")


test_hostile_fetchers_fail_their_jobs_and_harm_nothing.FRESH = True
test_hostile_fetchers_fail_their_jobs_and_harm_nothing.START = False


# -- deployment secrets (ballastctl secret) ---------------------------------
def test_deployment_secret_is_sealed_and_reopened_after_restart(suite):
    value = "PLANTED-deploy-secret-5e2f"
    r = subprocess.run([os.path.join(harness.BUILD, "ballastctl"), "-f", suite.conf,
                        "secret", "set", "embedder-api-key"], input=value + "\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "secret embedder-api-key set" in r.stdout, r
    out = suite.ctl("secret", "list").stdout
    assert out.startswith("embedder-api-key\tset ") and "not opened" not in out, out
    sealed = psql_super(suite, "SELECT encode(sealed, 'hex') FROM deploy_secrets")
    assert value.encode().hex() not in sealed and len(sealed) > 2 * len(value), sealed
    # a restarted indexd has keyd open it again
    os.kill(suite.status()["indexd"]["pid"], signal.SIGKILL)
    suite.wait_healthy(30)
    wait_for(lambda: "not opened" not in suite.ctl("secret", "list").stdout, 10, 0.2,
             "the secret opened again")
    r = suite.ctl("secret", "set", "Bad_Name", check=False)
    assert r.returncode == 2, r
    assert suite.ctl("secret", "unset", "embedder-api-key").returncode == 0
    assert suite.ctl("secret", "list").stdout == ""
    assert value.encode() not in open(suite.logpath, "rb").read()


# -- postgres and imap sources through the suite (sandboxed fetcher) --------
def test_postgres_source_over_verify_full_tls(suite):
    from test_conn_postgres import PW as DBPW, SourceCluster
    w = world(suite)
    db = SourceCluster(suite)
    try:
        src = create(w, w.u, {"type": "postgres", "name": "CRM notes",
                              "config": db.config(), "credentials": DBPW})
        job = run_sync(w, w.u, src["id"])
        assert job["added"] == 5, job
        assert ext_ids(search(w.api, w.u, "Gamma", w.C, mode="keyword")) == {"3"}
        db.psql("crm", "UPDATE notes SET body = 'Omega body', modified = now() "
                "WHERE id = 3; DELETE FROM notes WHERE id = 1")
        job = run_sync(w, w.u, src["id"])
        assert (job["updated"], job["deleted"]) == (1, 1), job
        assert ext_ids(search(w.api, w.u, "Omega", w.C, mode="keyword")) == {"3"}
        assert not search(w.api, w.u, "Alpha", w.C, mode="keyword")
        assert DBPW.encode() not in open(suite.logpath, "rb").read()
    finally:
        db.stop()


def test_imap_source_over_imaps(suite):
    import dovecot
    w = world(suite)
    with dovecot.Dovecot() as mail:
        first = mail.deliver("From: Ann <ann@example.org>\r\nSubject: Flurbish plan\r\n"
                             "Date: Mon, 2 Jan 2006 15:04:05 -0700\r\n\r\n"
                             "The flurbish rollout starts Monday.\r\n")
        mail.deliver("From: Bob <bob@example.org>\r\nSubject: Lunch\r\n\r\n"
                     "Gnocchi at noon.\r\n")
        src = create(w, w.u, {"type": "imap", "name": "Team mail", "config": {
            "host": "localhost", "port": mail.port, "username": dovecot.USER,
            "ca_file": mail.ca}, "credentials": dovecot.PASSWORD})
        job = run_sync(w, w.u, src["id"])
        assert job["added"] == 2, job
        res = search(w.api, w.u, "flurbish", w.C, mode="keyword")
        assert len(res) == 1 and res[0]["title"] == "Flurbish plan", res
        mail.remove(first)
        mail.deliver("Subject: Zorbane\r\n\r\nA zorbane arrived.\r\n")
        job = run_sync(w, w.u, src["id"])
        assert (job["added"], job["deleted"]) == (1, 1), job
        assert not search(w.api, w.u, "flurbish", w.C, mode="keyword")
        assert len(search(w.api, w.u, "zorbane", w.C, mode="keyword")) == 1
    assert dovecot.PASSWORD.encode() not in open(suite.logpath, "rb").read()


# -- two indexd processes on one database -----------------------------------
# Files per source: enough that one indexd cannot finish all twelve jobs
# before the other's next claim (SYNC_TICK_SECONDS) finds one waiting.
FILES = 1000


def test_two_indexd_on_one_database_run_each_job_once(suite):
    """A second suite (its own parent, front, keyd, authd, indexd) on the
    first one's database and keyring: both indexd claim jobs; none runs
    twice."""
    with open(suite.conf, "a") as f:
        f.write("sync workers 1\n")
    suite.start()
    w = world(suite)
    other = harness.Suite("second", CONF + "sync workers 1\n")
    try:
        pg = os.path.join(suite.dir, "pg", "run")
        text = open(other.conf).read().replace(os.path.join(other.dir, "pg", "run"), pg)
        open(other.conf, "w").write(text)
        shutil.copy(os.path.join(suite.dir, "etc", "keyring"),
                    os.path.join(other.dir, "etc", "keyring"))
        subprocess.run([os.path.join(harness.TOP, "scripts", "pg-cluster"), other.dir,
                        "stop"], capture_output=True)
        other.start()
        srcs = []
        for i in range(12):
            d = files_dir("twin-%d" % i)
            for j in range(FILES):
                write(d, "f%d.txt" % j, "twin %d file %d mentions the quarkle.\n" % (i, j))
            srcs.append(create(w, w.u, {"type": "files", "name": "twin %d" % i,
                                        "config": {"path": d}}))
        jobs = [sync(w, w.u, s["id"])["id"] for s in srcs]
        for j in jobs:
            assert wait_job(w, w.u, j, timeout=120)["state"] == "succeeded", j
        logs = open(suite.logpath).read() + open(other.logpath).read()
        for j in jobs:
            n = logs.count("job %s claimed" % j)
            assert n == 1, "job %s claimed %d times" % (j, n)
        mine = sum(open(suite.logpath).read().count("job %s claimed" % j) for j in jobs)
        assert 0 < mine < len(jobs), "one indexd ran every job (%d of %d)" % (mine, len(jobs))
        n = int(psql_super(suite, "SELECT count(*) FROM documents WHERE source IN (%s)" %
                           ",".join("'%s'" % s["id"] for s in srcs)))
        assert n == 12 * FILES, n
    finally:
        other.destroy()


test_two_indexd_on_one_database_run_each_job_once.FRESH = True
test_two_indexd_on_one_database_run_each_job_once.START = False

"""Issue 7: OAuth sources (gmail, gdrive) against a local STAND-IN for
Google's OAuth and Gmail/Drive APIs (tests/standin/google.py), which cannot
be reached from here.  Covered: the authorization flow (state, PKCE, the
code exchanged in a fetcher, the tokens sealed), first and incremental
syncs with deletions, token expiry -> refresh -> continue, a revoked grant
(needs_reauth, the job failed once, no retries), personal isolation, state
reuse and another user's state refused, and no token in clear anywhere.
"""
import http.client
import os
import ssl
import subprocess
import sys
import time
import urllib.parse

import harness
from authlib import SEEN
from contentlib import ext_ids, psql_super, search
from harness import wait_for
import test_sources as ts

sys.path.insert(0, os.path.join(harness.TOP, "tests", "standin"))
import google  # noqa: E402

SECRET = "PLANTEDCLIENTSECRET-9f3a"
PREFIX = "PLANTEDTOK"
CONF = ts.CONF


class G:
    pass


S = None


def setup(suite):
    global S
    if S is not None and S.suite is suite:
        return S
    s = G()
    s.suite = suite
    s.w = ts.world(suite)
    d = os.path.join(harness.test_base(), "google-%d" % os.getpid())
    os.makedirs(d, mode=0o755, exist_ok=True)
    os.chmod(d, 0o755)
    from test_pg_tls import make_ca, make_server_cert
    s.ca = make_ca(d, "ca")
    make_server_cert(d)
    s.g = google.Google(os.path.join(d, "server.crt"), os.path.join(d, "server.key"),
                        SECRET, PREFIX)
    S = s
    return s


def config(s, **extra):
    c = {"client_id": google.CLIENT_ID, "auth_url": s.g.base + "/o/oauth2/v2/auth",
         "token_url": s.g.base + "/token", "api_base": s.g.base, "ca_file": s.ca,
         "redirect_uri": "https://localhost:%d/v1/oauth/callback" % s.suite.port}
    c.update(extra)
    return c


def authorize(s, who, sid):
    """start -> the stand-in's authorize URL -> its redirect: the callback query."""
    r = s.w.api.ok("POST", "/v1/sources/%s/oauth/start" % sid, who, None, want=(200,))
    u = urllib.parse.urlsplit(r["url"])
    q = dict(urllib.parse.parse_qsl(u.query))
    assert q["code_challenge_method"] == "S256" and q["state"] and q["code_challenge"], q
    ctx = ssl.create_default_context(cafile=s.ca)
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
    c.request("GET", u.path + "?" + u.query)
    resp = c.getresponse()
    assert resp.status == 302, resp.status
    loc = urllib.parse.urlsplit(resp.getheader("Location"))
    assert loc.path == "/v1/oauth/callback", loc
    return "/v1/oauth/callback?" + loc.query


def connect(s, who, sid):
    job = s.w.api.ok("GET", authorize(s, who, sid), who, want=(202,))
    job = ts.wait_job(s.w, who, job["id"])
    assert job["state"] == "succeeded", job
    return job


def test_gmail_flow_first_and_incremental_sync(suite):
    s = setup(suite)
    w = s.w
    s.g.add_mail("m1", "Quarterly flumbergast", "The flumbergast numbers are in.")
    s.g.add_mail("m2", "Lunch", "Lunch at the zibbleton cafe.", labels=("INBOX", "IMPORTANT"))
    s.g.add_mail("m3", "Third", "A third wombleforth message.")
    src = ts.create(w, w.u, {"type": "gmail", "name": "My mail", "config": config(s),
                             "credentials": {"client_secret": SECRET}})
    assert src["personal"] is True and src["needs_reauth"] is False, src
    s.gmail = src
    connect(s, w.u, src["id"])
    got = w.api.ok("GET", "/v1/sources/%s" % src["id"], w.u, want=(200,))
    assert got["has_credentials"] and got["credentials_rotated_at"], got
    job = ts.run_sync(w, w.u, src["id"])
    assert job["added"] == 3, job
    assert ext_ids(search(w.api, w.u, "flumbergast", w.C, mode="keyword")) == {"m1"}
    # incremental: one new message, one deleted
    s.g.add_mail("m4", "New", "The new quixotical message.")
    s.g.delete_mail("m2")
    job = ts.run_sync(w, w.u, src["id"])
    assert job["added"] == 1 and job["deleted"] == 1, job
    assert ext_ids(search(w.api, w.u, "quixotical", w.C, mode="keyword")) == {"m4"}
    assert not search(w.api, w.u, "zibbleton", w.C, mode="keyword")
    # no change: nothing fetched
    job = ts.run_sync(w, w.u, src["id"])
    assert job["added"] == 0 and job["deleted"] == 0, job


def test_token_expiry_refreshes_and_continues(suite):
    s = setup(suite)
    w = s.w
    before = s.g.refreshes
    s.g.add_mail("m5", "Expiry", "The gorblimey expiry message.")
    s.g.expire_access()
    job = ts.run_sync(w, w.u, s.gmail["id"])
    assert job["added"] == 1, job
    assert s.g.refreshes > before
    # the refreshed token was sealed and stored: the next run uses it
    n = s.g.refreshes
    ts.run_sync(w, w.u, s.gmail["id"])
    assert s.g.refreshes == n


def test_personal_isolation(suite):
    s = setup(suite)
    w = s.w
    for who in (w.m2, w.owner, w.admin, w.k_org):
        assert not search(w.api, who, "flumbergast", w.C, mode="keyword"), who
        r = w.api.call("GET", "/v1/sources/%s" % s.gmail["id"], who)
        assert r.status == 404, (who, r.status)
        r = w.api.call("POST", "/v1/sources/%s/oauth/start" % s.gmail["id"], who)
        assert r.status == 404, (who, r.status)


def test_state_single_use_and_bound_to_its_user(suite):
    s = setup(suite)
    w = s.w
    cb = authorize(s, w.u, s.gmail["id"])
    r = w.api.call("GET", cb, w.m2)
    assert r.status in (400, 404), r.body
    job = w.api.ok("GET", cb, w.u, want=(202,))
    ts.wait_job(w, w.u, job["id"])
    r = w.api.call("GET", cb, w.u)
    assert r.status == 400 and b"invalid_state" in r.body, r.body


def test_gdrive_sync_changes_and_deletion(suite):
    s = setup(suite)
    w = s.w
    s.g.add_file("f1", "Plan", "application/vnd.google-apps.document", "The snarfblat plan.")
    s.g.add_file("f2", "notes.txt", "text/plain", "Notes on the glibberish.")
    s.g.add_file("f3", "photo.jpg", "image/jpeg", "binary")
    src = ts.create(w, w.u, {"type": "gdrive", "name": "My drive", "config": config(s),
                             "credentials": {"client_secret": SECRET}})
    assert src["personal"] is True, src
    connect(s, w.u, src["id"])
    job = ts.run_sync(w, w.u, src["id"])
    assert job["added"] == 2, job
    assert ext_ids(search(w.api, w.u, "snarfblat", w.C, mode="keyword")) == {"f1"}
    s.g.add_file("f4", "data.json", "application/json", '{"word": "plonkable"}')
    s.g.remove_file("f2")
    job = ts.run_sync(w, w.u, src["id"])
    assert job["added"] == 1 and job["deleted"] == 1, job
    assert not search(w.api, w.u, "glibberish", w.C, mode="keyword")
    assert ext_ids(search(w.api, w.u, "plonkable", w.C, mode="keyword")) == {"f4"}


def test_revoked_grant_needs_reauth_without_retries(suite):
    s = setup(suite)
    w = s.w
    s.g.revoke()
    job = ts.run_sync(w, w.u, s.gmail["id"], want="failed")
    assert "invalid_grant" in job["error"] and job["attempt"] == 1, job
    src = w.api.ok("GET", "/v1/sources/%s" % s.gmail["id"], w.u, want=(200,))
    assert src["needs_reauth"] is True, src
    r = w.api.call("POST", "/v1/sources/%s/sync" % s.gmail["id"], w.u)
    assert r.status == 409 and b"needs_reauth" in r.body, r.body
    w.api.ok("PATCH", "/v1/sources/%s" % s.gmail["id"], w.u, {"schedule_seconds": 60})
    psql_super(suite, "UPDATE sources SET next_run_at = now() WHERE id = '%s'" % s.gmail["id"])
    time.sleep(5)
    jobs = w.api.ok("GET", "/v1/sources/%s/jobs" % s.gmail["id"], w.u, want=(200,))["jobs"]
    assert jobs[0]["id"] == job["id"] and jobs[0]["state"] == "failed", jobs[:2]
    # authorized again: the source works
    connect(s, w.u, s.gmail["id"])
    src = w.api.ok("GET", "/v1/sources/%s" % s.gmail["id"], w.u, want=(200,))
    assert src["needs_reauth"] is False, src
    w.api.ok("PATCH", "/v1/sources/%s" % s.gmail["id"], w.u, {"schedule_seconds": 0})
    ts.run_sync(w, w.u, s.gmail["id"])


def test_tokens_appear_nowhere(suite):
    s = setup(suite)
    needles = [SECRET.encode(), PREFIX.encode()]
    for t in s.g.tokens_issued():
        needles.append(t.encode())
    for m, path, st, body in SEEN:
        for n in needles:
            assert n not in body, "%s %s answered a token" % (m, path)
    log = open(suite.logpath, "rb").read()
    for n in needles:
        assert n not in log, "a token is in the log"
    dump = subprocess.run([os.path.join(harness.TOP, "scripts", "pg-cluster"), suite.dir,
                           "psql", "ballast", "-Atc",
                           "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM sources) t; "
                           "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM sync_jobs) t; "
                           "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM oauth_states) t"],
                          capture_output=True, timeout=30)
    assert dump.returncode == 0, dump.stderr
    for n in needles:
        assert n not in dump.stdout and n.hex().encode() not in dump.stdout

"""ballastctl's administrator commands (issue 10): user disable, user
reset-password, apikey revoke and audit tail, against a running suite:
the effect is checked through the API (logins, tokens, keys) and in the
database, and the trail is read back without any secret in it.
"""
import os
import subprocess

import harness
from authlib import Api, bearer

PW = "correct horse battery staple"
PW2 = "another horse, another battery"


def ctl_stdin(suite, *args, stdin=""):
    return subprocess.run([os.path.join(harness.BUILD, "ballastctl"), "-f", suite.conf]
                          + list(args), input=stdin, capture_output=True, text=True,
                          timeout=60)


def login_status(api, email, password):
    return api.call("POST", "/v1/auth/login",
                    body={"email": email, "password": password}).status


def test_user_disable(suite):
    api = Api(suite)
    uid, oid = api.bootstrap("d@x.test", PW, "OrgD")
    s = api.session("d", "d@x.test", PW)
    key = api.new_key(s, oid, "dkey", "read")
    assert api.call("GET", "/v1/me", s).status == 200
    assert api.call("GET", "/v1/me", bearer(key["key"])).status == 200

    r = suite.ctl("user", "disable", "d@x.test")
    assert r.stdout.startswith("user %s d@x.test disabled; 1 session revoked" % uid), \
        r.stdout
    assert login_status(api, "d@x.test", PW) == 401
    assert api.call("GET", "/v1/me", s).status == 401
    r2 = api.call("POST", "/v1/auth/refresh",
                  body={"refresh_token": s.tokens["refresh_token"]})
    assert r2.status == 401, (r2.status, r2.body)
    # authd checks the creator of a key too: a disabled user's keys stop.
    assert api.call("GET", "/v1/me", bearer(key["key"])).status == 401
    row = api.psql("SELECT disabled, (SELECT string_agg(revoke_reason, ',') FROM "
                   "sessions WHERE user_id = u.id) FROM users u WHERE id = '%s'"
                   % uid).strip()
    assert row == "t|disabled by administrator", row

    # Unknown, malformed, usage.
    r = suite.ctl("user", "disable", "nobody@x.test", check=False)
    assert r.returncode == 1 and "no user nobody@x.test" in r.stderr, r
    r = suite.ctl("user", "disable", "D@x.test", check=False)
    assert r.returncode == 1 and "not an email address" in r.stderr, r
    assert suite.ctl("user", "disable", check=False).returncode == 2
    assert suite.ctl("user", "disable", "a@x.test", "b@x.test",
                     check=False).returncode == 2


def test_user_reset_password(suite):
    api = Api(suite)
    uid, oid = api.bootstrap("r@x.test", PW, "OrgR")
    s = api.session("r", "r@x.test", PW)
    assert api.call("GET", "/v1/me", s).status == 200

    r = ctl_stdin(suite, "user", "reset-password", "r@x.test", stdin="short\n")
    assert r.returncode == 1 and "password" in r.stderr, r
    assert login_status(api, "r@x.test", PW) == 200     # nothing changed
    r = ctl_stdin(suite, "user", "reset-password", "r@x.test", stdin=PW2 + "\n")
    assert r.returncode == 0, r.stderr
    # Two sessions: the one above and the login just made.
    assert "user %s r@x.test has a new password; 2 sessions revoked" % uid in r.stdout, \
        r.stdout
    assert api.call("GET", "/v1/me", s).status == 401
    assert login_status(api, "r@x.test", PW) == 401
    s2 = api.session("r2", "r@x.test", PW2)
    assert api.call("GET", "/v1/me", s2).status == 200
    h = api.psql("SELECT password_hash FROM users WHERE id = '%s'" % uid).strip()
    assert h.startswith("$argon2id$") and PW2 not in h, h
    r = ctl_stdin(suite, "user", "reset-password", "nobody@x.test", stdin=PW2 + "\n")
    assert r.returncode == 1 and "no user nobody@x.test" in r.stderr, r


def test_apikey_revoke(suite):
    api = Api(suite)
    _, oid = api.bootstrap("k@x.test", PW, "OrgK")
    s = api.session("k", "k@x.test", PW)
    k1 = api.new_key(s, oid, "one", "read")
    k2 = api.new_key(s, oid, "two", "read")
    assert api.call("GET", "/v1/me", bearer(k1["key"])).status == 200

    r = suite.ctl("apikey", "revoke", k1["id"])
    assert r.stdout.strip() == "api key %s revoked" % k1["id"], r.stdout
    assert api.call("GET", "/v1/me", bearer(k1["key"])).status == 401
    assert api.call("GET", "/v1/me", bearer(k2["key"])).status == 200   # only that one
    # Twice is fine and keeps the first time.
    t1 = api.psql("SELECT revoked_at FROM api_keys WHERE id = '%s'" % k1["id"])
    suite.ctl("apikey", "revoke", k1["id"])
    assert api.psql("SELECT revoked_at FROM api_keys WHERE id = '%s'" % k1["id"]) == t1

    r = suite.ctl("apikey", "revoke", "a" * 16, check=False)
    assert r.returncode == 1 and "no API key %s" % ("a" * 16) in r.stderr, r
    r = suite.ctl("apikey", "revoke", "not-a-key", check=False)
    assert r.returncode == 1 and "not an API key id" in r.stderr, r
    assert suite.ctl("apikey", "revoke", check=False).returncode == 2
    assert suite.ctl("apikey", "list", k1["id"], check=False).returncode == 2


def test_audit_tail(suite):
    api = Api(suite)
    rows = suite.ctl("audit", "tail", "-n", "1000").stdout.splitlines()
    actions = [l.split("\t")[3] for l in rows]
    for a in ("ctl.user.disable", "ctl.user.reset-password", "ctl.apikey.revoke"):
        assert a in actions, rows
    for l in rows:
        f = l.split("\t")
        assert len(f) == 6, l
        assert f[0].endswith("Z") and f[5] in ("ok", "denied", "error"), l
        if f[3].startswith("ctl."):
            assert f[2] == "ballastctl" and f[5] == "ok", l
    text = "\n".join(rows)
    for secret in (PW, PW2, "argon2"):
        assert secret not in text
    # The admin rows carry no actor user; the client says who.
    assert api.psql("SELECT count(*) FROM audit_log WHERE action LIKE 'ctl.%' AND "
                    "(actor_user IS NOT NULL OR client <> 'ballastctl')").strip() == "0"

    # Newest last, N rows; by organization, name or id.
    assert len(suite.ctl("audit", "tail").stdout.splitlines()) == min(20, len(rows))
    last = suite.ctl("audit", "tail", "-n", "2").stdout.splitlines()
    assert last == rows[-2:], (last, rows[-2:])
    k = suite.ctl("audit", "tail", "-o", "OrgK").stdout.splitlines()
    assert k and all(l.split("\t")[1] == "OrgK" for l in k), k
    assert "ctl.apikey.revoke" in [l.split("\t")[3] for l in k], k
    oid = api.psql("SELECT id FROM orgs WHERE name = 'OrgK'").strip()
    assert suite.ctl("audit", "tail", "-o", oid).stdout.splitlines() == k
    r = suite.ctl("audit", "tail", "-o", "No Such Org", check=False)
    assert r.returncode == 1 and "no organization No Such Org" in r.stderr, r
    for bad in (["-n", "0"], ["-n", "x"], ["-x"], ["extra"]):
        assert suite.ctl("audit", "tail", *bad, check=False).returncode == 2, bad
    assert suite.ctl("audit", check=False).returncode == 2

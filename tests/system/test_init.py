"""ballastctl init: a new installation in one command (keyring if
missing, schema, first owner and organization, an "initial" API key shown
once), and its refusal to run over an existing user or organization.
"""
import os
import re
import subprocess

import harness
from authlib import Api, bearer

EMAIL = "first@example.org"
ORG = "First Org"
PASSWORD = "correct horse battery"
KEY_RE = re.compile(r"^blst_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$")


def init(suite, *args, password=PASSWORD):
    return subprocess.run([os.path.join(harness.BUILD, "ballastctl"), "-f", suite.conf,
                           "init"] + list(args),
                          input=password + "\n", capture_output=True, text=True,
                          timeout=60)


def set_conf(suite, key, value):
    with open(suite.conf) as f:
        lines = [l for l in f.read().splitlines() if not l.startswith(key + " ")]
    lines.append('%s "%s"' % (key, value))
    with open(suite.conf, "w") as f:
        f.write("\n".join(lines) + "\n")


def parse(out):
    keys = [l for l in out.splitlines() if l.startswith("blst_")]
    user = [l.split() for l in out.splitlines() if l.startswith("user ")]
    org = [l.split() for l in out.splitlines() if l.startswith("organization ")]
    assert len(keys) == 1 and len(user) == 1 and len(org) == 1, out
    return user[0][1], org[0][1], keys[0]


def test_init_new_installation(suite):
    """Keyring made, owner and org created, the key works as read-write."""
    keyring = os.path.join(suite.dir, "etc", "keyring.init")
    set_conf(suite, "keyring", keyring)
    r = init(suite, "--owner", EMAIL, "--org", ORG, "--name", "First")
    assert r.returncode == 0, r.stderr
    assert "keyring %s created" % keyring in r.stdout, r.stdout
    assert "schema at version" in r.stdout, r.stdout
    uid, oid, key = parse(r.stdout)
    assert KEY_RE.match(key), key
    st = os.stat(keyring)
    assert st.st_mode & 0o777 == 0o400 and st.st_uid == 0, oct(st.st_mode)
    # Only the hash is stored: the printed key is nowhere in the database.
    api = Api(suite)
    row = api.psql("SELECT id, name, cap, collection_id IS NULL, include_personal, "
                   "encode(secret_hash, 'hex') FROM api_keys").strip().split("|")
    assert row[:5] == [key[5:21], "initial", "read-write", "t", "f"], row
    assert key.split("_")[2] not in row[5]
    assert api.psql("SELECT action, outcome FROM audit_log WHERE org_id = '%s'"
                    % oid).strip() == "init|ok"

    suite.start()   # with the keyring init made
    me = api.ok("GET", "/v1/me", bearer(key), want=(200,))
    assert me["user"]["id"] == uid and me["user"]["email"] == EMAIL, me
    assert me["orgs"] == [{"id": oid, "name": ORG, "role": "owner"}], me
    org = api.ok("GET", "/v1/orgs/%s" % oid, bearer(key), want=(200,))
    assert (org["id"], org["name"], org["role"]) == (oid, ORG, "owner"), org
    # The owner can log in with the password given on stdin.
    api.login(EMAIL, PASSWORD)
    # A wrong key is refused: the check is real.
    bad = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert api.call("GET", "/v1/me", bearer(bad)).status == 401

    # A second init changes nothing: same user, or same organization name.
    before = api.psql("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orgs), "
                      "(SELECT count(*) FROM api_keys)")
    r2 = init(suite, "--owner", EMAIL, "--org", "Another Org")
    assert r2.returncode == 1 and "user %s exists" % EMAIL in r2.stderr, r2
    r3 = init(suite, "-u", "second@example.org", "-o", ORG)
    assert r3.returncode == 1 and "organization %s exists" % ORG in r3.stderr, r3
    assert "keyring %s exists; kept" % keyring in r3.stdout, r3.stdout
    assert "blst_" not in r2.stdout + r3.stdout
    after = api.psql("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orgs), "
                     "(SELECT count(*) FROM api_keys)")
    assert before == after, (before, after)


test_init_new_installation.FRESH = True
test_init_new_installation.START = False


def test_init_refuses_bad_input(suite):
    """Usage errors and a short password stop before anything is made."""
    keyring = os.path.join(suite.dir, "etc", "keyring.never")
    set_conf(suite, "keyring", keyring)
    assert init(suite, "--owner", EMAIL).returncode == 2          # no --org
    assert init(suite, "--org", ORG).returncode == 2              # no --owner
    r = init(suite, "--owner", "First@Example.org", "--org", ORG)
    assert r.returncode == 1 and "not an email address" in r.stderr, r
    r = init(suite, "--owner", EMAIL, "--org", ORG, password="short")
    assert r.returncode == 1 and "password" in r.stderr, r
    assert not os.path.exists(keyring)
    assert Api(suite).psql("SELECT count(*) FROM users").strip() == "0"


test_init_refuses_bad_input.FRESH = True
test_init_refuses_bad_input.START = False

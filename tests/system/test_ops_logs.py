"""Issue 10 (operations): TLS reload, the access-log file, request ids.

  - SIGHUP re-reads the TLS certificate and key: new connections get the
    new certificate, an idle keep-alive connection opened before keeps
    working, a broken file keeps the running certificate;
  - "access log PATH": one JSON line per request in the file, nothing
    secret in it; after a rename and SIGUSR1 the lines go to a new file
    and none is lost;
  - authd's and indexd's log lines about a refused request carry the
    X-Request-Id the client got.
"""
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time

from authlib import Api
from harness import wait_for

CONF = ""

ACCESS_FIELDS = {"time", "request_id", "client", "method", "path", "status",
                 "bytes", "duration_ms"}


def fresh(start=True):
    def mark(fn):
        fn.FRESH = True
        fn.START = start
        return fn
    return mark


# -- TLS -------------------------------------------------------------
def peer_fingerprint(suite):
    """SHA-256 of the certificate a new connection is shown (unverified)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", suite.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def file_fingerprint(path):
    with open(path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


def new_cert(suite):
    """A new self-signed pair for localhost, written over the suite's files."""
    key = os.path.join(suite.dir, "etc", "tls.key")
    tmp = os.path.join(suite.dir, "new")
    os.makedirs(tmp, mode=0o700, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-days", "30", "-nodes",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", tmp + "/tls.key", "-out", tmp + "/tls.crt"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name, dst in (("tls.key", key), ("tls.crt", suite.cert)):
        with open(tmp + "/" + name, "rb") as src, open(dst, "wb") as out:
            out.write(src.read())


@fresh()
def test_tls_reload(suite):
    old = file_fingerprint(suite.cert)
    assert peer_fingerprint(suite) == old
    # A keep-alive connection, used once and left idle over the reload.
    conn = suite.connection()
    assert suite.get("/healthz", conn=conn).status == 200

    new_cert(suite)
    new = file_fingerprint(suite.cert)
    assert new != old
    suite.signal(signal.SIGHUP)
    wait_for(lambda: peer_fingerprint(suite) == new, 10,
             what="new connections to show the new certificate")
    assert "TLS certificate and key reloaded" in suite.log_text()

    # The old connection still serves, with the certificate it began with.
    r = suite.get("/healthz", conn=conn)
    assert r.status == 200, r.status
    assert hashlib.sha256(conn.sock.getpeercert(binary_form=True)).hexdigest() == old
    conn.close()
    # New connections verify against the new certificate.
    suite.ctx = ssl.create_default_context(cafile=suite.cert)
    assert suite.get("/healthz").status == 200

    # A broken certificate on reload: the running one stays.
    with open(suite.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n"
                "-----END CERTIFICATE-----\n")
    suite.signal(signal.SIGHUP)
    wait_for(lambda: "keeping the running TLS certificate" in suite.log_text(),
             10, what="the broken certificate to be refused")
    assert peer_fingerprint(suite) == new
    assert suite.get("/healthz").status == 200
    st = suite.status()
    assert st["front"]["restarts"] == 0, st["front"]

    # ballastctl reload works the same way: a good pair again is taken.
    new_cert(suite)
    newer = file_fingerprint(suite.cert)
    suite.ctl("reload")
    wait_for(lambda: peer_fingerprint(suite) == newer, 10,
             what="ballastctl reload to swap the certificate")


# -- the access log ---------------------------------------------------
def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    assert data == b"" or data.endswith(b"\n"), "a partial line in %s" % path
    return [json.loads(line) for line in data.decode().splitlines()]


def settled(path, n):
    """The file's lines once there are n of them (or more: then a moment
    later, so that a line too many would show)."""
    lines = read_lines(path)
    if len(lines) < n:
        return None
    time.sleep(0.2)
    return read_lines(path)


def quiet_count(path):
    """The number of lines once it has not changed for 0.3 s (None
    before): a response can reach the client just before its loop turn
    ends and writes its line."""
    n = len(read_lines(path))
    time.sleep(0.3)
    return n if n > 0 and len(read_lines(path)) == n else None


@fresh(start=False)
def test_access_log_file(suite):
    path = os.path.join(suite.dir, "access.log")
    with open(suite.conf, "a") as f:
        f.write('access log "%s"\n' % path)
    suite.start()
    wait_for(lambda: len(read_lines(path)) > 0, 10, what="the first access line")
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o640, oct(st.st_mode)
    # start() may have seen a 503 before its 200: wait for both lines.
    base = wait_for(lambda: quiet_count(path), 10, what="start-up's access lines")

    secret = "Bearer sekrit-token-0123456789abcdef"
    body = json.dumps({"email": "nobody@x.test",
                       "password": "very-secret-password"}).encode()
    made = 0
    ids = []
    for i in range(5):
        r = suite.get("/healthz")
        assert r.status == 200
        ids.append(r.header("X-Request-Id"))
        made += 1
    r = suite.request("GET", "/v1/me", headers={"Authorization": secret})
    assert r.status == 401, r.status
    ids.append(r.header("X-Request-Id"))
    made += 1
    r = suite.request("POST", "/v1/auth/login", body=body,
                      headers={"Content-Type": "application/json"})
    assert r.status == 401, r.status
    ids.append(r.header("X-Request-Id"))
    made += 1
    r = suite.get("/no/such/route?token=abc")
    assert r.status == 404
    ids.append(r.header("X-Request-Id"))
    made += 1

    # The lines of a loop turn are written together, after its responses.
    lines = wait_for(lambda: settled(path, base + made), 5,
                     what="%d access lines" % (base + made))
    assert len(lines) == base + made, (len(lines), base, made)
    for line in lines:
        assert set(line) == ACCESS_FIELDS, line
        assert len(line["request_id"]) == 16
        assert line["client"] == "127.0.0.1", line
        assert isinstance(line["status"], int) and isinstance(line["bytes"], int)
        assert isinstance(line["duration_ms"], int)
    by_id = {line["request_id"]: line for line in lines}
    for rid in ids:
        assert rid in by_id, rid
    assert by_id[ids[5]]["path"] == "/v1/me" and by_id[ids[5]]["status"] == 401
    assert by_id[ids[6]]["method"] == "POST"
    assert by_id[ids[7]]["path"] == "/no/such/route", by_id[ids[7]]
    with open(path, "rb") as f:
        text = f.read()
    for leak in (b"sekrit", b"very-secret-password", b"nobody@x.test", b"token=abc"):
        assert leak not in text, leak
    # The lines went to the file, not to the daemon's log.
    assert ids[0] not in suite.log_text()

    # Rotation: rename, SIGUSR1, and the next lines land in a new file.
    os.rename(path, path + ".1")
    suite.signal(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(path), 10, what="the access log reopened")
    more = 0
    for i in range(3):
        assert suite.get("/healthz").status == 200
        more += 1
    # A keep-alive connection: several requests, each its own line.
    conn = suite.connection()
    for i in range(4):
        assert suite.get("/healthz", conn=conn).status == 200
        more += 1
    conn.close()
    old_lines = read_lines(path + ".1")
    new_lines = wait_for(lambda: settled(path, more), 5,
                         what="%d access lines in the new file" % more)
    assert len(old_lines) == base + made, (len(old_lines), base, made)
    assert len(new_lines) == more, (len(new_lines), more)
    assert len(old_lines) + len(new_lines) == base + made + more

    # SIGUSR1 with nothing rotated: the same file goes on.
    suite.signal(signal.SIGUSR1)
    wait_for(lambda: "reopening" in suite.log_text(), 10, what="SIGUSR1")
    time.sleep(0.3)
    assert suite.get("/healthz").status == 200
    assert len(wait_for(lambda: settled(path, more + 1), 5,
                        what="one more line")) == more + 1
    assert len(read_lines(path + ".1")) == base + made


@fresh()
def test_no_access_log_by_default(suite):
    r = suite.get("/healthz")
    rid = r.header("X-Request-Id")
    wait_for(lambda: '"request_id":"%s"' % rid in suite.log_text(), 5,
             what="the access line in the daemon's log")
    suite.signal(signal.SIGUSR1)
    wait_for(lambda: "no access log to reopen" in suite.log_text(), 5,
             what="SIGUSR1 without an access log")
    assert suite.get("/healthz").status == 200


# -- request ids in the peers' logs -----------------------------------
def logged_with(suite, rid, who):
    """A log line of process who that names request rid."""
    for line in suite.log_text().splitlines():
        if "request %s" % rid in line and who in line:
            return line
    return None


def test_request_id_in_authd_log(suite):
    r = suite.request("POST", "/v1/auth/login", body=b"{not json",
                      headers={"Content-Type": "application/json"})
    assert r.status == 400, (r.status, r.body)
    rid = r.header("X-Request-Id")
    assert rid and len(rid) == 16, rid
    line = wait_for(lambda: logged_with(suite, rid, "authd"), 5,
                    what="authd's line about request %s" % rid)
    assert "not JSON" in line, line
    r = suite.request("POST", "/v1/auth/login", body=b"[1, 2]",
                      headers={"Content-Type": "application/json"})
    assert r.status == 400
    wait_for(lambda: logged_with(suite, r.header("X-Request-Id"), "authd"), 5,
             what="authd's line about a non-object body")


def test_request_id_in_indexd_log(suite):
    api = Api(suite)
    pw = "correct horse battery staple"
    _, org = api.bootstrap("ops@logs.test", pw, "OpsLogs")
    who = api.session("ops", "ops@logs.test", pw)
    coll = api.ok("POST", "/v1/orgs/%s/collections" % org, who, {"name": "logs"},
                  want=(201,))["id"]
    r = api.call("POST", "/v1/collections/%s/search" % coll, who, {"query": 5})
    assert r.status == 400, (r.status, r.body)
    rid = r.header("X-Request-Id")
    line = wait_for(lambda: logged_with(suite, rid, "indexd"), 5,
                    what="indexd's line about request %s" % rid)
    assert "400" in line, line
    r = api.call("GET", "/v1/collections/%s/documents/nope" % coll, who)
    assert r.status == 404, (r.status, r.body)
    wait_for(lambda: logged_with(suite, r.header("X-Request-Id"), "indexd"), 5,
             what="indexd's line about a missing document")


@fresh(start=False)
def test_access_log_write_failure(suite):
    """A full disk (/dev/full): lines are lost and counted, requests go on,
    and the warning comes once, not once a line."""
    with open(suite.conf, "a") as f:
        f.write('access log "/dev/full"\n')
    suite.start()
    for i in range(5):
        assert suite.get("/healthz").status == 200
    st = suite.status()
    assert st["front"]["restarts"] == 0, st["front"]
    warnings = [l for l in suite.log_text().splitlines()
                if "lost (No space left on device)" in l]
    assert len(warnings) == 1, warnings

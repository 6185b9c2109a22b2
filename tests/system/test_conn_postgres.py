"""The postgres connector against a real second PostgreSQL, over TLS.

Each test starts its own source cluster: ssl = on, TCP on 127.0.0.1, a
server certificate for the name "localhost" only (no IP address in it)
signed by a test CA, a database "crm" with a table of notes, and a login
role "reader" whose password (SCRAM) is taken over hostssl only.  The
connector runs in $BUILD/tests/tools/fetch-run, without the suite: the
tests need no started Ballast (SUITE = False: run.py lends a scratch
folder).
"""
import json
import os
import subprocess

import harness
from test_pg_tls import make_ca, openssl

SUITE = False

PW = 'correct "horse" battery staple'

NOTES = """
CREATE TABLE notes (
    id int PRIMARY KEY,
    title text,
    body text,
    extra text,
    author text,
    tag text,
    modified timestamptz NOT NULL
);
INSERT INTO notes VALUES
 (1, 'First', 'Alpha body', 'alpha extra', 'ann', 'red', '2024-01-01 10:00:00+00'),
 (2, 'Second', 'Beta body', NULL, 'bob', NULL, '2024-01-02 10:00:00.25+00'),
 (3, 'Third', 'Gamma body', 'gamma extra', 'cid', 'blue', '2024-01-03 10:00:00+00'),
 (4, 'Fourth', 'Delta body', NULL, 'dan', 'red', '2024-01-03 10:00:00+00'),
 (5, NULL, 'Epsilon body', NULL, NULL, NULL, '2024-01-04 12:30:00+02');
CREATE SEQUENCE counter;
"""


def make_localhost_cert(d):
    """A server certificate naming DNS:localhost only, signed by ca."""
    with open(os.path.join(d, "localhost.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile",
            "localhost.ext", cwd=d)


class SourceCluster:
    """The database a postgres source reads: TLS, SCRAM over hostssl only."""

    def __init__(self, suite):
        self.dir = os.path.join(suite.dir, "pgsrc")
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port = harness.free_port()
        self.env = dict(os.environ, PGPORT=str(self.port))
        self.ca = make_ca(self.dir, "ca")
        self.other_ca = make_ca(self.dir, "other")
        make_localhost_cert(self.dir)
        self.pgc("init")
        data = os.path.join(self.dir, "pg", "data")
        for f in ("server.crt", "server.key"):
            dst = os.path.join(data, f)
            with open(os.path.join(self.dir, f), "rb") as src, open(dst, "wb") as out:
                out.write(src.read())
            os.chmod(dst, 0o600)
            subprocess.run(["chown", "postgres:", dst], check=True)
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\nport = %d\nssl = on\n"
                    "ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                    "password_encryption = 'scram-sha-256'\n" % self.port)
        with open(os.path.join(data, "pg_hba.conf"), "a") as f:
            # TLS only: a plain TCP connection finds no line and is refused
            f.write("hostssl crm reader 127.0.0.1/32 scram-sha-256\n")
        self.pgc("start")
        self.psql("postgres", "CREATE DATABASE crm")
        self.psql("postgres", "CREATE ROLE reader LOGIN PASSWORD '%s'" % PW)
        self.psql("crm", NOTES + "GRANT SELECT ON notes TO reader;\n"
                  "GRANT USAGE ON SEQUENCE counter TO reader;\n")

    def pgc(self, *args):
        return subprocess.run([os.path.join(harness.TOP, "scripts", "pg-cluster"), self.dir]
                              + list(args), check=True, env=self.env, capture_output=True,
                              text=True, timeout=120).stdout

    def psql(self, db, sql):
        return self.pgc("psql", db, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql)

    def config(self, **kw):
        c = {"host": "localhost", "port": self.port, "dbname": "crm", "user": "reader",
             "sslmode": "verify-full", "sslrootcert": self.ca,
             "query": "SELECT id, title, body, extra, author, tag, modified FROM notes",
             "id_column": "id", "title_column": "title",
             "text_columns": ["body", "extra"], "updated_column": "modified",
             "cursor_column": "modified", "metadata_columns": ["author", "tag"],
             "timeout": 10}
        c.update(kw)
        return c

    def stop(self):
        subprocess.run([os.path.join(harness.TOP, "scripts", "pg-cluster"), self.dir, "stop"],
                       env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Run:
    def __init__(self, r):
        self.rc = r.returncode
        self.stdout = r.stdout
        self.stderr = r.stderr
        self.lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        self.docs = {l["doc"]["external_id"]: l["doc"] for l in self.lines if "doc" in l}
        self.doc_order = [l["doc"]["external_id"] for l in self.lines if "doc" in l]
        self.keeps = [l["keep"] for l in self.lines if "keep" in l]
        self.done = next((l["done"] for l in self.lines if "done" in l), None)
        self.error = next((l["error"] for l in self.lines if "error" in l), None)
        self.invalid = next((l["invalid"] for l in self.lines if "invalid" in l), None)

    def __repr__(self):
        return "exit %d\n%s%s" % (self.rc, self.stdout, self.stderr)


def fetch(config, cursor=None, credential=PW, leaks=True):
    env = dict(os.environ)
    env.pop("FETCH_CREDENTIAL", None)
    for k in [k for k in env if k.startswith("PG")]:
        del env[k]      # nothing from the environment reaches libpq
    if credential is not None:
        env["FETCH_CREDENTIAL"] = json.dumps(credential)
    if harness.SAN:
        env["ASAN_OPTIONS"] = "detect_leaks=%d:abort_on_error=1" % leaks
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    args = [os.path.join(harness.BUILD, "tests", "tools", "fetch-run"), "postgres",
            json.dumps(config)] + ([cursor] if cursor is not None else [])
    r = Run(subprocess.run(args, capture_output=True, text=True, timeout=60, env=env))
    for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert mark not in r.stderr, r
    return r


def test_sync_incremental_and_deletions(suite):
    src = SourceCluster(suite)
    try:
        cfg = src.config()
        first = fetch(cfg)
        assert first.rc == 0 and first.done, first
        assert first.done["complete"] is True, first
        assert set(first.docs) == {"1", "2", "3", "4", "5"}, first
        assert first.keeps == [], first
        # in cursor order
        assert first.doc_order[0] == "1" and first.doc_order[-1] == "5", first
        d1 = first.docs["1"]
        assert d1["title"] == "First", d1
        assert d1["text"] == "Alpha body\n\nalpha extra", d1
        assert d1["metadata"] == {"author": "ann", "tag": "red"}, d1
        assert d1["updated_at"] == "2024-01-01T10:00:00Z", d1
        d2 = first.docs["2"]
        assert d2["text"] == "Beta body", d2            # NULL text column skipped
        assert d2["metadata"] == {"author": "bob"}, d2  # NULL metadata left out
        assert d2["updated_at"] == "2024-01-02T10:00:00.25Z", d2
        d5 = first.docs["5"]
        assert d5["title"] == "" and d5["metadata"] == {}, d5
        assert d5["updated_at"] == "2024-01-04T10:30:00Z", d5   # +02 to UTC
        cursor = first.done["cursor"]
        assert cursor == "2024-01-04 10:30:00+00", first

        src.psql("crm", "UPDATE notes SET body = 'Beta edited', "
                 "modified = '2024-02-01 00:00:00+00' WHERE id = 2")
        src.psql("crm", "INSERT INTO notes VALUES (6, 'Sixth', 'Zeta body', NULL, 'eve', "
                 "'green', '2024-02-02 08:00:00+00')")
        src.psql("crm", "DELETE FROM notes WHERE id = 3")
        second = fetch(cfg, cursor)
        assert second.rc == 0 and second.done["complete"] is True, second
        assert second.doc_order == ["2", "6"], second
        assert second.docs["2"]["text"] == "Beta edited", second
        assert second.docs["6"]["metadata"] == {"author": "eve", "tag": "green"}, second
        assert sorted(second.keeps) == ["1", "4", "5"], second
        assert "3" not in second.docs and "3" not in second.keeps, second
        assert second.done["cursor"] == "2024-02-02 08:00:00+00", second

        # nothing new: every row kept, the cursor stays
        third = fetch(cfg, second.done["cursor"])
        assert third.rc == 0 and third.docs == {}, third
        assert sorted(third.keeps) == ["1", "2", "4", "5", "6"], third
        assert third.done == {"cursor": second.done["cursor"], "complete": True}, third

        # an integer cursor column compares as an integer, not as text
        icfg = src.config(cursor_column="id")
        r = fetch(icfg, "4")
        assert r.rc == 0 and r.doc_order == ["5", "6"], r
        assert sorted(r.keeps) == ["1", "2", "4"], r
        assert r.done["cursor"] == "6", r

        # more rows than max_rows: a permanent error, not a partial run
        r = fetch(src.config(max_rows=3))
        assert r.rc == 1 and "max_rows" in r.error["message"], r
        assert r.error["transient"] is False, r
    finally:
        src.stop()




def test_tls_verification(suite):
    src = SourceCluster(suite)
    try:
        # the session really is TLS: the query reads its own pg_stat_ssl row
        probe = src.config(
            query="SELECT 1 AS id, ssl::text AS s, version AS v, now() AS m "
                  "FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            title_column="v", text_columns=["s"], cursor_column="m",
            updated_column="m", metadata_columns=["v"])
        ok = fetch(probe)
        assert ok.rc == 0, ok
        assert ok.docs["1"]["text"] == "true", ok
        assert ok.docs["1"]["title"].startswith("TLSv1."), ok

        other = fetch(src.config(sslrootcert=src.other_ca))
        assert other.rc == 1, other
        assert other.error["message"].startswith("cannot connect to localhost:%d: "
                                                 % src.port), other
        assert "certificate verify failed" in other.error["message"], other
        assert other.error["transient"] is False, other
        assert not other.docs, other

        # the certificate names localhost, not 127.0.0.1
        byip = fetch(src.config(host="127.0.0.1"))
        assert byip.rc == 1, byip
        assert "does not match host name" in byip.error["message"], byip
        assert byip.error["transient"] is False, byip
        # ... which is the only reason: verify-ca does not check the name
        ca = fetch(src.config(host="127.0.0.1", sslmode="verify-ca"))
        assert ca.rc == 0 and len(ca.docs) == 5, ca

        # without TLS the server has no pg_hba line for us
        plain = fetch(src.config(host="127.0.0.1", sslmode="disable"))
        assert plain.rc == 1, plain
        assert "refused the login" in plain.error["message"], plain
        assert "no pg_hba.conf entry" in plain.error["message"], plain
        assert plain.error["transient"] is False, plain
    finally:
        src.stop()




def test_errors(suite):
    src = SourceCluster(suite)
    try:
        wrong = "not the " + PW
        r = fetch(src.config(), credential=wrong)
        assert r.rc == 1, r
        assert "the server refused the login" in r.error["message"], r
        assert "password authentication failed" in r.error["message"], r
        assert r.error["transient"] is False, r
        for secret in (wrong, PW, "horse"):
            assert secret not in r.stdout and secret not in r.stderr, r

        r = fetch(src.config(), credential=None)
        assert r.rc == 1 and "no credentials" in r.error["message"], r
        r = fetch(src.config(), credential={"password": PW})
        assert r.rc == 1 and "must be a non-empty string" in r.error["message"], r
        assert PW not in r.stdout, r

        r = fetch(src.config(query="SELECT id, title, body, extra, author, tag, "
                                   "modified FROM notes; DROP TABLE notes"),
                  leaks=False)    # fetch-run exits at once on a refused config
        assert r.rc == 2, r
        assert r.invalid == "config.query: must be one statement without ';'", r
        assert src.psql("crm", "SELECT count(*) FROM notes") == "5\n"

        # SQL errors are permanent, with PostgreSQL's message
        r = fetch(src.config(title_column="nope"))
        assert r.rc == 1 and r.error["transient"] is False, r
        assert 'column q.nope does not exist' in r.error["message"], r
        # the transaction is read-only
        r = fetch(src.config(query="SELECT id, title, body, extra, author, tag, modified, "
                                   "nextval('counter') AS n FROM notes"))
        assert r.rc == 1 and r.error["transient"] is False, r
        assert "read-only transaction" in r.error["message"], r
        # a cursor the column's type cannot read
        r = fetch(src.config(), "not a date")
        assert r.rc == 1 and "invalid input syntax" in r.error["message"], r
        # a statement over the timeout: transient
        r = fetch(src.config(timeout=1, query="SELECT id, title, body, extra, author, tag, "
                                              "modified FROM notes, pg_sleep(3)"))
        assert r.rc == 1 and r.error["transient"] is True, r
        assert "statement timeout" in r.error["message"], r

        # nobody listening: transient
        src.stop()
        r = fetch(src.config())
        assert r.rc == 1 and r.error["transient"] is True, r
        assert r.error["message"].startswith("cannot connect to localhost:%d: "
                                             % src.port), r
    finally:
        src.stop()


test_errors.FRESH = True
test_errors.START = False

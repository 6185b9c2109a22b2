"""authd and indexd on PostgreSQL over TCP with TLS (sslmode=verify-full).

A second cluster per test listens on 127.0.0.1 with a certificate signed
by a CA made here, and takes the suite's roles only over hostssl.  The
suite's "database" lines point at it by host name, so the daemons'
sandboxes must allow what libpq's reconnects need: inet, dns (localhost is
looked up in /etc/hosts) and rpath on the unveiled root certificate.
"""
import os
import re
import subprocess

import harness
from authlib import Api
from contentlib import push, search, ext_ids
from harness import wait_for

PW = "correct horse battery staple"
DOC = {"external_id": "tls-doc", "title": "Encrypted wire",
       "text": "The vorpelline gasket seals the tunnel against the tide."}


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
            "-subj", "/CN=Ballast test %s" % name, cwd=d)
    os.chmod(os.path.join(d, name + ".crt"), 0o644)
    return os.path.join(d, name + ".crt")


def make_server_cert(d):
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext",
            cwd=d)


class TlsCluster:
    """A PostgreSQL cluster with ssl = on, TCP on 127.0.0.1 only."""

    def __init__(self, suite):
        self.dir = os.path.join(suite.dir, "pgtls")
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port = harness.free_port()
        self.env = dict(os.environ, PGPORT=str(self.port))
        self.ca = make_ca(self.dir, "ca")
        self.other_ca = make_ca(self.dir, "other")
        make_server_cert(self.dir)
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
                    "ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" % self.port)
        with open(os.path.join(data, "pg_hba.conf"), "a") as f:
            # TLS only: a plain TCP connection finds no line and is refused
            f.write("hostssl ballast ballast,ballast_auth,ballast_index 127.0.0.1/32 trust\n")
        self.pgc("start")

    def pgc(self, *args):
        return subprocess.run([os.path.join(harness.TOP, "scripts", "pg-cluster"), self.dir]
                              + list(args), check=True, env=self.env, capture_output=True,
                              text=True, timeout=120).stdout

    def conninfo(self, role, ca):
        return ("host=localhost port=%d dbname=ballast user=%s sslmode=verify-full "
                "sslrootcert=%s" % (self.port, role, ca))

    def point(self, suite, ca, admin_ca=None):
        """Rewrite the suite's database lines to this cluster."""
        with open(suite.conf) as f:
            lines = [l for l in f.read().splitlines() if not l.startswith("database ")]
        lines.append('database auth "%s"' % self.conninfo("ballast_auth", ca))
        lines.append('database index "%s"' % self.conninfo("ballast_index", ca))
        lines.append('database admin "%s"' % self.conninfo("ballast", admin_ca or ca))
        with open(suite.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def ssl_sessions(self):
        out = self.pgc("psql", "ballast", "-Atc",
                       "SELECT a.usename, s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a "
                       "USING (pid) WHERE a.usename LIKE 'ballast%' ORDER BY 1")
        return [tuple(l.split("|")) for l in out.splitlines()]

    def stop(self):
        subprocess.run([os.path.join(harness.TOP, "scripts", "pg-cluster"), self.dir, "stop"],
                       env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def login_and_search(api, email):
    who = api.session("owner", email, PW)
    return ext_ids(search(api, who, "vorpelline gasket", mode="keyword"))


def test_verify_full_login_search_reconnect(suite):
    pg = TlsCluster(suite)
    try:
        pg.point(suite, pg.ca)
        suite.ctl("db", "migrate")
        suite.start()
        api = Api(suite)
        _, org = api.bootstrap("tls@pg.test", PW, "TlsOrg")
        who = api.session("owner", "tls@pg.test", PW)
        coll = api.ok("POST", "/v1/orgs/%s/collections" % org, who, {"name": "tls"},
                      want=(201,))["id"]
        push(api, who, coll, [DOC])
        assert login_and_search(api, "tls@pg.test") == {"tls-doc"}
        # both daemons' sessions are TLS
        sess = pg.ssl_sessions()
        roles = {u for u, _ in sess}
        assert {"ballast_auth", "ballast_index"} <= roles, sess
        assert all(ssl == "t" for _, ssl in sess), sess

        # PostgreSQL restarts: libpq reconnects from inside the sandbox,
        # which must allow inet, dns and reading the root certificate.
        before = suite.status()
        pg.pgc("stop")
        pg.pgc("start")
        # The first query on each dead connection fails (500) and marks it
        # bad; the next health check (PING) resets it: that reconnect runs
        # inside the sandbox.
        def works():
            try:
                return login_and_search(api, "tls@pg.test") == {"tls-doc"}
            except AssertionError:
                suite.get("/healthz")
                return False
        wait_for(works, 20, step=0.3, what="login and search after the restart")
        after = suite.status()
        for name in ("authd", "indexd"):
            assert after[name]["pid"] == before[name]["pid"], (name, before, after)
            assert after[name]["restarts"] == before[name]["restarts"], name
        assert "killed by signal" not in suite.log_text()
    finally:
        suite.stop()
        pg.stop()


test_verify_full_login_search_reconnect.FRESH = True
test_verify_full_login_search_reconnect.START = False


def test_wrong_ca_refused(suite):
    pg = TlsCluster(suite)
    try:
        # the schema goes in with the right CA; the daemons get another
        pg.point(suite, pg.other_ca, admin_ca=pg.ca)
        suite.ctl("db", "migrate")
        suite.start(wait=False)
        pat = re.compile(r"db_connect: (authd|indexd): cannot connect to PostgreSQL: "
                         r".*certificate verify failed")

        def both():
            return {m.group(1) for m in pat.finditer(suite.log_text())} == \
                {"authd", "indexd"}
        wait_for(both, 20, what="verify-full refusals in the log")
        # never a session without TLS or with the wrong CA
        assert not [s for s in pg.ssl_sessions() if s[0] != "ballast"], pg.ssl_sessions()
        try:
            r = suite.get("/healthz")
            assert r.status != 200, r.status
        except OSError:
            pass
    finally:
        suite.stop()
        pg.stop()


test_wrong_ca_refused.FRESH = True
test_wrong_ca_refused.START = False


def test_plain_tcp_refused(suite):
    """sslmode=disable finds no pg_hba line: the cluster takes TLS only."""
    pg = TlsCluster(suite)
    try:
        r = subprocess.run(["psql", "host=127.0.0.1 port=%d dbname=ballast user=ballast "
                            "sslmode=disable" % pg.port, "-Atc", "SELECT 1"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and "no pg_hba.conf entry" in r.stderr, r.stderr
        r = subprocess.run(["psql", pg.conninfo("ballast", pg.ca), "-Atc", "SELECT 1"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr
    finally:
        pg.stop()


test_plain_tcp_refused.FRESH = True
test_plain_tcp_refused.START = False

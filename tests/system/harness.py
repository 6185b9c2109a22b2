"""The system-test harness: a real suite on a throwaway PostgreSQL.

Each Suite gets its own folder (scripts/setup-var: config, keyring, TLS
certificate, PostgreSQL cluster), its own port, and runs the real
ballastd as root, as CI does, so every child drops to its own uid.
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import http.client

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(TOP, BUILD)
SAN = BUILD.endswith("-san")
CHILDREN = ("front", "keyd", "authd", "indexd")


def test_base():
    """Where suites live: not the checkout, wherever CI put it.

    The children's chroot must sit below directories only root can write
    (priv_drop checks every component: /tmp's 1777 fails), and the
    postgres and daemon users must be able to reach the cluster's socket
    (a checkout under /root is closed to them).
    """
    base = os.environ.get("BALLAST_TEST_BASE", "/var/lib/ballast-tests")
    os.makedirs(base, mode=0o755, exist_ok=True)
    os.chmod(base, 0o755)
    return base


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, step=0.1, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Suite:
    def __init__(self, name, extra_conf=""):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="s-", dir=test_base())
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "etc", "ballast.conf")
        self.logpath = os.path.join(self.dir, "ballastd.log")
        self.proc = None
        env = dict(os.environ, BUILD=BUILD, PORT=str(self.port))
        subprocess.run([os.path.join(TOP, "scripts", "setup-var"), self.dir],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        if extra_conf:
            with open(self.conf, "a") as f:
                f.write(extra_conf)
        self.cert = os.path.join(self.dir, "etc", "tls.crt")
        self.ctx = ssl.create_default_context(cafile=self.cert)

    # -- the daemon ---------------------------------------------------
    def env(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if SAN:
            # LeakSanitizer stops the world with ptrace, which the sandbox
            # forbids; leaks are looked for in a separate run (issue 11).
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        return env

    def start(self, wait=True, env=None, ballastd=None, wrapper=()):
        """Start BUILD/ballastd, or the ballastd program given (an
        installed one), under the wrapper command if any (setpriv ...)."""
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            list(wrapper) + [ballastd or os.path.join(BUILD, "ballastd"),
                             "-d", "-f", self.conf],
            stdout=self.log, stderr=subprocess.STDOUT, env=dict(self.env(), **(env or {})))
        if wait:
            self.wait_healthy(20)
        return self

    def wait_healthy(self, timeout=10):
        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError("ballastd exited with %s:\n%s" %
                                     (self.proc.returncode, self.log_tail()))
            try:
                return self.get("/healthz").status == 200
            except OSError:
                return False
        wait_for(healthy, timeout, what="/healthz 200")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def destroy(self):
        pids = []
        try:
            if self.proc and self.proc.poll() is None:
                pids = [p["pid"] for p in self.status().values() if p["pid"]]
        except Exception:
            pass
        self.stop()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        subprocess.run([os.path.join(TOP, "scripts", "pg-cluster"), self.dir, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.environ.get("KEEP_TEST_DIRS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    # -- ballastctl ---------------------------------------------------
    def ctl(self, *args, check=True):
        r = subprocess.run([os.path.join(BUILD, "ballastctl"), "-f", self.conf] + list(args),
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("ballastctl %s: exit %d: %s" %
                                 (" ".join(args), r.returncode, r.stderr))
        return r

    def status(self):
        out = self.ctl("status").stdout.splitlines()
        procs = {}
        for line in out[1:]:
            f = line.split()
            procs[f[0]] = {"state": f[1], "pid": int(f[2]), "uid": int(f[3]),
                           "uptime": int(f[4]), "restarts": int(f[5])}
        return procs

    # -- HTTPS --------------------------------------------------------
    def connection(self, timeout=10):
        return http.client.HTTPSConnection("localhost", self.port,
                                           context=self.ctx, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connection()
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = dict(headers or {}, **{"Content-Type": "application/json"})
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            if own:
                conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def tls_socket(self, timeout=10):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return self.ctx.wrap_socket(raw, server_hostname="localhost")


def proc_status(pid):
    """/proc/PID/status as a dict."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False

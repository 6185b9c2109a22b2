"""Issue 11: resource limits and the sandbox on the real suite.

- search rate: a key hammering search gets 429 with Retry-After; other
  principals (another key, a session of the same user) are not affected,
  and neither are the key's other reads.
- slowloris and connection floods: slow TLS connections dripping a header
  byte every second and a flood of idle connects, from other loopback
  addresses, while a normal client keeps getting /healthz and
  authenticated searches within a bound.
- the sandbox per child: tests/tools/sandbox-probe applies each child's
  promises and tries execve, a file outside its sandbox and a socket
  outside its promises; running children cannot read the keyring file
  nor another child's memory.
"""
import os
import socket
import ssl
import subprocess
import threading
import time

import harness
from authlib import Api, Principal, bearer, err_code

PW = "correct horse battery staple"
SEARCH_RATE = 10
CONF = """
search rate %d per 60
limit connections 48
limit connections-per-address 12
timeout header 4
""" % SEARCH_RATE


class World:
    pass


W = None


def world(suite):
    global W
    if W is not None and W.suite is suite:
        return W
    w = World()
    w.suite = suite
    api = w.api = Api(suite)
    _, w.org = api.bootstrap("owner@hard.test", PW, "Hard")
    w.owner = api.session("owner", "owner@hard.test", PW)
    w.coll = api.ok("POST", "/v1/orgs/%s/collections" % w.org, w.owner,
                    {"name": "H"}, want=(201,))["id"]

    def key(name):
        r = api.new_key(w.owner, w.org, name, "read-write")
        return Principal(name, bearer(r["key"]), "key", "owner")
    w.hammer = key("hammer")
    w.calm = key("calm")
    w.normal = key("normal")
    api.ok("POST", "/v1/collections/%s/documents" % w.coll, w.calm,
           {"documents": [{"external_id": "d1", "title": "Anchor",
                           "text": "The quillomite anchor holds the barge."}]})
    W = w
    return w


def search(w, who, coll=None):
    path = "/v1/search" if coll is None else "/v1/collections/%s/search" % coll
    return w.api.call("POST", path, who, {"query": "quillomite"})


def test_search_rate_limit(suite):
    w = world(suite)
    for i in range(SEARCH_RATE):
        r = search(w, w.hammer, w.coll if i % 2 else None)
        assert r.status == 200, (i, r.status, r.body)
    r = search(w, w.hammer)
    assert r.status == 429, (r.status, r.body)
    assert err_code(r) == "too_many_requests", r.body
    retry = r.header("Retry-After")
    assert retry is not None and retry.isdigit() and 1 <= int(retry) <= 60, retry
    # Both search routes count, and stay refused.
    assert search(w, w.hammer, w.coll).status == 429
    # The key's other reads are not searches.
    r = w.api.call("GET", "/v1/collections/%s/documents/nope" % w.coll, w.hammer)
    assert r.status == 404, (r.status, r.body)
    # Other principals: another key, a session of the key's creator.
    assert search(w, w.calm).status == 200
    r = search(w, w.owner)
    assert r.status == 200, (r.status, r.body)
    assert r.json()["results"], r.body


# -- slowloris and floods ----------------------------------------------

class Pressure:
    """Slow TLS clients from 127.0.0.2 and idle connects from 127.0.0.3,
    each reopened when the front closes it, until stop()."""

    def __init__(self, suite, slow=30, idle=60):
        self.suite = suite
        self.nslow, self.nidle = slow, idle
        self.stopping = threading.Event()
        self.opened = {"slow": 0, "idle": 0}
        self.cut = {"slow": 0, "idle": 0}
        self.threads = [threading.Thread(target=self.slow_loop, daemon=True),
                        threading.Thread(target=self.idle_loop, daemon=True)]

    def connect(self, src):
        return socket.create_connection(("127.0.0.1", self.suite.port), timeout=2,
                                        source_address=(src, 0))

    def open_slow(self):
        try:
            s = self.suite.ctx.wrap_socket(self.connect("127.0.0.2"),
                                           server_hostname="localhost")
            self.opened["slow"] += 1
            return s
        except (OSError, ssl.SSLError):
            self.cut["slow"] += 1
            return None

    def slow_loop(self):
        head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
        socks = [[self.open_slow(), 0] for _ in range(self.nslow)]
        while not self.stopping.is_set():
            for e in socks:
                if e[0] is None:
                    e[0], e[1] = self.open_slow(), 0
                    continue
                try:
                    e[0].send(head[e[1] % len(head):][:1])
                    e[1] += 1
                except (OSError, ssl.SSLError):
                    self.cut["slow"] += 1
                    e[0].close()
                    e[0] = None
            self.stopping.wait(1.0)
        for s, _ in socks:
            if s is not None:
                s.close()

    def idle_loop(self):
        socks = []
        while not self.stopping.is_set():
            live = []
            for s in socks:
                try:
                    s.setblocking(False)
                    if s.recv(1) == b"":
                        raise ConnectionResetError
                    live.append(s)
                except BlockingIOError:
                    live.append(s)
                except OSError:
                    self.cut["idle"] += 1
                    s.close()
            socks = live
            while len(socks) < self.nidle and not self.stopping.is_set():
                try:
                    socks.append(self.connect("127.0.0.3"))
                    self.opened["idle"] += 1
                except OSError:
                    break
            self.stopping.wait(0.3)
        for s in socks:
            s.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(10)


def test_slowloris_and_flood(suite):
    w = world(suite)
    pids = {n: p["pid"] for n, p in suite.status().items()}
    worst = 0.0
    answered = 0
    with Pressure(suite) as p:
        time.sleep(1.5)      # let the attackers take what they can
        end = time.monotonic() + 9     # two header timeouts and more
        i = 0
        while time.monotonic() < end:
            t0 = time.monotonic()
            r = suite.get("/healthz")
            assert r.status == 200, r.status
            # every third round, within the key's search rate
            if i % 3 == 0 and i // 3 < SEARCH_RATE:
                r = search(w, w.normal)
                assert r.status == 200, (r.status, r.body)
            worst = max(worst, time.monotonic() - t0)
            answered += 1
            i += 1
            time.sleep(0.2)
    print("    normal client: %d rounds, worst %.2fs; attackers opened %s, cut %s" %
          (answered, worst, p.opened, p.cut))
    assert worst < 3.0, "a normal client waited %.2fs" % worst
    # The caps did bite: idle connects beyond the per-address cap were
    # closed at once, and slow heads were cut at the header timeout.
    assert p.cut["idle"] > 0 and p.cut["slow"] > 0, (p.opened, p.cut)
    # No child died or restarted under it.
    assert {n: q["pid"] for n, q in suite.status().items()} == pids


# -- the sandbox per child -----------------------------------------------

PROBE = os.path.join(harness.BUILD, "tests", "tools", "sandbox-probe")


def source_promises(path, pattern):
    """A child's promises as its source states them (one source of truth:
    the probe applies exactly that string)."""
    import re
    with open(os.path.join(harness.TOP, path)) as f:
        m = re.search(pattern, f.read())
    assert m, "no promises found in %s" % path
    return m.group(1)


def conf_value(suite, kw, default=None):
    with open(suite.conf) as f:
        for line in f:
            if line.startswith(kw + " "):
                return line[len(kw) + 1:].strip().strip('"')
    if default is not None:
        return default
    raise AssertionError("%s not in the config" % kw)


def run_probe(args):
    r = subprocess.run([PROBE] + args, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    return out, r.stderr


def test_forbidden_syscalls_per_child(suite):
    dbauth = conf_value(suite, "database auth")
    dbindex = conf_value(suite, "database index")
    kr = conf_value(suite, "keyring")
    children = {
        "front": ([], source_promises("ballastd/front.c",
                                      r'sandbox_pledge\("([^"]+)"\)')),
        "keyd": ([], source_promises("keyd/keyd.c", r'sandbox_pledge\("([^"]+)"\)')),
        "authd": (["-d", dbauth], source_promises(
            "authd/authd.c", r'promises\[\d+\]\s*=\s*"([^"]+)"')),
        "indexd": (["-d", dbindex], source_promises(
            "indexd/indexd.c", r'promises\[\d+\]\s*=\s*"([^"]+)"')),
        # the files connector, the narrowest fetcher: rpath below its root
        "fetcher": (["-u", suite.dir + "/etc/tls.crt"], "stdio " + source_promises(
            "fetcher/conn_files.c", r'strlcpy\(sb->promises, "([^"]+)"')),
    }
    probes = ["execve", "open:" + kr, "open:/etc/passwd", "socket-inet",
              "socket-unix", "socket-packet", "ptrace", "fork"]
    for name, (opts, base) in children.items():
        out, err = run_probe(opts + [base] + probes)
        promises = err.split("promises:", 1)[1].split()
        print("    %-8s %-28s %s" % (name, " ".join(promises),
                                    ", ".join("%s %s" % kv for kv in sorted(out.items()))))
        for p in probes:
            allowed = out[p] == "allowed"
            want = (p == "socket-inet" and "inet" in promises) or \
                   (p == "socket-unix" and "unix" in promises)
            assert allowed == want, (name, p, out[p], promises)
            assert not out[p].startswith("setup-failed"), (name, p, out[p])
        # What no child may do is fatal, not an error to retry.
        for p in ("execve", "ptrace", "fork", "socket-packet"):
            assert out[p] == "killed SYS", (name, p, out[p])


def test_children_cannot_read_keyring_or_each_other(suite):
    kr = conf_value(suite, "keyring")
    st = suite.status()
    for name in harness.CHILDREN:
        uid = st[name]["uid"]
        assert uid != 0, name
        as_child = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                    "--clear-groups", "--"]
        r = subprocess.run(as_child + ["cat", kr], capture_output=True, timeout=10)
        assert r.returncode != 0 and r.stdout == b"", (name, r.returncode)
        assert b"Permission denied" in r.stderr, (name, r.stderr)
        for other in harness.CHILDREN:
            if other == name:
                continue
            pid = st[other]["pid"]
            r = subprocess.run(as_child + ["head", "-c", "1", "/proc/%d/mem" % pid],
                               capture_output=True, timeout=10)
            assert r.returncode != 0 and r.stdout == b"", (name, other)
            assert b"Permission denied" in r.stderr or \
                b"Operation not permitted" in r.stderr, (name, other, r.stderr)
            # ... nor its environment (where secrets could hide)
            r = subprocess.run(as_child + ["cat", "/proc/%d/environ" % pid],
                               capture_output=True, timeout=10)
            assert r.returncode != 0 and r.stdout == b"", (name, other)
    # A fetcher runs only during a sync: its user cannot read it either.
    import pwd
    fu = pwd.getpwnam(conf_value(suite, "user fetcher", "_ballastfetch"))
    r = subprocess.run(["setpriv", "--reuid=%d" % fu.pw_uid, "--regid=%d" % fu.pw_gid,
                        "--clear-groups", "--", "cat", kr], capture_output=True, timeout=10)
    assert r.returncode != 0 and b"Permission denied" in r.stderr, r.stderr


def test_children_environment_is_clean(suite):
    """The parent passes its children nothing of its own environment but
    the sanitizer options, TZ and the sandbox switch; it adds only
    GNUTLS_NO_IMPLICIT_INIT (GnuTLS is loaded but unused: its constructor
    would read the trust store in every child).  The harness starts the
    suite with PATH and BALLAST_* variables, which must not get through."""
    allowed = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
               "BALLAST_SANDBOX_LOG", "BALLAST_LSAN", "TZ"}
    st = suite.status()
    with open("/proc/%d/environ" % suite.proc.pid, "rb") as f:
        parent = [v for v in f.read().split(b"\0") if v]
    assert any(v.startswith(b"PATH=") for v in parent), parent
    for name in harness.CHILDREN:
        with open("/proc/%d/environ" % st[name]["pid"], "rb") as f:
            env = [v.decode() for v in f.read().split(b"\0") if v]
        assert "GNUTLS_NO_IMPLICIT_INIT=1" in env, (name, env)
        extra = {v.split("=", 1)[0] for v in env} - allowed - \
            {"GNUTLS_NO_IMPLICIT_INIT"}
        assert extra == set(), (name, extra)

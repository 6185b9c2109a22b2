"""HTTPS load (wrk), the nginx baseline, and memory, for tests/bench/run.

nginx is Debian's package, started by the bench on a free port with its
own temporary configuration and the suite's certificate and key, serving
a static file with the same bytes as Ballast's /healthz answer: one worker
process (the front is one process), TLS 1.2 and 1.3, session tickets off
and no access log (as the bench suite runs), keep-alive without a request
limit.  It runs in the foreground under the bench (daemon off), as root
with its worker as `nobody`.
"""
import json
import os
import resource
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
user nobody nogroup;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    types {{ application/json json; }}
    default_type application/json;
    client_body_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets off;
        root {dir}/www;
        location / {{ }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    def __init__(self, base, cert, key, body):
        self.dir = os.path.join(base, "nginx")
        os.makedirs(os.path.join(self.dir, "www"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        for d in (self.dir, os.path.join(self.dir, "www")):
            os.chmod(d, 0o755)
        self.port = free_port()
        self.path = "/healthz.json"
        with open(os.path.join(self.dir, "www", "healthz.json"), "wb") as f:
            f.write(body)
        os.chmod(os.path.join(self.dir, "www", "healthz.json"), 0o644)
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port, cert=cert,
                                      key=key))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-c", self.conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit("bench: nginx exited: %s" % self.error_log())
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise SystemExit("bench: nginx did not listen: %s" % self.error_log())

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def url(self):
        return "https://localhost:%d%s" % (self.port, self.path)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def have_tools():
    return shutil.which("wrk") is not None and shutil.which("nginx") is not None


def wrk(url, conns, seconds, method="GET", auth=None, bodies=None,
        not_found=False):
    """One wrk run; the JSON line wrk.lua prints, as a dict.  More than 1 %
    of errors fails the bench; not_found: every answer is an error (404),
    so only transport errors count."""
    env = dict(os.environ, BENCH_METHOD=method)
    if auth:
        env["BENCH_AUTH"] = auth
    if bodies:
        env["BENCH_BODIES"] = bodies
    threads = min(2, conns)
    r = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds,
                        "--timeout", "30s", "-s", os.path.join(HERE, "wrk.lua"), url],
                       capture_output=True, text=True, env=env, timeout=seconds + 120)
    for line in r.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            res = json.loads(line[len("BENCHJSON "):])
            res["connections"] = conns
            kinds = ["connect_errors", "read_errors", "write_errors", "timeouts"]
            if not not_found:
                kinds.append("status_errors")
            errs = sum(res[k] for k in kinds)
            if errs > res["requests"] // 100:
                raise SystemExit("bench: wrk %s: %d errors in %d requests: %s" %
                                 (url, errs, res["requests"], line))
            return res
    raise SystemExit("bench: wrk %s failed: %s %s" % (url, r.stdout, r.stderr))


# -- memory -----------------------------------------------------------

def children(pid):
    """Every descendant of pid."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_frames(pid):
    """The physical frames of pid's resident pages (needs root: without
    CAP_SYS_ADMIN the kernel shows every frame number as 0)."""
    frames = set()
    try:
        with open("/proc/%d/maps" % pid) as maps, \
                open("/proc/%d/pagemap" % pid, "rb") as pm:
            for line in maps:
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                if lo >= 0x7fffffffffff:       # [vsyscall]
                    continue
                pm.seek(lo // PAGE * 8)
                data = pm.read((hi - lo) // PAGE * 8)
                for (e,) in struct.iter_unpack("<Q", data):
                    if e >> 63 & 1:             # present in RAM
                        frames.add(e & ((1 << 55) - 1))
    except OSError:
        pass
    return frames


def memory(pids):
    """Summed RSS and PSS of the processes, in kB; and the suite's own RSS:
    the distinct physical pages resident for all of them together, so a
    page of libc mapped by five processes counts once (the summed RSS
    counts it five times; PSS splits it with every other process on the
    machine that maps it)."""
    rss = pss = 0
    frames = set()
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
        frames |= resident_frames(pid)
    frames.discard(0)
    return {"rss_kb": rss, "pss_kb": pss, "processes": len(pids),
            "distinct_kb": len(frames) * PAGE // 1024}


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def idle_connections(port, cafile, path, n, headers=None):
    """n TLS keep-alive connections, each with one request answered, left
    open (the caller closes them)."""
    ctx = ssl.create_default_context(cafile=cafile)
    req = ("GET %s HTTP/1.1\r\nHost: localhost\r\n" % path +
           "".join("%s: %s\r\n" % kv for kv in (headers or {}).items()) +
           "\r\n").encode()
    socks = []
    try:
        for _ in range(n):
            raw = socket.create_connection(("127.0.0.1", port), timeout=30)
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            s.sendall(req)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise SystemExit("bench: connection closed by the server")
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            clen = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    clen = int(v)
            while len(rest) < clen:
                rest += s.recv(65536)
            socks.append(s)
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks

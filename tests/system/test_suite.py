"""Issue 2: the privilege-separated suite runs.

The real ballastd as root on a throwaway PostgreSQL: processes, uids,
sandboxes, TLS, health, restarts, reload, limits, stop.
"""
import os
import signal
import socket
import ssl
import subprocess
import time

from harness import BUILD, CHILDREN, alive, proc_status, wait_for

CONF = """
limit header-size 4K
limit body-size 64K
timeout header 2
timeout body 2
timeout idle 5
"""


def children(suite):
    st = suite.status()
    return {n: st[n]["pid"] for n in CHILDREN}


def test_five_processes_up(suite):
    st = suite.status()
    assert set(st) == {"parent"} | set(CHILDREN), st
    for name, p in st.items():
        assert p["state"] == "running", (name, p)
        assert p["pid"] > 0 and alive(p["pid"]), (name, p)
    assert st["parent"]["pid"] == suite.proc.pid
    for name in CHILDREN:
        ppid = int(proc_status(st[name]["pid"])["PPid"])
        assert ppid == suite.proc.pid, (name, ppid)


def test_children_have_own_uids(suite):
    uids = {}
    for name, pid in children(suite).items():
        real, eff, saved, fs = map(int, proc_status(pid)["Uid"].split())
        assert real == eff == saved == fs, (name, real, eff, saved)
        uids[name] = real
    if os.geteuid() == 0:
        assert 0 not in uids.values(), uids
        assert len(set(uids.values())) == len(uids), uids
        # ballastctl reports what the children said after dropping.
        st = suite.status()
        for name in CHILDREN:
            assert st[name]["uid"] == uids[name], (name, st[name], uids)


def test_children_are_sandboxed(suite):
    for name, pid in children(suite).items():
        s = proc_status(pid)
        assert s["Seccomp"] == "2", (name, s["Seccomp"])
        assert s["NoNewPrivs"] == "1", (name, s["NoNewPrivs"])
        # No capabilities left after the uid drop.
        if os.geteuid() == 0:
            assert int(s["CapEff"], 16) == 0, (name, s["CapEff"])


def test_keyd_not_dumpable(suite):
    pid = children(suite)["keyd"]
    uid = int(proc_status(pid)["Uid"].split()[0])
    # The kernel gives a process that is not dumpable /proc files owned by
    # root, whatever its uid (proc(5), PR_SET_DUMPABLE).
    if os.geteuid() == 0:
        assert uid != 0
    assert os.stat("/proc/%d/status" % pid).st_uid == 0
    # And no core file, even if something made it dumpable again.
    with open("/proc/%d/limits" % pid) as f:
        core = [l for l in f if l.startswith("Max core file size")][0].split()
    assert core[4] == "0" and core[5] == "0", core


def test_healthz_reports_every_child(suite):
    r = subprocess.run(["curl", "-sS", "--cacert", suite.cert, "-w", "\n%{http_code}",
                        "https://localhost:%d/healthz" % suite.port],
                       capture_output=True, text=True, timeout=20)
    body, code = r.stdout.rsplit("\n", 1)
    assert code == "200", (code, body, r.stderr)
    import json
    h = json.loads(body)
    assert h["status"] == "ok", h
    pids = children(suite)
    for name in CHILDREN:
        assert h["processes"][name]["state"] == "ok", h
        assert h["processes"][name]["pid"] == pids[name], (h, pids)


def test_tls12_accepted_tls11_refused(suite):
    def s_client(*args):
        return subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % suite.port,
                               "-servername", "localhost"] + list(args),
                              input="", capture_output=True, text=True, timeout=20)
    ok = s_client("-tls1_2")
    assert "Protocol  : TLSv1.2" in ok.stdout or "TLSv1.2" in ok.stdout, ok.stdout[-800:]
    old = s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert old.returncode != 0, old.stdout[-800:]
    assert "Cipher is (NONE)" in old.stdout or "alert" in old.stderr, old.stdout[-800:] + old.stderr[-400:]


def test_keepalive_two_requests_one_connection(suite):
    conn = suite.connection()
    a = suite.get("/healthz", conn=conn)
    b = suite.get("/healthz", conn=conn)
    conn.close()
    assert a.status == 200 and b.status == 200
    assert a.header("X-Request-Id") != b.header("X-Request-Id")


def server_send_queue(port):
    """Bytes waiting in the front's socket buffers towards our client: the
    largest tx_queue of an established IPv4 connection on the front's port
    (/proc/net/tcp: no tool needed)."""
    most = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            local, state, queues = cols[1], cols[3], cols[4]
            if state == "01" and int(local.split(":")[1], 16) == port:
                most = max(most, int(queues.split(":")[0], 16))
    return most


def read_response(f):
    """(status, body, request id) of one response from a file over the
    socket."""
    first = f.readline()
    assert first.startswith(b"HTTP/1.1 "), first[:200]
    status = int(first.split()[1])
    length, rid = 0, None
    while True:
        line = f.readline()
        assert line, "the connection ended mid-response"
        if line == b"\r\n":
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "x-request-id":
            rid = value.strip()
    body = f.read(length)
    assert len(body) == length
    return status, body, rid


def test_pipelined_requests_client_not_reading(suite):
    """A client that sends many requests at once and reads nothing for a
    while: the front's writes block once the socket is full, and every
    response still arrives, whole and in order.  (Responses up to 16 KB
    are written at once unless the socket is full; then they are handed to
    the bufferevent, which must retry the very same TLS write.  And the
    requests sent in one TLS record must not wait inside OpenSSL.)"""
    n = 900
    kinds = [("/assets/sources.js", suite.get("/assets/sources.js")),
             ("/healthz", suite.get("/healthz")),
             ("/n", suite.get("/n"))]
    for path, r in kinds:
        assert r.status in (200, 404) and 0 < len(r.body) < 15000, (path, r.status)
    # half the responses of 14 KB: more than the socket buffers can hold
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(30)
    raw.connect(("127.0.0.1", suite.port))
    s = suite.ctx.wrap_socket(raw, server_hostname="localhost")
    want = [kinds[(0, 1, 0, 2)[i % 4]] for i in range(n)]
    s.sendall(b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p.encode()
                       for p, _ in want))
    queued = wait_for(lambda: server_send_queue(suite.port) > 65536 and
                      server_send_queue(suite.port), 10,
                      what="the front's socket to fill up")
    time.sleep(0.5)
    f = s.makefile("rb")
    got = []
    for i in range(n):
        try:
            got.append(read_response(f))
        except AssertionError as e:
            raise AssertionError("response %d of %d: %s" % (i + 1, n, e))
    s.close()
    # /healthz's body may change; the file's and the 404's do not
    assert [(st, len(body) if p == "/healthz" else body)
            for (st, body, _), (p, _) in zip(got, want)] == \
        [(r.status, len(r.body) if p == "/healthz" else r.body)
         for p, r in want], "responses out of order or wrong"
    assert len({rid for _, _, rid in got}) == n, "request ids not distinct"
    print("    %d pipelined requests, %d bytes were queued at the front" % (
        n, queued))
    assert suite.get("/healthz").status == 200


def test_errors_are_json(suite):
    r = suite.get("/no/such/thing")
    assert r.status == 404
    err = r.json()["error"]
    assert err["code"] and err["message"], err
    assert r.header("Content-Type").startswith("application/json")


def test_oversized_header_431(suite):
    r = suite.get("/healthz", headers={"X-Big": "a" * 8000})
    assert r.status == 431, r.status
    assert r.json()["error"]["code"]


def test_oversized_body_413(suite):
    r = suite.request("POST", "/healthz", body=b"x" * (65 * 1024))
    assert r.status == 413, r.status
    assert r.json()["error"]["code"]


def test_slow_client_cut_off(suite):
    s = suite.tls_socket(timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    t0 = time.monotonic()
    data = b""
    try:
        # Drip a header byte every half second: each read resets no clock.
        for _ in range(20):
            s.sendall(b"X")
            time.sleep(0.5)
            s.setblocking(False)
            try:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            finally:
                s.setblocking(True)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass
    elapsed = time.monotonic() - t0
    s.close()
    assert elapsed < 6, "slow client kept for %.1fs" % elapsed
    assert data == b"" or b" 408 " in data.split(b"\r\n")[0], data[:200]


def test_ballastctl_reload_applies(suite):
    r = suite.ctl("reload")
    assert "reloaded" in r.stdout, r.stdout
    assert suite.get("/healthz").status == 200


def test_sighup_broken_config_keeps_old(suite):
    with open(suite.conf) as f:
        good = f.read()
    pids = children(suite)
    try:
        with open(suite.conf, "a") as f:
            f.write("this is not a setting\n")
        suite.signal(signal.SIGHUP)
        wait_for(lambda: "reload failed" in suite.log_text(), 5, what="reload failure logged")
        assert suite.get("/healthz").status == 200
        r = suite.ctl("reload", check=False)
        assert r.returncode == 1 and "ballast.conf:" in r.stderr, (r.returncode, r.stderr)
    finally:
        with open(suite.conf, "w") as f:
            f.write(good)
    assert children(suite) == pids
    assert suite.get("/healthz").status == 200


def test_kill9_each_child_restarts(suite):
    for name in CHILDREN:
        before = children(suite)
        os.kill(before[name], signal.SIGKILL)
        t0 = time.monotonic()

        def restarted():
            try:
                now = children(suite)
            except AssertionError:
                return False
            return now[name] != before[name] and suite.status()[name]["state"] == "running"
        wait_for(restarted, 10, what="%s restarted" % name)
        suite.wait_healthy(10)
        took = time.monotonic() - t0
        after = children(suite)
        for other in CHILDREN:
            if other != name:
                assert after[other] == before[other], (name, other, before, after)
        assert took < 8, "%s: healthy again after %.1fs" % (name, took)
        assert suite.status()[name]["restarts"] >= 1


def test_config_check_flags(suite):
    """ballastd -n / -nv on the sample config; runs without starting."""
    conf = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "ballast.conf.sample")
    r = subprocess.run([os.path.join(BUILD, "ballastd"), "-n", "-f", conf],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([os.path.join(BUILD, "ballastd"), "-nv", "-f", conf],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(r.stdout)
        norm = f.name
    again = subprocess.run([os.path.join(BUILD, "ballastd"), "-nv", "-f", norm],
                           capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout == r.stdout, again.stderr
    with open(norm, "a") as f:
        f.write("\nlimit connections many\n")
    bad = subprocess.run([os.path.join(BUILD, "ballastd"), "-n", "-f", norm],
                         capture_output=True, text=True)
    n = len(open(norm).read().splitlines())
    os.unlink(norm)
    assert bad.returncode == 1 and ("%s:%d:" % (norm, n)) in bad.stderr, bad.stderr


test_config_check_flags.FRESH = True
test_config_check_flags.START = False


def test_systemd_readiness(suite):
    """With NOTIFY_SOCKET set, READY=1 arrives once every child runs."""
    path = os.path.join(suite.dir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    try:
        suite.start(wait=False, env={"NOTIFY_SOCKET": path})
        msg = sock.recv(4096).decode()
        assert "READY=1" in msg.split("\n"), msg
        # Ready means serving: every child is up and /healthz says so.
        suite.wait_healthy(5)
        suite.signal(signal.SIGTERM)
        msg = sock.recv(4096).decode()
        assert "STOPPING=1" in msg, msg
    finally:
        sock.close()


test_systemd_readiness.FRESH = True
test_systemd_readiness.START = False


def test_sigterm_leaves_no_process(suite):
    pids = list(children(suite).values()) + [suite.proc.pid]
    suite.signal(signal.SIGTERM)
    suite.proc.wait(15)
    wait_for(lambda: not any(alive(p) for p in pids), 10, what="all processes gone")
    assert not os.path.exists(os.path.join(suite.dir, "run", "control.sock"))


test_sigterm_leaves_no_process.FRESH = True


def test_ballastctl_stop(suite):
    pids = list(children(suite).values()) + [suite.proc.pid]
    r = suite.ctl("stop")
    assert "stopping" in r.stdout
    suite.proc.wait(15)
    wait_for(lambda: not any(alive(p) for p in pids), 10, what="all processes gone")


test_ballastctl_stop.FRESH = True

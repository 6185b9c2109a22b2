"""Issue 3: keyd keeps the master keys to itself.

The real suite as root: the key bytes appear in no log and in no process's
environment or command line; keyd cannot be traced or read by its own
uid and makes no core file; `ballastctl key rotate|retire` reach the
running keyd through a reload without restarting it; a keyring with
group or other permission bits is refused, at reload (the old keys stay)
and at start-up (keyd exits naming file and mode).
"""
import base64
import ctypes
import errno
import json
import os
import re
import signal

from harness import CHILDREN, alive, proc_status, wait_for

PTRACE_ATTACH = 16
PTRACE_DETACH = 17
WALL = 0x40000000

# Every secret any test here saw in the keyring, for the leak check at
# the end (retired keys included).
SEEN = set()


def keyring_path(suite):
    return os.path.join(suite.dir, "etc", "keyring")


def keyring_secrets(suite):
    """The raw 32-byte secrets of every key and sign line."""
    out = []
    with open(keyring_path(suite)) as f:
        for line in f:
            fields = line.split()
            if fields and fields[0] in ("key", "sign"):
                raw = base64.b64decode(fields[3], validate=True)
                assert len(raw) == 32, (fields[0], fields[1], len(raw))
                out.append(raw)
    assert out, "no keys in the keyring"
    SEEN.update(out)
    return out


def forms(raw):
    """How a key could show up: bytes, base64 (both alphabets), hex."""
    b64 = base64.b64encode(raw)
    return [raw, b64, b64.rstrip(b"="),
            base64.urlsafe_b64encode(raw).rstrip(b"="),
            raw.hex().encode(), raw.hex().upper().encode()]


def keyd_pid(suite):
    return suite.status()["keyd"]["pid"]


def key_rows(suite):
    """`ballastctl key status` as [(id, note)]."""
    out = suite.ctl("key", "status").stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"^(\d+)\s+\S+\s+\d+\s+(?:\d+|-)\s+(.*)$", line)
        if m:
            rows.append((int(m.group(1)), m.group(2).strip()))
    assert "token signing key" in out, out
    return rows


def wait_log(suite, text, count=1, timeout=10):
    wait_for(lambda: suite.log_text().count(text) >= count, timeout,
             what="%r in the log (%d times)" % (text, count))


def test_keyd_undumpable_without_core(suite):
    pid = keyd_pid(suite)
    uid = int(proc_status(pid)["Uid"].split()[0])
    assert os.geteuid() != 0 or uid != 0, uid
    # Not dumpable: the kernel gives the files in /proc/PID to root
    # (the directory itself stays the process's).
    for name in ("status", "mem", "environ", "maps"):
        st = os.stat("/proc/%d/%s" % (pid, name))
        assert st.st_uid == 0 and st.st_gid == 0, (name, st.st_uid)
    with open("/proc/%d/limits" % pid) as f:
        core = [l for l in f if l.startswith("Max core file size")][0].split()
    assert core[4] == "0" and core[5] == "0", core


def test_keyd_own_uid_cannot_trace_or_read_it(suite):
    if os.geteuid() != 0:
        return      # needs to become keyd's uid
    pid = keyd_pid(suite)
    st = proc_status(pid)
    uid = int(st["Uid"].split()[0])
    gid = int(st["Gid"].split()[0])
    assert uid != 0 and gid != 0, (uid, gid)
    # A contrast: a process of keyd's uid that exec'd after the uid change
    # is dumpable, and the same attach succeeds on it (unless Yama forbids
    # attaching to non-descendants at all).
    decoy = os.fork()
    if decoy == 0:
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            os.execv("/bin/sleep", ["sleep", "30"])
        finally:
            os._exit(127)
    wait_for(lambda: proc_status(decoy).get("Name") == "sleep", 5,
             what="the decoy to exec")
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        res = {}
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            res["uid"] = os.getuid()
            libc = ctypes.CDLL(None, use_errno=True)
            libc.ptrace.restype = ctypes.c_long
            libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long,
                                    ctypes.c_void_p, ctypes.c_void_p]
            rv = libc.ptrace(PTRACE_ATTACH, pid, None, None)
            res["ptrace"] = rv
            res["ptrace_errno"] = ctypes.get_errno()
            if rv == 0:
                # It must not happen; let keyd go again all the same.
                try:
                    os.waitpid(pid, WALL)
                except OSError:
                    pass
                libc.ptrace(PTRACE_DETACH, pid, None, None)
            rv = libc.ptrace(PTRACE_ATTACH, decoy, None, None)
            res["decoy"] = rv
            if rv == 0:
                os.waitpid(decoy, WALL)
                libc.ptrace(PTRACE_DETACH, decoy, None, None)
            try:
                with open("/proc/%d/mem" % pid, "rb") as f:
                    f.read(1)
                res["mem"] = "opened"
            except OSError as e:
                res["mem"] = e.errno
            try:
                with open("/proc/%d/environ" % pid, "rb") as f:
                    f.read()
                res["environ"] = "opened"
            except OSError as e:
                res["environ"] = e.errno
        except Exception as e:  # report, never raise in the fork
            res["error"] = repr(e)
        try:
            os.write(w, json.dumps(res).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(child, 0)
    os.kill(decoy, signal.SIGKILL)
    os.waitpid(decoy, 0)
    res = json.loads(data)
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            yama = int(f.read())
    except OSError:
        yama = 0
    if yama == 0:
        assert res["decoy"] == 0, res
    assert "error" not in res, res
    assert res["uid"] == uid, res
    assert res["ptrace"] == -1, res
    assert res["ptrace_errno"] == errno.EPERM, res
    assert res["mem"] in (errno.EACCES, errno.EPERM), res
    assert res["environ"] in (errno.EACCES, errno.EPERM), res
    assert alive(pid) and keyd_pid(suite) == pid


def test_key_rotate_and_retire_reach_running_keyd(suite):
    pid0 = keyd_pid(suite)
    before = keyring_secrets(suite)
    assert key_rows(suite) == [(1, "newest, seals")]
    log0 = suite.log_text().count("keyd: keyring reloaded")

    r = suite.ctl("key", "rotate")
    assert "key 2 added" in r.stdout, r.stdout
    assert key_rows(suite) == [(1, "opens only"), (2, "newest, seals")]
    after = keyring_secrets(suite)
    assert len(after) == len(before) + 1
    wait_log(suite, "keyd: keyring reloaded: 2 key(s), newest id 2")
    assert suite.log_text().count("keyd: keyring reloaded") == log0 + 1
    assert suite.get("/healthz").status == 200
    assert keyd_pid(suite) == pid0

    # The newest key seals new secrets: it cannot go.
    r = suite.ctl("key", "retire", "2", check=False)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "newest" in r.stderr, r.stderr
    assert len(key_rows(suite)) == 2
    r = suite.ctl("key", "retire", "7", check=False)
    assert r.returncode == 1 and "no such key" in r.stderr, r.stderr
    r = suite.ctl("key", "retire", "x", check=False)
    assert r.returncode == 2, (r.returncode, r.stderr)

    r = suite.ctl("key", "retire", "1")
    assert "key 1 retired" in r.stdout, r.stdout
    assert key_rows(suite) == [(2, "newest, seals")]
    wait_log(suite, "keyd: keyring reloaded: 1 key(s), newest id 2")
    assert suite.get("/healthz").status == 200
    assert keyd_pid(suite) == pid0
    # A retired key is gone from the file.
    assert before[0] not in keyring_secrets(suite)


def test_group_readable_keyring_kept_out_on_reload(suite):
    path = keyring_path(suite)
    pid0 = keyd_pid(suite)
    keyring_secrets(suite)
    want = "keyd: keeping the current keyring: %s: mode 0440 is readable by group; chmod 0400 it" % path
    n0 = suite.log_text().count(want)
    reloaded0 = suite.log_text().count("keyd: keyring reloaded")
    os.chmod(path, 0o440)
    try:
        r = suite.ctl("reload")
        assert "reloaded" in r.stdout, r.stdout
        wait_log(suite, want, n0 + 1)
        assert suite.log_text().count("keyd: keyring reloaded") == reloaded0
        # ballastctl refuses it too, with the same words.
        r = suite.ctl("key", "status", check=False)
        assert r.returncode == 1 and "mode 0440" in r.stderr, r.stderr
        assert suite.get("/healthz").status == 200
        assert keyd_pid(suite) == pid0
    finally:
        os.chmod(path, 0o400)
    # Fixed: the next reload takes it again.
    suite.ctl("reload")
    wait_log(suite, "keyd: keyring reloaded", reloaded0 + 1)
    assert keyd_pid(suite) == pid0


def test_bad_keyring_mode_at_start(suite):
    path = keyring_path(suite)
    os.chmod(path, 0o644)
    suite.start(wait=False)
    want = "%s: mode 0644 is readable by group and others; chmod 0400 it" % path
    wait_log(suite, want, timeout=20)
    text = suite.log_text()
    line = [l for l in text.splitlines() if want in l][0]
    assert "keyd" in line, line
    # The parent stays up and tries keyd again with its back-off.
    wait_log(suite, "restarting keyd in", timeout=20)
    assert suite.proc.poll() is None, suite.log_tail()
    suite.stop()

    # With the suite stopped, a rotation still writes the file and says
    # the suite will take it later: exit 0, so a script does not retry
    # (and rotate twice).
    os.chmod(path, 0o400)
    r = suite.ctl("key", "rotate", check=False)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert "key 2 added" in r.stdout, r.stdout
    assert "did not take the new keyring now" in r.stdout, r.stdout
    assert "cannot reach ballastd" in r.stderr, r.stderr
    assert [k for k, _ in key_rows(suite)] == [1, 2]


test_bad_keyring_mode_at_start.FRESH = True
test_bad_keyring_mode_at_start.START = False


def test_keyring_from_systemd_credentials(suite):
    """LoadCredential=keyring:... puts it in $CREDENTIALS_DIRECTORY."""
    creds = os.path.join(suite.dir, "creds")
    os.mkdir(creds, 0o500)
    keyring = os.path.join(suite.dir, "etc", "keyring")
    os.rename(keyring, os.path.join(creds, "keyring"))
    suite.start(env={"CREDENTIALS_DIRECTORY": creds})
    assert "keyring from the service manager: %s/keyring" % creds in suite.log_text()
    assert suite.get("/healthz").status == 200
    assert not os.path.exists(keyring)


test_keyring_from_systemd_credentials.FRESH = True
test_keyring_from_systemd_credentials.START = False


def test_master_key_never_leaks(suite):
    """Last: by now the suite has started, rotated, retired, reloaded."""
    keyring_secrets(suite)
    assert len(SEEN) >= 3, len(SEEN)
    needles = [f for raw in SEEN for f in forms(raw)]

    with open(suite.logpath, "rb") as f:
        log = f.read()
    assert b"keyring" in log      # the log is the real one
    for n in needles:
        assert n not in log, "key material in the log"

    st = suite.status()
    pids = [suite.proc.pid] + [st[n]["pid"] for n in CHILDREN]
    assert all(pids), st
    for pid in pids:
        for what in ("environ", "cmdline"):
            with open("/proc/%d/%s" % (pid, what), "rb") as f:
                data = f.read()
            for n in needles:
                assert n not in data, "key material in /proc/%d/%s" % (pid, what)
    # ballastctl's own output neither.
    out = suite.ctl("key", "status").stdout.encode()
    out += suite.ctl("status").stdout.encode()
    for n in needles:
        assert n not in out, "key material in ballastctl's output"

"""make install / uninstall, and the installed suite running.

`make install DESTDIR=<tmp> PREFIX=/usr/local` into a folder of its own;
the files land with sane modes, the man pages lint clean, the sample
configuration parses, the service files pass systemd's own checkers, and
the INSTALLED ballastd (with the installed children in its libexec)
serves /healthz under the unit's capability bounding set and
no_new_privs.  `make uninstall` then leaves no file behind.
"""
import os
import re
import shutil
import stat
import subprocess
import tempfile

import harness

PREFIX = "/usr/local"
UNIT = "usr/local/lib/systemd/system/ballastd.service"
FILES = {   # path below DESTDIR: mode
    "usr/local/sbin/ballastd": 0o755,
    "usr/local/sbin/ballastctl": 0o755,
    "usr/local/libexec/ballast/keyd": 0o755,
    "usr/local/libexec/ballast/authd": 0o755,
    "usr/local/libexec/ballast/indexd": 0o755,
    "usr/local/libexec/ballast/fetcher": 0o755,
    "etc/ballast/ballast.conf.sample": 0o644,
    UNIT: 0o644,
    "usr/local/lib/sysusers.d/ballast.conf": 0o644,
    "usr/local/lib/tmpfiles.d/ballast.conf": 0o644,
    "usr/local/share/ballast/rc.d/ballastd": 0o755,
    "usr/local/lib/ballast/ballast_bm25.so": 0o644,
    "usr/local/share/ballast/ballast_bm25.sql": 0o644,
}
# The web console's files, installed for reading (ballastd serves them
# compiled in).
for _root, _dirs, _files in os.walk(os.path.join(harness.TOP, "web")):
    for _f in _files:
        _rel = os.path.relpath(os.path.join(_root, _f), harness.TOP)
        FILES["usr/local/share/ballast/" + _rel] = 0o644
MAN = ("man5/ballast.conf.5", "man8/ballastd.8", "man8/ballastctl.8",
       "man8/keyd.8", "man8/authd.8", "man8/indexd.8", "man8/fetcher.8")
STATE = {}


def make(target, destdir):
    r = subprocess.run(["make", "-C", harness.TOP, "BUILD=" + harness.BUILD,
                        "DESTDIR=" + destdir, "PREFIX=" + PREFIX, target],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, "make %s: %s" % (target, r.stdout[-2000:] + r.stderr[-2000:])


def destdir():
    if "dir" not in STATE:
        STATE["dir"] = tempfile.mkdtemp(prefix="inst-", dir=harness.test_base())
        os.chmod(STATE["dir"], 0o755)
        make("install", STATE["dir"])
    return STATE["dir"]


def files_under(d):
    out = []
    for root, _, names in os.walk(d):
        out += [os.path.relpath(os.path.join(root, n), d) for n in names]
    return sorted(out)


def unit_values(key):
    vals = []
    with open(os.path.join(destdir(), UNIT)) as f:
        for line in f:
            if line.startswith(key + "="):
                vals.append(line.split("=", 1)[1].strip())
    return vals


def skip(why):
    print("     skipped: %s" % why, flush=True)


def check_unit_verifies(d):
    if shutil.which("systemd-analyze") is None:
        return skip("systemd-analyze not installed: unit not verified")
    # Verify a copy whose programs are the installed ones under DESTDIR.
    work = tempfile.mkdtemp(dir=d)
    with open(os.path.join(d, UNIT)) as f:
        text = f.read().replace("/usr/local/sbin/", d + "/usr/local/sbin/")
    with open(os.path.join(work, "ballastd.service"), "w") as f:
        f.write(text)
    r = subprocess.run(["systemd-analyze", "verify", "./ballastd.service"], cwd=work,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANPATH=os.path.join(d, "usr/local/share/man")))
    shutil.rmtree(work)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                        os.path.join(d, UNIT)], capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", r.stdout)
    assert m and float(m.group(1)) <= 3.0, r.stdout[-500:]
    print("     systemd-analyze security: %s %s" % (m.group(1), m.group(2)), flush=True)


def check_sysusers_tmpfiles(d):
    """Both files applied to a scratch root by systemd's own tools."""
    if shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None:
        return skip("systemd-sysusers/systemd-tmpfiles not installed")
    root = tempfile.mkdtemp(dir=d)
    for sub in ("etc", "run", "var"):
        os.makedirs(os.path.join(root, sub))
    for name in ("passwd", "group", "shadow", "gshadow"):
        open(os.path.join(root, "etc", name), "w").close()
    r = subprocess.run(["systemd-sysusers", "--root=" + root,
                        os.path.join(d, "usr/local/lib/sysusers.d/ballast.conf")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(root, "etc", "passwd")) as f:
        users = {l.split(":")[0]: l.strip().split(":") for l in f}
    for u in ("_ballast", "_ballastkey", "_ballastauth", "_ballastidx", "_ballastfetch"):
        assert u in users and users[u][2] != "0" and users[u][6] == "/usr/sbin/nologin", users
    r = subprocess.run(["systemd-tmpfiles", "--root=" + root, "--create",
                        os.path.join(d, "usr/local/lib/tmpfiles.d/ballast.conf")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for path, mode in (("run/ballast", 0o700), ("var/empty", 0o755), ("etc/ballast", 0o755)):
        st = os.stat(os.path.join(root, path))
        assert stat.S_ISDIR(st.st_mode) and st.st_mode & 0o777 == mode and st.st_uid == 0, path
    shutil.rmtree(root)


def syscall_group(name, seen=None):
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                         capture_output=True, text=True, timeout=60).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        w = line.strip()
        if not w or w.startswith("#"):
            continue
        calls |= syscall_group(w, seen) if w.startswith("@") else {w}
    return calls


def check_syscall_filter():
    """Every call the children's own filter allows, and what they make
    before it, must pass the unit's SystemCallFilter= above it."""
    if shutil.which("systemd-analyze") is None:
        return skip("systemd-analyze not installed: SystemCallFilter= not checked")
    allow, deny = set(), set()
    for v in unit_values("SystemCallFilter"):
        target = deny if v.startswith("~") else allow
        for w in v.lstrip("~").split():
            target |= syscall_group(w) if w.startswith("@") else {w}
    allow -= deny
    with open(os.path.join(harness.TOP, "common", "sandbox.c")) as f:
        need = set(re.findall(r"SCMP_SYS\((\w+)\)", f.read()))
    need |= {"chroot", "setgroups", "setresgid", "setresuid", "prctl", "seccomp",
             "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
             "setrlimit", "mlock", "execve", "socketpair", "kill", "wait4"}
    missing = sorted(need - allow)
    assert not missing, "SystemCallFilter= would refuse: %s" % missing


def test_install_files_pages_and_service(suite):
    d = destdir()
    got = files_under(d)
    want = sorted(list(FILES) + ["usr/local/share/man/" + m for m in MAN])
    assert got == want, "installed: %s" % got
    for path, mode in FILES.items():
        st = os.lstat(os.path.join(d, path))
        assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o7777 == mode and st.st_uid == 0, \
            "%s: %o" % (path, st.st_mode)
    for m in MAN:
        assert os.stat(os.path.join(d, "usr/local/share/man", m)).st_mode & 0o777 == 0o644
    # The manuals, as installed.
    r = subprocess.run(["mandoc", "-Tlint", "-W", "warning"] +
                       [os.path.join(d, "usr/local/share/man", m) for m in MAN],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    # The installed sample configuration is one the installed ballastd takes.
    r = subprocess.run([os.path.join(d, "usr/local/sbin/ballastd"), "-n", "-f",
                        os.path.join(d, "etc/ballast/ballast.conf.sample")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "configuration OK" in r.stderr, r.stderr
    # The unit starts the installed programs with the default file.
    assert unit_values("ExecStart") == ["/usr/local/sbin/ballastd -f /etc/ballast/ballast.conf"]
    assert unit_values("Type") == ["notify"]
    assert unit_values("LoadCredential") == ["keyring:/etc/ballast/keyring"]
    assert not unit_values("User")
    check_unit_verifies(d)
    check_sysusers_tmpfiles(d)
    check_syscall_filter()


test_install_files_pages_and_service.FRESH = True
test_install_files_pages_and_service.START = False


def bounding_set_wrapper():
    """setpriv with the unit's CapabilityBoundingSet= and NoNewPrivileges=."""
    caps = unit_values("CapabilityBoundingSet")[0].split()
    assert unit_values("NoNewPrivileges") == ["yes"]
    spec = ",".join(["-all"] + ["+" + c[4:].lower() for c in caps])
    return ["setpriv", "--bounding-set", spec, "--inh-caps=-all", "--no-new-privs", "--"]


def test_installed_suite_runs(suite):
    """The installed ballastd and children serve, within the unit's caps."""
    d = destdir()
    libexec = os.path.join(d, "usr/local/libexec/ballast")
    with open(suite.conf) as f:
        lines = [l for l in f.read().splitlines() if not l.startswith("libexec ")]
    with open(suite.conf, "w") as f:
        f.write("\n".join(lines + ['libexec "%s"' % libexec]) + "\n")
    wrapper = bounding_set_wrapper() if shutil.which("setpriv") else ()
    if not wrapper:
        skip("setpriv not installed: capability bounding set not applied")
    suite.start(ballastd=os.path.join(d, "usr/local/sbin/ballastd"), wrapper=wrapper)
    assert suite.get("/healthz").status == 200
    procs = suite.status()
    for name in ("keyd", "authd", "indexd"):
        pid = procs[name]["pid"]
        assert os.readlink("/proc/%d/exe" % pid) == os.path.join(libexec, name)
        assert procs[name]["uid"] != 0, procs
    parent = harness.proc_status(suite.proc.pid)
    if wrapper:
        assert parent["NoNewPrivs"] == "1", parent
        assert int(parent["CapBnd"], 16) == sum(
            1 << n for n in (6, 7, 18, 5, 10)), parent["CapBnd"]  # setgid setuid chroot kill bind
    # A clean stop: the parent can still signal its dropped children.
    suite.stop()
    assert "ballast stopped" in suite.log_text(), suite.log_tail()


test_installed_suite_runs.FRESH = True
test_installed_suite_runs.START = False


def test_uninstall_removes_everything(suite):
    d = destdir()
    make("uninstall", d)
    left = files_under(d)
    assert left == [], "left after uninstall: %s" % left
    if os.environ.get("KEEP_TEST_DIRS") != "1":
        shutil.rmtree(d)
    STATE.clear()


test_uninstall_removes_everything.FRESH = True
test_uninstall_removes_everything.START = False

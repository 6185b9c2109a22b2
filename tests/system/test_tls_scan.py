"""The front's TLS as an outside scanner sees it (testssl.sh).

A quick subset of testssl.sh's checks that finishes in well under a
minute: protocols (-p), the standard cipher categories (-s), RC4 (-4),
Heartbleed (-H), CCS injection (-I) and renegotiation (-R).  The full
scan and its verdicts are kept in tests/tls/testssl-summary.md
(tests/tls/scan makes a new one).  Without testssl.sh installed the test
says so and passes (Debian: apt-get install testssl.sh).
"""
import json
import os
import shutil
import subprocess
import tempfile

CHECKS = ["-p", "-s", "-4", "-H", "-I", "-R"]
TIMEOUT = 120

# testssl.sh finding ids that must say "not offered" (3.0 names the
# cipher categories std_*, 3.1 and later cipherlist_*).
REFUSED_PROTOCOLS = ("SSLv2", "SSLv3", "TLS1", "TLS1_1")
REFUSED_CIPHERS = ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA")
NOT_VULNERABLE = ("heartbleed", "CCS", "secure_client_renego")


def skip(why):
    print("     skipped: %s" % why, flush=True)


def testssl_path():
    return shutil.which("testssl") or shutil.which("testssl.sh")


def scan(suite, checks):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "scan.json")
        r = subprocess.run([testssl_path(), "--quiet", "--color", "0",
                            "--warnings", "batch", "--jsonfile", out,
                            "--ip", "127.0.0.1"] + checks +
                           ["localhost:%d" % suite.port],
                           capture_output=True, text=True, timeout=TIMEOUT)
        try:
            with open(out) as f:
                findings = json.load(f)
        except (OSError, ValueError) as e:
            raise AssertionError("testssl.sh exit %d, no JSON (%s):\n%s" %
                                 (r.returncode, e, r.stdout[-3000:]))
    return {x["id"]: x for x in findings}


def finding(found, *ids):
    for i in ids:
        if i in found:
            return found[i]
    raise AssertionError("testssl.sh reported none of %s; ids: %s" %
                         (", ".join(ids), " ".join(sorted(found))))


def test_tls_scan(suite):
    if testssl_path() is None:
        return skip("testssl.sh not installed: TLS scan not run")
    found = scan(suite, CHECKS)
    bad = []
    for p in REFUSED_PROTOCOLS:
        f = finding(found, p)
        if not f["finding"].startswith("not offered"):
            bad.append("%s: %s" % (p, f["finding"]))
    for c in REFUSED_CIPHERS:
        f = finding(found, "std_" + c, "cipherlist_" + c)
        if not f["finding"].startswith("not offered"):
            bad.append("%s ciphers: %s" % (c, f["finding"]))
    rc4 = finding(found, "RC4")
    if "not" not in rc4["finding"] and rc4["severity"] not in ("OK", "INFO"):
        bad.append("RC4: %s" % rc4["finding"])
    for v in NOT_VULNERABLE:
        f = finding(found, v)
        if f["severity"] not in ("OK", "INFO"):
            bad.append("%s: %s %s" % (v, f["severity"], f["finding"]))
    for p in ("TLS1_2", "TLS1_3"):
        if not finding(found, p)["finding"].startswith("offered"):
            bad.append("%s not offered" % p)
    assert not bad, "TLS scan findings:\n  " + "\n  ".join(bad)

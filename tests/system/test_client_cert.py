"""Issue 10: optional client-certificate authentication on the listener.

With `tls client-ca` set, the TLS handshake requires a certificate that
the bundle's CA signed: no certificate, or one from another CA, gets no
HTTP at all.
"""
import os
import subprocess

from harness import wait_for


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "2", "-subj", "/CN=%s CA" % name,
            "-keyout", "%s-ca.key" % name, "-out", "%s-ca.crt" % name, cwd=d)


def make_client(d, ca, name):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=%s" % name, "-keyout", "%s.key" % name, "-out", "%s.csr" % name, cwd=d)
    openssl("x509", "-req", "-in", "%s.csr" % name, "-CA", "%s-ca.crt" % ca,
            "-CAkey", "%s-ca.key" % ca, "-CAcreateserial", "-days", "2",
            "-out", "%s.crt" % name, cwd=d)


def curl(suite, d, cert=None):
    cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", suite.cert,
           "https://localhost:%d/healthz" % suite.port]
    if cert:
        cmd += ["--cert", os.path.join(d, cert + ".crt"), "--key", os.path.join(d, cert + ".key")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20)


def test_client_certificate_required(suite):
    d = os.path.join(suite.dir, "clients")
    os.mkdir(d)
    make_ca(d, "good")
    make_ca(d, "other")
    make_client(d, "good", "alice")
    make_client(d, "other", "mallory")
    with open(suite.conf, "a") as f:
        f.write('tls client-ca "%s/good-ca.crt"\n' % d)
    suite.start(wait=False)
    wait_for(lambda: curl(suite, d, "alice").stdout == "200", 20, what="healthz with a client certificate")

    none = curl(suite, d)
    assert none.stdout == "000" and none.returncode != 0, (none.stdout, none.stderr)
    foreign = curl(suite, d, "mallory")
    assert foreign.stdout == "000" and foreign.returncode != 0, (foreign.stdout, foreign.stderr)

    # The requirement survives a reload, and a reload with a broken bundle
    # keeps the running context.
    with open(os.path.join(d, "good-ca.crt"), "rb") as f:
        good = f.read()
    with open(os.path.join(d, "good-ca.crt"), "wb") as f:
        f.write(b"not a certificate\n")
    suite.ctl("reload")
    wait_for(lambda: "keeping the running TLS certificate" in suite.log_text(), 10,
             what="broken bundle refused")
    assert curl(suite, d, "alice").stdout == "200"
    assert curl(suite, d).stdout == "000"
    with open(os.path.join(d, "good-ca.crt"), "wb") as f:
        f.write(good)


test_client_certificate_required.FRESH = True
test_client_certificate_required.START = False

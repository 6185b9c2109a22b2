"""Helpers for the access-control system tests (test_auth.py).

An Api wraps a Suite and keeps every response body it saw (the leak test
greps them); principals carry their credential header.  JWTs can be
forged with the suite's real signing seed (read from the keyring, which
root may read) to test claim checks with a valid signature.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import tempfile
import time

from harness import BUILD

# Every (method, path, status, body) seen by any Api in this process.
SEEN = []


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Principal:
    """Who makes a request: a session (access token) or an API key."""

    def __init__(self, name, header, kind, user=None, **attrs):
        self.name = name
        self.header = header            # dict of request headers
        self.kind = kind                # "session" or "key"
        self.user = user                # name of the user (creator for keys)
        for k, v in attrs.items():
            setattr(self, k, v)

    def __repr__(self):
        return self.name


def bearer(token):
    return {"Authorization": "Bearer " + token}


class Api:
    def __init__(self, suite):
        self.suite = suite

    def call(self, method, path, who=None, body=None, headers=None):
        h = dict(headers or {})
        if who is not None:
            h.update(who.header if isinstance(who, Principal) else who)
        r = self.suite.request(method, path, body=body, headers=h)
        SEEN.append((method, path, r.status, r.body))
        return r

    def ok(self, method, path, who=None, body=None, want=(200, 201)):
        r = self.call(method, path, who, body)
        if r.status not in want:
            raise AssertionError("%s %s as %s: %d %s (wanted %s)" %
                                 (method, path, who, r.status,
                                  r.body[:300].decode("utf-8", "replace"), want))
        return r.json() if r.body else {}

    # -- identity helpers -------------------------------------------
    def bootstrap(self, email, password, org):
        """ballastctl user add -o ORG EMAIL: a user owning a new org."""
        r = subprocess.run([os.path.join(BUILD, "ballastctl"), "-f", self.suite.conf,
                            "user", "add", "-o", org, email],
                           input=password + "\n", capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise AssertionError("ballastctl user add: %s" % r.stderr)
        uid = oid = None
        for line in r.stdout.splitlines():
            f = line.split()
            if f[0] == "user":
                uid = f[1]
            elif f[0] == "organization":
                oid = f[1]
        assert uid and oid, r.stdout
        return uid, oid

    def login(self, email, password):
        return self.ok("POST", "/v1/auth/login",
                       body={"email": email, "password": password}, want=(200,))

    def session(self, name, email, password, **attrs):
        t = self.login(email, password)
        p = Principal(name, bearer(t["access_token"]), "session", name, **attrs)
        p.tokens = t
        p.user_id = t["user"]["id"]
        p.email = email
        return p

    def add_member(self, who, org, email, role, password=None):
        body = {"email": email, "role": role}
        if password is not None:
            body["password"] = password
        return self.ok("POST", "/v1/orgs/%s/members" % org, who, body, want=(201,))

    def new_key(self, who, org, name, cap, collection=None, **extra):
        body = {"name": name, "cap": cap}
        if collection is not None:
            body["collection_id"] = collection
        body.update(extra)
        return self.ok("POST", "/v1/orgs/%s/api-keys" % org, who, body, want=(201,))

    def psql(self, sql):
        r = subprocess.run(["psql", "-h", os.path.join(self.suite.dir, "pg", "run"),
                            "-U", "ballast", "ballast", "-Atc", sql],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError("psql: %s" % r.stderr)
        return r.stdout


def err_code(r):
    try:
        return r.json()["error"]["code"]
    except Exception:
        return None


# -- JWT forging ------------------------------------------------------
def sign_seed(suite):
    """The keyring's Ed25519 seed and its id (the JWT kid)."""
    with open(os.path.join(suite.dir, "etc", "keyring")) as f:
        for line in f:
            f_ = line.split()
            if f_ and f_[0] == "sign":
                return base64.b64decode(f_[3]), f_[1]
    raise AssertionError("no sign line in the keyring")


def ed25519_sign(seed, msg):
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        return Ed25519PrivateKey.from_private_bytes(seed).sign(msg)
    except ImportError:
        return ed25519_sign_openssl(seed, msg)


def ed25519_sign_openssl(seed, msg):
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    pem = (b"-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der) +
           b"\n-----END PRIVATE KEY-----\n")
    with tempfile.TemporaryDirectory() as d:
        kp, mp = os.path.join(d, "k.pem"), os.path.join(d, "m")
        with open(kp, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(pem)
        with open(mp, "wb") as f:
            f.write(msg)
        r = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", kp,
                            "-in", mp], capture_output=True, timeout=10)
        if r.returncode != 0:
            raise AssertionError("openssl pkeyutl: %s" % r.stderr)
        return r.stdout


def ed25519_public(seed):
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    pem = (b"-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der) +
           b"\n-----END PRIVATE KEY-----\n")
    r = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"],
                       input=pem, capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout[-32:]


def jwt(header, claims, sign):
    """header and claims dicts; sign(signing_input) -> signature bytes."""
    si = (b64u(json.dumps(header, separators=(",", ":")).encode()) + "." +
          b64u(json.dumps(claims, separators=(",", ":")).encode()))
    return si + "." + b64u(sign(si.encode()))


def jwt_claims(token):
    return json.loads(b64u_dec(token.split(".")[1]))


def forge(suite, claims, seed=None, kid=None):
    s, k = sign_seed(suite)
    seed = seed or s
    return jwt({"alg": "EdDSA", "typ": "JWT", "kid": kid or k}, claims,
               lambda m: ed25519_sign(seed, m))


def hs256(header, claims, key):
    return jwt(header, claims, lambda m: hmac.new(key, m, hashlib.sha256).digest())


def valid_claims(token, **over):
    """Claims like those of a real access token (same sub and sid), fresh."""
    c = jwt_claims(token)
    now = int(time.time())
    out = {"iss": "ballast", "aud": "ballast-api", "sub": c["sub"], "sid": c["sid"],
           "iat": now, "exp": now + 600, "jti": secrets.token_hex(8)}
    out.update(over)
    return {k: v for k, v in out.items() if v is not None}


def rand_secret():
    return b64u(secrets.token_bytes(32))

"""Issue 12: authd handles the requests that arrive together as one batch
(authd/ops.c), their credential checks and /v1/me reads pipelined to
PostgreSQL in one round trip (authd/sql.c).  Batching must not change any
request's answer: each gets its own principal or its own refusal, and a
credential revoked between two batches is refused in the next one.

A burst: many TLS connections opened first, one request written on each
as fast as possible, then every answer read, so that the front forwards
them to authd back to back and authd reads several in one go.
"""
import http.client
import json
import secrets

from authlib import Api
from contentlib import metric_value, psql_super
from harness import free_port

MPORT = free_port()
CONF = "metrics on 127.0.0.1 port %d\n" % MPORT

PW = "correct horse battery staple"
ROUNDS = 3      # bursts per check: a batch boundary falls anywhere


def burst(suite, creds):
    """GET /v1/me once per credential (an Authorization value or None),
    all in flight at once; [(status, body dict or None)] in order."""
    socks = [suite.tls_socket() for _ in creds]
    try:
        for s, c in zip(socks, creds):
            h = "GET /v1/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            if c is not None:
                h += "Authorization: %s\r\n" % c
            s.sendall((h + "\r\n").encode())
        out = []
        for s in socks:
            r = http.client.HTTPResponse(s)
            r.begin()
            body = r.read()
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            out.append((r.status, doc))
        return out
    finally:
        for s in socks:
            s.close()


def pipelined():
    """authd's ballast_authd_pipelined_statements_total."""
    return metric_value(MPORT, "ballast_authd_pipelined_statements_total")


class Cred:
    def __init__(self, name, auth, want, user=None, key_id=None):
        self.name, self.auth, self.want = name, auth, want
        self.user, self.key_id = user, key_id

    def check(self, status, doc):
        """None when the answer is this credential's own, else why not."""
        if status != self.want:
            return "%s: %d, wanted %d (%s)" % (self.name, status, self.want, doc)
        if status != 200:
            if not doc or doc.get("error", {}).get("code") not in (
                    "unauthorized", "unavailable", "internal_error"):
                return "%s: refusal body %s" % (self.name, doc)
            return None
        if doc["user"]["id"] != self.user:
            return "%s: answered as user %s, wanted %s" % (
                self.name, doc["user"]["id"], self.user)
        p = doc["principal"]
        if self.key_id is None and p.get("kind") != "session":
            return "%s: principal %s, wanted a session" % (self.name, p)
        if self.key_id is not None and (p.get("kind") != "api_key" or
                                        p.get("key_id") != self.key_id):
            return "%s: principal %s, wanted key %s" % (self.name, p, self.key_id)
        return None


def world(suite):
    api = Api(suite)
    ua, oa = api.bootstrap("a@batch.test", PW, "Batch A")
    ub, ob = api.bootstrap("b@batch.test", PW, "Batch B")
    sa = api.session("a", "a@batch.test", PW)
    sb = api.session("b", "b@batch.test", PW)
    ka = api.new_key(sa, oa, "a", "read")
    kb = api.new_key(sb, ob, "b", "read-write")
    dead = api.new_key(sa, oa, "dead", "read")
    r = api.call("DELETE", "/v1/orgs/%s/api-keys/%s" % (oa, dead["id"]), sa)
    assert r.status == 200, r.body
    # A well-formed key whose id exists, with someone else's secret.
    wrong = ka["key"][:22] + kb["key"][22:]
    creds = [
        Cred("key a", "Bearer " + ka["key"], 200, ua, ka["id"]),
        Cred("key b", "Bearer " + kb["key"], 200, ub, kb["id"]),
        Cred("session a", sa.header["Authorization"], 200, ua),
        Cred("session b", sb.header["Authorization"], 200, ub),
        Cred("revoked key", "Bearer " + dead["key"], 401),
        Cred("wrong secret", "Bearer " + wrong, 401),
        Cred("malformed key", "Bearer blst_" + secrets.token_hex(4), 401),
        Cred("malformed token", "Bearer eyJhbGciOiJFZERTQSJ9.e30.AAAA", 401),
        Cred("no credential", None, 401),
    ]
    return api, oa, sa, creds


def run_mix(suite, creds, copies):
    mix = [c for c in creds for _ in range(copies)]
    # Interleaved so that neighbours in a batch differ.
    mix.sort(key=lambda c: secrets.randbits(16))
    fails = []
    for c, (status, doc) in zip(mix, burst(suite, [c.auth for c in mix])):
        why = c.check(status, doc)
        if why:
            fails.append(why)
    return fails


def test_batch_each_request_its_own_answer(suite):
    _, _, _, creds = world_cached(suite)
    fails = []
    before = pipelined()
    for _ in range(ROUNDS):
        fails += run_mix(suite, creds, 5)
    assert not fails, "\n".join(fails[:20])
    # Batches did form: else this test would prove nothing.
    assert pipelined() > before, "no statement was ever pipelined"


def test_batch_revoked_between_batches(suite):
    """Revoked through the API, and behind authd's back in the database
    (as ballastctl does): refused in the very next burst."""
    api, oa, sa, creds = world_cached(suite)
    k1 = api.new_key(sa, oa, "soon-revoked", "read")
    k2 = api.new_key(sa, oa, "soon-revoked-db", "read")
    s2 = api.session("a2", "a@batch.test", PW)
    live = [Cred("k1", "Bearer " + k1["key"], 200, creds[0].user, k1["id"]),
            Cred("k2", "Bearer " + k2["key"], 200, creds[0].user, k2["id"]),
            Cred("s2", s2.header["Authorization"], 200, creds[0].user)]
    fails = run_mix(suite, creds + live, 3)
    assert not fails, "\n".join(fails[:20])
    r = api.call("DELETE", "/v1/orgs/%s/api-keys/%s" % (oa, k1["id"]), sa)
    assert r.status == 200, r.body
    psql_super(suite, "UPDATE api_keys SET revoked_at = now() WHERE id = '%s'" % k2["id"])
    r = api.call("POST", "/v1/auth/logout", s2)
    assert r.status == 200, r.body
    for c in live:
        c.want = 401
    fails = run_mix(suite, creds + live, 3)
    assert not fails, "\n".join(fails[:20])


def test_batch_database_connection_lost(suite):
    """authd's backend killed between bursts: each request is answered
    with its own principal or a plain 500/503, never someone else's; the
    connection comes back and the next burst is whole again."""
    _, _, _, creds = world_cached(suite)
    fails = []
    for _ in range(ROUNDS):
        psql_super(suite, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE usename = 'ballast_auth'")
        mix = [c for c in creds for _ in range(3)]
        for c, (status, doc) in zip(mix, burst(suite, [c.auth for c in mix])):
            if status in (500, 503):
                continue
            why = c.check(status, doc)
            if why:
                fails.append(why)
        fails += run_mix(suite, creds, 3)
    assert not fails, "\n".join(fails[:20])


_W = {}


def world_cached(suite):
    if _W.get("suite") is not suite:
        _W["suite"] = suite
        _W["w"] = world(suite)
    return _W["w"]


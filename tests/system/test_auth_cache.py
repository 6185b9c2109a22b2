"""Issue 12: authd remembers credential rows and /v1/me answers under the
database's auth_generation (authd/pcache.c, migration 019).  The cache
must not change any answer: after each change below, made through the
API, through ballastctl or behind authd's back in the database, the very
next request answers as an authd without the cache would (checked by
asking again after forcing a new generation, which makes every entry
stale), and as today's rules say.  Time-based checks (expiry, a rotated
key's grace, the once-a-minute last-use write) are made on cached rows
against the database's clock.
"""
import json
import time

from authlib import Api, bearer
from contentlib import metric_value, psql_super
from harness import free_port

MPORT = free_port()
CONF = "metrics on 127.0.0.1 port %d\n" % MPORT
PW = "correct horse battery staple"


def hits():
    """authd's ballast_authd_cache_hits_total."""
    return metric_value(MPORT, "ballast_authd_cache_hits_total")


def me(api, who):
    r = api.call("GET", "/v1/me", who)
    try:
        doc = json.loads(r.body)
    except ValueError:
        doc = None
    return r.status, doc


def bump(suite):
    """A new generation: every cache entry is stale after this."""
    psql_super(suite, "UPDATE auth_generation SET gen = gen + 1")


def warm(api, whos, org=None):
    """Several requests per credential; the same answer each time."""
    for who in whos:
        first = me(api, who)
        assert first[0] == 200, first
        for _ in range(3):
            assert me(api, who) == first
            if org is not None:
                r = api.call("GET", "/v1/orgs/%s/collections" % org, who)
                assert r.status == 200, r.body


def next_is_uncached(suite, api, who, want_status):
    """The very next answer for who, and that it is the uncached one."""
    got = me(api, who)
    bump(suite)
    fresh = me(api, who)
    assert got == fresh, (got, fresh)
    assert got[0] == want_status, got
    return got


N = [0]


def user(suite, api, org_name=None):
    """A new user owning a new org, a session and a key."""
    N[0] += 1
    email = "u%d@cache.test" % N[0]
    uid, oid = api.bootstrap(email, PW, org_name or "Cache %d" % N[0])
    s = api.session("s%d" % N[0], email, PW)
    k = api.new_key(s, oid, "k%d" % N[0], "read")
    return uid, oid, s, k, email


def test_cache_is_used(suite):
    api = Api(suite)
    _, oid, s, k, _ = user(suite, api)
    warm(api, [s, bearer(k["key"])], oid)
    before = hits()
    warm(api, [s, bearer(k["key"])], oid)
    # 2 credentials x 4 /v1/me x (principal + answer) + 2 x 3 lists.
    assert hits() - before >= 16, (before, hits())


def test_me_answer_whole(suite):
    """/v1/me's body, cached or not, for a session, an org-wide key and a
    collection key with personal content: every field, as documented."""
    api = Api(suite)
    uid, oid, s, k, email = user(suite, api)
    coll = api.ok("POST", "/v1/orgs/%s/collections" % oid, s, {"name": "m"},
                  want=(201,))["id"]
    k2 = api.new_key(s, oid, "scoped", "read-write", collection=coll,
                     include_personal=True)
    want_user = {"id": uid, "email": email, "name": email.split("@")[0]}
    for who, principal in (
            (s, {"kind": "session"}),
            (bearer(k["key"]), {"kind": "api_key", "key_id": k["id"],
                                "scope": {"org_id": oid, "collection_id": None,
                                          "include_personal": False,
                                          "cap": "read"}}),
            (bearer(k2["key"]), {"kind": "api_key", "key_id": k2["id"],
                                 "scope": {"org_id": oid, "collection_id": coll,
                                           "include_personal": True,
                                           "cap": "read-write"}})):
        bump(suite)
        first = me(api, who)       # read from the database
        second = me(api, who)      # from the cache
        assert first == second, (first, second)
        st, doc = first
        assert st == 200, first
        assert set(doc) == {"user", "orgs", "principal"}, doc
        assert doc["user"]["id"] == want_user["id"], doc
        assert doc["user"]["email"] == want_user["email"], doc
        assert [o["id"] for o in doc["orgs"]] == [oid], doc
        assert doc["orgs"][0]["role"] == "owner", doc
        assert doc["principal"] == principal, doc


def test_key_revoked_api(suite):
    api = Api(suite)
    _, oid, s, k, _ = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [kb], oid)
    api.ok("DELETE", "/v1/orgs/%s/api-keys/%s" % (oid, k["id"]), s)
    next_is_uncached(suite, api, kb, 401)


def test_key_revoked_db(suite):
    api = Api(suite)
    _, oid, _, k, _ = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [kb], oid)
    psql_super(suite, "UPDATE api_keys SET revoked_at = now() WHERE id = '%s'" % k["id"])
    next_is_uncached(suite, api, kb, 401)


def test_key_deleted(suite):
    api = Api(suite)
    _, oid, _, k, _ = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [kb], oid)
    psql_super(suite, "DELETE FROM api_keys WHERE id = '%s'" % k["id"])
    next_is_uncached(suite, api, kb, 401)


def test_key_expired_db(suite):
    api = Api(suite)
    _, oid, _, k, _ = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [kb], oid)
    psql_super(suite, "UPDATE api_keys SET expires_at = now() - interval '1 second' "
               "WHERE id = '%s'" % k["id"])
    next_is_uncached(suite, api, kb, 401)


def test_key_expires_while_cached(suite):
    """No change in the database at all: the cached row's expiry is
    checked against the database's clock of each batch."""
    api = Api(suite)
    _, oid, _, k, _ = user(suite, api)
    kb = bearer(k["key"])
    psql_super(suite, "UPDATE api_keys SET expires_at = now() + interval '3 seconds' "
               "WHERE id = '%s'" % k["id"])
    warm(api, [kb], oid)
    before = hits()
    assert me(api, kb)[0] == 200
    assert hits() > before, "the key's row was not cached"
    time.sleep(3.5)
    next_is_uncached(suite, api, kb, 401)


def test_key_rotated(suite):
    api = Api(suite)
    _, oid, s, k, _ = user(suite, api)
    old = bearer(k["key"])
    warm(api, [old], oid)
    new = api.ok("POST", "/v1/orgs/%s/api-keys/%s/rotate" % (oid, k["id"]), s)
    newb = bearer(new["key"])
    # The grace period: both work, from the cache too.
    warm(api, [old, newb], oid)
    psql_super(suite, "UPDATE api_keys SET prev_valid_until = now() - interval '1 second' "
               "WHERE id = '%s'" % k["id"])
    next_is_uncached(suite, api, old, 401)
    next_is_uncached(suite, api, newb, 200)

    # The grace period ending with no change in the database.
    psql_super(suite, "UPDATE api_keys SET prev_secret_hash = NULL, "
               "prev_valid_until = NULL WHERE id = '%s'" % k["id"])
    new2 = api.ok("POST", "/v1/orgs/%s/api-keys/%s/rotate" % (oid, k["id"]), s)
    n2b = bearer(new2["key"])
    psql_super(suite, "UPDATE api_keys SET prev_valid_until = now() + interval '3 seconds' "
               "WHERE id = '%s'" % k["id"])
    warm(api, [newb, n2b], oid)
    before = hits()
    assert me(api, newb)[0] == 200
    assert hits() > before
    time.sleep(3.5)
    next_is_uncached(suite, api, newb, 401)
    next_is_uncached(suite, api, n2b, 200)


def test_session_logout(suite):
    api = Api(suite)
    _, oid, s, _, _ = user(suite, api)
    warm(api, [s], oid)
    api.ok("POST", "/v1/auth/logout", s)
    next_is_uncached(suite, api, s, 401)


def test_session_expired_db(suite):
    api = Api(suite)
    uid, oid, s, _, _ = user(suite, api)
    warm(api, [s], oid)
    psql_super(suite, "UPDATE sessions SET expires_at = now() - interval '1 second' "
               "WHERE user_id = '%s'" % uid)
    next_is_uncached(suite, api, s, 401)


def test_session_expires_while_cached(suite):
    api = Api(suite)
    uid, oid, s, _, _ = user(suite, api)
    psql_super(suite, "UPDATE sessions SET expires_at = now() + interval '3 seconds' "
               "WHERE user_id = '%s'" % uid)
    warm(api, [s], oid)
    before = hits()
    assert me(api, s)[0] == 200
    assert hits() > before
    time.sleep(3.5)
    next_is_uncached(suite, api, s, 401)


def test_user_disabled(suite):
    api = Api(suite)
    _, oid, s, k, email = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [s, kb], oid)
    suite.ctl("user", "disable", email)
    next_is_uncached(suite, api, kb, 401)
    next_is_uncached(suite, api, s, 401)


def test_user_disabled_db(suite):
    api = Api(suite)
    uid, oid, s, k, _ = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [s, kb], oid)
    psql_super(suite, "UPDATE users SET disabled = true WHERE id = '%s'" % uid)
    next_is_uncached(suite, api, kb, 401)


def test_membership_removed(suite):
    api = Api(suite)
    _, oid, owner, _, _ = user(suite, api)
    N[0] += 1
    email = "m%d@cache.test" % N[0]
    api.add_member(owner, oid, email, "member", PW)
    ms = api.session("m", email, PW)
    mk = api.new_key(ms, oid, "member key", "read")
    mkb = bearer(mk["key"])
    warm(api, [ms, mkb], oid)
    assert any(o["id"] == oid for o in me(api, ms)[1]["orgs"])
    api.ok("DELETE", "/v1/orgs/%s/members/%s" % (oid, ms.user_id), owner)
    st, doc = me(api, ms)
    assert st == 200 and all(o["id"] != oid for o in doc["orgs"]), doc
    bump(suite)
    assert me(api, ms) == (st, doc)
    next_is_uncached(suite, api, mkb, 401)


def test_membership_removed_db(suite):
    """Behind authd's back: the key stays (its row says nothing of the
    membership), /v1/me loses the org."""
    api = Api(suite)
    uid, oid, _, k, _ = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [kb], oid)
    assert len(me(api, kb)[1]["orgs"]) == 1
    psql_super(suite, "DELETE FROM org_members WHERE user_id = '%s'" % uid)
    st, doc = next_is_uncached(suite, api, kb, 200)
    assert doc["orgs"] == [], doc


def test_org_renamed(suite):
    api = Api(suite)
    _, oid, s, k, _ = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [s, kb], oid)
    psql_super(suite, "UPDATE orgs SET name = 'Renamed Org' WHERE id = '%s'" % oid)
    for who in (s, kb):
        st, doc = next_is_uncached(suite, api, who, 200)
        assert [o["name"] for o in doc["orgs"]] == ["Renamed Org"], doc


def test_user_renamed(suite):
    api = Api(suite)
    uid, oid, s, k, _ = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [s, kb], oid)
    psql_super(suite, "UPDATE users SET name = 'New Name', email = 'renamed%d@cache.test' "
               "WHERE id = '%s'" % (N[0], uid))
    for who in (s, kb):
        st, doc = next_is_uncached(suite, api, who, 200)
        assert doc["user"]["name"] == "New Name", doc
        assert doc["user"]["email"] == "renamed%d@cache.test" % N[0], doc


def last_used(suite, table, col, val):
    return psql_super(suite, "SELECT extract(epoch from last_used_at) FROM %s "
                      "WHERE %s = '%s'" % (table, col, val))


def test_last_use_advances(suite):
    """Last use is written at most once a minute, from cached rows too:
    set back two minutes (with a new generation, as any change of the
    row's other columns makes), the next request writes it; then, with
    no change at all, a request over a minute later writes it again."""
    api = Api(suite)
    uid, oid, s, k, _ = user(suite, api)
    kb = bearer(k["key"])
    warm(api, [s, kb], oid)
    psql_super(suite, "UPDATE api_keys SET last_used_at = now() - interval '2 minutes' "
               "WHERE id = '%s'" % k["id"])
    psql_super(suite, "UPDATE sessions SET last_used_at = now() - interval '2 minutes' "
               "WHERE user_id = '%s'" % uid)
    bump(suite)
    t0 = time.time()
    assert me(api, kb)[0] == 200 and me(api, s)[0] == 200
    k1 = float(last_used(suite, "api_keys", "id", k["id"]))
    s1 = float(last_used(suite, "sessions", "user_id", uid))
    assert abs(k1 - t0) < 10 and abs(s1 - t0) < 10, (k1, s1, t0)
    # Cached and within the minute: not written again.
    before = hits()
    warm(api, [s, kb], oid)
    assert hits() > before
    assert float(last_used(suite, "api_keys", "id", k["id"])) == k1
    assert float(last_used(suite, "sessions", "user_id", uid)) == s1
    time.sleep(61)
    before = hits()
    assert me(api, kb)[0] == 200 and me(api, s)[0] == 200
    assert hits() > before, "served without the cache: the test proves less"
    k2 = float(last_used(suite, "api_keys", "id", k["id"]))
    s2 = float(last_used(suite, "sessions", "user_id", uid))
    assert k2 > k1 + 60 and s2 > s1 + 60, (k1, k2, s1, s2)

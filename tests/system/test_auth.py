"""Issue 4: access control, against the REST contract (docs/api.md) and
the permission matrix (DESIGN.md section 3), over HTTPS on the real suite.

Logins cost an Argon2id verification each, so every principal logs in
once and its token is reused; API keys are made once.
"""
import json
import os
import re
import secrets
import time

import harness
from authlib import (SEEN, Api, Principal, b64u, b64u_dec, bearer, err_code,
                     ed25519_public, forge, hs256, jwt, jwt_claims, rand_secret,
                     rfc3339, sign_seed, valid_claims, ed25519_sign)

CONF = ""

PW = "correct horse battery staple"
WORD = "zebracorn"          # in every document pushed by the matrix
ORANK = {None: 0, "member": 1, "admin": 2, "owner": 3}
CRANK = {None: 0, "viewer": 1, "editor": 2, "admin": 3, "owner": 4}

# user: (org role in A, role on C1, role on C2).  a_member creates C2.
USERS = {
    "a_owner": ("owner", None, None),
    "a_admin": ("admin", None, None),
    "a_member": ("member", None, "owner"),
    "c_owner": ("member", "owner", None),
    "c_admin": ("member", "admin", None),
    "c_editor": ("member", "editor", None),
    "c_viewer": ("member", "viewer", None),
}
# key name: (creator, collection scope or None, cap)
KEYS = {
    "k_org_r_owner": ("a_owner", None, "read"),
    "k_org_rw_owner": ("a_owner", None, "read-write"),
    "k_org_rw_admin": ("a_admin", None, "read-write"),
    "k_org_rw_member": ("a_member", None, "read-write"),
    "k_c1_r_cowner": ("c_owner", "c1", "read"),
    "k_c1_rw_cadmin": ("c_admin", "c1", "read-write"),
    "k_c1_rw_ceditor": ("c_editor", "c1", "read-write"),
    "k_c1_r_cviewer": ("c_viewer", "c1", "read"),
    # Creators who can see C2: only the key's scope keeps it out.
    "k_c1_r_aowner": ("a_owner", "c1", "read"),
    "k_c1_rw_aadmin": ("a_admin", "c1", "read-write"),
}


def email(name, dom="a.test"):
    return "%s@%s" % (name.replace("_", "-"), dom)


def key_parts(key):
    """("blst", id, secret) of "blst_<16-char id>_<secret>" (the secret
    is base64url, so it may hold "_" itself)."""
    return (key[:4], key[5:21], key[22:])


def is2(status):
    return 200 <= status < 300


# -- the matrix ----------------------------------------------------------
class Act:
    """One row: scope "org", "c1" or "c2"; need an org role, a collection
    role, or "owner!" (an explicit collection owner, which org owners and
    admins never are); key: how an API key is treated."""

    def __init__(self, name, scope, need, key, method, path, body=None,
                 pool=None, destructive=False):
        self.name, self.scope, self.need, self.key = name, scope, need, key
        self.method, self.path, self.body = method, path, body
        self.pool, self.destructive = pool, destructive


def user_expect(user, act):
    org, c1, c2 = USERS[user]
    if act.scope == "org":
        return ("ok", None) if ORANK[org] >= ORANK[act.need] else ("deny", 403)
    explicit = c1 if act.scope == "c1" else c2
    orgadmin = org in ("owner", "admin")
    if act.need == "owner!":
        have = explicit == "owner"
    else:
        have = max(CRANK[explicit], CRANK["admin"] if orgadmin else 0) >= CRANK[act.need]
    if have:
        return ("ok", None)
    # A collection it has no role on is invisible: 404.
    return ("deny", 403 if (explicit or orgadmin) else 404)


def expected(p, act):
    """("ok"|"deny"|None, preferred deny status).  None: docs/api.md does
    not decide; the cell is reported, not asserted."""
    if p.kind == "session":
        return user_expect(p.user, act)
    # API keys never manage members, keys or organizations: 403.
    if act.key == "manage":
        return ("deny", 403)
    if act.scope in ("c1", "c2") and p.coll is not None and p.coll != act.scope:
        return ("deny", 404)
    u = user_expect(p.user, act)
    if u[0] == "deny":
        return u
    if act.key == "read":
        # A collection-scoped key reading organization-level things.
        return (None, None) if (p.coll is not None and act.scope == "org") else u
    # Writes: a read cap allows reads and searches only.
    if p.cap == "read":
        return ("deny", 403)
    if act.key == "docwrite":
        return ("ok", None)
    return (None, None)         # collection create/rename by a key: undecided


class Pool:
    """A target made on demand, reused until an allowed request used it up."""

    def __init__(self, make):
        self.make, self.item, self.n = make, None, 0

    def get(self):
        if self.item is None:
            self.n += 1
            self.item = self.make(self.n)
        return self.item

    def used(self):
        self.item = None


class World:
    pass


def build_world(suite):
    api = Api(suite)
    w = World()
    w.api = api
    w.pw = PW
    uid, w.A = api.bootstrap(email("a_owner"), PW, "OrgA")
    owner = api.session("a_owner", email("a_owner"), PW)
    w.s = {"a_owner": owner}
    for u, (orole, _, _) in USERS.items():
        if u != "a_owner":
            api.add_member(owner, w.A, email(u), orole, PW)
    for u in USERS:
        if u != "a_owner":
            w.s[u] = api.session(u, email(u), PW)
    w.C1 = api.ok("POST", "/v1/orgs/%s/collections" % w.A, w.s["c_owner"],
                  {"name": "C1"}, want=(201,))["id"]
    w.C2 = api.ok("POST", "/v1/orgs/%s/collections" % w.A, w.s["a_member"],
                  {"name": "C2"}, want=(201,))["id"]
    for u in ("c_admin", "c_editor", "c_viewer"):
        api.ok("POST", "/v1/collections/%s/members" % w.C1, w.s["c_owner"],
               {"user_id": w.s[u].user_id, "role": USERS[u][1]}, want=(201,))
    coll = {"c1": w.C1, "c2": w.C2}
    w.keys = {}
    for k, (creator, scope, cap) in KEYS.items():
        r = api.new_key(w.s[creator], w.A, k, cap, coll.get(scope))
        w.keys[k] = Principal(k, bearer(r["key"]), "key", creator, coll=scope,
                              cap=cap, key_id=r["id"], secret=r["key"])
    # Organization B.
    _, w.B = api.bootstrap(email("b_owner", "b.test"), PW, "OrgB")
    w.b_owner = api.session("b_owner", email("b_owner", "b.test"), PW)
    w.CB = api.ok("POST", "/v1/orgs/%s/collections" % w.B, w.b_owner,
                  {"name": "CB"}, want=(201,))["id"]
    api.ok("POST", "/v1/collections/%s/documents" % w.CB, w.b_owner,
           {"documents": [{"external_id": "b1", "text": "%s secretb of org B" % WORD}]})
    kb = api.new_key(w.b_owner, w.B, "kb", "read-write")
    w.KB, w.KB_secret = kb["id"], kb["key"]
    return w


def make_pools(w):
    api, owner, cown = w.api, w.s["a_owner"], w.s["c_owner"]

    def org_user(role):
        def make(n):
            e = "pool-%s-%d@a.test" % (role, n)
            return api.add_member(owner, w.A, e, role, PW)["user_id"]
        return make

    def c1_user(role):
        def make(n):
            e = "pool-c1%s-%d@a.test" % (role, n)
            u = api.add_member(owner, w.A, e, "member", PW)["user_id"]
            api.ok("POST", "/v1/collections/%s/members" % w.C1, cown,
                   {"user_id": u, "role": role}, want=(201,))
            return u
        return make
    return {"org_member": Pool(org_user("member")), "org_owner": Pool(org_user("owner")),
            "c1_viewer": Pool(c1_user("viewer")), "c1_owner": Pool(c1_user("owner"))}


def actions(w):
    A, C1, C2 = w.A, w.C1, w.C2
    n = [0]

    def fresh(tag):
        n[0] += 1
        return "%s-%d" % (tag, n[0])

    def doc(xid):
        return {"documents": [{"external_id": xid, "title": xid,
                               "text": "%s document %s" % (WORD, xid)}]}

    def new_member(role):
        return lambda t: {"email": fresh("new-" + role) + "@a.test", "role": role,
                          "password": PW}
    return [
        Act("org.get", "org", "member", "read", "GET", lambda t: "/v1/orgs/%s" % A),
        Act("member.list", "org", "member", "read", "GET", lambda t: "/v1/orgs/%s/members" % A),
        Act("member.add", "org", "admin", "manage", "POST",
            lambda t: "/v1/orgs/%s/members" % A, new_member("member")),
        Act("member.add(admin)", "org", "admin", "manage", "POST",
            lambda t: "/v1/orgs/%s/members" % A, new_member("admin")),
        Act("member.add(owner)", "org", "owner", "manage", "POST",
            lambda t: "/v1/orgs/%s/members" % A, new_member("owner")),
        Act("member.role(member->admin)", "org", "admin", "manage", "PATCH",
            lambda t: "/v1/orgs/%s/members/%s" % (A, t), lambda t: {"role": "admin"},
            pool="org_member"),
        Act("member.role(member->owner)", "org", "owner", "manage", "PATCH",
            lambda t: "/v1/orgs/%s/members/%s" % (A, t), lambda t: {"role": "owner"},
            pool="org_member"),
        Act("member.role(owner->member)", "org", "owner", "manage", "PATCH",
            lambda t: "/v1/orgs/%s/members/%s" % (A, t), lambda t: {"role": "member"},
            pool="org_owner"),
        Act("member.remove", "org", "admin", "manage", "DELETE",
            lambda t: "/v1/orgs/%s/members/%s" % (A, t), pool="org_member"),
        Act("member.remove(owner)", "org", "owner", "manage", "DELETE",
            lambda t: "/v1/orgs/%s/members/%s" % (A, t), pool="org_owner"),
        Act("collection.create", "org", "member", "create", "POST",
            lambda t: "/v1/orgs/%s/collections" % A, lambda t: {"name": fresh("new-coll")}),
        Act("collection.list", "org", "member", "read", "GET",
            lambda t: "/v1/orgs/%s/collections" % A),
        Act("apikey.create(org)", "org", "member", "manage", "POST",
            lambda t: "/v1/orgs/%s/api-keys" % A,
            lambda t: {"name": fresh("mk"), "cap": "read"}),
        Act("apikey.create(C1)", "c1", "viewer", "manage", "POST",
            lambda t: "/v1/orgs/%s/api-keys" % A,
            lambda t: {"name": fresh("mk"), "cap": "read", "collection_id": C1}),
        Act("apikey.list", "org", "member", "manage", "GET",
            lambda t: "/v1/orgs/%s/api-keys" % A),
        Act("audit.list", "org", "admin", "manage", "GET", lambda t: "/v1/orgs/%s/audit" % A),
        Act("collection.get(C1)", "c1", "viewer", "read", "GET",
            lambda t: "/v1/collections/%s" % C1),
        Act("collection.get(C2)", "c2", "viewer", "read", "GET",
            lambda t: "/v1/collections/%s" % C2),
        Act("cmember.list(C1)", "c1", "viewer", "read", "GET",
            lambda t: "/v1/collections/%s/members" % C1),
        Act("doc.push(C1)", "c1", "editor", "docwrite", "POST",
            lambda t: "/v1/collections/%s/documents" % C1, lambda t: doc(fresh("d1"))),
        Act("doc.push(C2)", "c2", "editor", "docwrite", "POST",
            lambda t: "/v1/collections/%s/documents" % C2, lambda t: doc(fresh("d2"))),
        Act("search(C1)", "c1", "viewer", "read", "POST",
            lambda t: "/v1/collections/%s/search" % C1, lambda t: {"query": WORD}),
        Act("search(C2)", "c2", "viewer", "read", "POST",
            lambda t: "/v1/collections/%s/search" % C2, lambda t: {"query": WORD}),
        Act("collection.rename(C1)", "c1", "admin", "write", "PATCH",
            lambda t: "/v1/collections/%s" % C1, lambda t: {"name": fresh("C1")}),
        Act("cmember.add(C1 viewer)", "c1", "admin", "manage", "POST",
            lambda t: "/v1/collections/%s/members" % C1,
            lambda t: {"user_id": t, "role": "viewer"}, pool="org_member"),
        Act("cmember.add(C1 owner)", "c1", "owner!", "manage", "POST",
            lambda t: "/v1/collections/%s/members" % C1,
            lambda t: {"user_id": t, "role": "owner"}, pool="org_member"),
        Act("cmember.role(C1 viewer->editor)", "c1", "admin", "manage", "PATCH",
            lambda t: "/v1/collections/%s/members/%s" % (C1, t),
            lambda t: {"role": "editor"}, pool="c1_viewer"),
        Act("cmember.role(C1 owner->viewer)", "c1", "owner!", "manage", "PATCH",
            lambda t: "/v1/collections/%s/members/%s" % (C1, t),
            lambda t: {"role": "viewer"}, pool="c1_owner"),
        Act("cmember.remove(C1 viewer)", "c1", "admin", "manage", "DELETE",
            lambda t: "/v1/collections/%s/members/%s" % (C1, t), pool="c1_viewer"),
        Act("cmember.remove(C1 owner)", "c1", "owner!", "manage", "DELETE",
            lambda t: "/v1/collections/%s/members/%s" % (C1, t), pool="c1_owner"),
        Act("collection.delete(C1)", "c1", "owner!", "delete", "DELETE",
            lambda t: "/v1/collections/%s" % C1, destructive=True),
        Act("org.delete(A)", "org", "owner", "manage", "DELETE",
            lambda t: "/v1/orgs/%s" % A, destructive=True),
    ]


def run_cell(w, pools, p, act):
    t = pools[act.pool].get() if act.pool else None
    body = act.body(t) if act.body else None
    r = w.api.call(act.method, act.path(t), p, body)
    if act.pool and is2(r.status):
        pools[act.pool].used()
    return r


TALLY = {"ok": 0, "deny": 0, None: 0}


def judge(p, act, r, fails, warns, notes):
    exp, code = expected(p, act)
    got = r.status
    TALLY[exp] += 1
    cell = "%-22s %-34s" % (p.name, act.name)
    text = r.body[:160].decode("utf-8", "replace")
    if exp is None:
        notes.append((p.name, act.name, got))
    elif exp == "ok" and not is2(got):
        fails.append("%s expected 2xx, got %d %s" % (cell, got, text))
    elif exp == "deny" and got not in (403, 404):
        fails.append("%s expected %d (403/404), got %d %s" % (cell, code, got, text))
    elif exp == "deny" and code == 404 and got == 403:
        warns.append("%s got 403 where api.md says 404 (invisible resource)" % cell)


def cross_org(w):
    """Every principal of A on every resource of B: never 2xx."""
    B, CB, bo = w.B, w.CB, w.b_owner.user_id
    fails = []
    principals = list(w.s.values()) + list(w.keys.values())
    for p in principals:
        me = w.s[p.user]
        reqs = [
            ("GET", "/v1/orgs/%s" % B, None),
            ("GET", "/v1/orgs/%s/members" % B, None),
            ("POST", "/v1/orgs/%s/members" % B, {"email": me.email, "role": "owner"}),
            ("POST", "/v1/orgs/%s/members" % B,
             {"email": "x-%s@a.test" % secrets.token_hex(4), "role": "member", "password": PW}),
            ("PATCH", "/v1/orgs/%s/members/%s" % (B, bo), {"role": "member"}),
            ("PATCH", "/v1/orgs/%s/members/%s" % (B, me.user_id), {"role": "owner"}),
            ("DELETE", "/v1/orgs/%s/members/%s" % (B, bo), None),
            ("GET", "/v1/orgs/%s/collections" % B, None),
            ("POST", "/v1/orgs/%s/collections" % B, {"name": "intruder"}),
            ("GET", "/v1/collections/%s" % CB, None),
            ("PATCH", "/v1/collections/%s" % CB, {"name": "pwned"}),
            ("GET", "/v1/collections/%s/members" % CB, None),
            ("POST", "/v1/collections/%s/members" % CB, {"user_id": me.user_id, "role": "owner"}),
            ("POST", "/v1/collections/%s/members" % CB, {"email": me.email, "role": "owner"}),
            ("PATCH", "/v1/collections/%s/members/%s" % (CB, bo), {"role": "viewer"}),
            ("DELETE", "/v1/collections/%s/members/%s" % (CB, bo), None),
            ("GET", "/v1/orgs/%s/api-keys" % B, None),
            ("POST", "/v1/orgs/%s/api-keys" % B, {"name": "x", "cap": "read-write"}),
            ("POST", "/v1/orgs/%s/api-keys/%s/rotate" % (B, w.KB), None),
            ("DELETE", "/v1/orgs/%s/api-keys/%s" % (B, w.KB), None),
            ("GET", "/v1/orgs/%s/audit" % B, None),
            # A key of A scoped to B's collection.
            ("POST", "/v1/orgs/%s/api-keys" % w.A,
             {"name": "x", "cap": "read", "collection_id": CB}),
            ("POST", "/v1/collections/%s/documents" % CB,
             {"documents": [{"external_id": "intruder", "text": "x"}]}),
            ("POST", "/v1/collections/%s/search" % CB, {"query": "secretb"}),
            ("DELETE", "/v1/collections/%s" % CB, None),
            ("DELETE", "/v1/orgs/%s" % B, None),
        ]
        for m, path, body in reqs:
            r = w.api.call(m, path, p, body)
            if is2(r.status) or r.status not in (400, 403, 404):
                fails.append("%-18s %s %s %s -> %d %s" % (
                    p.name, m, path, json.dumps(body) if body else "", r.status,
                    r.body[:120].decode("utf-8", "replace")))
    # b_owner on A's collection C1, and A's key on org B's key: invisible.
    for m, path in (("GET", "/v1/collections/%s" % w.C1), ("GET", "/v1/orgs/%s" % w.A),
                    ("GET", "/v1/collections/%s/members" % w.C1)):
        r = w.api.call(m, path, w.b_owner)
        if is2(r.status):
            fails.append("b_owner %s %s -> %d" % (m, path, r.status))
    # c_owner adding a user of org B (not an A member) to C1.
    r = w.api.call("POST", "/v1/collections/%s/members" % w.C1, w.s["c_owner"],
                   {"user_id": bo, "role": "viewer"})
    if is2(r.status):
        fails.append("c_owner added org B's owner (not an org A member) to C1: %d" % r.status)
    # B is intact.
    api = w.api
    if api.call("GET", "/v1/orgs/%s" % B, w.b_owner).status != 200:
        fails.append("org B gone or unreadable by its owner after the attacks")
    r = api.call("GET", "/v1/collections/%s" % CB, w.b_owner)
    if r.status != 200 or r.json().get("name") != "CB":
        fails.append("collection CB changed: %d %s" % (r.status, r.body[:200]))
    r = api.call("GET", "/v1/orgs/%s/members" % B, w.b_owner)
    if r.status == 200 and len(r.json().get("members", [])) != 1:
        fails.append("org B's members changed: %s" % r.body[:300])
    r = api.call("GET", "/v1/me", {"X-API-Key": w.KB_secret})
    if r.status != 200:
        fails.append("org B's key stopped working: %d" % r.status)
    r = api.call("POST", "/v1/search", w.b_owner, {"query": WORD})
    if r.status != 200 or {x.get("collection_id") for x in r.json().get("results", [])} != {CB}:
        fails.append("org B's owner searching: %d %s" % (r.status, r.body[:300]))
    return fails


def test_permission_matrix(suite):
    w = build_world(suite)
    suite._auth_world = w
    api = w.api
    fails, warns, notes = [], [], []
    principals = list(w.s.values()) + list(w.keys.values())

    # Every principal is who it says.
    for p in principals:
        r = api.call("GET", "/v1/me", p)
        if r.status != 200:
            fails.append("%s GET /v1/me -> %d" % (p, r.status))
            continue
        me = r.json()
        if me["user"]["id"] != w.s[p.user].user_id:
            fails.append("%s /v1/me user %s" % (p, me["user"]))
        kind = me.get("principal", {}).get("kind")
        if kind != ("session" if p.kind == "session" else "api_key"):
            fails.append("%s /v1/me principal %s" % (p, me.get("principal")))
        if p.kind == "key" and me["principal"].get("key_id") != p.key_id:
            fails.append("%s /v1/me key_id %s" % (p, me["principal"]))

    pools = make_pools(w)
    acts = actions(w)
    for act in acts:
        if act.destructive:
            continue
        for p in principals:
            r = run_cell(w, pools, p, act)
            judge(p, act, r, fails, warns, notes)
            if act.name == "collection.list" and is2(r.status):
                ids = {c["id"] for c in r.json().get("collections", [])}
                seen = {n for n, c in (("C1", w.C1), ("C2", w.C2)) if c in ids}
                want = {n for n, s in (("C1", "c1"), ("C2", "c2"))
                        if expected(p, Act("", s, "viewer", "read", "", None))[0] == "ok"}
                if seen != want:
                    fails.append("%-22s collection.list shows %s, may read %s" %
                                 (p.name, sorted(seen), sorted(want)))
            if act.name == "apikey.list" and is2(r.status):
                if any(k.secret.encode() in r.body for k in w.keys.values()):
                    fails.append("%s: the key list contains a secret" % p.name)

    # Search over everything it may read: never a collection it may not.
    coll_name = {w.C1: "C1", w.C2: "C2"}
    found_c1 = False
    for p in principals:
        r = api.call("POST", "/v1/search", p, {"query": WORD})
        may = {n for n, sc in (("C1", "c1"), ("C2", "c2"))
               if expected(p, Act("", sc, "viewer", "read", "", None))[0] == "ok"}
        if not is2(r.status):
            if may:
                fails.append("%-22s POST /v1/search -> %d (may read %s)" %
                             (p.name, r.status, sorted(may)))
            continue
        got = {coll_name.get(x.get("collection_id"), x.get("collection_id"))
               for x in r.json().get("results", [])}
        found_c1 |= "C1" in got
        if not got <= may:
            fails.append("%-22s POST /v1/search returns %s, may read %s" %
                         (p.name, sorted(got), sorted(may)))
    if not found_c1:
        fails.append("no principal found the C1 documents: the search check proved nothing")

    fails += ["cross-org: " + f for f in cross_org(w)]

    # Changes and denials of org A are in its audit trail, newest first.
    rows = api.psql("select outcome, coalesce(actor_key, '') from audit_log "
                    "where org_id = '%s'" % w.A).split()
    outcomes = [x.split("|") for x in rows]
    if not any(o == "denied" for o, _ in outcomes):
        fails.append("audit_log of org A has no denied row")
    if not any(o == "ok" for o, _ in outcomes):
        fails.append("audit_log of org A has no ok row")
    if not any(o == "denied" and k for o, k in outcomes):
        fails.append("audit_log of org A has no denied row with an actor_key")
    r = api.call("GET", "/v1/orgs/%s/audit?limit=5" % w.A, w.s["a_admin"])
    if r.status != 200:
        fails.append("audit?limit=5 as a_admin: %d" % r.status)
    else:
        e = r.json().get("entries", [])
        if not 0 < len(e) <= 5:
            fails.append("audit?limit=5 gave %d entries" % len(e))
        if [x["id"] for x in e] != sorted((x["id"] for x in e), reverse=True):
            fails.append("audit entries not newest first: %s" % [x["id"] for x in e])

    # Destructive rows last: the one allowed principal goes last.
    for act in acts:
        if not act.destructive:
            continue
        order = sorted(principals, key=lambda p: expected(p, act)[0] == "ok")
        for p in order:
            judge(p, act, run_cell(w, pools, p, act), fails, warns, notes)
        if act.name == "collection.delete(C1)":
            # Keys scoped to C1 went with it (api_keys.collection_id
            # cascades): they authenticate nothing any more.
            for p in [p for p in principals if getattr(p, "coll", None) == "c1"]:
                principals.remove(p)
                st = api.call("GET", "/v1/me", p).status
                if st != 401:
                    fails.append("%s: C1 deleted, the key scoped to it -> %d, not 401" %
                                 (p.name, st))
            st = api.call("GET", "/v1/collections/%s" % w.C1, w.s["c_owner"]).status
            if st != 404:
                fails.append("C1 deleted, its owner reads it: %d" % st)
    r = api.call("GET", "/v1/orgs/%s" % w.A, w.s["a_admin"])
    if r.status != 404:
        fails.append("org A still readable after its owner deleted it: %d" % r.status)

    print("  matrix: %d cells allowed, %d denied, %d undecided by api.md" %
          (TALLY["ok"], TALLY["deny"], TALLY[None]))
    by_act = {}
    for n in notes:
        by_act.setdefault(n[1], []).append("%s:%d" % (n[0], n[2]))
    for a, cells in by_act.items():
        print("  undecided by api.md, got: %s: %s" % (a, " ".join(cells)))
    for x in warns:
        print("  warn %s" % x)
    assert not fails, "%d failing cells:\n  %s" % (len(fails), "\n  ".join(fails))


def test_last_owner_stays(suite):
    """The last owner of an org or a collection cannot go (409)."""
    api = Api(suite)
    _, O = api.bootstrap("solo@o.test", PW, "OrgSolo")
    o = api.session("solo", "solo@o.test", PW)
    C = api.ok("POST", "/v1/orgs/%s/collections" % O, o, {"name": "Solo"}, want=(201,))["id"]
    fails = []
    for m, path, body in (("PATCH", "/v1/orgs/%s/members/%s" % (O, o.user_id), {"role": "admin"}),
                          ("DELETE", "/v1/orgs/%s/members/%s" % (O, o.user_id), None),
                          ("PATCH", "/v1/collections/%s/members/%s" % (C, o.user_id),
                           {"role": "admin"}),
                          ("DELETE", "/v1/collections/%s/members/%s" % (C, o.user_id), None)):
        r = api.call(m, path, o, body)
        if r.status != 409:
            fails.append("last owner: %s %s -> %d %s" % (m, path, r.status, r.body[:200]))
    # Bad roles are refused, not stored.
    for m, path, body in (("PATCH", "/v1/orgs/%s/members/%s" % (O, o.user_id), {"role": "god"}),
                          ("POST", "/v1/orgs/%s/members" % O,
                           {"email": "x@o.test", "role": "viewer", "password": PW}),
                          ("POST", "/v1/collections/%s/members" % C,
                           {"user_id": o.user_id, "role": "member"})):
        r = api.call(m, path, o, body)
        if r.status != 400:
            fails.append("bad role: %s %s %s -> %d" % (m, path, body, r.status))
    r = api.call("GET", "/v1/orgs/%s" % O, o)
    if r.status != 200 or r.json().get("role") != "owner":
        fails.append("owner is no longer owner: %d %s" % (r.status, r.body[:200]))
    assert not fails, "\n  ".join([""] + fails)


def test_malformed_requests(suite):
    """Bad ids, bodies and parameters: a 4xx, never a 2xx or a 5xx."""
    api = Api(suite)
    _, O = api.bootstrap("shape@m.test", PW, "OrgShape")
    o = api.session("shape", "shape@m.test", PW)
    C = api.ok("POST", "/v1/orgs/%s/collections" % O, o, {"name": "Shape"}, want=(201,))["id"]
    zero = "00000000-0000-0000-0000-000000000000"
    cases = [
        ("GET", "/v1/orgs/not-a-uuid", None, (400, 404)),
        ("GET", "/v1/orgs/%27%20or%201%3D1--", None, (400, 404)),
        ("GET", "/v1/orgs/%s" % zero, None, (404,)),
        ("GET", "/v1/collections/%s" % zero, None, (404,)),
        ("GET", "/v1/collections/%s" % O, None, (404,)),          # an org id as a collection
        ("GET", "/v1/orgs/%s" % C, None, (404,)),                 # and the other way round
        ("PATCH", "/v1/orgs/%s/members/not-a-uuid" % O, {"role": "admin"}, (400, 404)),
        ("PATCH", "/v1/orgs/%s/members/%s" % (O, zero), {"role": "admin"}, (404,)),
        ("DELETE", "/v1/collections/%s/members/%s" % (C, zero), None, (404,)),
        ("POST", "/v1/orgs/%s/members" % O, {"email": 5, "role": "member"}, (400,)),
        ("POST", "/v1/orgs/%s/members" % O, {"email": "no-at-sign", "role": "member",
                                             "password": PW}, (400,)),
        ("POST", "/v1/orgs/%s/members" % O, {"email": "short@m.test", "role": "member",
                                             "password": "short"}, (400,)),
        ("POST", "/v1/orgs/%s/members" % O, {"email": "nopw@m.test", "role": "member"},
         (400, 404)),
        ("POST", "/v1/orgs/%s/collections" % O, {"name": ""}, (400,)),
        ("POST", "/v1/orgs/%s/collections" % O, {"name": "x" * 201}, (400,)),
        ("POST", "/v1/orgs/%s/collections" % O, {}, (400,)),
        ("POST", "/v1/orgs/%s/collections" % O, {"name": "Shape"}, (400, 409)),   # duplicate
        ("POST", "/v1/orgs/%s/collections" % O, b"{not json", (400,)),
        ("POST", "/v1/orgs/%s/collections" % O, [1, 2], (400,)),
        ("POST", "/v1/orgs/%s/api-keys" % O, {"name": "k", "cap": "admin"}, (400,)),
        ("POST", "/v1/orgs/%s/api-keys" % O, {"name": "k", "cap": "read",
                                              "collection_id": "nope"}, (400, 404)),
        ("POST", "/v1/orgs/%s/api-keys" % O, {"name": "k", "cap": "read",
                                              "collection_id": zero}, (400, 404)),
        ("POST", "/v1/orgs/%s/api-keys" % O, {"name": "k", "cap": "read",
                                              "expires_at": "tomorrow"}, (400,)),
        ("POST", "/v1/orgs/%s/api-keys" % O, {"name": "", "cap": "read"}, (400,)),
        ("GET", "/v1/orgs/%s/audit?limit=-1" % O, None, (400, 200)),
        ("GET", "/v1/orgs/%s/audit?limit=abc" % O, None, (400,)),
        ("GET", "/v1/orgs/%s/audit?before=junk" % O, None, (400,)),
        ("POST", "/v1/auth/login", {"email": ["x"], "password": {}}, (400, 401)),
        ("POST", "/v1/auth/login", {"email": "shape@m.test"}, (400, 401)),
        ("POST", "/v1/auth/login", {"email": "shape@m.test", "password": "p" * 2000},
         (400, 401)),
        ("POST", "/v1/auth/refresh", {"refresh_token": 7}, (400, 401)),
        ("POST", "/v1/auth/refresh", {}, (400, 401)),
    ]
    fails = []
    for m, path, body, want in cases:
        h = dict(o.header)
        if isinstance(body, bytes):
            h["Content-Type"] = "application/json"
        r = api.call(m, path, h, body)
        if r.status not in want:
            fails.append("%s %s %s -> %d (want %s) %s" % (
                m, path, (body if isinstance(body, bytes) else json.dumps(body))[:60] if body
                else "", r.status, want, r.body[:120]))
        elif r.status >= 400 and err_code(r) is None:
            fails.append("%s %s: %d without a JSON error" % (m, path, r.status))
    # Still alive and well.
    if api.call("GET", "/v1/orgs/%s" % O, o).status != 200:
        fails.append("the owner cannot read its org after the bad requests")
    assert not fails, "\n  ".join([""] + fails)


# -- tokens ---------------------------------------------------------------
def test_jwt_attacks(suite):
    api = Api(suite)
    api.bootstrap("jwt@j.test", PW, "OrgJ")
    other_uid, _ = api.bootstrap("jwt-other@j.test", PW, "OrgJ2")
    s = api.login("jwt@j.test", PW)
    tok = s["access_token"]
    me = {"Authorization": "Bearer " + tok}
    r = api.call("GET", "/v1/me", me)
    assert r.status == 200, (r.status, r.body)
    uid = r.json()["user"]["id"]

    c = jwt_claims(tok)
    h = json.loads(b64u_dec(tok.split(".")[0]))
    assert h.get("alg") == "EdDSA", h
    for k in ("iss", "aud", "sub", "sid", "iat", "exp"):
        assert k in c, c
    assert c["iss"] == "ballast" and c["aud"] == "ballast-api", c
    assert 0 < c["exp"] - c["iat"] <= 3600, c

    # Without credentials.
    r = api.call("GET", "/v1/me")
    assert r.status == 401 and (r.header("WWW-Authenticate") or "").startswith("Bearer"), \
        (r.status, r.headers)

    # The control: a token forged with the real key and right claims works,
    # so the refusals below are about the claims, not the forging.
    good = forge(suite, valid_claims(tok))
    r = api.call("GET", "/v1/me", bearer(good))
    assert r.status == 200, ("forged control token refused; cannot test claims", r.status,
                             r.body)

    seed, kid = sign_seed(suite)
    pub = ed25519_public(seed)
    hd, pl, sig = tok.split(".")
    sigb = bytearray(b64u_dec(sig))
    sigb[10] ^= 0x01
    now = int(time.time())
    vc = valid_claims(tok)
    attacks = {
        "alg none, no signature": jwt({"alg": "none", "typ": "JWT"}, vc, lambda m: b""),
        "alg none, header only changed": b64u(b'{"alg":"none","typ":"JWT"}') + "." + pl + ".",
        "alg None": jwt({"alg": "None", "typ": "JWT"}, vc, lambda m: b""),
        "HS256 keyed with the public key": hs256({"alg": "HS256", "typ": "JWT", "kid": kid},
                                                vc, pub),
        "HS256 keyed with base64url(public key)": hs256(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, vc, b64u(pub).encode()),
        "one signature bit flipped": hd + "." + pl + "." + b64u(bytes(sigb)),
        "signature cut short": hd + "." + pl + "." + sig[:-4],
        "no signature": hd + "." + pl + ".",
        "payload swapped (other sub)": hd + "." + b64u(json.dumps(
            dict(c, sub=other_uid), separators=(",", ":")).encode()) + "." + sig,
        "signed by another Ed25519 key": forge(suite, vc, seed=secrets.token_bytes(32)),
        "expired": forge(suite, valid_claims(tok, iat=now - 1200, exp=now - 600)),
        "iat in the future": forge(suite, valid_claims(tok, iat=now + 3600, exp=now + 4200)),
        "nbf in the future": forge(suite, valid_claims(tok, nbf=now + 300, exp=now + 900)),
        "no exp": forge(suite, valid_claims(tok, exp=None)),
        "wrong aud": forge(suite, valid_claims(tok, aud="ballast-admin")),
        "wrong iss": forge(suite, valid_claims(tok, iss="evil")),
        "no sid": forge(suite, valid_claims(tok, sid=None)),
        "unknown sid": forge(suite, valid_claims(
            tok, sid="00000000-0000-4000-8000-%012x" % secrets.randbits(48))),
        "EdDSA header with alg list": jwt({"alg": ["EdDSA"], "typ": "JWT", "kid": kid}, vc,
                                          lambda m: ed25519_sign(seed, m)),
        "refresh token as a bearer token": s["refresh_token"],
        "garbage": "not.a.jwt",
        "API-key shaped garbage": "blst_aaaaaaaaaaaaaaaa_" + rand_secret(),
    }
    fails = []
    for name, t in attacks.items():
        r = api.call("GET", "/v1/me", bearer(t))
        if r.status != 401:
            fails.append("%s: %d %s" % (name, r.status, r.body[:200]))
        elif not (r.header("WWW-Authenticate") or "").startswith("Bearer"):
            fails.append("%s: 401 without WWW-Authenticate: Bearer" % name)
        elif err_code(r) != "unauthorized":
            fails.append("%s: 401 with error code %s" % (name, err_code(r)))

    # The identity comes from the session, never from an unchecked sub.
    r = api.call("GET", "/v1/me", bearer(forge(suite, valid_claims(tok, sub=other_uid))))
    if r.status == 200 and r.json()["user"]["id"] != uid:
        fails.append("sub of another user with my sid acts as that user: %s" % r.body)

    # Logout revokes the session at once.
    s2 = api.login("jwt@j.test", PW)
    b2 = bearer(s2["access_token"])
    assert api.call("GET", "/v1/me", b2).status == 200
    r = api.call("POST", "/v1/auth/logout", b2)
    if r.status != 200 or r.json() != {"ok": True}:
        fails.append("logout: %d %s" % (r.status, r.body))
    for name, h_ in (("access token after logout", b2),
                     ("forged token with the logged-out sid",
                      bearer(forge(suite, valid_claims(s2["access_token"]))))):
        r = api.call("GET", "/v1/me", h_)
        if r.status != 401:
            fails.append("%s: %d" % (name, r.status))
    r = api.call("POST", "/v1/auth/refresh", body={"refresh_token": s2["refresh_token"]})
    if r.status != 401:
        fails.append("refresh after logout: %d %s" % (r.status, r.body[:200]))

    # Refresh rotation; a spent refresh token revokes the whole session.
    s3 = api.login("jwt@j.test", PW)
    r = api.call("POST", "/v1/auth/refresh", body={"refresh_token": s3["refresh_token"]})
    assert r.status == 200, ("refresh", r.status, r.body)
    s4 = r.json()
    assert s4["refresh_token"] != s3["refresh_token"], s4
    assert s4["token_type"] == "Bearer" and s4["user"]["id"] == uid, s4
    assert jwt_claims(s4["access_token"])["sid"] == jwt_claims(s3["access_token"])["sid"]
    assert api.call("GET", "/v1/me", bearer(s4["access_token"])).status == 200
    r = api.call("POST", "/v1/auth/refresh", body={"refresh_token": s3["refresh_token"]})
    if r.status != 401:
        fails.append("spent refresh token reused: %d %s" % (r.status, r.body[:200]))
    for name, h_ in (("new access token after reuse", bearer(s4["access_token"])),
                     ("old access token after reuse", bearer(s3["access_token"]))):
        r = api.call("GET", "/v1/me", h_)
        if r.status != 401:
            fails.append("%s: %d" % (name, r.status))
    r = api.call("POST", "/v1/auth/refresh", body={"refresh_token": s4["refresh_token"]})
    if r.status != 401:
        fails.append("new refresh token after reuse: %d %s" % (r.status, r.body[:200]))
    for name, t in (("made-up refresh token", rand_secret()),
                    ("access token as refresh token", tok)):
        r = api.call("POST", "/v1/auth/refresh", body={"refresh_token": t})
        if r.status not in (400, 401):
            fails.append("%s: %d" % (name, r.status))
    # The first session was not touched by any of this.
    if api.call("GET", "/v1/me", me).status != 200:
        fails.append("an unrelated session stopped working")
    assert not fails, "\n  ".join([""] + fails)


# -- API keys ---------------------------------------------------------------
def test_api_keys(suite):
    api = Api(suite)
    _, K = api.bootstrap("kowner@k.test", PW, "OrgK")
    o = api.session("kowner", "kowner@k.test", PW)
    api.add_member(o, K, "kadmin@k.test", "admin", PW)
    api.add_member(o, K, "keditor@k.test", "member", PW)
    adm = api.session("kadmin", "kadmin@k.test", PW)
    ed = api.session("keditor", "keditor@k.test", PW)
    K1 = api.ok("POST", "/v1/orgs/%s/collections" % K, o, {"name": "K1"}, want=(201,))["id"]
    K2 = api.ok("POST", "/v1/orgs/%s/collections" % K, o, {"name": "K2"}, want=(201,))["id"]
    api.ok("POST", "/v1/collections/%s/members" % K1, o,
           {"user_id": ed.user_id, "role": "admin"}, want=(201,))
    fails = []

    def status(m, path, key, body=None, header="bearer"):
        h = {"X-API-Key": key} if header == "x" else bearer(key)
        return api.call(m, path, h, body).status

    # Shape of a new key.
    k = api.new_key(o, K, "plain", "read")
    for f in ("id", "key", "name", "prefix", "collection_id", "include_personal", "cap",
              "created_at", "expires_at"):
        if f not in k:
            fails.append("create answer lacks %s: %s" % (f, sorted(k)))
    kid_, secret = k["id"], k["key"]
    parts = key_parts(secret)
    if not (parts[0] == "blst" and secret[4] == "_" and secret[21] == "_" and
            re.fullmatch(r"[a-z0-9]{16}", kid_) and parts[1] == kid_ and
            re.fullmatch(r"[A-Za-z0-9_-]{43}", parts[2])):
        fails.append("key format: %r id %r" % (secret, kid_))
    for hdr in ("bearer", "x"):
        if status("GET", "/v1/collections/%s" % K1, secret, header=hdr) != 200:
            fails.append("fresh key (%s header) cannot read K1" % hdr)

    # Wrong secret with the right id; malformed keys.
    sp = parts[2]
    flip = lambda c: "B" if c != "B" else "C"      # noqa: E731
    for what, bad in (("other secret", "blst_%s_%s" % (kid_, rand_secret())),
                      ("one char changed", "blst_%s_%s" % (kid_, sp[:20] + flip(sp[20]) +
                                                           sp[21:])),
                      ("last char changed (padding bits)",
                       "blst_%s_%s" % (kid_, sp[:-1] + chr(ord(sp[-1]) ^ 1))),
                      ("empty secret", "blst_%s_" % kid_), ("no secret", "blst_%s" % kid_),
                      ("one char more", secret + "x"), ("one char less", secret[:-1]),
                      ("unknown id", "blst_%s_%s" % ("z" * 16, sp)),
                      ("upper-case id", "blst_%s_%s" % (kid_.upper(), sp))):
        st = status("GET", "/v1/me", bad)
        if st != 401:
            fails.append("wrong key (%s): %d" % (what, st))

    # The list never holds a secret.
    r = api.call("GET", "/v1/orgs/%s/api-keys" % K, o)
    if r.status != 200:
        fails.append("key list: %d" % r.status)
    else:
        if parts[2].encode() in r.body or b'"key"' in r.body:
            fails.append("key list shows a secret: %s" % r.body[:300])
        ids = [x["id"] for x in r.json()["api_keys"]]
        if kid_ not in ids:
            fails.append("key list lacks the new key")
    # A member sees only its own keys; an admin sees all.
    ek = api.new_key(ed, K, "editor-key", "read", K1)
    r = api.call("GET", "/v1/orgs/%s/api-keys" % K, ed)
    if r.status != 200 or {x["id"] for x in r.json()["api_keys"]} != {ek["id"]}:
        fails.append("member's key list is not just its own: %d %s" % (r.status, r.body[:300]))
    r = api.call("GET", "/v1/orgs/%s/api-keys" % K, adm)
    if r.status != 200 or not {kid_, ek["id"]} <= {x["id"] for x in r.json()["api_keys"]}:
        fails.append("admin's key list lacks keys: %d %s" % (r.status, r.body[:300]))
    # An org admin may revoke anyone's key.
    ak = api.new_key(ed, K, "editor-key-2", "read", K1)
    r = api.call("DELETE", "/v1/orgs/%s/api-keys/%s" % (K, ak["id"]), adm)
    if r.status != 200:
        fails.append("org admin revoking a member's key: %d %s" % (r.status, r.body[:200]))
    elif status("GET", "/v1/me", ak["key"]) != 401:
        fails.append("key revoked by an org admin still works")
    # A member cannot revoke someone else's key.
    st = api.call("DELETE", "/v1/orgs/%s/api-keys/%s" % (K, kid_), ed).status
    if st not in (403, 404):
        fails.append("member revoked the owner's key: %d" % st)

    # Revoked: 401.
    rk = api.new_key(o, K, "to-revoke", "read")
    if status("GET", "/v1/me", rk["key"]) != 200:
        fails.append("key to revoke does not work before revocation")
    r = api.call("DELETE", "/v1/orgs/%s/api-keys/%s" % (K, rk["id"]), o)
    if r.status != 200:
        fails.append("revoke: %d %s" % (r.status, r.body[:200]))
    st = status("GET", "/v1/me", rk["key"])
    if st != 401:
        fails.append("revoked key: %d" % st)

    # Expired: already past at creation is refused or dead; a short one dies.
    r = api.call("POST", "/v1/orgs/%s/api-keys" % K, o,
                 {"name": "past", "cap": "read", "expires_at": rfc3339(time.time() - 60)})
    if is2(r.status):
        st = status("GET", "/v1/me", r.json()["key"])
        if st != 401:
            fails.append("key created already expired works: %d" % st)
    elif r.status not in (400, 422):
        fails.append("create with past expires_at: %d %s" % (r.status, r.body[:200]))
    exp_at = int(time.time()) + 3
    r = api.call("POST", "/v1/orgs/%s/api-keys" % K, o,
                 {"name": "short", "cap": "read", "expires_at": rfc3339(exp_at)})
    if r.status != 201:
        fails.append("create with expires_at 3 s ahead: %d %s" % (r.status, r.body[:200]))
    else:
        sk = r.json()
        if status("GET", "/v1/me", sk["key"]) != 200:
            fails.append("short-lived key does not work before its expiry")
        time.sleep(max(0, exp_at - time.time()) + 1.2)
        st = status("GET", "/v1/me", sk["key"])
        if st != 401:
            fails.append("expired key: %d" % st)

    # A collection-scoped key cannot see another collection.
    k1 = api.new_key(o, K, "k1-only", "read-write", K1)
    if status("GET", "/v1/collections/%s" % K1, k1["key"]) != 200:
        fails.append("K1 key cannot read K1")
    for path in ("/v1/collections/%s" % K2, "/v1/collections/%s/members" % K2):
        st = status("GET", path, k1["key"])
        if st not in (403, 404):
            fails.append("K1 key GET %s: %d" % (path, st))
    st = status("PATCH", "/v1/collections/%s" % K2, k1["key"], {"name": "K2x"})
    if st not in (403, 404):
        fails.append("K1 key renames K2: %d" % st)
    r = api.call("GET", "/v1/orgs/%s/collections" % K, bearer(k1["key"]))
    if is2(r.status) and K2 in r.body.decode():
        fails.append("K1 key's collection list shows K2")

    # A read cap cannot write; no key manages members or keys.
    rd = api.new_key(o, K, "read-cap", "read")
    for m, path, body in (("PATCH", "/v1/collections/%s" % K1, {"name": "K1-renamed"}),
                          ("POST", "/v1/collections/%s/members" % K1,
                           {"user_id": adm.user_id, "role": "viewer"}),
                          ("POST", "/v1/orgs/%s/collections" % K, {"name": "by-read-key"}),
                          ("POST", "/v1/collections/%s/documents" % K1,
                           {"documents": [{"external_id": "rd", "text": "x"}]})):
        st = status(m, path, rd["key"], body)
        if st != 403:
            fails.append("read-capped key %s %s: %d" % (m, path, st))
    rw = api.new_key(o, K, "owner-rw", "read-write")
    for m, path, body in (("POST", "/v1/orgs/%s/members" % K,
                           {"email": "viakey@k.test", "role": "admin", "password": PW}),
                          ("PATCH", "/v1/orgs/%s/members/%s" % (K, ed.user_id), {"role": "admin"}),
                          ("POST", "/v1/collections/%s/members" % K1,
                           {"user_id": adm.user_id, "role": "viewer"}),
                          ("POST", "/v1/orgs/%s/api-keys" % K, {"name": "child", "cap": "read"}),
                          ("GET", "/v1/orgs/%s/api-keys" % K, None),
                          ("POST", "/v1/orgs/%s/api-keys/%s/rotate" % (K, rw["id"]), None),
                          ("DELETE", "/v1/orgs/%s/api-keys/%s" % (K, kid_), None),
                          ("GET", "/v1/orgs/%s/audit" % K, None),
                          ("POST", "/v1/orgs", {"name": "keyorg"}),
                          ("DELETE", "/v1/orgs/%s" % K, None)):
        st = status(m, path, rw["key"], body)
        if st not in (401, 403):
            fails.append("owner's read-write key %s %s: %d (keys never manage)" % (m, path, st))

    # Demoting the creator narrows the key at once: an editor of K1 makes
    # a read-write key on K1 that pushes documents, until the editor is
    # made a viewer.
    api.ok("PATCH", "/v1/collections/%s/members/%s" % (K1, ed.user_id), o, {"role": "editor"})
    ek2 = api.new_key(ed, K, "editor-rw", "read-write", K1)
    push = {"documents": [{"external_id": "k1-doc", "text": "pushed by a key"}]}
    st = status("POST", "/v1/collections/%s/documents" % K1, ek2["key"], push)
    if not is2(st):
        fails.append("editor's read-write key cannot push to K1: %d" % st)
    st = status("PATCH", "/v1/collections/%s" % K1, ek2["key"], {"name": "K1-a"})
    if st != 403:
        fails.append("editor's key renames K1 (needs collection admin): %d" % st)
    api.ok("PATCH", "/v1/collections/%s/members/%s" % (K1, ed.user_id), o, {"role": "viewer"})
    st = status("POST", "/v1/collections/%s/documents" % K1, ek2["key"], push)
    if st != 403:
        fails.append("creator demoted to viewer, its read-write key pushes to K1: %d" % st)
    if status("GET", "/v1/collections/%s" % K1, ek2["key"]) != 200:
        fails.append("viewer's key cannot read K1")
    api.ok("DELETE", "/v1/collections/%s/members/%s" % (K1, ed.user_id), o)
    st = status("GET", "/v1/collections/%s" % K1, ek2["key"])
    if st not in (403, 404):
        fails.append("creator removed from K1, key still reads it: %d" % st)
    # Removing the creator from the org kills its org-wide key.
    ok_ = api.new_key(adm, K, "admin-org", "read")
    if status("GET", "/v1/collections/%s" % K2, ok_["key"]) != 200:
        fails.append("org admin's org-wide key cannot read K2")
    api.ok("PATCH", "/v1/orgs/%s/members/%s" % (K, adm.user_id), o, {"role": "member"})
    st = status("GET", "/v1/collections/%s" % K2, ok_["key"])
    if st not in (403, 404):
        fails.append("creator demoted from org admin to member (no K2 role), key reads K2: %d"
                     % st)
    api.ok("DELETE", "/v1/orgs/%s/members/%s" % (K, adm.user_id), o)
    for path in ("/v1/orgs/%s" % K, "/v1/collections/%s" % K1, "/v1/orgs/%s/members" % K):
        st = api.call("GET", path, adm).status
        if st != 404:
            fails.append("removed member's session GET %s: %d (want 404)" % (path, st))
    st = status("GET", "/v1/me", ok_["key"])
    if st not in (401, 403):
        fails.append("creator removed from the org, key still authenticates /v1/me: %d" % st)

    # Rotation: both secrets work during the grace period.
    rot = api.new_key(o, K, "rotating", "read")
    r = api.call("POST", "/v1/orgs/%s/api-keys/%s/rotate" % (K, rot["id"]), o)
    if r.status != 200:
        fails.append("rotate: %d %s" % (r.status, r.body[:200]))
    else:
        new = r.json()
        if new.get("id") != rot["id"] or new.get("key") == rot["key"] or \
                not new.get("key", "").startswith("blst_%s_" % rot["id"]):
            fails.append("rotate answer: %s" % new)
        for name, key in (("old secret in grace", rot["key"]), ("new secret", new["key"])):
            st = status("GET", "/v1/collections/%s" % K1, key)
            if st != 200:
                fails.append("after rotation, %s: %d" % (name, st))
        # Revoking ends both.
        api.ok("DELETE", "/v1/orgs/%s/api-keys/%s" % (K, rot["id"]), o)
        for name, key in (("old", rot["key"]), ("new", new["key"])):
            st = status("GET", "/v1/me", key)
            if st != 401:
                fails.append("rotated then revoked, %s secret: %d" % (name, st))
    # Only its creator rotates a key.
    r = api.call("POST", "/v1/orgs/%s/api-keys/%s/rotate" % (K, ek["id"]), o)
    if is2(r.status):
        fails.append("owner rotated the editor's key: %d" % r.status)
    assert not fails, "\n  ".join([""] + fails)


# -- secrets ----------------------------------------------------------------
def test_secrets_never_leak(suite):
    api = Api(suite)
    planted = "PLANTED-pw-" + secrets.token_hex(8)
    wrong = "PLANTED-wrong-" + secrets.token_hex(8)
    _, L = api.bootstrap("leak-owner@l.test", PW, "OrgL")
    o = api.session("lo", "leak-owner@l.test", PW)
    api.add_member(o, L, "leaky@l.test", "member", planted)
    r = api.call("POST", "/v1/auth/login", body={"email": "leaky@l.test", "password": wrong})
    assert r.status == 401, (r.status, r.body)
    r = api.call("POST", "/v1/auth/login", body={"email": "nobody@l.test", "password": planted})
    assert r.status == 401, (r.status, r.body)
    u = api.session("leaky", "leaky@l.test", planted)
    k = api.new_key(u, L, "leak-key", "read-write")
    secret = k["key"]
    sec_part = key_parts(secret)[2]
    assert api.call("GET", "/v1/me", {"X-API-Key": secret}).status == 200
    api.call("GET", "/v1/me", bearer(secret[:30] + ("A" if secret[30] != "A" else "B") +
                                      secret[31:]))
    api.call("POST", "/v1/orgs/%s/members" % L, {"X-API-Key": secret},
             {"email": "x@l.test", "role": "member", "password": planted})
    r = api.call("POST", "/v1/orgs/%s/api-keys/%s/rotate" % (L, k["id"]), u)
    rotated = key_parts(r.json()["key"])[2] if r.status == 200 else None
    api.call("POST", "/v1/auth/logout", u)
    time.sleep(0.5)          # let the log writers flush

    fails = []
    tokens = {"access token": u.tokens["access_token"], "refresh token": u.tokens["refresh_token"]}
    if rotated:
        tokens["rotated key secret"] = rotated
    try:
        with open(os.path.join(suite.dir, "pg", "postgres.log"), errors="replace") as f:
            pglog = f.read()
    except OSError:
        pglog = ""
    for where, log in (("the daemon log", suite.log_text()), ("PostgreSQL's log", pglog)):
        for name, s in (("planted password", planted), ("wrong password", wrong),
                        ("key secret", sec_part)) + tuple(tokens.items()):
            if s in log:
                i = log.index(s)
                fails.append("%s in %s: ...%s..." % (name, where, log[max(0, i - 100):i + 60]))
    # Every response body this module saw.
    n_secret = 0
    for m, path, st, body in SEEN:
        for name, s in (("planted password", planted), ("wrong password", wrong)):
            if s.encode() in body:
                fails.append("%s in the answer to %s %s (%d)" % (name, m, path, st))
        n_secret += body.count(sec_part.encode())
    if n_secret != 1:
        fails.append("the key secret appears in %d answers (want exactly 1, the create)" %
                     n_secret)
    audit = api.psql("select row_to_json(a)::text from audit_log a")
    if not audit.strip():
        fails.append("the audit log is empty")
    for name, s in (("planted password", planted), ("wrong password", wrong),
                    ("key secret", sec_part)) + tuple(tokens.items()):
        if s in audit:
            fails.append("%s in audit_log" % name)
    # And not at rest in the identity tables either (hashes only).
    rest = api.psql("select row_to_json(t)::text from users t") + \
        api.psql("select row_to_json(t)::text from api_keys t") + \
        api.psql("select row_to_json(t)::text from sessions t") + \
        api.psql("select encode(token_hash, 'hex') from refresh_tokens")
    for name, s in (("planted password", planted), ("key secret", sec_part)) + \
            tuple(tokens.items()):
        if s in rest:
            fails.append("%s stored in plain text" % name)
    assert not fails, "\n  ".join([""] + fails)


# -- login ------------------------------------------------------------------
def test_login_errors_and_rate_limit(suite):
    api = Api(suite)
    api.bootstrap("rl@r.test", PW, "OrgR")
    fails = []

    # Unknown user and wrong password: same answer after the same work (a
    # dummy Argon2id verification).  Two tries of each; the limiter allows
    # only a few failures per client.
    def timed(body):
        t0 = time.monotonic()
        r = api.call("POST", "/v1/auth/login", body=body)
        return r, time.monotonic() - t0
    tries = [timed({"email": "ghost%d@r.test" % i, "password": "whatever-pw"}) for i in range(2)]
    tries += [timed({"email": "rl@r.test", "password": "wrong-pw!"}) for i in range(2)]
    unknown, bad = tries[0][0], tries[2][0]
    if [r.status for r, _ in tries] != [401] * 4:
        fails.append("unknown user %s, wrong password %s (want 401s)" %
                     ([r.status for r, _ in tries[:2]], [r.status for r, _ in tries[2:]]))
    if not (err_code(unknown) == err_code(bad) == "invalid_credentials"):
        fails.append("error codes: unknown %s, wrong password %s" %
                     (err_code(unknown), err_code(bad)))
    if unknown.body != bad.body:
        fails.append("answers differ: %s / %s" % (unknown.body, bad.body))
    u = min(t for _, t in tries[:2])
    b = min(t for _, t in tries[2:])
    print("  note fastest failed login: unknown user %.0f ms, wrong password %.0f ms" %
          (u * 1000, b * 1000))
    # Wall-clock times on a shared machine are no assertion (a loaded CI
    # host doubles either); the same work is authd's dummy verification
    # (authd/session.c), and the times are printed for a reader.
    # Rate limit.
    r = None
    for i in range(60):
        r = api.call("POST", "/v1/auth/login",
                     body={"email": "rl@r.test", "password": "nope-%d" % i})
        if r.status != 401:
            break
    if r.status != 429:
        fails.append("after %d failed logins: %d, not 429" % (i + 4, r.status))
    else:
        ra = r.header("Retry-After")
        if ra is None or not ra.isdigit() or int(ra) <= 0:
            fails.append("429 without a positive Retry-After: %r" % ra)
        if err_code(r) != "too_many_requests":
            fails.append("429 error code %s" % err_code(r))
        print("  note 429 after %d failed logins, Retry-After %s" % (i + 4, ra))
        # The limit also holds against the right password: no oracle.
        r2 = api.call("POST", "/v1/auth/login", body={"email": "rl@r.test", "password": PW})
        if is2(r2.status):
            fails.append("right password accepted while rate-limited")
    assert not fails, "\n  ".join([""] + fails)


test_login_errors_and_rate_limit.FRESH = True


def test_authd_gives_back_password_hash_memory(suite):
    """Each login's Argon2id check takes 19 MB; authd must give it back
    (issue 12: glibc's growing mmap threshold kept it resident for good,
    authd idled at 21 MB of anonymous memory after one login).  Not in a
    sanitizer build, whose allocator keeps freed blocks in quarantine."""
    if harness.SAN:
        print("  skipped: sanitizer build")
        return
    api = Api(suite)
    api.bootstrap("mem@m.test", PW, "Mem")
    for i in range(3):
        api.session("mem%d" % i, "mem@m.test", PW)
    pid = suite.status()["authd"]["pid"]
    anon_kb = int(harness.proc_status(pid)["RssAnon"].split()[0])
    assert anon_kb < 10 * 1024, "authd holds %d kB of anonymous memory" % anon_kb

"""Issue 5: the content path (documents and search) over HTTPS on the real
suite: ingest, search in every mode, update, delete, isolation between
organizations, collections and people, row-level security in PostgreSQL,
bad input, and retrieval quality on a tiny BEIR set (tests/bench/ir-eval).

Logins cost an Argon2id verification each: every principal logs in once.
"""
import json
import os
import subprocess
import sys
import tempfile

import harness
from authlib import Api, Principal, bearer, err_code
from contentlib import (MODES, TABLES, count_super, docs_path, ext_ids, psql_as,
                        push, search)

CONF = ""
PW = "correct horse battery staple"

# Made-up words: each names one planted document and nothing else.
PLANTED = [
    {"external_id": "p-flamingo", "title": "Lagoon birds",
     "text": "The zorblaxian flamingo stands on one leg in the shallow lagoon.",
     "url": "https://wiki.example/flamingo", "source": "wiki",
     "metadata": {"team": "birds", "lang": "en"}, "updated_at": "2024-03-01T10:00:00Z"},
    {"external_id": "p-turbine", "title": "Estuary power",
     "text": "A quendrith turbine turns with the tide and feeds the harbour grid.",
     "source": "drive", "metadata": {"team": "energy"},
     "updated_at": "2024-06-01T10:00:00Z"},
    {"external_id": "p-bread", "title": "Starter culture",
     "text": "Keep the velmorite sourdough starter warm & fed: <flour> and water.",
     "source": "wiki", "metadata": {"team": "kitchen"},
     "updated_at": "2024-09-01T10:00:00Z"},
]
WORDS = {"p-flamingo": "zorblaxian", "p-turbine": "quendrith", "p-bread": "velmorite"}
SHARED = "plumbago"         # in C1, C2 and org B's collection
C2WORD = "trellisk"         # only in C2
BWORD = "orgbsecret"        # only in org B
PWORD = "privatissimo"      # only in U's personal document


class World:
    pass


W = None


def world(suite):
    """Principals, collections, keys and planted documents, made once."""
    global W
    if W is not None and W.suite is suite:
        return W
    w = World()
    w.suite = suite
    api = w.api = Api(suite)
    _, w.A = api.bootstrap("owner@a.test", PW, "OrgA")
    w.owner = api.session("a_owner", "owner@a.test", PW)
    for name, role in (("admin", "admin"), ("u", "member"), ("m2", "member"),
                       ("viewer", "member")):
        api.add_member(w.owner, w.A, "%s@a.test" % name, role, PW)
    w.admin = api.session("a_admin", "admin@a.test", PW)
    w.u = api.session("u", "u@a.test", PW)
    w.m2 = api.session("m2", "m2@a.test", PW)
    w.viewer = api.session("viewer", "viewer@a.test", PW)
    mk = "/v1/orgs/%s/collections" % w.A
    w.C1 = api.ok("POST", mk, w.owner, {"name": "C1"}, want=(201,))["id"]
    w.C2 = api.ok("POST", mk, w.owner, {"name": "C2"}, want=(201,))["id"]
    for who, role in ((w.u, "editor"), (w.m2, "editor"), (w.viewer, "viewer")):
        api.ok("POST", "/v1/collections/%s/members" % w.C1, w.owner,
               {"user_id": who.user_id, "role": role}, want=(201,))

    def key(name, who, cap, coll=None, **extra):
        r = api.new_key(who, w.A, name, cap, coll, **extra)
        return Principal(name, bearer(r["key"]), "key", who.user, coll=coll, cap=cap)
    w.k_c1 = key("k_c1_rw", w.owner, "read-write", w.C1)
    w.k_c1_r = key("k_c1_r", w.owner, "read", w.C1)
    w.k_org = key("k_org_rw", w.owner, "read-write")
    w.k_admin = key("k_org_r_admin", w.admin, "read")
    w.k_u_org = key("k_u_org", w.u, "read")
    w.k_u_pers = key("k_u_pers", w.u, "read", include_personal=True)
    w.k_u_c1 = key("k_u_c1_rw", w.u, "read-write", w.C1)
    w.k_u_c1_pers = key("k_u_c1_pers", w.u, "read-write", w.C1, include_personal=True)
    w.k_m2_pers = key("k_m2_pers", w.m2, "read", include_personal=True)

    _, w.B = api.bootstrap("owner@b.test", PW, "OrgB")
    w.b_owner = api.session("b_owner", "owner@b.test", PW)
    w.CB = api.ok("POST", "/v1/orgs/%s/collections" % w.B, w.b_owner, {"name": "CB"},
                  want=(201,))["id"]
    r = api.new_key(w.b_owner, w.B, "kb", "read-write")
    w.kb = Principal("kb", bearer(r["key"]), "key", "b_owner")

    push(api, w.k_c1, w.C1, PLANTED)
    push(api, w.k_c1, w.C1, [{"external_id": "c1-shared",
                              "text": "%s grows along the C1 wall" % SHARED}])
    push(api, w.k_org, w.C2, [{"external_id": "c2-doc",
                               "text": "%s and %s grow in C2" % (SHARED, C2WORD)}])
    push(api, w.b_owner, w.CB, [{"external_id": "b-doc", "title": "Org B plans",
                                 "text": "%s %s: org B only" % (BWORD, SHARED)}])
    W = w
    return w


def everyone_in_a(w):
    return [w.owner, w.admin, w.u, w.m2, w.viewer, w.k_c1, w.k_c1_r, w.k_org, w.k_admin,
            w.k_u_org, w.k_u_pers, w.k_u_c1, w.k_u_c1_pers, w.k_m2_pers]


def check_error_shape(r, fails, what):
    if err_code(r) is None:
        fails.append("%s: %d without the JSON error shape: %r" % (what, r.status, r.body[:200]))
    elif not (r.header("Content-Type") or "").startswith("application/json"):
        fails.append("%s: error Content-Type %r" % (what, r.header("Content-Type")))


# -- ingest and search ----------------------------------------------------
def test_ingest_and_search_every_mode(suite):
    w = world(suite)
    fails = []
    for d in PLANTED:
        word = WORDS[d["external_id"]]
        for mode in MODES:
            for coll in (w.C1, None):
                res = search(w.api, w.k_c1, word, coll, mode)
                where = "%s %s %s" % (mode, "C1" if coll else "/v1/search", word)
                if not res or res[0]["external_id"] != d["external_id"]:
                    fails.append("%s: top result %s" % (
                        where, res[0]["external_id"] if res else "none"))
                    continue
                top = res[0]
                for f in ("document_id", "external_id", "chunk_id", "collection_id",
                          "source", "title", "url", "snippet", "score"):
                    if f not in top:
                        fails.append("%s: result lacks %s" % (where, f))
                if (top["collection_id"], top["source"], top["title"], top["url"]) != (
                        w.C1, d["source"], d["title"], d.get("url", "")):
                    fails.append("%s: wrong fields %r" % (where, top))
                if "<mark>%s</mark>" % word not in top["snippet"]:
                    fails.append("%s: snippet does not mark the word: %r" % (
                        where, top["snippet"]))
    # Snippets are escaped HTML around the marks.
    res = search(w.api, w.k_c1, "velmorite", w.C1, "keyword")
    if res and ("&lt;flour&gt;" not in res[0]["snippet"] or "&amp;" not in res[0]["snippet"]):
        fails.append("snippet not HTML-escaped: %r" % res[0]["snippet"])
    # Keyword search does not find what is not there; scores are ordered.
    if search(w.api, w.k_c1, "nonexistentwordxyz", w.C1, "keyword"):
        fails.append("keyword search for an absent word found something")
    res = search(w.api, w.k_c1, SHARED + " zorblaxian", w.C1, "hybrid", limit=5)
    sc = [r["score"] for r in res]
    if sc != sorted(sc, reverse=True):
        fails.append("hybrid scores not in descending order: %r" % sc)
    # limit and offset page through the same ranking.
    q = "zorblaxian or quendrith or velmorite or %s" % SHARED
    full = search(w.api, w.k_c1, q, w.C1, "keyword", limit=4)
    page = search(w.api, w.k_c1, q, w.C1, "keyword", limit=2, offset=2)
    if len(full) != 4 or [r["chunk_id"] for r in full[2:4]] != [r["chunk_id"] for r in page]:
        fails.append("offset 2 limit 2 is not the 3rd and 4th of %d results" % len(full))
    # Filters.
    flt = [({"source": "wiki"}, {"p-flamingo", "p-bread"}),
           ({"metadata": {"team": "energy"}}, {"p-turbine"}),
           ({"updated_after": "2024-05-01T00:00:00Z",
             "updated_before": "2024-08-01T00:00:00Z"}, {"p-turbine"})]
    for f, want in flt:
        for mode in MODES:
            got = ext_ids(search(w.api, w.k_c1, "zorblaxian or quendrith or velmorite", w.C1, mode,
                                 limit=50, filters=f)) & set(WORDS)
            if got != want:
                fails.append("%s filters %s: %s, want %s" % (mode, f, sorted(got), sorted(want)))
    # GET a document.
    top = search(w.api, w.k_c1, "quendrith", w.C1, "keyword")[0]
    doc = w.api.ok("GET", docs_path(w.C1, top["document_id"]), w.k_c1, want=(200,))
    want = PLANTED[1]
    for f in ("external_id", "title", "text", "source", "metadata", "updated_at"):
        if doc.get(f) != want.get(f):
            fails.append("GET document: %s is %r, pushed %r" % (f, doc.get(f), want.get(f)))
    if not doc.get("chunks") or "quendrith" not in doc["chunks"][0]["text"]:
        fails.append("GET document: chunks %r" % doc.get("chunks"))
    assert not fails, "\n  ".join([""] + fails)


def test_unchanged_repush(suite):
    w = world(suite)
    before = count_super(suite, "chunks")
    r = push(w.api, w.k_c1, w.C1, PLANTED)
    assert r == {"added": 0, "updated": 0, "unchanged": len(PLANTED), "chunks": 0}, r
    assert count_super(suite, "chunks") == before, "an unchanged push rewrote chunks"
    # A change in metadata alone is a change.
    d = dict(PLANTED[0], metadata={"team": "birds", "lang": "fr"})
    r = push(w.api, w.k_c1, w.C1, [d] + PLANTED[1:])
    assert (r["added"], r["updated"], r["unchanged"]) == (0, 1, 2), r
    r = push(w.api, w.k_c1, w.C1, PLANTED)
    assert (r["added"], r["updated"], r["unchanged"]) == (0, 1, 2), r


def test_update_replaces_chunks(suite):
    w = world(suite)
    api = w.api
    old = {"external_id": "upd", "title": "Versioned",
           "text": "Version one mentions the grumbletoft only. " * 40}
    r = push(api, w.k_c1, w.C1, [old])
    assert r["added"] == 1 and r["chunks"] >= 1, r
    hit = search(api, w.k_c1, "grumbletoft", w.C1, "keyword")
    assert hit and hit[0]["external_id"] == "upd", hit
    doc_id = hit[0]["document_id"]
    old_chunks = {c["id"] for c in api.ok("GET", docs_path(w.C1, doc_id), w.k_c1)["chunks"]}
    new = dict(old, text="Version two speaks of the snarfwidget instead.")
    r = push(api, w.k_c1, w.C1, [new])
    assert (r["added"], r["updated"], r["unchanged"], r["chunks"]) == (0, 1, 0, 1), r
    fails = []
    for mode in MODES:
        for q in ("grumbletoft", "snarfwidget", "version"):
            res = search(api, w.k_c1, q, w.C1, mode, limit=100)
            stale = [x for x in res if x["chunk_id"] in old_chunks or
                     "grumbletoft" in x["snippet"]]
            if stale:
                fails.append("%s %r: old chunk still found: %r" % (mode, q, stale[0]))
        res = search(api, w.k_c1, "snarfwidget", w.C1, mode)
        if not res or res[0]["external_id"] != "upd" or res[0]["document_id"] != doc_id:
            fails.append("%s: the new text is not found under the same document" % mode)
    if search(api, w.k_c1, "grumbletoft", w.C1, "keyword"):
        fails.append("keyword search still finds the old word")
    doc = api.ok("GET", docs_path(w.C1, doc_id), w.k_c1)
    if doc["text"] != new["text"] or len(doc["chunks"]) != 1:
        fails.append("GET after update: %r" % doc)
    # Nothing of the old version is left in the database.
    where = "document_id = '%s'" % doc_id
    n = (count_super(suite, "chunks", where), count_super(suite, "chunk_vectors", where))
    if n != (1, 1):
        fails.append("chunks, vectors in the database after the update: %s" % (n,))
    assert not fails, "\n  ".join([""] + fails)


def test_delete_everywhere(suite):
    w = world(suite)
    api = w.api
    push(api, w.k_c1, w.C1, [{"external_id": "del", "title": "Doomed",
                              "text": "The frobnicant will be deleted."}])
    doc_id = search(api, w.k_c1, "frobnicant", w.C1, "keyword")[0]["document_id"]
    # Others cannot delete it: not a viewer, not a read key, not org B.
    for who, want in ((w.viewer, (403,)), (w.k_c1_r, (403,)), (w.b_owner, (404,)),
                      (w.kb, (404,))):
        r = api.call("DELETE", docs_path(w.C1, doc_id), who)
        assert r.status in want, "%s deleting: %d %s" % (who, r.status, r.body[:200])
    # Nor through another collection's path, by a key that may write there.
    api.call("DELETE", docs_path(w.C2, doc_id), w.k_org)
    assert count_super(suite, "documents", "id = '%s'" % doc_id) == 1, \
        "deleted through C2's path"
    r = api.ok("DELETE", docs_path(w.C1, doc_id), w.k_c1, want=(200,))
    assert r == {"ok": True}, r
    fails = []
    for mode in MODES:
        for coll in (w.C1, None):
            if doc_id in {x["document_id"] for x in search(api, w.k_c1, "frobnicant", coll,
                                                              mode, limit=100)}:
                fails.append("%s %s: the deleted document is still found" % (mode, coll))
    r = api.call("GET", docs_path(w.C1, doc_id), w.k_c1)
    if r.status != 404:
        fails.append("GET after delete: %d" % r.status)
    for t in TABLES:
        if count_super(suite, t, "%s = '%s'" % ("id" if t == "documents" else "document_id",
                                                 doc_id)):
            fails.append("rows left in %s" % t)
    assert not fails, "\n  ".join([""] + fails)


def test_delete_missing_is_404(suite):
    """DELETE of a document that does not exist (or no longer does)."""
    w = world(suite)
    zero = "00000000-0000-0000-0000-000000000000"
    in_c1 = search(w.api, w.k_c1, "zorblaxian", w.C1, "keyword")[0]["document_id"]
    fails = []
    # A made-up id, a malformed one, and a C1 document through C2's path
    # by a key that may write in C2.
    for coll, d, who in ((w.C1, zero, w.k_c1), (w.C1, "not-a-uuid", w.k_c1),
                         (w.C2, in_c1, w.k_org)):
        r = w.api.call("DELETE", docs_path(coll, d), who)
        if r.status != 404:
            fails.append("DELETE %s: %d %s (want 404 not_found)" %
                         (docs_path(coll, d), r.status, r.body[:100]))
    assert not fails, "\n  ".join([""] + fails)


# -- isolation ------------------------------------------------------------
def test_other_org_never_seen(suite):
    w = world(suite)
    fails = []
    # Positive control: org B finds its own document.
    for who in (w.b_owner, w.kb):
        if "b-doc" not in ext_ids(search(w.api, who, BWORD)):
            fails.append("%s does not find org B's own document" % who)
    for who in everyone_in_a(w):
        for mode in MODES:
            for q in (BWORD, SHARED, "Org B plans %s org B only" % BWORD):
                res = search(w.api, who, q, None, mode, limit=100)
                bad = [x for x in res if x["collection_id"] == w.CB or
                       x["external_id"] == "b-doc"]
                if bad:
                    fails.append("%s %s %r: org B's document returned" % (who, mode, q))
        r = search(w.api, who, BWORD, w.CB, want=None)
        if r.status not in (403, 404) or BWORD.encode() in r.body:
            fails.append("%s searching org B's collection: %d" % (who, r.status))
        r = w.api.call("POST", docs_path(w.CB), who,
                       {"documents": [{"external_id": "x", "text": "intruder"}]})
        if r.status not in (403, 404):
            fails.append("%s pushing into org B's collection: %d" % (who, r.status))
    # And the other way round.
    for who in (w.b_owner, w.kb):
        if ext_ids(search(w.api, who, SHARED, limit=100)) != {"b-doc"}:
            fails.append("%s sees org A's documents" % who)
        r = search(w.api, who, "zorblaxian", w.C1, want=None)
        if r.status not in (403, 404):
            fails.append("%s searching org A's C1: %d" % (who, r.status))
    assert not fails, "\n  ".join([""] + fails)


def test_collection_scoped_key(suite):
    w = world(suite)
    fails = []
    for who in (w.k_c1, w.k_c1_r, w.k_u_c1):
        for mode in MODES:
            res = search(w.api, who, SHARED, None, mode, limit=100)
            colls = {x["collection_id"] for x in res}
            if colls != {w.C1}:
                fails.append("%s %s /v1/search %r: collections %s, want only C1" % (
                    who, mode, SHARED, sorted(colls)))
            res = search(w.api, who, C2WORD, None, mode, limit=100)
            if "c2-doc" in ext_ids(res):
                fails.append("%s %s /v1/search %r: finds C2's document" % (who, mode, C2WORD))
        r = search(w.api, who, C2WORD, w.C2, want=None)
        if r.status not in (403, 404):
            fails.append("%s searching C2: %d %s" % (who, r.status, r.body[:100]))
        r = w.api.call("POST", docs_path(w.C2), who,
                       {"documents": [{"external_id": "x", "text": "wrong place"}]})
        if r.status not in (403, 404):
            fails.append("%s pushing into C2: %d" % (who, r.status))
    # A C1 document through C2's path, by a key that may read C2: 404.
    d1 = search(w.api, w.k_c1, "zorblaxian", w.C1, "keyword")[0]["document_id"]
    r = w.api.call("GET", docs_path(w.C2, d1), w.k_org)
    if r.status != 404:
        fails.append("GET a C1 document through C2's path: %d" % r.status)
    # Control: the org-wide key sees both.
    colls = {x["collection_id"] for x in search(w.api, w.k_org, SHARED, limit=100)}
    if colls != {w.C1, w.C2}:
        fails.append("the org-wide key sees %s, want C1 and C2" % sorted(colls))
    # A collection member's session sees only the collections it may read.
    for who in (w.viewer, w.m2):
        colls = {x["collection_id"] for x in search(w.api, who, SHARED, limit=100)}
        if colls != {w.C1}:
            fails.append("%s (no role on C2) sees %s" % (who, sorted(colls)))
    assert not fails, "\n  ".join([""] + fails)


def test_viewer_and_read_caps(suite):
    w = world(suite)
    fails = []
    one = {"documents": [{"external_id": "v", "text": "viewer was here"}]}
    for who in (w.viewer, w.k_c1_r, w.k_u_org):
        if "p-flamingo" not in ext_ids(search(w.api, who, "zorblaxian", w.C1)):
            fails.append("%s cannot search C1" % who)
        r = w.api.call("POST", docs_path(w.C1), who, one)
        if r.status != 403:
            fails.append("%s pushing: %d (want 403)" % (who, r.status))
        check_error_shape(r, fails, "%s push" % who)
    if count_super(suite, "documents", "external_id = 'v'"):
        fails.append("a refused push wrote a document")
    assert not fails, "\n  ".join([""] + fails)


def test_personal_documents(suite):
    w = world(suite)
    api = w.api
    doc = {"external_id": "u-diary", "title": "My diary",
           "text": "Only I may read this %s note." % PWORD}
    # Pushing personal documents needs a credential carrying its user.
    for who in (w.k_u_c1, w.k_c1):
        r = api.call("POST", docs_path(w.C1) + "?personal=1", who, {"documents": [doc]})
        assert r.status == 403, "%s pushing personal: %d %s" % (who, r.status, r.body[:200])
    r = push(api, w.u, w.C1, [doc], personal=True)
    assert r["added"] == 1, r
    r = push(api, w.k_u_c1_pers, w.C1, [dict(doc, external_id="u-diary-2")], personal=True)
    assert r["added"] == 1, r
    assert count_super(suite, "documents", "external_id LIKE 'u-diary%%' AND owner_user = "
                       "'%s'" % w.u.user_id) == 2
    fails = []
    sees = [w.u, w.k_u_pers, w.k_u_c1_pers]
    blind = [w.owner, w.admin, w.m2, w.viewer, w.k_u_org, w.k_u_c1, w.k_c1, w.k_c1_r,
             w.k_org, w.k_admin, w.k_m2_pers, w.b_owner, w.kb]
    doc_id = None
    for who in sees:
        for mode in MODES:
            for coll in (None, w.C1):
                res = search(api, who, PWORD, coll, mode, limit=100)
                got = ext_ids(res) & {"u-diary", "u-diary-2"}
                if got != {"u-diary", "u-diary-2"}:
                    fails.append("%s %s %s: finds %s of U's personal documents" % (
                        who, mode, coll, sorted(got)))
                for x in res:
                    if x["external_id"] == "u-diary":
                        doc_id = x["document_id"]
    assert doc_id, "U cannot find its own personal document"
    if api.call("GET", docs_path(w.C1, doc_id), w.u).status != 200:
        fails.append("U cannot GET its personal document")
    for who in blind:
        for mode in MODES:
            for coll in (None, w.C1):
                r = search(api, who, PWORD, coll, mode, limit=100, want=None)
                if r.status == 200:
                    if {"u-diary", "u-diary-2"} & ext_ids(r.json()["results"]):
                        fails.append("%s %s %s: sees U's personal document" % (who, mode, coll))
                elif r.status not in (403, 404):
                    fails.append("%s %s %s: %d" % (who, mode, coll, r.status))
                if PWORD.encode() in r.body:
                    fails.append("%s %s %s: the personal word is in the answer" % (
                        who, mode, coll))
        r = api.call("GET", docs_path(w.C1, doc_id), who)
        if r.status != 404:
            fails.append("%s GET U's personal document: %d" % (who, r.status))
        # The status is test_delete_missing_is_404's business; here, that
        # the document survives.
        api.call("DELETE", docs_path(w.C1, doc_id), who)
    if count_super(suite, "documents", "id = '%s'" % doc_id) != 1:
        fails.append("U's personal document was deleted by someone else")
    # Others' personal documents stay theirs: m2's is invisible to U.
    push(api, w.m2, w.C1, [{"external_id": "m2-note", "text": "m2 writes quillerbost"}],
         personal=True)
    for who in (w.u, w.k_u_pers, w.owner):
        if search(api, who, "quillerbost", None, "keyword"):
            fails.append("%s sees m2's personal document" % who)
    if "m2-note" not in ext_ids(search(api, w.m2, "quillerbost", None, "keyword")):
        fails.append("m2 does not see its own personal document")
    assert not fails, "\n  ".join([""] + fails)


def test_personal_external_id_clash(suite):
    """Another person pushing the external id of U's personal document
    (unique per collection and source, whoever owns it) must neither fail
    with a 5xx (which tells them the hidden document exists) nor touch it."""
    w = world(suite)
    api = w.api
    push(api, w.u, w.C1, [{"external_id": "clash", "text": "U's own secret plinthorb"}],
         personal=True)
    fails = []
    for who, personal in ((w.m2, True), (w.k_c1, False)):
        path = docs_path(w.C1) + ("?personal=1" if personal else "")
        r = api.call("POST", path, who, {"documents": [
            {"external_id": "clash", "text": "someone else's text"}]})
        if r.status >= 500:
            fails.append("POST %s as %s with U's personal external id: %d %s" % (
                path, who, r.status, r.body[:120]))
    if not search(api, w.u, "plinthorb", w.C1, "keyword"):
        fails.append("U's personal document changed")
    assert not fails, "\n  ".join([""] + fails)


# -- the database ---------------------------------------------------------
def test_row_level_security(suite):
    w = world(suite)
    fails = []
    for t in TABLES:
        total = count_super(suite, t)
        if total == 0:
            fails.append("%s is empty for the superuser: the check proves nothing" % t)
        for role in ("ballast_index", "ballast"):
            n = psql_as(suite, role, "SELECT count(*) FROM %s" % t)
            if n != "0":
                fails.append("%s as %s with no scope: %s rows (of %d)" % (t, role, n, total))
    # The policy itself: one collection, no owner = its shared rows only.
    for t in TABLES:
        want = count_super(suite, t, "collection_id = '%s' AND owner_user IS NULL" % w.C1)
        got = psql_as(suite, "ballast_index", "BEGIN; SET LOCAL ballast.collections = '%s'; "
                      "SELECT count(*) FROM %s; COMMIT" % (w.C1, t)).split("\n")
        got = [x for x in got if x.isdigit()]
        if got != [str(want)]:
            fails.append("%s scoped to C1: %s rows, want %d" % (t, got, want))
    # And it holds for writes: no insert outside the scope.
    r = subprocess.run(["psql", "-h", os.path.join(suite.dir, "pg", "run"), "-U",
                        "ballast_index", "ballast", "-Atc",
                        "INSERT INTO documents (collection_id, external_id, content_hash) "
                        "VALUES ('%s', 'rls', decode(repeat('00', 32), 'hex'))" % w.C1],
                       capture_output=True, text=True, timeout=30)
    if r.returncode == 0 or "row-level security" not in r.stderr:
        fails.append("insert with no scope: rc %d %s" % (r.returncode, r.stderr.strip()))
    assert not fails, "\n  ".join([""] + fails)


# -- bad input ------------------------------------------------------------
def test_bad_input(suite):
    w = world(suite)
    api = w.api
    fails = []
    path = docs_path(w.C1)
    good = [{"external_id": "bad-%d" % i, "text": "halfwritten %d" % i} for i in range(3)]
    big_text = "a " * (2 * 1024 * 1024) + "b"          # 4 MiB + 1 byte
    cases = [
        ("malformed JSON", path, b'{"documents": [', (400,)),
        ("not an object", path, b'[1, 2]', (400,)),
        ("documents not an array", path, {"documents": {"a": 1}}, (400,)),
        ("no documents", path, {"documents": []}, (400,)),
        ("unknown top-level member", path, {"documents": good, "x": 1}, (400,)),
        ("external_id a number", path, {"documents": [{"external_id": 5, "text": "t"}]}, (400,)),
        ("text missing", path, {"documents": [{"external_id": "t"}]}, (400,)),
        ("metadata an array", path, {"documents": [{"external_id": "t", "text": "t",
                                                    "metadata": [1]}]}, (400,)),
        ("unknown field", path, {"documents": [{"external_id": "t", "text": "t",
                                                "body": "t"}]}, (400,)),
        ("bad source", path, {"documents": [{"external_id": "t", "text": "t",
                                             "source": "a b"}]}, (400,)),
        ("bad updated_at", path, {"documents": [{"external_id": "t", "text": "t",
                                                 "updated_at": "yesterday"}]}, (400,)),
        ("NUL in text", path, b'{"documents":[{"external_id":"t","text":"a\\u0000b"}]}', (400,)),
        ("duplicate keys", path, b'{"documents":[{"external_id":"t","external_id":"u",'
         b'"text":"t"}]}', (400,)),
        ("1001 documents", path, {"documents": [{"external_id": "m%d" % i, "text": "t"}
                                                for i in range(1001)]}, (400,)),
        ("text over 4 MiB", path, {"documents": [{"external_id": "big", "text": big_text}]},
         (400, 413)),
        ("external_id over 512 bytes", path, {"documents": [{"external_id": "x" * 513,
                                                             "text": "t"}]}, (400,)),
        ("invalid UTF-8 text", path, b'{"documents":[{"external_id":"u8","text":"bad \xff\xfe"}]}',
         (400,)),
        ("invalid UTF-8 id", path, b'{"documents":[{"external_id":"\xc3\x28","text":"t"}]}',
         (400,)),
        ("overlong UTF-8", path, b'{"documents":[{"external_id":"\xc0\xafx","text":"t"}]}',
         (400,)),
        ("one bad document of four", path, {"documents": good + [{"external_id": "",
                                                                   "text": "t"}]}, (400,)),
    ]
    spath = "/v1/collections/%s/search" % w.C1
    cases += [
        ("search: malformed JSON", spath, b'{"query": ', (400,)),
        ("search: query a number", spath, {"query": 5}, (400,)),
        ("search: query empty", spath, {"query": ""}, (400,)),
        ("search: query over 1024 bytes", spath, {"query": "q" * 1025}, (400,)),
        ("search: limit a string", spath, {"query": "x", "limit": "5"}, (400,)),
        ("search: limit 101", spath, {"query": "x", "limit": 101}, (400,)),
        ("search: offset -1", spath, {"query": "x", "offset": -1}, (400,)),
        ("search: unknown mode", spath, {"query": "x", "mode": "fuzzy"}, (400,)),
        ("search: unknown member", spath, {"query": "x", "colour": "red"}, (400,)),
        ("search: filters not an object", spath, {"query": "x", "filters": []}, (400,)),
        ("search: unknown filter", spath, {"query": "x", "filters": {"owner": "me"}}, (400,)),
        ("search: bad date filter", spath, {"query": "x", "filters": {
            "updated_after": "2024-13-01T00:00:00Z"}}, (400,)),
        ("search: metadata filter not an object", spath, {"query": "x", "filters": {
            "metadata": "team"}}, (400,)),
        ("search: invalid UTF-8", spath, b'{"query":"caf\xe9"}', (400,)),
        ("search everywhere: malformed", "/v1/search", b'{', (400,)),
    ]
    before = count_super(suite, "documents", "collection_id = '%s'" % w.C1)
    for what, p, body, want in cases:
        h = dict(w.k_c1.header)
        if isinstance(body, bytes):
            h["Content-Type"] = "application/json"
        r = api.call("POST", p, h, body)
        if r.status not in want:
            fails.append("%s: %d (want %s) %s" % (what, r.status, want, r.body[:150]))
        else:
            check_error_shape(r, fails, what)
    # Bodies that are not JSON: 415, before any authorization work.
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx", None):
        h = dict(w.k_c1.header)
        if ct:
            h["Content-Type"] = ct
        r = api.call("POST", path, h, json.dumps({"documents": good}).encode())
        if r.status != 415:
            fails.append("Content-Type %s: %d (want 415)" % (ct, r.status))
        else:
            check_error_shape(r, fails, "Content-Type %s" % ct)
    # A body over the front's limit (16 MiB by default): 413.
    h = dict(w.k_c1.header, **{"Content-Type": "application/json"})
    try:
        r = api.call("POST", path, h, b'{"documents":["' + b"x" * (17 * 1024 * 1024) + b'"]}')
        if r.status != 413:
            fails.append("a 17 MiB body: %d (want 413)" % r.status)
    except OSError:
        pass                # the front may close the connection while we send
    after = count_super(suite, "documents", "collection_id = '%s'" % w.C1)
    if after != before:
        fails.append("refused batches wrote %d documents" % (after - before))
    # A batch the parser accepts but the database refuses (year 0000)
    # is one transaction: the good documents before it are not kept.
    r = api.call("POST", path, w.k_c1, {"documents": good + [
        {"external_id": "bad-year", "text": "t", "updated_at": "0000-01-01T00:00:00Z"}]})
    if r.status < 400:
        fails.append("a batch with year 0000: %d" % r.status)
    else:
        check_error_shape(r, fails, "year 0000")
    if count_super(suite, "documents", "collection_id = '%s'" % w.C1) != before:
        fails.append("a batch refused by the database was half-written")
    if count_super(suite, "chunks", "text LIKE 'halfwritten%%'"):
        fails.append("chunks of a refused batch were written")
    if search(api, w.k_c1, "halfwritten", w.C1, "keyword") or any(
            x["external_id"].startswith("bad-") for x in
            search(api, w.k_c1, "halfwritten", w.C1, "vector", limit=100)):
        fails.append("a refused batch is searchable")
    # Still serving.
    if not search(api, w.k_c1, "zorblaxian", w.C1):
        fails.append("search fails after the bad input")
    assert not fails, "\n  ".join([""] + fails)


def test_bad_dates_are_400(suite):
    """Dates the parser accepts but PostgreSQL refuses are the client's
    fault: 400, not 500."""
    w = world(suite)
    fails = []
    for d in ("2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z"):
        r = w.api.call("POST", docs_path(w.C1), w.k_c1, {"documents": [
            {"external_id": "date", "text": "t", "updated_at": d}]})
        if r.status != 400:
            fails.append("updated_at %s: %d %s (want 400)" % (d, r.status, r.body[:100]))
        r = search(w.api, w.k_c1, "x", w.C1, filters={"updated_after": d}, want=None)
        if r.status not in (200, 400):
            fails.append("filters.updated_after %s: %d %s (want 400)" % (
                d, r.status, r.body[:100]))
    assert not fails, "\n  ".join([""] + fails)


# -- retrieval quality ----------------------------------------------------
# nDCG@10 and Recall@100 each mode reaches on tests/bench/data/tiny.
# Measured 2026-11-29: vector and hybrid 1.00 / 1.00, keyword 0.667 /
# 0.667.  Keyword mode is websearch_to_tsquery, which ANDs every word:
# q1 "how do bees tell each other where flowers are" and q3 "why do
# corals turn white" match no document at all (no document holds every
# word), so keyword mode is held to what it does, 4 of 6.
TINY_MIN = {"keyword": (0.65, 0.65), "vector": (0.8, 1.0), "hybrid": (0.8, 1.0)}


def test_ir_eval_tiny(suite):
    w = world(suite)
    coll = w.api.ok("POST", "/v1/orgs/%s/collections" % w.A, w.owner, {"name": "tiny"},
                    want=(201,))["id"]
    key = w.api.new_key(w.owner, w.A, "ir-eval", "read-write", coll)["key"]
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "tiny.json")
        r = subprocess.run([sys.executable, os.path.join(harness.TOP, "tests", "bench", "ir-eval"),
                            "--url", "https://localhost:%d" % suite.port, "--cacert", suite.cert,
                            "--key", key, "--collection", coll, "--json", out,
                            os.path.join(harness.TOP, "tests", "bench", "data", "tiny")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, "ir-eval: %s %s" % (r.stdout, r.stderr)
        with open(out) as f:
            got = json.load(f)
    fails = []
    for mode, (ndcg, recall) in TINY_MIN.items():
        if got[mode]["queries"] != 6:
            fails.append("%s: %d queries evaluated, want 6" % (mode, got[mode]["queries"]))
        if got[mode]["ndcg@10"] < ndcg:
            fails.append("%s: nDCG@10 %.3f < %.2f" % (mode, got[mode]["ndcg@10"], ndcg))
        if got[mode]["recall@100"] < recall:
            fails.append("%s: Recall@100 %.3f < %.2f" % (mode, got[mode]["recall@100"], recall))
    assert not fails, "\n  ".join([""] + fails) + "\n" + r.stdout

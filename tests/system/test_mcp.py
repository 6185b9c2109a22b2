"""Issue 9: MCP on the HTTPS listener (POST /mcp), against the real suite.

Two halves.  The official clients from npm (tests/mcp: the v1 SDK, the v2
client in each era, the Inspector CLI), pinned in package-lock.json and
installed with `npm ci` into the build folder, connect, list the tools,
call each tool and read resources for a collection-scoped key, an
org-wide key and a user-scoped key, and must see exactly the documents
each key may read.  Then raw HTTP: every malformed or refused message
gets the spec's status and JSON-RPC error and nothing else.

Node 20 and npm are required: without them this test fails, it does not
skip.
"""
import hashlib
import json
import os
import shutil
import subprocess

import harness
from authlib import Api, bearer

ALLOWED_ORIGIN = "https://allowed.example"
CONF = 'mcp origin "%s"\n' % ALLOWED_ORIGIN

PW = "correct horse battery staple"
WORD = "quokkafest"
MCP_DIR = os.path.join(harness.TOP, "tests", "mcp")
LEGACY = "2025-11-25"
MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"


# -- the npm clients -------------------------------------------------------
def check_node():
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AssertionError("%s is not installed: the MCP tests need "
                                 "Node 20 and npm" % tool)
    v = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    if int(v.strip().lstrip("v").split(".")[0]) < 20:
        raise AssertionError("node %s is too old: the MCP tests need Node 20" % v.strip())


def node_dir(sub=""):
    """tests/mcp[/sub]'s pinned packages in the build folder, once per lock.

    The clients install with `npm ci`.  The Inspector's lock cannot: one
    of vite's optional dependencies is not on the registry at all, which
    `npm install` skips and `npm ci` calls out of sync; so it gets
    `npm install` from a copy, which follows the lock as it is.
    """
    check_node()
    src = os.path.join(MCP_DIR, sub)
    d = os.path.join(harness.BUILD, "mcp-node", sub)
    with open(os.path.join(src, "package-lock.json"), "rb") as f:
        stamp = hashlib.sha256(f.read()).hexdigest()
    sf = os.path.join(d, ".lock-sha256")
    if os.path.exists(sf) and open(sf).read() == stamp and \
            os.path.isdir(os.path.join(d, "node_modules")):
        return d
    os.makedirs(d, exist_ok=True)
    for f in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(src, f), d)
    env = dict(os.environ, HOME=os.path.join(d, "home"),
               npm_config_cache=os.path.join(d, "npm-cache"))
    cmd = ["npm", "install" if sub else "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    r = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise AssertionError("%s in %s failed:\n%s" % (" ".join(cmd), d, r.stderr[-3000:]))
    with open(sf, "w") as f:
        f.write(stamp)
    return d


def node_env(suite, d):
    return dict(os.environ, HOME=os.path.join(d, "home"),
                NODE_EXTRA_CA_CERTS=suite.cert, NO_COLOR="1")


def run_client(suite, key, mode, plan):
    d = node_dir()
    shutil.copy(os.path.join(MCP_DIR, "client.mjs"), d)
    env = node_env(suite, d)
    env["KEY"] = key
    r = subprocess.run(["node", os.path.join(d, "client.mjs"), url(suite), mode],
                       input=json.dumps(plan), cwd=d, env=env, capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("client.mjs %s exited %d:\n%s" % (mode, r.returncode,
                                                               r.stderr[-3000:]))
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if "connect" in out:
        raise AssertionError("client.mjs %s could not connect: %s" % (mode, out["connect"]))
    return out


def url(suite):
    return "https://localhost:%d/mcp" % suite.port


# -- the world -------------------------------------------------------------
class World:
    pass


_world = {}


def world(suite):
    """Org A (C1, C2, a personal document), org B (CB), and three keys."""
    if suite in _world:
        return _world[suite]
    w = World()
    api = w.api = Api(suite)
    _, w.A = api.bootstrap("mcp-owner@a.test", PW, "McpOrgA")
    owner = w.owner = api.session("owner", "mcp-owner@a.test", PW)
    w.C1 = api.ok("POST", "/v1/orgs/%s/collections" % w.A, owner, {"name": "C1"})["id"]
    w.C2 = api.ok("POST", "/v1/orgs/%s/collections" % w.A, owner, {"name": "C2"})["id"]

    def push(coll, who, xid, personal=False):
        path = "/v1/collections/%s/documents" % coll + ("?personal=1" if personal else "")
        api.ok("POST", path, who, {"documents": [{
            "external_id": xid, "title": "title " + xid,
            "text": "%s document %s, plain text" % (WORD, xid)}]}, want=(200,))

    push(w.C1, owner, "c1-a")
    push(w.C1, owner, "c1-b")
    push(w.C2, owner, "c2-a")
    push(w.C1, owner, "mine", personal=True)
    _, w.B = api.bootstrap("mcp-owner@b.test", PW, "McpOrgB")
    bown = api.session("bowner", "mcp-owner@b.test", PW)
    w.CB = api.ok("POST", "/v1/orgs/%s/collections" % w.B, bown, {"name": "CB"})["id"]
    push(w.CB, bown, "cb-a")
    # Each owner's session reads everything of its organization.
    w.doc = {}
    for who in (owner, bown):
        r = api.ok("POST", "/v1/search", who, {"query": WORD, "limit": 100}, want=(200,))
        w.doc.update({h["external_id"]: h["document_id"] for h in r["results"]})
    assert set(w.doc) == {"c1-a", "c1-b", "c2-a", "mine", "cb-a"}, w.doc
    w.keys = {
        "collection": api.new_key(owner, w.A, "mcp-c1", "read", w.C1)["key"],
        "org": api.new_key(owner, w.A, "mcp-org", "read")["key"],
        "user": api.new_key(owner, w.A, "mcp-user", "read-write",
                            include_personal=True)["key"],
    }
    # What each may read: documents, and collections.
    w.sees = {
        "collection": {"c1-a", "c1-b"},
        "org": {"c1-a", "c1-b", "c2-a"},
        "user": {"c1-a", "c1-b", "c2-a", "mine"},
    }
    w.colls = {"collection": {w.C1}, "org": {w.C1, w.C2}, "user": {w.C1, w.C2}}
    _world[suite] = w
    return w


def plan(w):
    every = sorted(w.doc.values())
    return {"search": [{"query": WORD, "limit": 100},
                       {"query": WORD, "limit": 100, "collection": w.C1},
                       {"query": WORD, "limit": 100, "collection": w.C2,
                        "mode": "keyword"},
                       {"query": WORD, "bogus": 1}],
            "fetch": every, "read": ["ballast://documents/" + i for i in every] +
            ["ballast://nothing/here"], "list": True, "unknownTool": True}


def check_client(w, who, out, era):
    by_id = {v: k for k, v in w.doc.items()}
    sees = w.sees[who]
    fails = []
    if out["tools"] != ["search", "fetch", "list_collections"]:
        fails.append("tools: %s" % out["tools"])
    for t in out["tools"]:
        s = out["schemas"][t]
        if s["input"].get("type") != "object" or (s["output"] or {}).get("type") != "object":
            fails.append("%s: schemas %s" % (t, s))
    s_all, s_c1, s_c2, s_bad = out["search"]
    for name, r in (("all", s_all), ("C1", s_c1), ("C2", s_c2)):
        if r.get("error") or r["isError"] and not (name == "C2" and who == "collection"):
            fails.append("search %s: %s" % (name, r))
    got = {by_id[h["document_id"]] for h in s_all["structured"]["results"]}
    if got != sees:
        fails.append("search everywhere found %s, may read %s" % (sorted(got), sorted(sees)))
    if json.loads(s_all["text"]) != s_all["structured"]:
        fails.append("search: the text is not the structured content")
    for h in s_all["structured"]["results"]:
        if h["uri"] != "ballast://documents/" + h["document_id"]:
            fails.append("search: uri %s" % h["uri"])
    got = {by_id[h["document_id"]] for h in s_c1["structured"]["results"]}
    want = {d for d in sees if d.startswith("c1") or d == "mine"}
    if got != want:
        fails.append("search C1 found %s, wanted %s" % (sorted(got), sorted(want)))
    if who == "collection":
        if not s_c2.get("isError") or "no such collection" not in s_c2["text"]:
            fails.append("search C2 with a C1 key: %s" % s_c2)
    else:
        got = {by_id[h["document_id"]] for h in s_c2["structured"]["results"]}
        if got != {"c2-a"}:
            fails.append("search C2 found %s" % sorted(got))
    if not s_bad.get("isError") or "unknown member" not in (s_bad["text"] or ""):
        fails.append("search with a bogus argument: %s" % s_bad)
    for xid, r in zip(sorted(w.doc, key=lambda k: w.doc[k]), out["fetch"]):
        if xid in sees:
            st = r.get("structured") or {}
            if r.get("isError") or st.get("id") != w.doc[xid] or WORD not in st.get("text", ""):
                fails.append("fetch %s: %s" % (xid, r))
        elif not r.get("isError") or "no such document" not in (r["text"] or ""):
            fails.append("fetch %s (not readable) answered %s" % (xid, r))
    got = {c["id"] for c in out["list"]["structured"]["collections"]}
    if got != w.colls[who]:
        fails.append("list_collections: %s, wanted %s" % (got, w.colls[who]))
    if not out["unknownTool"].get("error") or out["unknownTool"]["code"] != -32602:
        fails.append("unknown tool: %s" % out["unknownTool"])
    not_found = -32602 if era == MODERN else -32002
    for xid, r in zip(sorted(w.doc, key=lambda k: w.doc[k]), out["read"]):
        if xid in sees:
            if r.get("error") or WORD not in r["text"] or r["mimeType"] != "text/plain":
                fails.append("read %s: %s" % (xid, r))
        elif not r.get("error") or r["code"] != not_found:
            fails.append("read %s (not readable): %s" % (xid, r))
    if not out["read"][-1].get("error") or out["read"][-1]["code"] != not_found:
        fails.append("read of a foreign uri: %s" % out["read"][-1])
    assert not fails, "%s key:\n  " % who + "\n  ".join(fails)


# -- the official clients ----------------------------------------------------
def test_sdk_v1_each_key(suite):
    w = world(suite)
    for who, key in w.keys.items():
        out = run_client(suite, key, "v1", plan(w))
        assert out["server"]["name"] == "ballast", out["server"]
        assert out.get("ping") is True
        check_client(w, who, out, LEGACY)


def test_client_v2_eras(suite):
    w = world(suite)
    for mode, era in (("legacy", LEGACY), ("auto", MODERN), ("pin", MODERN)):
        for who in ("collection", "user"):
            out = run_client(suite, w.keys[who], mode, plan(w))
            assert out["negotiated"] == era, (mode, out["negotiated"])
            check_client(w, who, out, era)


def test_rest_twin_of_list_collections(suite):
    w = world(suite)
    for who, key in w.keys.items():
        r = w.api.ok("GET", "/v1/collections", bearer(key), want=(200,))
        assert {c["id"] for c in r["collections"]} == w.colls[who], (who, r)
    r = w.api.ok("GET", "/v1/collections", w.owner, want=(200,))
    assert {c["id"] for c in r["collections"]} == {w.C1, w.C2}
    assert all(c["role"] == "owner" and c["org_id"] == w.A for c in r["collections"])


def inspector(suite, key, *args):
    d = node_dir("inspector")
    env = node_env(suite, d)
    cmd = [os.path.join(d, "node_modules", ".bin", "mcp-inspector"), "--cli", url(suite),
           "--transport", "http", "--header", "Authorization: Bearer %s" % key] + list(args)
    return subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True, timeout=120)


def test_inspector_cli(suite):
    w = world(suite)
    key = w.keys["collection"]
    for era in ("legacy", "modern"):
        r = inspector(suite, key, "--protocol-era", era, "--method", "tools/list",
                      "--format", "json", "-q")
        assert r.returncode == 0, (era, r.returncode, r.stderr[-2000:])
        names = [t["name"] for t in json.loads(r.stdout)["result"]["tools"]]
        assert names == ["search", "fetch", "list_collections"], names
        r = inspector(suite, key, "--protocol-era", era, "--method", "tools/call",
                      "--tool-name", "search", "--tool-args-json",
                      json.dumps({"query": WORD, "limit": 100}), "--format", "json", "-q")
        assert r.returncode == 0, (era, r.returncode, r.stderr[-2000:])
        hits = json.loads(r.stdout)["result"]["structuredContent"]["results"]
        assert {h["document_id"] for h in hits} == {w.doc["c1-a"], w.doc["c1-b"]}, hits
        r = inspector(suite, key, "--protocol-era", era, "--method", "resources/read",
                      "--uri", "ballast://documents/" + w.doc["c1-a"], "--format", "json", "-q")
        assert r.returncode == 0 and WORD in r.stdout, (era, r.returncode, r.stderr[-2000:])
        r = inspector(suite, key, "--protocol-era", era, "--method", "tools/call",
                      "--tool-name", "fetch", "--tool-args-json",
                      json.dumps({"id": w.doc["c2-a"]}), "--format", "json", "-q")
        assert r.returncode == 5, ("isError must exit 5", era, r.returncode, r.stdout)
    r = inspector(suite, "blst_wrong_key", "--method", "tools/list", "-q")
    assert r.returncode == 3, ("a 401 must exit 3", r.returncode, r.stderr[-1000:])


# -- raw HTTP: the spec's answer and nothing else --------------------------
def post(suite, body, key=None, headers=None, ctype="application/json", accept=ACCEPT,
         method="POST"):
    h = {}
    if ctype is not None:
        h["Content-Type"] = ctype
    if accept is not None:
        h["Accept"] = accept
    if key is not None:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return suite.request(method, "/mcp", body=body, headers=h)


def rpc_error(r, status, code, id=None):
    """Exactly {"jsonrpc":"2.0","id":id,"error":{"code","message"[,"data"]}}."""
    assert r.status == status, (r.status, status, r.body[:300])
    assert r.header("Content-Type") == "application/json", r.headers
    b = r.json()
    assert set(b) == {"jsonrpc", "id", "error"} and b["jsonrpc"] == "2.0", b
    assert b["id"] == id, b
    assert b["error"]["code"] == code and isinstance(b["error"]["message"], str), b
    assert set(b["error"]) <= {"code", "message", "data"}, b
    assert r.header("Mcp-Session-Id") is None
    return b["error"]


def rpc_result(r, id, status=200):
    assert r.status == status, (r.status, r.body[:300])
    b = r.json()
    assert set(b) == {"jsonrpc", "id", "result"} and b["id"] == id, b
    return b["result"]


def req(method, id=1, params=None):
    m = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        m["params"] = params
    return m


def modern(method, id=1, params=None, version=MODERN, **hdr):
    p = dict(params or {})
    p["_meta"] = {"io.modelcontextprotocol/protocolVersion": version,
                  "io.modelcontextprotocol/clientCapabilities": {},
                  "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"}}
    h = {"MCP-Protocol-Version": version, "Mcp-Method": method}
    h.update(hdr)
    return req(method, id, p), h


def test_methods_other_than_post(suite):
    w = world(suite)
    for m in ("GET", "DELETE"):
        r = suite.request(m, "/mcp", headers={"Authorization": "Bearer " + w.keys["org"],
                                              "Accept": "text/event-stream"})
        assert r.status == 405 and r.header("Allow") == "POST", (m, r.status, r.headers)


def test_credentials(suite):
    w = world(suite)
    init = req("initialize", 1, {"protocolVersion": LEGACY, "capabilities": {},
                                 "clientInfo": {"name": "t", "version": "0"}})
    r = post(suite, init)
    rpc_error(r, 401, -32600)
    assert r.header("WWW-Authenticate") == 'Bearer realm="ballast"', r.headers
    for bad in ({"Authorization": "Bearer blst_aaaaaaaaaaaaaaaa_" + "A" * 43},
                {"X-API-Key": "nonsense"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        r = post(suite, init, headers=bad)
        rpc_error(r, 401, -32600, None if "Basic" in str(bad) else 1)
        assert r.header("WWW-Authenticate") == \
            'Bearer realm="ballast", error="invalid_token"', (bad, r.headers)
    # X-API-Key works as the Bearer does; a tool call is checked the same way
    r = post(suite, init, headers={"X-API-Key": w.keys["org"]})
    assert rpc_result(r, 1)["protocolVersion"] == LEGACY
    call = req("tools/call", 2, {"name": "list_collections", "arguments": {}})
    r = post(suite, call, headers={"X-API-Key": "blst_aaaaaaaaaaaaaaaa_" + "A" * 43})
    rpc_error(r, 401, -32600, 2)


def test_origin(suite):
    w = world(suite)
    k = w.keys["org"]
    r = post(suite, req("ping"), k, headers={"Origin": "http://evil.example"})
    rpc_error(r, 403, -32600)
    r = post(suite, req("ping"), k, headers={"Origin": "https://allowed.example.evil"})
    rpc_error(r, 403, -32600)
    r = post(suite, req("ping"), k, headers={"Origin": ALLOWED_ORIGIN})
    assert rpc_result(r, 1) == {}
    # before the credential: a foreign page learns nothing else
    r = post(suite, req("ping"), None, headers={"Origin": "http://evil.example"})
    rpc_error(r, 403, -32600)


def test_transport_refusals(suite):
    w = world(suite)
    k = w.keys["org"]
    rpc_error(post(suite, req("ping"), k, ctype="text/plain"), 415, -32600)
    rpc_error(post(suite, req("ping"), k, ctype=None), 415, -32600)
    rpc_error(post(suite, req("ping"), k, accept=None), 406, -32600)
    rpc_error(post(suite, req("ping"), k, accept="text/event-stream"), 406, -32600)
    rpc_error(post(suite, req("ping"), k, accept="application/json;q=0"), 406, -32600)
    assert rpc_result(post(suite, req("ping"), k, accept="application/json"), 1) == {}
    big = {"jsonrpc": "2.0", "id": 1, "method": "ping",
           "params": {"pad": "x" * (1024 * 1024)}}
    rpc_error(post(suite, big, k), 413, -32600)


def test_malformed_json_rpc(suite):
    k = world(suite).keys["org"]
    rpc_error(post(suite, "{not json", k), 400, -32700)
    rpc_error(post(suite, "", k), 400, -32700)
    rpc_error(post(suite, '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}', k), 400, -32700)
    rpc_error(post(suite, '"just a string"', k), 400, -32600)
    rpc_error(post(suite, {"jsonrpc": "1.0", "id": 7, "method": "ping"}, k), 400, -32600, 7)
    rpc_error(post(suite, {"jsonrpc": "2.0", "id": None, "method": "ping"}, k), 400, -32600)
    rpc_error(post(suite, {"jsonrpc": "2.0", "id": 1.5, "method": "ping"}, k), 400, -32600)
    rpc_error(post(suite, {"jsonrpc": "2.0", "id": 3, "method": 5}, k), 400, -32600, 3)
    rpc_error(post(suite, {"jsonrpc": "2.0", "id": 3, "method": "ping", "params": [1]}, k),
              400, -32600, 3)
    rpc_error(post(suite, {"jsonrpc": "2.0", "id": 3, "method": "ping", "extra": 1}, k),
              400, -32600, 3)
    rpc_error(post(suite, {"jsonrpc": "2.0", "id": 4}, k), 400, -32600, 4)
    # batches, small or abusive, are refused whole: nothing in them runs
    rpc_error(post(suite, [req("ping", 1), req("ping", 2)], k), 400, -32600)
    rpc_error(post(suite, [req("tools/list", i) for i in range(5000)], k), 400, -32600)
    rpc_error(post(suite, [], k), 400, -32600)
    # deep nesting is a parse error, not a crash
    rpc_error(post(suite, "[" * 100000 + "]" * 100000, k), 400, -32700)
    # unknown methods: 200 in the legacy era, 404 in the modern one
    rpc_error(post(suite, req("no/such", 9), k), 200, -32601, 9)
    m, h = modern("no/such", 9)
    rpc_error(post(suite, m, k, headers=h), 404, -32601, 9)


def test_legacy_handshake(suite):
    k = world(suite).keys["org"]
    hdr = {"MCP-Protocol-Version": LEGACY}
    for asked, got in ((LEGACY, LEGACY), ("2025-06-18", "2025-06-18"),
                       ("2024-01-01", LEGACY)):
        res = rpc_result(post(suite, req("initialize", "a", {
            "protocolVersion": asked, "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}), k), "a")
        assert res["protocolVersion"] == got, res
        assert res["serverInfo"]["name"] == "ballast" and "tools" in res["capabilities"]
    r = post(suite, {"jsonrpc": "2.0", "method": "notifications/initialized"}, k, headers=hdr)
    assert r.status == 202 and r.body == b"", (r.status, r.body)
    assert r.header("Mcp-Session-Id") is None
    r = post(suite, {"jsonrpc": "2.0", "id": 5, "result": {}}, k, headers=hdr)
    assert r.status == 202 and r.body == b""
    assert rpc_result(post(suite, req("ping", 2), k, headers=hdr), 2) == {}
    rpc_error(post(suite, req("initialize", 1, {}), k), 200, -32602, 1)
    e = rpc_error(post(suite, req("ping", 2), k, headers={"MCP-Protocol-Version": "1999-01-01"}),
                  400, -32022, 2)
    assert MODERN in e["data"]["supported"] and LEGACY in e["data"]["supported"]
    # the modern header without _meta does not say which era this is
    rpc_error(post(suite, req("ping", 2), k, headers={"MCP-Protocol-Version": MODERN}),
              400, -32020, 2)
    # a notification with a bad credential is not taken
    r = post(suite, {"jsonrpc": "2.0", "method": "notifications/initialized"}, "blst_x")
    assert r.status == 401


def test_modern_requests(suite):
    w = world(suite)
    k = w.keys["collection"]
    res = rpc_result(post(suite, req("server/discover", "server-discover-probe-1"), k),
                     "server-discover-probe-1")
    assert MODERN in res["supportedVersions"] and res["resultType"] == "complete", res
    m, h = modern("tools/list")
    res = rpc_result(post(suite, m, k, headers=h), 1)
    assert [t["name"] for t in res["tools"]] == ["search", "fetch", "list_collections"]
    assert res["resultType"] == "complete" and res["cacheScope"] == "private"
    assert res["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "ballast"
    # ping and initialize are gone in 2026-07-28
    for gone in ("ping", "initialize"):
        m, h = modern(gone)
        rpc_error(post(suite, m, k, headers=h), 404, -32601, 1)
    # headers must agree with the body
    m, h = modern("tools/list")
    del h["MCP-Protocol-Version"]
    rpc_error(post(suite, m, k, headers=h), 400, -32020, 1)
    m, h = modern("tools/list")
    h["MCP-Protocol-Version"] = LEGACY
    rpc_error(post(suite, m, k, headers=h), 400, -32020, 1)
    m, h = modern("tools/list")
    h["Mcp-Method"] = "tools/call"
    rpc_error(post(suite, m, k, headers=h), 400, -32020, 1)
    m, h = modern("tools/list", version="2027-01-01")
    e = rpc_error(post(suite, m, k, headers=h), 400, -32022, 1)
    assert e["data"]["supported"][0] == MODERN, e
    args = {"name": "search", "arguments": {"query": WORD}}
    m, h = modern("tools/call", 3, args)
    rpc_error(post(suite, m, k, headers=h), 400, -32020, 3)          # no Mcp-Name
    h["Mcp-Name"] = "fetch"
    rpc_error(post(suite, m, k, headers=h), 400, -32020, 3)
    h["Mcp-Name"] = "=?base64?c2VhcmNo?="                             # "search"
    res = rpc_result(post(suite, m, k, headers=h), 3)
    assert res["isError"] is False and res["resultType"] == "complete"
    assert {x["document_id"] for x in res["structuredContent"]["results"]} == \
        {w.doc["c1-a"], w.doc["c1-b"]}
    uri = "ballast://documents/" + w.doc["c2-a"]
    m, h = modern("resources/read", 4, {"uri": uri}, **{"Mcp-Name": uri})
    rpc_error(post(suite, m, k, headers=h), 400, -32602, 4)


def test_tool_errors(suite):
    w = world(suite)
    k = w.keys["org"]

    def call(args, name="search", id=1):
        return post(suite, req("tools/call", id, {"name": name, "arguments": args}), k)
    for args, want in (({}, '"query"'), ({"query": ""}, '"query"'),
                       ({"query": WORD, "limit": 1000}, '"limit"'),
                       ({"query": WORD, "mode": "psychic"}, '"mode"'),
                       ({"query": WORD, "collection": 5}, '"collection"'),
                       ({"query": WORD, "collection": "not-a-uuid"}, "no such collection"),
                       ({"query": WORD, "collection": w.CB}, "no such collection")):
        res = rpc_result(call(args), 1)
        assert res["isError"] is True and want in res["content"][0]["text"], (args, res)
        assert "structuredContent" not in res
    res = rpc_result(call({"id": w.doc["cb-a"]}, "fetch"), 1)
    assert res["isError"] is True and "no such document" in res["content"][0]["text"]
    res = rpc_result(call({"id": "x", "more": 1}, "fetch"), 1)
    assert res["isError"] is True
    res = rpc_result(call({"x": 1}, "list_collections"), 1)
    assert res["isError"] is True
    rpc_error(post(suite, req("tools/call", 2, {"name": "search", "arguments": [1]}), k),
              200, -32602, 2)
    rpc_error(post(suite, req("resources/read", 3, {}), k), 200, -32602, 3)
    rpc_error(post(suite, req("resources/read", 3, {"uri": "ballast://documents/../x"}), k),
              200, -32002, 3)
    # a read-capped key reads through MCP; MCP has no way to write
    res = rpc_result(call({"query": WORD, "collection": w.C1}), 1)
    assert res["isError"] is False

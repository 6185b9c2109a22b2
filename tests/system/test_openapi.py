"""Issue 10: the OpenAPI 3.1 document (docs/openapi.json), served at
GET /v1/openapi.json, kept true to the server.

* The front serves exactly docs/openapi.json, without a credential.
* Every route of ballastd/front_routes.c's table is in the document with
  its method, and every path and method of the document is served: an
  unknown route is 404 "no such path" and a known path with another
  method 405, and no documented operation gets either.
* The document is well formed (operation ids, path parameters, $refs,
  an example for every request body and every 2xx answer), and every
  example validates against its schema with Ajv, a JSON Schema 2020-12
  validator (tests/openapi, pinned in package-lock.json, installed with
  `npm ci` into the build folder).
* Live: a user, organization, collection, key and document are made and
  a round of endpoints called; every answer's status must be one the
  document lists for the operation and its body must validate against
  the schema given for that status.

Node 20 and npm are required: without them this test fails, it does not
skip.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid

import harness
from authlib import Api, bearer

PW = "correct horse battery staple"
NODE_SRC = os.path.join(harness.TOP, "tests", "openapi")
DOC_PATH = os.path.join(harness.TOP, "docs", "openapi.json")
ROUTES_C = os.path.join(harness.TOP, "ballastd", "front_routes.c")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# -- the document and the route table --------------------------------------
def doc_bytes():
    with open(DOC_PATH, "rb") as f:
        return f.read()


def doc():
    return json.loads(doc_bytes())


def route_table():
    """(METHOD, pattern) of every line of front_routes.c's routes[]."""
    with open(ROUTES_C) as f:
        src = f.read()
    m = re.search(r"front_route\s+routes\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "no routes[] table in %s" % ROUTES_C
    # Whole-line comments only: the patterns themselves hold "/*".
    table = re.sub(r"(?m)^\s*/\*.*?\*/\s*$", "", m.group(1))
    routes = re.findall(r"HTTP_([A-Z]+)\s*,\s*\"([^\"]+)\"", table)
    assert len(routes) >= 30, routes
    return {(meth, pat) for meth, pat in routes}


def pattern_of(template):
    return re.sub(r"\{[^}/]+\}", "*", template)


def operations(d):
    for path, item in d["paths"].items():
        for meth, op in item.items():
            if meth in METHODS:
                yield path, meth, op


def resolve(d, obj):
    """Follow a local $ref (components/responses, parameters, ...)."""
    seen = 0
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        assert ref.startswith("#/"), "not a local $ref: %s" % ref
        cur = d
        for part in ref[2:].split("/"):
            assert isinstance(cur, dict) and part in cur, "dangling $ref %s" % ref
            cur = cur[part]
        obj = cur
        seen += 1
        assert seen < 10, "a $ref loop at %s" % ref
    return obj


def op_for(d, method, path):
    """The (template, operation) of the document that serves path."""
    path = path.split("?")[0]
    for tmpl, meth, op in operations(d):
        if meth != method.lower():
            continue
        rx = "^" + re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
        if re.match(rx, path):
            return tmpl, op
    raise AssertionError("%s %s is in no operation of the document" % (method, path))


def fill(tmpl):
    """A well-formed URL for a template: random ids of the right shape."""
    def one(m):
        return "abcdefghijklmnop" if m.group(1) == "key" else str(uuid.uuid4())
    return re.sub(r"\{([^}/]+)\}", one, tmpl)


# -- the validator ---------------------------------------------------------
def check_node():
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AssertionError("%s is not installed: the OpenAPI tests need "
                                 "Node 20 and npm" % tool)
    v = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    if int(v.strip().lstrip("v").split(".")[0]) < 20:
        raise AssertionError("node %s is too old: the OpenAPI tests need Node 20" %
                             v.strip())


def node_dir():
    """tests/openapi's pinned packages in the build folder, once per lock."""
    check_node()
    d = os.path.join(harness.BUILD, "openapi-node")
    with open(os.path.join(NODE_SRC, "package-lock.json"), "rb") as f:
        stamp = hashlib.sha256(f.read()).hexdigest()
    sf = os.path.join(d, ".lock-sha256")
    if not (os.path.exists(sf) and open(sf).read() == stamp and
            os.path.isdir(os.path.join(d, "node_modules"))):
        os.makedirs(d, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(NODE_SRC, f), d)
        env = dict(os.environ, HOME=os.path.join(d, "home"),
                   npm_config_cache=os.path.join(d, "npm-cache"))
        cmd = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        r = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True,
                           timeout=600)
        if r.returncode != 0:
            raise AssertionError("npm ci in %s failed:\n%s" % (d, r.stderr[-3000:]))
        with open(sf, "w") as f:
            f.write(stamp)
    shutil.copy(os.path.join(NODE_SRC, "validate.mjs"), d)
    return d


def validate(d, checks):
    """Ajv over [(name, schema, instance)]; the list of failures."""
    nd = node_dir()
    inp = {"document": d, "checks": [{"name": n, "schema": s, "instance": i}
                                     for n, s, i in checks]}
    r = subprocess.run(["node", os.path.join(nd, "validate.mjs")],
                       input=json.dumps(inp), cwd=nd, capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("validate.mjs exited %d:\n%s" % (r.returncode,
                                                              r.stderr[-3000:]))
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["checked"] + sum(1 for f in out["failures"]
                                if str(f["errors"][0]).startswith("schema:")) == len(checks)
    return out["failures"]


def assert_valid(d, checks):
    assert checks, "nothing to validate"
    fails = validate(d, checks)
    if fails:
        raise AssertionError("%d of %d do not validate:\n%s" % (
            len(fails), len(checks),
            "\n".join("%s: %s" % (f["name"], json.dumps(f["errors"])[:600])
                      for f in fails[:20])))


def response_check(d, method, path, status, body):
    """(name, schema, instance) for an answer, asserting it is documented."""
    tmpl, op = op_for(d, method, path)
    responses = op["responses"]
    if str(status) not in responses:
        raise AssertionError("%s %s answered %d, which the document does not list "
                             "for %s (%s)" % (method, path, status, tmpl,
                                              sorted(responses)))
    resp = resolve(d, responses[str(status)])
    content = resp.get("content")
    name = "%s %s -> %d" % (method, tmpl, status)
    if content is None:
        assert body == b"", "%s: a body where the document says none" % name
        return None
    media = content["application/json"]
    return (name, media["schema"], json.loads(body))


# -- the tests -------------------------------------------------------------
def test_served_is_the_document(suite):
    r = suite.get("/v1/openapi.json")
    assert r.status == 200, (r.status, r.body[:300])
    assert r.header("Content-Type") == "application/json", r.headers
    want = doc_bytes()
    assert r.body == want, "GET /v1/openapi.json differs from docs/openapi.json " \
        "(%d bytes served, %d in the file)" % (len(r.body), len(want))
    d = r.json()
    assert d["openapi"] == "3.1.0"
    # HEAD: the headers alone.
    conn = suite.connection()
    try:
        conn.request("HEAD", "/v1/openapi.json")
        h = conn.getresponse()
        assert h.status == 200 and h.read() == b""
        assert int(h.getheader("Content-Length")) == len(want)
    finally:
        conn.close()


def test_document_is_well_formed(suite):
    d = doc()
    assert d["openapi"] == "3.1.0"
    assert d["jsonSchemaDialect"] == "https://json-schema.org/draft/2020-12/schema"
    schemes = d["components"]["securitySchemes"]
    assert schemes["bearerJwt"] == dict(schemes["bearerJwt"], type="http",
                                        scheme="bearer", bearerFormat="JWT")
    assert schemes["bearerApiKey"]["type"] == "http"
    assert schemes["apiKeyHeader"] == dict(schemes["apiKeyHeader"], type="apiKey",
                                           name="X-API-Key", **{"in": "header"})
    assert "Error" in d["components"]["schemas"]
    ids = set()
    for path, meth, op in operations(d):
        where = "%s %s" % (meth.upper(), path)
        assert op.get("operationId") and op["operationId"] not in ids, where
        ids.add(op["operationId"])
        for req in op.get("security", []) + d["security"]:
            for name in req:
                assert name in schemes, "%s: unknown security scheme %s" % (where, name)
        params = [resolve(d, p) for p in op.get("parameters", [])]
        in_path = {p["name"] for p in params if p["in"] == "path"}
        assert in_path == set(re.findall(r"\{([^}/]+)\}", path)), \
            "%s: path parameters %s" % (where, sorted(in_path))
        assert all(p["required"] for p in params if p["in"] == "path"), where
        assert op["responses"], where
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, "%s: no 2xx answer" % where
        for status, resp in op["responses"].items():
            resp = resolve(d, resp)
            assert resp.get("description"), "%s %s: no description" % (where, status)
            for mt, media in resp.get("content", {}).items():
                assert mt == "application/json", "%s %s: %s" % (where, status, mt)
                if status.startswith("2"):
                    assert media.get("examples"), "%s %s: no example" % (where, status)
                else:
                    assert "$ref" in media["schema"], "%s %s" % (where, status)
            # Errors are the shared Error; /healthz answers 503 with its
            # report and /mcp with JSON-RPC errors.
            if status.startswith(("4", "5")) and path not in ("/healthz", "/mcp"):
                assert resp["content"]["application/json"]["schema"] == \
                    {"$ref": "#/components/schemas/Error"}, \
                    "%s %s: not the shared Error" % (where, status)
        if "requestBody" in op:
            media = op["requestBody"]["content"]["application/json"]
            assert media.get("examples"), "%s: no request example" % where


def test_routes_match_the_table(suite):
    d = doc()
    documented = {(meth.upper(), pattern_of(path)) for path, meth, _ in operations(d)}
    table = route_table()
    missing = table - documented
    assert not missing, "routes the document lacks: %s" % sorted(missing)
    extra = documented - table
    assert not extra, "operations the route table lacks: %s" % sorted(extra)


def test_every_operation_is_served(suite):
    """Each documented operation, without a credential: never the route
    table's 404 "no such path" or its 405; its answer documented."""
    d = doc()
    # The check can tell: an unknown route and a wrong method.
    r = suite.request("GET", "/v1/no-such-route/%s" % uuid.uuid4())
    assert r.status == 404 and r.json()["error"] == {
        "code": "not_found", "message": "no such path"}, (r.status, r.body)
    r = suite.request("PUT", "/v1/orgs")
    assert r.status == 405 and r.json()["error"]["code"] == "method_not_allowed"
    checks = []
    for path, meth, op in operations(d):
        url = fill(path)
        body = {} if "requestBody" in op else None
        headers = {"Accept": "application/json, text/event-stream"} \
            if path == "/mcp" else None
        r = suite.request(meth.upper(), url, body=body, headers=headers)
        what = "%s %s (%s)" % (meth.upper(), url, path)
        assert r.status != 405, "%s: 405, not served" % what
        if r.status == 404:
            assert r.json()["error"]["message"] != "no such path", \
                "%s: not served" % what
        c = response_check(d, meth.upper(), url, r.status, r.body)
        if c is not None:
            checks.append(c)
    assert_valid(d, checks)


def examples_of(d):
    """(name, schema, example) for every example in the document."""
    out = []

    def media(where, m):
        m = resolve(d, m)
        if "example" in m:
            out.append((where + " example", m["schema"], m["example"]))
        for k, ex in m.get("examples", {}).items():
            ex = resolve(d, ex)
            assert "value" in ex, "%s: example %s has no value" % (where, k)
            out.append(("%s example %s" % (where, k), m["schema"], ex["value"]))

    def schema_examples(where, s):
        if isinstance(s, dict):
            for i, ex in enumerate(s.get("examples", []) if isinstance(
                    s.get("examples"), list) else []):
                out.append(("%s examples[%d]" % (where, i), s, ex))
            for k, v in s.items():
                if k != "examples":
                    schema_examples(where + "/" + k, v)
        elif isinstance(s, list):
            for i, v in enumerate(s):
                schema_examples("%s/%d" % (where, i), v)

    for path, meth, op in operations(d):
        where = "%s %s" % (meth.upper(), path)
        if "requestBody" in op:
            for mt, m in resolve(d, op["requestBody"])["content"].items():
                media(where + " request", m)
        for status, resp in op["responses"].items():
            for mt, m in resolve(d, resp).get("content", {}).items():
                media("%s %s" % (where, status), m)
        for p in op.get("parameters", []):
            p = resolve(d, p)
            schema_examples("%s parameter %s" % (where, p["name"]), p["schema"])
    for name, s in d["components"]["schemas"].items():
        schema_examples("schema " + name, s)
    return out


def test_examples_validate(suite):
    d = doc()
    checks = examples_of(d)
    n_ok = sum(1 for name, _, _ in checks if re.search(r" 2\d\d example", name))
    assert n_ok >= len(list(operations(d))), "fewer 2xx examples than operations"
    assert_valid(d, checks)
    # The validator is not a rubber stamp: broken examples fail.
    bad = [("no code", {"$ref": "#/components/schemas/Error"},
            {"error": {"message": "x"}}),
           ("not a uuid", {"$ref": "#/components/schemas/Collection"},
            {"id": "nope", "org_id": str(uuid.uuid4()), "name": "x",
             "created_at": "2026-01-01T00:00:00Z", "role": "owner"}),
           ("not a date-time", {"$ref": "#/components/schemas/Org"},
            {"id": str(uuid.uuid4()), "name": "x", "created_at": "yesterday",
             "role": "owner"}),
           ("extra member", {"$ref": "#/components/schemas/Ok"},
            {"ok": True, "more": 1})]
    fails = validate(d, bad)
    assert sorted(f["name"] for f in fails) == sorted(n for n, _, _ in bad), fails


def test_live_answers_match(suite):
    d = doc()
    api = Api(suite)
    checks = []

    def call(method, path, who=None, body=None, want=None):
        r = api.call(method, path, who, body)
        if want is not None:
            assert r.status == want, "%s %s: %d %s" % (method, path, r.status,
                                                       r.body[:300])
        c = response_check(d, method, path, r.status, r.body)
        if c is not None:
            checks.append(c)
        return r.json() if r.body else None

    uid, org = api.bootstrap("oa-owner@a.test", PW, "OpenApiOrg")
    call("POST", "/v1/auth/login", body={"email": "oa-owner@a.test",
                                         "password": "wrong password!"}, want=401)
    t = call("POST", "/v1/auth/login", body={"email": "oa-owner@a.test",
                                             "password": PW}, want=200)
    s = bearer(t["access_token"])
    t2 = call("POST", "/v1/auth/refresh", body={"refresh_token": t["refresh_token"]},
              want=200)
    s = bearer(t2["access_token"])
    call("GET", "/v1/me", s, want=200)
    call("GET", "/v1/me", bearer("nonsense"), want=401)
    call("GET", "/v1/orgs", s, want=200)
    org2 = call("POST", "/v1/orgs", s, {"name": "OpenApiOrg2"}, want=201)["id"]
    call("GET", "/v1/orgs/%s" % org, s, want=200)
    call("GET", "/v1/orgs/%s" % uuid.uuid4(), s, want=404)
    m = call("POST", "/v1/orgs/%s/members" % org, s,
             {"email": "oa-bob@a.test", "role": "member", "password": PW,
              "name": "Bob"}, want=201)
    call("PATCH", "/v1/orgs/%s/members/%s" % (org, m["user_id"]), s,
         {"role": "admin"}, want=200)
    call("GET", "/v1/orgs/%s/members" % org, s, want=200)
    c = call("POST", "/v1/orgs/%s/collections" % org, s, {"name": "Docs"},
             want=201)["id"]
    call("POST", "/v1/orgs/%s/collections" % org, s, {"name": "Docs"}, want=409)
    call("GET", "/v1/orgs/%s/collections" % org, s, want=200)
    call("GET", "/v1/collections", s, want=200)
    call("GET", "/v1/collections/%s" % c, s, want=200)
    call("PATCH", "/v1/collections/%s" % c, s, {"name": "Docs 2"}, want=200)
    call("POST", "/v1/collections/%s/members" % c, s,
         {"email": "oa-bob@a.test", "role": "editor"}, want=201)
    call("PATCH", "/v1/collections/%s/members/%s" % (c, m["user_id"]), s,
         {"role": "viewer"}, want=200)
    call("GET", "/v1/collections/%s/members" % c, s, want=200)
    call("DELETE", "/v1/collections/%s/members/%s" % (c, m["user_id"]), s, want=200)
    k = call("POST", "/v1/orgs/%s/api-keys" % org, s,
             {"name": "oa-key", "cap": "read-write", "collection_id": c}, want=201)
    kh = {"X-API-Key": k["key"]}
    k2 = call("POST", "/v1/orgs/%s/api-keys" % org, s,
              {"name": "oa-key2", "cap": "read", "include_personal": True,
               "expires_at": "2099-01-01T00:00:00Z"}, want=201)
    call("POST", "/v1/orgs/%s/api-keys/%s/rotate" % (org, k2["id"]), s, want=200)
    call("GET", "/v1/me", kh, want=200)
    call("GET", "/v1/me", bearer(k2["key"]), want=200)      # the grace hour
    call("POST", "/v1/collections/%s/documents" % c, kh, {"documents": [{
        "external_id": "oa-1", "title": "Tidal power", "url": "https://example.org/t",
        "source": "wiki", "metadata": {"team": "energy"},
        "updated_at": "2024-05-01T12:00:00Z",
        "text": "Tidal turbines turn the sea into power. " * 40}]}, want=200)
    call("POST", "/v1/collections/%s/documents" % c, kh, {"documents": [{
        "external_id": "oa-bad", "text": 5}]}, want=400)
    call("POST", "/v1/collections/%s/documents?personal=1" % c, s, {"documents": [{
        "external_id": "oa-mine", "text": "my own tidal notes"}]}, want=200)
    for mode in ("hybrid", "keyword", "vector"):
        r = call("POST", "/v1/collections/%s/search" % c, kh,
                 {"query": "tidal turbines", "mode": mode}, want=200)
        assert r["results"], mode
    r = call("POST", "/v1/search", s, {"query": "tidal", "limit": 5,
                                       "filters": {"source": "wiki"}}, want=200)
    doc_id = r["results"][0]["document_id"]
    call("POST", "/v1/search", s, {"query": "tidal", "bogus": 1}, want=400)
    call("GET", "/v1/collections/%s/documents/%s" % (c, doc_id), kh, want=200)
    mine = call("POST", "/v1/search", s, {"query": "notes"}, want=200)["results"]
    assert mine, "the personal document is not found"
    call("GET", "/v1/collections/%s/documents/%s" % (c, mine[0]["document_id"]), s,
         want=200)
    call("GET", "/v1/collections/%s/documents/%s" % (c, uuid.uuid4()), kh, want=404)
    call("DELETE", "/v1/collections/%s/documents/%s" % (c, doc_id), kh, want=200)
    call("GET", "/v1/orgs/%s/api-keys" % org, s, want=200)
    call("GET", "/v1/orgs/%s/api-keys" % org, kh, want=403)
    call("DELETE", "/v1/orgs/%s/api-keys/%s" % (org, k["id"]), s, want=200)
    call("GET", "/v1/orgs/%s/audit?limit=20" % org, s, want=200)
    call("DELETE", "/v1/orgs/%s/members/%s" % (org, m["user_id"]), s, want=200)
    call("DELETE", "/v1/collections/%s" % c, s, want=200)
    call("DELETE", "/v1/orgs/%s" % org2, s, want=200)
    call("GET", "/healthz", want=200)
    call("GET", "/v1/openapi.json", want=200)
    call("POST", "/v1/auth/logout", s, want=200)
    call("GET", "/v1/me", s, want=401)
    assert len(checks) >= 50, len(checks)
    assert_valid(d, checks)

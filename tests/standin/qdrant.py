#!/usr/bin/env python3
"""STAND-IN FOR QDRANT, for tests only.  This is not Qdrant: Qdrant cannot
be installed on these machines (shared/ref/qdrant-notes.md section 7).

A small HTTP server (standard library only) that answers the part of
Qdrant's REST API indexd uses, and checks every request it gets against
Qdrant's published OpenAPI spec (shared/ref/qdrant-openapi.json, v1.19):
the path must be one of the spec's, the query parameters the operation's
(with their types), the JSON body its request schema -- $ref resolved,
types, required, enums, formats uuid/uint, anyOf/oneOf/allOf, and unknown
properties rejected everywhere (stricter than the spec's few
additionalProperties: false, as the issue asks).  A request that fails is
answered 400 with Qdrant's error envelope and recorded in .violations.

Answers use Qdrant's envelopes ({"result": .., "status": "ok", "time": ..};
errors {"status": {"error": ".."}, "time": ..}), 401 in plain text for a
missing or wrong api-key, 404 for a missing collection, 409 when creating
one that exists, 429 with Retry-After and 503 in fault modes.  Points are
kept in memory; filters (must/should/must_not, match value/any,
is_empty/is_null, nested filters) and cosine scoring are implemented so
results can be checked.

Fault modes (set .mode, or POST /__standin/mode {"mode": ..}):
  "ok", "slow" (sleep .delay seconds before answering), "down" (close the
  connection at once), "503" (every request 503), "503-then-ok" (.count
  requests 503 then ok), "429" (429 with Retry-After: .retry_after).

  python3 tests/standin/qdrant.py [--port N] [--api-key K]
"""
import json
import math
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "..", "..", "shared", "ref", "qdrant-openapi.json")
if not os.path.exists(SPEC):
    SPEC = "/work/shared/ref/qdrant-openapi.json"

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
UINT_FORMATS = ("uint", "uint8", "uint32", "uint64")


class Invalid(Exception):
    pass


class Spec:
    """The subset of JSON schema the spec uses, strict about properties."""

    def __init__(self, path=SPEC):
        with open(path) as f:
            self.doc = json.load(f)
        self.schemas = self.doc["components"]["schemas"]
        self.routes = []
        for p, item in self.doc["paths"].items():
            rx = "^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"
            self.routes.append((re.compile(rx), p, item))

    def resolve(self, s):
        while isinstance(s, dict) and "$ref" in s:
            s = self.schemas[s["$ref"].rsplit("/", 1)[1]]
        return s

    def operation(self, method, path):
        for rx, p, item in self.routes:
            if rx.match(path) and method.lower() in item:
                return p, item[method.lower()]
        raise Invalid("no %s %s in the spec" % (method, path))

    def check(self, v, s, where="body"):
        s = self.resolve(s)
        if s == {"nullable": True}:     # the spec's optional marker
            if v is not None:
                raise Invalid("%s: expected null" % where)
            return
        if v is None and s.get("nullable"):
            return
        for key in ("anyOf", "oneOf"):
            if key in s:
                errs = []
                for alt in s[key]:
                    try:
                        self.check(v, alt, where)
                        return
                    except Invalid as e:
                        errs.append(str(e))
                raise Invalid("%s: matches no alternative (%s)" % (where, "; ".join(errs[:4])))
        for alt in s.get("allOf", []):
            self.check(v, alt, where)
        t = s.get("type")
        if t == "object" or (t is None and "properties" in s):
            if not isinstance(v, dict):
                raise Invalid("%s: expected an object" % where)
            props = s.get("properties", {})
            for r in s.get("required", []):
                if r not in v:
                    raise Invalid("%s: missing %s" % (where, r))
            extra = s.get("additionalProperties")
            for k, x in v.items():
                if k in props:
                    self.check(x, props[k], "%s.%s" % (where, k))
                elif isinstance(extra, dict):
                    self.check(x, extra, "%s.%s" % (where, k))
                elif props or extra is False:
                    raise Invalid("%s: unknown property %s" % (where, k))
        elif t == "array":
            if not isinstance(v, list):
                raise Invalid("%s: expected an array" % where)
            for i, x in enumerate(v):
                self.check(x, s.get("items", {}), "%s[%d]" % (where, i))
        elif t == "string":
            if not isinstance(v, str):
                raise Invalid("%s: expected a string" % where)
            if s.get("format") == "uuid" and not UUID_RE.match(v):
                raise Invalid("%s: not a uuid" % where)
        elif t == "integer":
            if not isinstance(v, int) or isinstance(v, bool):
                raise Invalid("%s: expected an integer" % where)
            if s.get("format") in UINT_FORMATS and v < 0:
                raise Invalid("%s: negative" % where)
        elif t == "number":
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise Invalid("%s: expected a number" % where)
        elif t == "boolean":
            if not isinstance(v, bool):
                raise Invalid("%s: expected a boolean" % where)
        if "enum" in s and v not in s["enum"]:
            raise Invalid("%s: %r not in %r" % (where, v, s["enum"]))
        if "minimum" in s and isinstance(v, (int, float)) and v < s["minimum"]:
            raise Invalid("%s: below %s" % (where, s["minimum"]))

    def check_query(self, op, query):
        params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        for k, vals in query.items():
            if k not in params:
                raise Invalid("unknown query parameter %s" % k)
            s = self.resolve(params[k]["schema"])
            v = vals[-1]
            t = s.get("type")
            if t == "boolean" and v not in ("true", "false"):
                raise Invalid("query %s: not a boolean" % k)
            if t == "integer" and not re.match(r"^-?\d+$", v):
                raise Invalid("query %s: not an integer" % k)
            if "enum" in s and v not in s["enum"]:
                raise Invalid("query %s: %r not allowed" % (k, v))

    def check_body(self, op, body):
        rb = op.get("requestBody")
        if rb is None:
            if body is not None:
                raise Invalid("this operation takes no body")
            return
        schema = rb["content"]["application/json"]["schema"]
        if body is None:
            raise Invalid("a JSON body is required")
        self.check(body, schema)


# -- filters and scoring ----------------------------------------------------
def get_key(payload, key):
    v = payload
    for part in key.split("."):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return v


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def cond_ok(c, pid, payload):
    if "key" in c and "match" in c and c["match"] is not None:
        v = get_key(payload, c["key"])
        vals = v if isinstance(v, list) else [v]
        m = c["match"]
        if "value" in m:
            return m["value"] in vals
        if "any" in m:
            return any(x in m["any"] for x in vals)
        if "except" in m:
            return v is not None and not any(x in m["except"] for x in vals)
        raise Invalid("match kind not implemented by the stand-in: %r" % m)
    if "is_empty" in c:
        v = get_key(payload, c["is_empty"]["key"])
        return v is None or v == []
    if "is_null" in c:
        return payload.get(c["is_null"]["key"], 0) is None
    if "has_id" in c:
        return pid in c["has_id"]
    if any(k in c for k in ("must", "should", "must_not", "min_should")):
        return filter_ok(c, pid, payload)
    raise Invalid("condition not implemented by the stand-in: %r" % c)


def filter_ok(f, pid, payload):
    if f is None:
        return True
    if not all(cond_ok(c, pid, payload) for c in as_list(f.get("must"))):
        return False
    should = as_list(f.get("should"))
    if should and not any(cond_ok(c, pid, payload) for c in should):
        return False
    return not any(cond_ok(c, pid, payload) for c in as_list(f.get("must_not")))


def normalise(v):
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]


# -- the server -----------------------------------------------------------
class Standin:
    def __init__(self, port=0, api_key=None):
        self.spec = Spec()
        self.api_key = api_key
        self.collections = {}   # name -> {"size", "indexes": {}, "points": {id: (vec, payload)}}
        self.log = []           # (method, path, query, body, status)
        self.violations = []
        self.mode = "ok"
        self.delay = 5.0
        self.count = 0
        self.retry_after = 1
        self.lock = threading.RLock()
        standin = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                standin.handle(self, "GET")

            def do_PUT(self):
                standin.handle(self, "PUT")

            def do_POST(self):
                standin.handle(self, "POST")

            def do_DELETE(self):
                standin.handle(self, "DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # what tests look at
    def requests(self, method=None, suffix=None):
        with self.lock:
            return [r for r in self.log if (method is None or r[0] == method) and
                    (suffix is None or r[1].endswith(suffix))]

    def points(self, name="ballast"):
        with self.lock:
            c = self.collections.get(name)
            return {} if c is None else dict(c["points"])

    def wipe_points(self, name="ballast"):
        with self.lock:
            self.collections[name]["points"].clear()

    def set_mode(self, mode, **kw):
        with self.lock:
            self.mode = mode
            for k, v in kw.items():
                setattr(self, k, v)

    # the HTTP side
    def send(self, h, status, obj=None, text=None, headers=()):
        if text is not None:
            data, ctype = text.encode(), "text/plain; charset=utf-8"
        else:
            data, ctype = json.dumps(obj).encode(), "application/json"
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def ok(self, h, result):
        self.send(h, 200, {"result": result, "status": "ok", "time": 0.0001})

    def error(self, h, status, msg, headers=()):
        self.send(h, status, {"status": {"error": msg}, "time": 0.0001}, headers=headers)

    def fault(self, h):
        """Apply the fault mode; True when the request was answered."""
        with self.lock:
            mode = self.mode
            if mode == "503-then-ok":
                if self.count <= 0:
                    self.mode = mode = "ok"
                else:
                    self.count -= 1
                    mode = "503"
        if mode == "slow":
            time.sleep(self.delay)
            return False
        if mode == "down":
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return True
        if mode == "503":
            self.error(h, 503, "Service unavailable: Shard temporarily unavailable (stand-in)")
            return True
        if mode == "429":
            self.error(h, 429, "Rate limiting exceeded: stand-in",
                       headers=(("Retry-After", str(self.retry_after)),))
            return True
        return False

    def handle(self, h, method):
        u = urllib.parse.urlsplit(h.path)
        path = u.path.rstrip("/") or "/"
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        n = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(n) if n else b""
        if path == "/__standin/mode":
            kw = json.loads(raw)
            self.set_mode(kw.pop("mode"), **kw)
            return self.ok(h, True)
        if self.fault(h):
            return
        body = None
        if raw:
            if not (h.headers.get("Content-Type") or "").startswith("application/json"):
                return self.error(h, 400, "Content type error: expected application/json")
            try:
                body = json.loads(raw)
            except ValueError as e:
                return self.error(h, 400, "Format error in JSON body: %s" % e)
        rec = [method, path, query, body, None]
        with self.lock:
            self.log.append(rec)
        if self.api_key is not None and path not in ("/", "/healthz", "/livez", "/readyz"):
            key = h.headers.get("api-key")
            if key is None:
                rec[4] = 401
                return self.send(h, 401, text="Must provide an API key or an Authorization bearer token")
            if key != self.api_key:
                rec[4] = 401
                return self.send(h, 401, text="Invalid API key or JWT")
        try:
            _, op = self.spec.operation(method, path)
            self.spec.check_query(op, query)
            self.spec.check_body(op, body)
        except Invalid as e:
            with self.lock:
                self.violations.append("%s %s: %s" % (method, h.path, e))
            rec[4] = 400
            return self.error(h, 400, "Wrong input: %s" % e)
        try:
            with self.lock:
                rec[4] = self.route(h, method, path, query, body)
        except Invalid as e:
            with self.lock:
                self.violations.append("%s %s: %s" % (method, h.path, e))
            rec[4] = 400
            self.error(h, 400, "Wrong input: %s" % e)

    def route(self, h, method, path, query, body):
        parts = path.strip("/").split("/")
        if parts[0] != "collections" or len(parts) < 2:
            self.error(h, 404, "Not found (stand-in)")
            return 404
        name = parts[1]
        c = self.collections.get(name)
        rest = parts[2:]
        if not rest and method == "PUT":
            if c is not None:
                self.error(h, 409, "Wrong input: Collection `%s` already exists!" % name)
                return 409
            v = body["vectors"]
            if "size" not in v or v.get("distance") != "Cosine":
                raise Invalid("the stand-in knows one unnamed Cosine vector")
            self.collections[name] = {"size": v["size"], "indexes": {}, "points": {}}
            self.ok(h, True)
            return 200
        if c is None:
            self.error(h, 404, "Not found: Collection `%s` doesn't exist!" % name)
            return 404
        if not rest and method == "GET":
            self.ok(h, {"status": "green", "optimizer_status": "ok",
                        "points_count": len(c["points"]), "segments_count": 1,
                        "config": {"params": {"vectors": {"size": c["size"], "distance": "Cosine"},
                                              "shard_number": 1, "replication_factor": 1},
                                   "hnsw_config": {}, "optimizer_config": {}, "wal_config": {}},
                        "payload_schema": c["indexes"]})
            return 200
        if not rest and method == "DELETE":
            del self.collections[name]
            self.ok(h, True)
            return 200
        done = {"operation_id": 1, "status": "completed"}
        if rest == ["index"] and method == "PUT":
            fs = body.get("field_schema")
            c["indexes"][body["field_name"]] = {"data_type": fs if isinstance(fs, str) else fs["type"],
                                                "params": fs, "points": 0}
            self.ok(h, done)
            return 200
        if rest == ["points"] and method == "PUT":
            for p in body["points"]:
                vec = p["vector"]
                if not isinstance(vec, list) or len(vec) != c["size"]:
                    self.error(h, 400, "Wrong input: Vector dimension error: expected dim: %d, got %d"
                               % (c["size"], len(vec) if isinstance(vec, list) else -1))
                    return 400
                c["points"][p["id"]] = (normalise(vec), p.get("payload") or {})
            self.ok(h, done)
            return 200
        if rest == ["points", "delete"] and method == "POST":
            if "points" in body:
                for pid in body["points"]:
                    c["points"].pop(pid, None)
            else:
                for pid in [pid for pid, (_, pl) in c["points"].items()
                            if filter_ok(body["filter"], pid, pl)]:
                    del c["points"][pid]
            self.ok(h, done)
            return 200
        if rest == ["points", "query"] and method == "POST":
            q = body.get("query")
            if not isinstance(q, list) or len(q) != c["size"]:
                raise Invalid("the stand-in answers dense vector queries of the collection's size")
            q = normalise(q)
            hits = []
            for pid, (vec, pl) in c["points"].items():
                if filter_ok(body.get("filter"), pid, pl):
                    hits.append((sum(a * b for a, b in zip(q, vec)), pid, pl))
            hits.sort(key=lambda x: (-x[0], x[1]))
            off = body.get("offset") or 0
            hits = hits[off:off + (body.get("limit") or 10)]
            wp = body.get("with_payload", False)
            out = []
            for score, pid, pl in hits:
                if wp is True:
                    p = pl
                elif isinstance(wp, list):
                    p = {k: pl[k] for k in wp if k in pl}
                else:
                    p = None
                out.append({"id": pid, "version": 1, "score": score, "payload": p, "vector": None})
            self.ok(h, {"points": out})
            return 200
        if rest == ["points", "count"] and method == "POST":
            n = sum(1 for pid, (_, pl) in c["points"].items() if filter_ok(body.get("filter"), pid, pl))
            self.ok(h, {"count": n})
            return 200
        self.error(h, 404, "Not found: the stand-in does not serve %s %s" % (method, path))
        return 404


def main():
    import argparse
    ap = argparse.ArgumentParser(description="STAND-IN for Qdrant (tests only)")
    ap.add_argument("--port", type=int, default=6333)
    ap.add_argument("--api-key")
    a = ap.parse_args()
    s = Standin(a.port, a.api_key)
    print("qdrant stand-in (NOT Qdrant) on %s" % s.url, flush=True)
    s.httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

"""The http connector (fetcher/conn_http.c) against a local HTTPS server.

No Ballast suite is needed: each test runs BUILD/tests/tools/fetch-run
against a Python HTTPS server whose certificate a test CA signed
(SUITE = False: run.py starts no Ballast for this module).  The module
also runs on its own: `BUILD=... python3 tests/system/test_conn_http.py`.
"""
import atexit
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness
from test_pg_tls import make_ca, make_server_cert  # noqa: E402

SUITE = False

TOKEN = "tok-3f9a61c2e7d84b5aa0"
LM = "Wed, 21 Oct 2015 07:28:00 GMT"
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "http")


def data(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        srv.seen.append((self.path, dict(self.headers)))
        path, _, query = self.path.partition("?")
        port = srv.server_address[1]
        if path == "/rss.xml":
            if self.headers.get("If-None-Match") == '"rss-v1"':
                return self.send(304)
            return self.send(200, data("feed.rss"), "application/rss+xml",
                             [("ETag", '"rss-v1"')])
        if path == "/atom.xml":
            return self.send(200, data("feed.atom"), "application/atom+xml; charset=utf-8")
        if path == "/lm.xml":
            if self.headers.get("If-Modified-Since") == LM:
                return self.send(304)
            return self.send(200, data("feed.atom"), "text/xml", [("Last-Modified", LM)])
        if path == "/api/posts":
            page = {"": "1", "page=1": "1", "page=2": "2"}.get(query, "x")
            if page == "1":
                body = {"data": {"posts": [
                    {"id": 101, "title": "First post", "body": "<p>Alpha <b>bold</b></p>",
                     "link": "https://example.org/101", "modified": "2024-05-01T10:00:00+02:00",
                     "author": {"name": "Ann"}}]},
                    "paging": {"next": "/api/posts?page=2"}}
            elif page == "2":
                body = {"data": {"posts": [
                    {"id": 102, "title": "Second post", "body": "Beta plain",
                     "link": "https://example.org/102", "modified": 1714557600}]},
                    "paging": {"next": None}}
            else:
                return self.send(404)
            return self.send(200, json.dumps(body).encode())
        if path == "/linked":
            n = int(query.partition("=")[2] or "1")
            hdrs = []
            if n < 3:
                hdrs.append(("Link", '<https://127.0.0.1:%d/linked?p=%d>; rel="next", '
                                     '<https://127.0.0.1:%d/linked?p=3>; rel="last"'
                             % (port, n + 1, port)))
            body = [{"id": "L%d" % n, "title": "Linked %d" % n, "content": "page %d" % n}]
            return self.send(200, json.dumps(body).encode(), headers=hdrs)
        if path == "/bearer":
            if self.headers.get("Authorization") != "Bearer " + TOKEN:
                return self.send(401, b'{"error":"no"}')
            return self.send(200, json.dumps({"items": [{"id": "b1", "title": "Secret",
                                                          "summary": "for bearers"}]}).encode())
        if path == "/apikey":
            if self.headers.get("X-Feed-Key") != TOKEN or "Authorization" in self.headers:
                return self.send(403, b'{"error":"no"}')
            return self.send(200, json.dumps({"items": [{"id": "k1", "title": "Keyed",
                                                          "description": "for keys"}]}).encode())
        if path == "/elsewhere":
            body = {"items": [{"id": "e1", "title": "x"}],
                    "next": "https://localhost:%d/api/posts" % port}
            return self.send(200, json.dumps(body).encode())
        if path == "/busy":
            return self.send(503, b"busy", "text/plain")
        if path == "/big":
            items = [{"id": str(i), "title": "t", "content": "x" * 1000} for i in range(100)]
            return self.send(200, json.dumps(items).encode())
        return self.send(404)


class Quiet(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass    # clients hanging up on purpose (max_bytes, a bad CA)


class Server:
    """A threaded HTTPS server with a certificate from the CA in dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="conn-http-")
        self.ca = make_ca(self.dir, "ca")
        self.other_ca = make_ca(self.dir, "other")
        make_server_cert(self.dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.dir, "server.crt"),
                            os.path.join(self.dir, "server.key"))
        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.seen = []
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "https://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


_server = None


def server():
    global _server
    if _server is None:
        _server = Server()
        atexit.register(_server.stop)
    return _server


def fetch(config, cursor=None, credential=None, leaks_ok=False):
    """Runs fetch-run; returns (exit status, docs, the last line).

    leaks_ok: fetch-run itself does not free the config it refuses
    (tests/tools/fetch-run.c), so LeakSanitizer is off for those runs."""
    cfg = dict(config)
    cfg.setdefault("ca_file", server().ca)
    argv = [os.path.join(harness.BUILD, "tests", "tools", "fetch-run"), "http",
            json.dumps(cfg)]
    if cursor is not None:
        argv.append(cursor)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if credential is not None:
        env["FETCH_CREDENTIAL"] = json.dumps(credential)
    if leaks_ok:
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert lines, "fetch-run printed nothing: %s" % p.stderr
    docs = [x["doc"] for x in lines if "doc" in x]
    return p.returncode, docs, lines[-1]


def test_rss_and_etag(suite=None):
    s = server()
    rc, docs, end = fetch({"url": s.url("/rss.xml")})
    assert rc == 0, end
    by = {d["external_id"]: d for d in docs}
    assert len(by) == 3 and "urn:rss:1" in by and "https://example.org/rss/2" in by, by
    one = by["urn:rss:1"]
    assert one["title"] == "Fish & Chips <daily>", one
    assert one["url"] == "https://example.org/rss/1?a=1&b=2", one
    assert "Bold claim" in one["text"] and "<b>" not in one["text"], one
    assert one["updated_at"] == "2006-01-02T22:04:05Z", one
    assert one["metadata"] == {"feed": s.url("/rss.xml"), "author": "jo@example.org (Jo)"}, one
    two = by["https://example.org/rss/2"]
    assert "CDATA <kept> & raw" in two["text"], two
    assert two["text"].startswith("Full content"), two
    # no id and no link: the SHA-256 of title and link
    hashed = [i for i in by if i not in ("urn:rss:1", "https://example.org/rss/2")]
    assert len(hashed) == 1 and len(hashed[0]) == 64, hashed
    cursor = end["done"]["cursor"]
    assert json.loads(cursor) == {"etag": '"rss-v1"'}, end
    assert end["done"]["complete"] is False, end
    # the second run asks If-None-Match, gets 304: no docs, same cursor
    rc, docs, end = fetch({"url": s.url("/rss.xml"), "delete_missing": True}, cursor)
    assert rc == 0 and docs == [], (docs, end)
    assert end["done"] == {"cursor": cursor, "complete": False}, end
    assert s.httpd.seen[-1][1].get("If-None-Match") == '"rss-v1"'
    # a full run with delete_missing is complete
    rc, docs, end = fetch({"url": s.url("/rss.xml"), "delete_missing": True})
    assert rc == 0 and len(docs) == 3 and end["done"]["complete"] is True, end


def test_atom_links_and_if_modified_since(suite=None):
    s = server()
    rc, docs, end = fetch({"url": s.url("/atom.xml"), "format": "atom"})
    assert rc == 0, end
    by = {d["external_id"]: d for d in docs}
    assert set(by) == {"urn:uuid:a1", "urn:uuid:a2", "urn:uuid:a3"}, by
    assert by["urn:uuid:a1"]["url"] == "https://example.org/a1", by
    assert by["urn:uuid:a2"]["url"] == "https://example.org/a2-alt", by
    assert by["urn:uuid:a3"]["url"] == "", by
    assert by["urn:uuid:a1"]["title"] == "Atom <one>", by
    assert by["urn:uuid:a1"]["text"] == "Para one.\nPara two & more.", by
    assert by["urn:uuid:a2"]["text"] == "XHTML body", by
    assert by["urn:uuid:a3"]["text"] == "just <text>", by
    assert by["urn:uuid:a1"]["updated_at"] == "2024-02-29T23:30:00Z", by
    assert by["urn:uuid:a2"]["updated_at"] == "2023-12-31T12:00:00Z", by
    assert by["urn:uuid:a1"]["metadata"]["author"] == "Ada", by
    rc, docs, end = fetch({"url": s.url("/lm.xml")})
    assert rc == 0 and len(docs) == 3, end
    cursor = end["done"]["cursor"]
    assert json.loads(cursor) == {"last_modified": LM}, end
    rc, docs, end = fetch({"url": s.url("/lm.xml")}, cursor)
    assert rc == 0 and docs == [] and end["done"]["cursor"] == cursor, end
    assert s.httpd.seen[-1][1].get("If-Modified-Since") == LM


def test_json_pagination(suite=None):
    s = server()
    cfg = {"url": s.url("/api/posts"), "format": "json", "items": "data.posts",
           "text_field": "body", "url_field": "link", "updated_field": "modified",
           "next_field": "paging.next", "delete_missing": True}
    rc, docs, end = fetch(cfg)
    assert rc == 0, end
    assert [d["external_id"] for d in docs] == ["101", "102"], docs
    assert docs[0]["text"] == "Alpha bold", docs
    assert docs[0]["updated_at"] == "2024-05-01T08:00:00Z", docs
    assert docs[0]["metadata"]["author"] == "Ann", docs
    assert docs[1]["updated_at"] == "2024-05-01T10:00:00Z", docs
    assert end["done"]["complete"] is True, end
    # max_pages cuts the window: not complete
    rc, docs, end = fetch(dict(cfg, max_pages=1))
    assert rc == 0 and len(docs) == 1 and end["done"]["complete"] is False, end
    # Link: <...>; rel="next"
    rc, docs, end = fetch({"url": s.url("/linked"), "delete_missing": True})
    assert rc == 0, end
    assert [d["external_id"] for d in docs] == ["L1", "L2", "L3"], docs
    assert end["done"]["complete"] is True, end


def test_credentials(suite=None):
    s = server()
    rc, docs, end = fetch({"url": s.url("/bearer"), "auth": "bearer"}, credential=TOKEN)
    assert rc == 0 and [d["external_id"] for d in docs] == ["b1"], end
    assert docs[0]["text"] == "for bearers", docs
    rc, docs, end = fetch({"url": s.url("/apikey"), "auth": "header",
                           "auth_header": "X-Feed-Key"}, credential=TOKEN)
    assert rc == 0 and [d["external_id"] for d in docs] == ["k1"], end
    # wrong credential: a permanent failure that does not quote it
    bad = "wrong-" + TOKEN
    for path, auth in (("/bearer?key=" + bad, {"auth": "bearer"}),
                       ("/apikey", {"auth": "header", "auth_header": "X-Feed-Key"})):
        rc, docs, end = fetch(dict({"url": s.url(path)}, **auth), credential=bad)
        assert rc == 1 and docs == [], end
        msg = end["error"]["message"]
        assert "refused the credentials (HTTP 40" in msg, msg
        assert end["error"]["transient"] is False, end
        assert TOKEN not in msg and bad not in msg and "key=" not in msg, msg
    # no credential at all
    rc, docs, end = fetch({"url": s.url("/bearer"), "auth": "bearer"})
    assert rc == 1 and "no credentials" in end["error"]["message"], end


def test_refusals(suite=None):
    s = server()
    rc, docs, end = fetch({"url": s.url("/elsewhere"), "next_field": "next"})
    assert rc == 1, end
    assert "another host" in end["error"]["message"], end
    rc, docs, end = fetch({"url": s.url("/busy")})
    assert rc == 1 and end["error"]["transient"] is True, end
    assert "HTTP 503" in end["error"]["message"], end
    rc, docs, end = fetch({"url": s.url("/nope?secret=1")})
    assert rc == 1 and end["error"]["transient"] is False, end
    assert "HTTP 404" in end["error"]["message"] and "secret" not in end["error"]["message"]
    rc, docs, end = fetch({"url": s.url("/big"), "max_bytes": 4096})
    assert rc == 1 and "max_bytes" in end["error"]["message"], end
    rc, docs, end = fetch({"url": s.url("/rss.xml"), "ca_file": s.other_ca})
    assert rc == 1 and "TLS" in end["error"]["message"], end
    assert end["error"]["transient"] is False, end
    # nothing listens: transient
    rc, docs, end = fetch({"url": "https://127.0.0.1:%d/" % harness.free_port()})
    assert rc == 1 and end["error"]["transient"] is True, end


def test_config_checked(suite=None):
    cases = [
        ({"url": "http://example.org/feed"}, "config.url"),
        ({"url": "ftp://127.0.0.1/x"}, "config.url"),
        ({"url": "https://example.org/" + "a" * 2048}, "config.url"),
        ({"url": "https://example.org/", "format": "csv"}, "config.format"),
        ({"url": "https://example.org/", "auth": "basic"}, "config.auth"),
        ({"url": "https://example.org/", "auth": "header", "auth_header": "X Y"},
         "config.auth_header"),
        ({"url": "https://example.org/", "ca_file": "rel/ca.pem"}, "config.ca_file"),
        ({"url": "https://example.org/", "max_pages": 0}, "config.max_pages"),
        ({"url": "https://example.org/", "timeout": 301}, "config.timeout"),
        ({"url": "https://example.org/", "max_bytes": 33554433}, "config.max_bytes"),
        ({"url": "https://example.org/", "delete_missing": 1}, "config.delete_missing"),
        ({"url": "https://example.org/", "colour": "red"}, "config.colour"),
    ]
    for cfg, want in cases:
        rc, docs, end = fetch(dict(cfg, ca_file=cfg.get("ca_file", "/etc/ssl/x.pem")),
                              leaks_ok=True)
        assert rc == 2 and end["invalid"].startswith(want), (cfg, end)
    rc, docs, end = fetch({"url": "http://localhost:1/feed", "ca_file": "/x"})
    assert "invalid" not in end, end


def main():
    fns = [f for n, f in sorted(globals().items()) if n.startswith("test_")]
    fns.sort(key=lambda f: f.__code__.co_firstlineno)
    failed = 0
    for fn in fns:
        try:
            fn()
            print("ok   %s" % fn.__name__)
        except Exception as e:  # noqa: BLE001
            failed += 1
            print("FAIL %s: %r" % (fn.__name__, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

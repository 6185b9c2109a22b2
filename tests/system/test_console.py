"""Issue 13: the web console, served by the front from its own listener.

HTTP: GET / and every file of web/ is served with its type and the
console's headers (a strict Content-Security-Policy, X-Frame-Options,
nosniff, no referrer); no file names another origin or holds an inline
script or style; paths that climb (/../, %2e%2e) name no file.  Cookie
mode of the session routes: login sets an HttpOnly, Secure,
SameSite=Strict refresh cookie scoped to /v1/auth and leaves the token
out of the body; refresh with the cookie works only with X-CSRF: 1 and
this listener's Origin (a cross-site request with the cookie is
refused); a spent cookie is refused; logout clears the cookie and
revokes the session; the JSON-body refresh of API clients still works.

Browser: Debian's chromium driven by playwright-core (tests/console,
pinned in package-lock.json, installed with `npm ci` into the build
folder) signs in, creates and renames a collection, adds a viewer,
adds a files source, syncs it, searches and sees the planted word
highlighted (and a planted <img onerror> as text), creates an API key
that curl can use, revokes it and curl is refused, signs out; a viewer
sees no editor controls; a member of another organization sees nothing
of this one.  Screenshots go to $BUILD/console-shots.

Node 20, npm and /usr/bin/chromium are required: without them this
test fails, it does not skip.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess

import harness
from authlib import Api

PW = "correct horse battery staple"
ROOT = os.path.join(harness.test_base(), "console-root")
CONF = 'sync root "%s"\nsync timeout 10\n' % ROOT
WEB = os.path.join(harness.TOP, "web")
NODE_SRC = os.path.join(harness.TOP, "tests", "console")
CHROMIUM = "/usr/bin/chromium"
WORD = "quasarwhistle"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
COOKIE = "__Secure-ballast_refresh"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def web_files():
    """(url path, file) of every console file."""
    out = [("/", os.path.join(WEB, "index.html"))]
    for n in sorted(os.listdir(os.path.join(WEB, "assets"))):
        out.append(("/assets/" + n, os.path.join(WEB, "assets", n)))
    return out


def assert_console_headers(r, what):
    assert r.header("Content-Security-Policy") == CSP, (what, r.header("Content-Security-Policy"))
    assert r.header("X-Frame-Options") == "DENY", what
    assert r.header("X-Content-Type-Options") == "nosniff", what
    assert r.header("Referrer-Policy") == "no-referrer", what


# -- the files -------------------------------------------------------------
def test_files_served_with_headers(suite):
    for path, f in web_files():
        r = suite.get(path)
        assert r.status == 200, (path, r.status)
        assert r.body == open(f, "rb").read(), "%s: not the file %s" % (path, f)
        assert r.header("Content-Type") == TYPES[os.path.splitext(f)[1]], (path, r.header("Content-Type"))
        assert len([h for h in r.headers if h[0].lower() == "content-type"]) == 1, path
        assert_console_headers(r, path)
        h = suite.request("HEAD", path)
        assert h.status == 200 and h.body == b"", path


def test_no_foreign_origin_no_inline_code(suite):
    for path, f in web_files():
        text = open(f, encoding="utf-8").read()
        urls = re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", text)
        # The SVG's XML namespace is a name, never fetched.
        urls = [u for u in urls if u != "http://www.w3.org"]
        assert not urls, "%s names another origin: %s" % (path, urls)
        if f.endswith(".html"):
            assert not re.search(r"<script(?![^>]*\ssrc=)", text), "inline script in " + path
            assert "<style" not in text and " style=" not in text, "inline style in " + path
            assert not re.search(r"\son[a-z]+=", text), "inline handler in " + path
        if f.endswith(".js"):
            assert "innerHTML" not in text and "insertAdjacentHTML" not in text, path
            assert "eval(" not in text and "new Function" not in text, path
            # The access token lives in memory only: nothing token-like is stored.
            for arg in re.findall(r"(?:local|session)Storage\.setItem\(([^)]*)\)", text):
                assert not re.search(r"token|access|refresh|key", arg, re.I), (path, arg)


def test_traversal_refused(suite):
    for path in ("/../etc/passwd", "/assets/../../etc/passwd", "/assets/%2e%2e/%2e%2e/etc/passwd",
                 "/assets/..%2fapp.js", "/%2e%2e/", "/assets/", "/assets/app.js/",
                 "/assets//app.js", "/index.html/..", "/assets/.hidden", "/web/index.html"):
        r = suite.get(path)
        assert r.status in (400, 404), (path, r.status)
        assert b"root:" not in r.body and b"import" not in r.body, path


# -- cookie sessions -------------------------------------------------------
def origin(suite):
    return "https://localhost:%d" % suite.port


def cookie_headers(suite, **extra):
    h = {"X-Ballast-Session": "cookie", "X-CSRF": "1", "Origin": origin(suite),
         "Host": "localhost:%d" % suite.port}
    h.update(extra)
    return h


def set_cookie(r):
    v = [b for a, b in r.headers if a.lower() == "set-cookie"]
    assert len(v) == 1, r.headers
    return v[0]


def cookie_login(suite, email):
    r = suite.request("POST", "/v1/auth/login", body={"email": email, "password": PW},
                      headers=cookie_headers(suite))
    assert r.status == 200, (r.status, r.body)
    return r


def test_cookie_login_and_refresh(suite):
    api = Api(suite)
    api.bootstrap("cookie@console.test", PW, "CookieOrg")
    r = cookie_login(suite, "cookie@console.test")
    body = r.json()
    assert "refresh_token" not in body and body["access_token"], body
    sc = set_cookie(r)
    attrs = [a.strip() for a in sc.split(";")]
    name, tok = attrs[0].split("=", 1)
    assert name == COOKIE and tok.startswith("blsr_"), sc
    assert set(attrs[1:]) == {"Path=/v1/auth", "Secure", "HttpOnly", "SameSite=Strict"}, sc
    assert tok.encode() not in r.body
    me = suite.get("/v1/me", headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.status == 200

    ck = {"Cookie": "%s=%s" % (COOKIE, tok)}
    # Without the CSRF header, from another site, or with no Origin: refused.
    bad = [cookie_headers(suite, **{"X-CSRF": "0"}),
           cookie_headers(suite, Origin="https://evil.example"),
           cookie_headers(suite, Origin="http://localhost:%d" % suite.port),
           cookie_headers(suite, Origin="null"),
           cookie_headers(suite, **{"Sec-Fetch-Site": "cross-site"})]
    no_csrf = cookie_headers(suite)
    del no_csrf["X-CSRF"]
    no_origin = cookie_headers(suite)
    del no_origin["Origin"]
    bad += [no_csrf, no_origin]
    for h in bad:
        r = suite.request("POST", "/v1/auth/refresh", body={}, headers=dict(h, **ck))
        assert r.status == 403 and r.json()["error"]["code"] == "csrf", (h, r.status, r.body)
    # The cookie alone (a plain JSON refresh) is no refresh.
    r = suite.request("POST", "/v1/auth/refresh", body={}, headers=ck)
    assert r.status == 400, (r.status, r.body)
    # A bad mode header.
    r = suite.request("POST", "/v1/auth/refresh", body={},
                      headers=dict(cookie_headers(suite, **{"X-Ballast-Session": "json"}), **ck))
    assert r.status == 400
    # Same site, with the header: a new token in a new cookie.
    r = suite.request("POST", "/v1/auth/refresh", body={}, headers=dict(cookie_headers(suite), **ck))
    assert r.status == 200, (r.status, r.body)
    assert "refresh_token" not in r.json() and r.json()["access_token"]
    tok2 = set_cookie(r).split(";")[0].split("=", 1)[1]
    assert tok2 != tok
    # No cookie: 401.
    r = suite.request("POST", "/v1/auth/refresh", body={}, headers=cookie_headers(suite))
    assert r.status == 401
    # The spent cookie: refused, cleared, and the session is over.
    r = suite.request("POST", "/v1/auth/refresh", body={}, headers=dict(cookie_headers(suite), **ck))
    assert r.status == 401 and "Max-Age=0" in set_cookie(r), r.headers
    r = suite.request("POST", "/v1/auth/refresh", body={},
                      headers=dict(cookie_headers(suite), Cookie="%s=%s" % (COOKIE, tok2)))
    assert r.status == 401, "reuse must end the whole session"


def test_cookie_logout(suite):
    api = Api(suite)
    api.bootstrap("bye@console.test", PW, "ByeOrg")
    r = cookie_login(suite, "bye@console.test")
    access = r.json()["access_token"]
    tok = set_cookie(r).split(";")[0].split("=", 1)[1]
    ck = "%s=%s" % (COOKIE, tok)
    # Cross-site logout: refused, nothing revoked.
    r = suite.request("POST", "/v1/auth/logout", body={},
                      headers=dict(cookie_headers(suite, Origin="https://evil.example"), Cookie=ck))
    assert r.status == 403
    assert suite.get("/v1/me", headers={"Authorization": "Bearer " + access}).status == 200
    r = suite.request("POST", "/v1/auth/logout", body={}, headers=dict(cookie_headers(suite), Cookie=ck))
    assert r.status == 200 and r.json() == {"ok": True}, (r.status, r.body)
    sc = set_cookie(r)
    assert sc.startswith(COOKIE + "=;") and "Max-Age=0" in sc and "Path=/v1/auth" in sc, sc
    # The session is revoked: its access token and its cookie are dead.
    assert suite.get("/v1/me", headers={"Authorization": "Bearer " + access}).status == 401
    r = suite.request("POST", "/v1/auth/refresh", body={}, headers=dict(cookie_headers(suite), Cookie=ck))
    assert r.status == 401
    # A Bearer logout in cookie mode without a cookie revokes that session.
    r = cookie_login(suite, "bye@console.test")
    access = r.json()["access_token"]
    r = suite.request("POST", "/v1/auth/logout", body={},
                      headers=dict(cookie_headers(suite), Authorization="Bearer " + access))
    assert r.status == 200 and "Max-Age=0" in set_cookie(r)
    assert suite.get("/v1/me", headers={"Authorization": "Bearer " + access}).status == 401


def test_json_refresh_unchanged(suite):
    api = Api(suite)
    api.bootstrap("json@console.test", PW, "JsonOrg")
    t = api.login("json@console.test", PW)
    assert t["refresh_token"].startswith("blsr_")
    r = suite.request("POST", "/v1/auth/refresh", body={"refresh_token": t["refresh_token"]})
    assert r.status == 200 and r.json()["refresh_token"] != t["refresh_token"]
    assert not [h for h in r.headers if h[0].lower() == "set-cookie"]


# -- the browser -----------------------------------------------------------
def node_dir():
    for tool in ("node", "npm", "curl"):
        if shutil.which(tool) is None:
            raise AssertionError("%s is not installed: the console test needs it" % tool)
    if not os.access(CHROMIUM, os.X_OK):
        raise AssertionError("%s is missing: apt-get install chromium (scripts/deps)" % CHROMIUM)
    d = os.path.join(harness.BUILD, "console-node")
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
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=d,
                           env=env, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError("npm ci in %s failed:\n%s" % (d, r.stderr[-3000:]))
        with open(sf, "w") as f:
            f.write(stamp)
    shutil.copy(os.path.join(NODE_SRC, "console.mjs"), d)
    return d


def planted_folder():
    d = os.path.join(ROOT, "planted")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, mode=0o755)
    for p in (harness.test_base(), ROOT, d):
        os.chmod(p, 0o755)
    docs = {
        "tides.md": "# Tidal notes\n\nThe %s array turns slack water into power. "
                    "Engineers tune the %s blades each spring.\n" % (WORD, WORD),
        "hostile.md": "# Hostile\n\n%s <img src=x onerror=\"window.pwned=true\"> "
                      "<script>window.pwned=true</script> <b>bold</b> & more.\n" % WORD,
        "other.txt": "Nothing to see here: harbour logistics only.\n",
    }
    for n, text in docs.items():
        with open(os.path.join(d, n), "w") as f:
            f.write(text)
        os.chmod(os.path.join(d, n), 0o644)
    return d


def test_browser(suite):
    api = Api(suite)
    owner = "editor@console.test"
    _, org = api.bootstrap(owner, PW, "Console Org")
    who = api.session("owner", owner, PW)
    api.add_member(who, org, "viewer@console.test", "member", PW)
    api.bootstrap("outsider@console.test", PW, "Elsewhere Org")
    shots = os.path.join(harness.BUILD, "console-shots")
    shutil.rmtree(shots, ignore_errors=True)
    os.makedirs(shots)
    plan = {"base": origin(suite), "cert": suite.cert, "chromium": CHROMIUM, "shots": shots,
            "folder": planted_folder(), "word": WORD,
            "editor": {"email": owner, "password": PW},
            "viewer": {"email": "viewer@console.test", "password": PW},
            "outsider": {"email": "outsider@console.test", "password": PW}}
    d = node_dir()
    env = dict(os.environ, HOME=os.path.join(d, "home"), NO_COLOR="1")
    r = subprocess.run(["node", os.path.join(d, "console.mjs")], input=json.dumps(plan), cwd=d,
                       env=env, capture_output=True, text=True, timeout=300)
    lines = r.stdout.strip().splitlines()
    out = json.loads(lines[-1]) if lines else {}
    if r.returncode != 0:
        raise AssertionError("console.mjs exited %d: %s\n%s" % (r.returncode, out.get("error"),
                                                              r.stderr[-3000:]))
    assert not out["page_errors"], out["page_errors"]
    assert not out["csp_violations"], out["csp_violations"]
    assert not out["foreign"], "requests to other origins: %s" % out["foreign"]
    assert out["cookie"] == [{"name": COOKIE, "path": "/v1/auth", "httpOnly": True,
                              "secure": True, "sameSite": "Strict"}], out["cookie"]
    assert out["cookies_after_logout"] == 0
    assert "succeeded" in out["job_row"], out["job_row"]
    assert out["marks"] and all(m.lower() == WORD for m in out["marks"]), out["marks"]
    assert out["injected"] == 0 and out["pwned"] is False
    assert out["key_before_revoke"] == "200" and out["key_after_revoke"] == "401", out
    assert out["key_shown_again"] is False
    assert not out["phone_overflow"], "the search page is wider than a phone"
    # A viewer: no delete, no sync, no add, no rename, no audit.
    for b in out["viewer_buttons"] + out["viewer_source_buttons"]:
        assert not re.search(r"delete|remove|sync|add|rename|change|revoke", b, re.I), b
    assert out["viewer_forms"] == 0, out["viewer_forms"]
    assert "Audit log" not in out["viewer_nav"]
    # Another organization's member: its own organization only.
    assert len(out["outsider_orgs"]) == 1 and "Elsewhere Org" in out["outsider_orgs"][0]
    assert "Console docs" not in out["outsider_text"] and "Planted" not in out["outsider_text"]
    assert "Console docs" not in out["outsider_collections"]
    for n in ("signin", "collections", "collection", "source", "search", "document", "keys",
              "members", "audit", "viewer-collection", "search-phone"):
        assert os.path.getsize(os.path.join(shots, n + ".png")) > 1000, n

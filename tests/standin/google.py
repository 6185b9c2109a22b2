"""STAND-IN for Google's OAuth 2.0 endpoints and the Gmail and Drive v3 REST
APIs, which cannot be reached from the test machines.  It is NOT Google: it
implements only what Ballast's gmail and gdrive connectors use, following
Google's published API reference (field names, nextPageToken paging, error
bodies {"error":{"code","message","status"}}, the token endpoint's
{"error":"invalid_grant",...}, 401 for an expired or unknown access token).

Endpoints (one HTTPS server):
  GET  /o/oauth2/v2/auth          authorize: 302 to redirect_uri?code&state
  POST /token                     authorization_code (checks PKCE S256 and
                                  the client credentials) and refresh_token
  GET  /gmail/v1/users/me/profile, /messages, /messages/{id}?format=raw,
       /history?startHistoryId
  GET  /drive/v3/files, /files/{id}[?alt=media], /files/{id}/export,
       /changes/startPageToken, /changes

Tests drive it through the Google object: add/delete mail and files,
expire the access token, revoke the grant, and read what it saw.
"""
import base64
import hashlib
import http.server
import json
import secrets
import ssl
import threading
import time
import urllib.parse

CLIENT_ID = "standin-client.apps.googleusercontent.com"


class Google:
    def __init__(self, certfile, keyfile, client_secret, token_prefix="STANDIN"):
        self.client_secret = client_secret
        self.prefix = token_prefix
        self.lock = threading.Lock()
        self.codes = {}          # code -> (challenge, redirect_uri)
        self.access = {}         # access token -> expiry (unix)
        self.refresh = set()
        self.history = 1000
        self.mail = {}           # id -> {"raw", "labels", "hid", "date"}
        self.mail_log = []       # (hid, kind, id)
        self.files = {}          # id -> {"name","mime","text","modified","trashed"}
        self.changes = []        # (n, id, removed)
        self.page_size = 2
        self.seen_auth = []
        self.refreshes = 0
        g = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def send(self, status, obj=None, raw=None, ctype="application/json", headers=()):
                body = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def api_error(self, code, status, message):
                self.send(code, {"error": {"code": code, "message": message,
                                           "status": status}})

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                if u.path == "/o/oauth2/v2/auth":
                    return g.authorize(self, q)
                auth = self.headers.get("Authorization", "")
                g.seen_auth.append(auth)
                tok = auth[7:] if auth.startswith("Bearer ") else None
                with g.lock:
                    exp = g.access.get(tok)
                if exp is None or exp < time.time():
                    return self.api_error(401, "UNAUTHENTICATED",
                                          "Request had invalid authentication credentials.")
                with g.lock:
                    return g.api(self, u.path, q)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
                if urllib.parse.urlsplit(self.path).path != "/token":
                    return self.api_error(404, "NOT_FOUND", "no such method")
                with g.lock:
                    return g.token(self, form)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.base = "https://localhost:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()

    # -- OAuth --------------------------------------------------------
    def authorize(self, h, q):
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code" \
                or q.get("code_challenge_method") != "S256" or not q.get("code_challenge") \
                or not q.get("redirect_uri") or not q.get("state"):
            return h.send(400, {"error": "invalid_request"})
        code = "4/%s-code-%s" % (self.prefix, secrets.token_urlsafe(12))
        with self.lock:
            self.codes[code] = (q["code_challenge"], q["redirect_uri"])
        loc = q["redirect_uri"] + "?" + urllib.parse.urlencode(
            {"state": q["state"], "code": code, "scope": q.get("scope", "")})
        h.send(302, raw=b"", headers=[("Location", loc)])

    def new_tokens(self, with_refresh):
        a = "ya29.%s-access-%s" % (self.prefix, secrets.token_urlsafe(12))
        self.access[a] = time.time() + 3600
        out = {"access_token": a, "expires_in": 3599, "token_type": "Bearer",
               "scope": "https://www.googleapis.com/auth/gmail.readonly"}
        if with_refresh:
            r = "1//%s-refresh-%s" % (self.prefix, secrets.token_urlsafe(12))
            self.refresh.add(r)
            out["refresh_token"] = r
        return out

    def token(self, h, f):
        if f.get("client_id") != CLIENT_ID or f.get("client_secret") != self.client_secret:
            return h.send(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        gt = f.get("grant_type")
        if gt == "authorization_code":
            c = self.codes.pop(f.get("code"), None)
            v = f.get("code_verifier", "")
            s256 = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
            if c is None or c[0] != s256 or c[1] != f.get("redirect_uri"):
                return h.send(400, {"error": "invalid_grant", "error_description": "Bad Request"})
            return h.send(200, self.new_tokens(True))
        if gt == "refresh_token":
            if f.get("refresh_token") not in self.refresh:
                return h.send(400, {"error": "invalid_grant",
                                    "error_description": "Token has been expired or revoked."})
            self.refreshes += 1
            return h.send(200, self.new_tokens(False))
        return h.send(400, {"error": "unsupported_grant_type"})

    # -- test controls ------------------------------------------------
    def expire_access(self):
        with self.lock:
            for k in self.access:
                self.access[k] = 0

    def revoke(self):
        with self.lock:
            self.refresh.clear()
            self.access.clear()

    def tokens_issued(self):
        with self.lock:
            return list(self.access) + list(self.refresh)

    def add_mail(self, mid, subject, body, labels=("INBOX",)):
        raw = ("From: Alice <alice@example.com>\r\nTo: u@src.test\r\nSubject: %s\r\n"
               "Date: Tue, 14 Nov 2023 10:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n" % (subject, mid, body))
        with self.lock:
            self.history += 1
            self.mail[mid] = {"raw": raw, "labels": list(labels), "hid": self.history}
            self.mail_log.append((self.history, "messagesAdded", mid))

    def delete_mail(self, mid):
        with self.lock:
            self.history += 1
            del self.mail[mid]
            self.mail_log.append((self.history, "messagesDeleted", mid))

    def add_file(self, fid, name, mime, text, trashed=False):
        with self.lock:
            self.files[fid] = {"name": name, "mime": mime, "text": text, "trashed": trashed,
                               "modified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
            self.changes.append((len(self.changes) + 1, fid, False))

    def remove_file(self, fid, trash=True):
        with self.lock:
            if trash:
                self.files[fid]["trashed"] = True
            else:
                del self.files[fid]
            self.changes.append((len(self.changes) + 1, fid, not trash))

    # -- APIs (under self.lock) ---------------------------------------
    def page(self, items, q):
        start = int(q.get("pageToken", "0") or 0)
        chunk = items[start:start + self.page_size]
        nxt = str(start + self.page_size) if start + self.page_size < len(items) else None
        return chunk, nxt

    def api(self, h, path, q):
        p = path.split("/")
        if path == "/gmail/v1/users/me/profile":
            return h.send(200, {"emailAddress": "u@src.test", "historyId": str(self.history),
                                "messagesTotal": len(self.mail)})
        if path == "/gmail/v1/users/me/messages":
            chunk, nxt = self.page(sorted(self.mail), q)
            o = {"messages": [{"id": i, "threadId": "t" + i} for i in chunk],
                 "resultSizeEstimate": len(self.mail)}
            if nxt:
                o["nextPageToken"] = nxt
            return h.send(200, o)
        if path.startswith("/gmail/v1/users/me/messages/"):
            m = self.mail.get(p[-1])
            if m is None:
                return h.api_error(404, "NOT_FOUND", "Requested entity was not found.")
            return h.send(200, {"id": p[-1], "threadId": "t" + p[-1], "labelIds": m["labels"],
                                "historyId": str(m["hid"]), "internalDate": "1699956000000",
                                "raw": base64.urlsafe_b64encode(m["raw"].encode()).decode()})
        if path == "/gmail/v1/users/me/history":
            start = int(q.get("startHistoryId", "0"))
            if start < 1000:
                return h.api_error(404, "NOT_FOUND", "Requested entity was not found.")
            recs = [r for r in self.mail_log if r[0] > start]
            chunk, nxt = self.page(recs, q)
            o = {"historyId": str(self.history),
                 "history": [{"id": str(r[0]), r[1]: [{"message": {"id": r[2]}}]}
                             for r in chunk]}
            if nxt:
                o["nextPageToken"] = nxt
            return h.send(200, o)
        if path == "/drive/v3/changes/startPageToken":
            return h.send(200, {"startPageToken": str(len(self.changes) + 1)})
        if path == "/drive/v3/changes":
            start = int(q.get("pageToken", "1"))
            recs = [c for c in self.changes if c[0] >= start]
            chunk = recs[:self.page_size]
            o = {"kind": "drive#changeList", "changes": [
                {"changeType": "file", "fileId": c[1], "removed": c[2] or c[1] not in self.files,
                 "file": {"trashed": self.files.get(c[1], {}).get("trashed", False)}}
                for c in chunk]}
            if len(recs) > self.page_size:
                o["nextPageToken"] = str(chunk[-1][0] + 1)
            else:
                o["newStartPageToken"] = str(len(self.changes) + 1)
            return h.send(200, o)
        if path == "/drive/v3/files":
            live = sorted(i for i, f in self.files.items() if not f["trashed"])
            chunk, nxt = self.page(live, q)
            o = {"files": [self.meta(i) for i in chunk]}
            if nxt:
                o["nextPageToken"] = nxt
            return h.send(200, o)
        if path.startswith("/drive/v3/files/"):
            fid = p[4]
            f = self.files.get(fid)
            if f is None:
                return h.api_error(404, "NOT_FOUND", "File not found: %s." % fid)
            if len(p) == 6 and p[5] == "export":
                if not f["mime"].startswith("application/vnd.google-apps."):
                    return h.api_error(403, "PERMISSION_DENIED", "Export only supports Docs Editors files.")
                return h.send(200, raw=f["text"].encode(), ctype=q.get("mimeType", "text/plain"))
            if q.get("alt") == "media":
                if f["mime"].startswith("application/vnd.google-apps."):
                    return h.api_error(403, "PERMISSION_DENIED", "Only files with binary content can be downloaded.")
                return h.send(200, raw=f["text"].encode(), ctype=f["mime"])
            return h.send(200, self.meta(fid))
        return h.api_error(404, "NOT_FOUND", "no such method")

    def meta(self, fid):
        f = self.files[fid]
        return {"id": fid, "name": f["name"], "mimeType": f["mime"], "trashed": f["trashed"],
                "modifiedTime": f["modified"],
                "webViewLink": "https://drive.google.com/file/d/%s/view" % fid}

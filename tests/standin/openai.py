#!/usr/bin/env python3
"""STAND-IN for an OpenAI-compatible embeddings server (OpenAI, Ollama,
TEI, vLLM), which cannot run on these machines.  It is not a model: it
implements POST /v1/embeddings as OpenAI's API reference describes it
(https://platform.openai.com/docs/api-reference/embeddings/create) and
answers with deterministic vectors, a hashed bag of words, so that texts
sharing words are close under cosine.

Request checks (400 with OpenAI's error shape when broken): Content-Type
application/json; a JSON object whose members are among model (string,
required), input (required: a string or a non-empty array of non-empty
strings, at most 2048), encoding_format ("float"; "base64" is refused
here), dimensions (positive integer), user (string); nothing else.  With
a key configured, "Authorization: Bearer KEY" must match (401
otherwise).

Modes (Server.mode, settable from a test or with --mode): "ok",
"429once" (the next request gets 429 with Retry-After: 1, then ok),
"wrongdim" (vectors one dimension short), "500" (every request), "slow"
(sleep Server.delay seconds before answering).  Every request's batch
size and Authorization header are recorded.

    python3 tests/standin/openai.py --port 8089 --dim 64 [--key K]
"""
import argparse
import hashlib
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALLOWED = {"model", "input", "encoding_format", "dimensions", "user"}
MAX_INPUTS = 2048
WORD = re.compile(r"[a-z0-9]+")


def embed(text, dim):
    """Hashed bag of words (and a little of each word's prefix)."""
    v = [0.0] * dim
    for w in WORD.findall(text.lower()):
        for feat, weight in ((w, 1.0), ("^" + w[:4], 0.3)):
            h = hashlib.sha256(feat.encode()).digest()
            i = int.from_bytes(h[:4], "little") % dim
            v[i] += weight if h[4] & 1 else -weight
    n = math.sqrt(sum(x * x for x in v))
    if n == 0:
        v[0] = 1.0
        n = 1.0
    return [x / n for x in v]


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port=0, dim=64, key=None, model=None):
        super().__init__(("127.0.0.1", port), Handler)
        self.dim = dim
        self.key = key
        self.model = model          # None: any model name
        self.mode = "ok"
        self.delay = 0.0
        self.lock = threading.Lock()
        self.batches = []           # inputs per accepted request
        self.auth = []              # Authorization header of every request
        self.requests = 0

    def handle_error(self, request, client_address):
        pass    # a client that timed out and left (slow mode) is no news

    @property
    def port(self):
        return self.server_address[1]

    def url(self):
        return "http://127.0.0.1:%d/v1/embeddings" % self.port

    def start(self):
        t = threading.Thread(target=self.serve_forever, daemon=True)
        t.start()
        return self

    def reset(self, mode="ok"):
        with self.lock:
            self.mode = mode
            self.batches = []
            self.auth = []
            self.requests = 0


def error(kind, message, param=None, code=None):
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def check_body(body):
    """None when the request is valid, else an error message."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    extra = set(body) - ALLOWED
    if extra:
        return "Unrecognized request argument supplied: %s" % ", ".join(sorted(extra))
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "'model' is required and must be a string"
    inp = body.get("input")
    if isinstance(inp, str):
        if not inp:
            return "'input' must not be empty"
    elif isinstance(inp, list):
        if not inp or len(inp) > MAX_INPUTS:
            return "'input' must hold 1 to %d items" % MAX_INPUTS
        if not all(isinstance(s, str) and s for s in inp):
            return "'input' items must be non-empty strings"
    else:
        return "'input' must be a string or an array of strings"
    if "encoding_format" in body and body["encoding_format"] != "float":
        return "this stand-in answers encoding_format \"float\" only"
    if "dimensions" in body and (not isinstance(body["dimensions"], int) or
                                 isinstance(body["dimensions"], bool) or
                                 body["dimensions"] < 1):
        return "'dimensions' must be a positive integer"
    if "user" in body and not isinstance(body["user"], str):
        return "'user' must be a string"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send(404, error("invalid_request_error", "not found"))

    def do_POST(self):
        s = self.server
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        with s.lock:
            s.requests += 1
            s.auth.append(self.headers.get("Authorization"))
            mode = s.mode
            if mode == "429once":
                s.mode = "ok"
        if self.path != "/v1/embeddings":
            return self.send(404, error("invalid_request_error", "Unknown URL %s" % self.path))
        if s.key is not None and self.headers.get("Authorization") != "Bearer " + s.key:
            return self.send(401, error("invalid_request_error", "Incorrect API key provided",
                                        code="invalid_api_key"))
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self.send(400, error("invalid_request_error", "Content-Type must be JSON"))
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send(400, error("invalid_request_error", "the body is not JSON"))
        why = check_body(body)
        if why:
            return self.send(400, error("invalid_request_error", why))
        if s.model is not None and body["model"] != s.model:
            return self.send(404, error("invalid_request_error",
                                        "The model `%s` does not exist" % body["model"],
                                        param="model", code="model_not_found"))
        if mode == "429once":
            return self.send(429, error("rate_limit_error", "Rate limit reached"),
                             headers=(("Retry-After", "1"),))
        if mode == "500":
            return self.send(500, error("server_error", "The server had an error"))
        if mode == "slow":
            time.sleep(s.delay)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        with s.lock:
            s.batches.append(len(inputs))
        dim = body.get("dimensions") or s.dim
        if mode == "wrongdim":
            dim -= 1
        data = [{"object": "embedding", "index": i, "embedding": embed(t, dim)}
                for i, t in enumerate(inputs)]
        data.reverse()      # clients must match by index, not by position
        tokens = sum(len(WORD.findall(t.lower())) for t in inputs)
        self.send(200, {"object": "list", "data": data, "model": body["model"],
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--key")
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--delay", type=float, default=5.0)
    a = ap.parse_args()
    s = Server(a.port, a.dim, a.key)
    s.mode, s.delay = a.mode, a.delay
    print("stand-in OpenAI embeddings server on %s" % s.url(), flush=True)
    s.serve_forever()


if __name__ == "__main__":
    main()

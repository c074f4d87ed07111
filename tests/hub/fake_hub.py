#!/usr/bin/env python3
"""A local stand-in for the Hugging Face Hub, for tests/hub.

Serves repositories from ROOT/<org>/<name>/ (plain files) the way huggingface.co does:
  GET  /api/models/<org>/<name>/revision/<rev>    {"id", "sha", "siblings": [{"rfilename", "size"}]}
  HEAD/GET /<org>/<name>/resolve/<rev>/<path>      small files: 200 + ETag (git blob sha1) + X-Repo-Commit;
                                                   LFS files (*.safetensors, *.gguf, *.bin): 302 to /_cdn/...
                                                   + X-Linked-Etag (sha256) + X-Linked-Size + X-Repo-Commit
  GET  /_cdn/<org>/<name>/<path>                   the bytes, with Range support
Test controls (JSON):
  POST /_control   merges keys into the behaviour config:
      status     {"org/name": 401|403|404}            every request for the repo answers that
      token      {"org/name": "secret"}               Bearer token required (else 401)
      drop       {"org/name/path": [n_bytes, times]}   send n bytes of a body then cut the connection
      stall      {"org/name/path": n_bytes}            send n bytes then hang (until the client goes)
      wrong_sha  ["org/name/path"]                     announce a sha256 that does not match
      extra      {"org/name": ["../../x"]}             extra names in the listing
      listed_size {"org/name/path": n}                 the size the listing announces for a file
  GET  /_stats     {"body_bytes": {"org/name/path": n}, "requests": n, "auth_seen": [...]}
  POST /_reset     clears counters and behaviours
Prints "PORT <n>" on stdout once listening on 127.0.0.1.
"""
import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
LOCK = threading.Lock()
CONFIG = {}
STATS = {"body_bytes": {}, "requests": 0, "auth_seen": []}
LFS_SUFFIXES = (".safetensors", ".gguf", ".bin")


def repo_files(repo):
    base = os.path.join(ROOT, repo)
    out = []
    for dirpath, _, names in os.walk(base):
        for n in names:
            full = os.path.join(dirpath, n)
            out.append(os.path.relpath(full, base).replace(os.sep, "/"))
    return sorted(out)


def read(repo, path):
    with open(os.path.join(ROOT, repo, path), "rb") as f:
        return f.read()


def commit_of(repo):
    h = hashlib.sha1()
    for p in repo_files(repo):
        h.update(p.encode() + b"\0" + hashlib.sha256(read(repo, p)).digest())
    return h.hexdigest()


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_plain(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, message):
        self.send_plain(code, json.dumps({"error": message}).encode(),
                        {"Content-Type": "application/json", "X-Error-Message": message})

    def check_repo(self, repo):
        with LOCK:
            STATS["requests"] += 1
            auth = self.headers.get("Authorization")
            if auth:
                STATS["auth_seen"].append(auth)
            status = CONFIG.get("status", {}).get(repo)
            token = CONFIG.get("token", {}).get(repo)
        if status:
            self.error(status, {401: "Invalid credentials", 403: "Access to this gated repo is restricted",
                                404: "Repository not found"}.get(status, "error"))
            return False
        if token and self.headers.get("Authorization") != "Bearer " + token:
            self.error(401, "Invalid credentials in Authorization header")
            return False
        if not os.path.isdir(os.path.join(ROOT, repo)):
            self.error(404, "Repository not found")
            return False
        return True

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        with LOCK:
            if self.path == "/_control":
                CONFIG.update(body)
            elif self.path == "/_reset":
                CONFIG.clear()
                STATS.update({"body_bytes": {}, "requests": 0, "auth_seen": []})
        self.send_plain(200, b"{}")

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        if parts == ["_stats"]:
            with LOCK:
                return self.send_plain(200, json.dumps(STATS).encode())
        if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
            return self.api_info("/".join(parts[2:4]), "/".join(parts[5:]))
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve("/".join(parts[0:2]), parts[3], "/".join(parts[4:]))
        if len(parts) >= 4 and parts[0] == "_cdn":
            return self.cdn("/".join(parts[1:3]), "/".join(parts[3:]))
        self.error(404, "no such route")

    def api_info(self, repo, rev):
        if not self.check_repo(repo):
            return
        commit = commit_of(repo)
        if rev not in ("main", commit):
            return self.error(404, "Revision not found")
        with LOCK:
            listed = dict(CONFIG.get("listed_size", {}))
        siblings = [{"rfilename": p, "size": listed.get(repo + "/" + p, len(read(repo, p)))} for p in repo_files(repo)]
        with LOCK:
            siblings += [{"rfilename": p, "size": 1} for p in CONFIG.get("extra", {}).get(repo, [])]
        body = json.dumps({"id": repo, "sha": commit, "siblings": siblings}).encode()
        self.send_plain(200, body, {"Content-Type": "application/json"})

    def resolve(self, repo, rev, path):
        if not self.check_repo(repo):
            return
        commit = commit_of(repo)
        if rev not in ("main", commit):
            return self.error(404, "Revision not found")
        if path not in repo_files(repo):
            return self.error(404, "Entry not found")
        data = read(repo, path)
        with LOCK:
            wrong = repo + "/" + path in CONFIG.get("wrong_sha", [])
        if path.endswith(LFS_SUFFIXES):
            sha = hashlib.sha256(data + (b"x" if wrong else b"")).hexdigest()
            location = "/_cdn/" + repo + "/" + urllib.parse.quote(path) + "?expires=1"
            return self.send_plain(302, b"", {"Location": location, "X-Linked-Etag": '"%s"' % sha,
                                              "X-Linked-Size": str(len(data)), "ETag": '"%s"' % sha,
                                              "X-Repo-Commit": commit})
        headers = {"ETag": '"%s"' % git_sha1(data + (b"x" if wrong else b"")), "X-Repo-Commit": commit}
        self.send_body(repo + "/" + path, data, headers)

    def cdn(self, repo, path):
        if path not in repo_files(repo):
            return self.error(404, "not found")
        self.send_body(repo + "/" + path, read(repo, path), {})

    def send_body(self, key, data, headers):
        start = 0
        rng = self.headers.get("Range")
        code = 200
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return self.send_plain(416, b"", {"Content-Range": "bytes */%d" % len(data)})
            code = 206
            headers = dict(headers, **{"Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))})
        body = data[start:]
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if self.command == "HEAD":
            return
        with LOCK:
            drop = CONFIG.get("drop", {}).get(key)
            if drop and drop[1] > 0:
                drop[1] -= 1
            else:
                drop = None
            stall = CONFIG.get("stall", {}).get(key)
        limit = drop[0] if drop else (stall if stall is not None else len(body))
        sent = 0
        while sent < min(limit, len(body)):
            chunk = body[sent:min(limit, len(body), sent + 4096)]
            self.wfile.write(chunk)
            self.wfile.flush()
            sent += len(chunk)
            with LOCK:
                STATS["body_bytes"][key] = STATS["body_bytes"].get(key, 0) + len(chunk)
        if drop:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif stall is not None:
            time.sleep(60)
            self.close_connection = True


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

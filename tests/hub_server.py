"""A small Hugging Face Hub on 127.0.0.1 for the tests: the endpoints the real huggingface_hub, transformers and
datasets clients call (resolve, repo info, tree, paths-info, create repo, preupload, commit), with gated and
missing repositories answered as the Hub does (status + ``X-Error-Code``). Every request is recorded."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

_REPO = r"(?P<repo>[^/]+(?:/[^/]+)?)"
_RESOLVE = re.compile(rf"^/(?:(?P<kind>datasets|spaces)/)?{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_API = re.compile(rf"^/api/(?P<kind>models|datasets|spaces)/{_REPO}(?:/(?P<op>revision|tree|paths-info|preupload|commit)"
                  r"(?:/(?P<rev>[^/]+))?(?:/(?P<path>.*))?)?$")  # fmt: skip


@dataclass
class Repo:
    """One repository: its files (path → bytes), a fixed commit sha, and whether it is gated."""

    files: dict[str, bytes]
    gated: bool = False
    private: bool = False
    sha: str = ""
    commits: list[dict] = field(default_factory=list)  # what uploads sent: header + file paths

    def __post_init__(self) -> None:
        self.sha = self.sha or hashlib.sha1(repr(sorted(self.files)).encode()).hexdigest()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    authorized: bool  # carried a bearer token (its value is never kept)


class HubServer:
    """Serves ``repos`` (keyed ``"model:owner/name"`` / ``"dataset:owner/name"``); ``token`` opens gated repos and
    uploads. ``requests`` lists every request, ``uploads`` every committed file (key → path → bytes)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.renamed: dict[str, str] = {}  # old id → new id: answered with a 307 redirect, as the Hub does
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)

    def start(self) -> HubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add(self, kind: str, repo_id: str, files: dict[str, bytes | str], gated: bool = False) -> Repo:
        data = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
        repo = self.repos[f"{kind}:{repo_id}"] = Repo(data, gated)
        return repo

    def add_folder(self, kind: str, repo_id: str, folder: Path, gated: bool = False) -> Repo:
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return self.add(kind, repo_id, files, gated)

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def hits(self, needle: str) -> list[Request]:
        """Requests whose path contains ``needle``."""
        with self._lock:
            return [r for r in self.requests if needle in r.path]


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet: the test asserts on requests
        pass

    # --- plumbing -----------------------------------------------------------------------

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.hub.token}"

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: object, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self._send(status, body, {"Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _repo(self, kind: str, repo_id: str, content: bool = False) -> Repo | None:
        """The repository, or ``None`` after answering as the Hub does for a missing one, or for the ``content``
        (files) of a gated one without a token that has access (its metadata stays public, as on the Hub)."""
        repo = self.hub.repos.get(f"{kind}:{repo_id}")
        if repo is None:  # without a token the Hub says 401, so that a private repo's existence never shows
            self._error(404 if self.headers.get("Authorization") else 401, "RepoNotFound", "Repository not found")
        elif repo.gated and content and not self._authorized():
            status = 403 if self.headers.get("Authorization") else 401
            self._error(status, "GatedRepo", "Access to this model is restricted: you must be authenticated and accept its conditions")
        else:
            return repo
        return None

    # --- verbs --------------------------------------------------------------------------

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._route()

    def do_GET(self) -> None:  # noqa: N802
        self._route()

    def do_POST(self) -> None:  # noqa: N802
        self._route()

    def _route(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        self.hub.record(Request(self.command, path, self._authorized()))
        if path == "/api/repos/create" and self.command == "POST":
            return self._create_repo()
        if path == "/api/validate-yaml" and self.command == "POST":  # upload_folder checks README.md's metadata
            content = json.loads(self._body() or b"{}").get("content")
            return self._json({"errors": [], "warnings": []}) if isinstance(content, str) else \
                self._error(400, "BadRequest", "content must be a string")  # fmt: skip
        if path == "/api/whoami-v2":
            return self._json({"name": "tester", "type": "user", "auth": {}}) if self._authorized() else \
                self._error(401, "Unauthorized", "Invalid credentials")  # fmt: skip
        for old, new in self.hub.renamed.items():
            for prefix in ("/api/models/", "/api/datasets/", "/datasets/", "/"):
                if (path + "/").startswith(f"{prefix}{old}/"):
                    moved = self.path.replace(f"{prefix}{old}", f"{prefix}{new}", 1)
                    return self._send(307, b"", {"Location": self.hub.url + moved})
        if m := _API.match(path):
            kind = m["kind"].removesuffix("s")
            return self._api(kind, m["repo"], m["op"], m["rev"] or "main", m["path"] or "", parse_qs(url.query))
        if m := _RESOLVE.match(path):
            kind = (m["kind"] or "models").removesuffix("s")
            return self._resolve(kind, m["repo"], m["path"])
        self._error(404, "EntryNotFound", f"no route for {path}")

    def _resolve(self, kind: str, repo_id: str, filename: str) -> None:
        repo = self._repo(kind, repo_id, content=True)
        if repo is None:
            return
        data = repo.files.get(filename)
        if data is None:
            return self._error(404, "EntryNotFound", f"{filename} not found")
        headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                   "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}  # fmt: skip
        ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if ranged and self.command == "GET":
            start = int(ranged[1])
            end = min(int(ranged[2]) if ranged[2] else len(data) - 1, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(206, data[start : end + 1], headers)
        self._send(200, data, headers)

    def _entry(self, repo: Repo, path: str) -> dict:
        data = repo.files[path]
        return {"type": "file", "path": path, "size": len(data), "oid": hashlib.sha1(data).hexdigest(),
                "lastCommit": {"id": repo.sha, "title": "init", "date": "2026-01-01T00:00:00.000Z"}}  # fmt: skip

    def _api(self, kind: str, repo_id: str, op: str | None, rev: str, sub: str, query: dict) -> None:
        if op in ("preupload", "commit"):
            return self._upload(kind, repo_id, op)
        repo = self._repo(kind, repo_id)
        if repo is None:
            return
        if op in (None, "revision"):
            siblings = [{"rfilename": p, "size": len(d)} for p, d in sorted(repo.files.items())]
            return self._json({"id": repo_id, "_id": repo.sha[:24], "sha": repo.sha, "private": False,
                               "gated": "manual" if repo.gated else False, "disabled": False, "downloads": 0,
                               "likes": 0, "tags": [], "siblings": siblings,
                               "lastModified": "2026-01-01T00:00:00.000Z"})  # fmt: skip
        if op == "tree":
            return self._json(self._tree(repo, sub, query.get("recursive", ["false"])[0].lower() == "true"))
        form = parse_qs(self._body().decode())
        wanted = form.get("paths", [])
        self._json([self._entry(repo, p) for p in wanted if p in repo.files] +
                   [{"type": "directory", "path": p, "oid": repo.sha} for p in wanted if self._is_dir(repo, p)])

    @staticmethod
    def _is_dir(repo: Repo, path: str) -> bool:
        return any(f.startswith(path.rstrip("/") + "/") for f in repo.files) or path in ("", ".")

    def _tree(self, repo: Repo, sub: str, recursive: bool) -> list[dict]:
        prefix = sub.strip("/") + "/" if sub.strip("/") else ""
        out, dirs = [], set()
        for path in sorted(repo.files):
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix) :].split("/")
            for depth in range(1, len(parts)):
                folder = prefix + "/".join(parts[:depth])
                if (recursive or depth == 1) and folder not in dirs:
                    dirs.add(folder)
                    out.append({"type": "directory", "path": folder, "oid": repo.sha})
            if recursive or len(parts) == 1:
                out.append(self._entry(repo, path))
        return out

    # --- uploads ------------------------------------------------------------------------

    def _create_repo(self) -> None:
        if not self._authorized():
            return self._error(401, "Unauthorized", "Invalid credentials in Authorization header")
        body = json.loads(self._body() or b"{}")
        name = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
        kind = body.get("type") or "model"
        if f"{kind}:{name}" in self.hub.repos:
            return self._error(409, "RepoExists", "You already created this model repo")
        # huggingface_hub 2.x sends "visibility"; older clients sent "private"
        self.hub.add(kind, name, {}).private = body.get("visibility") == "private" or bool(body.get("private"))
        self._json({"url": f"{self.hub.url}/{name}", "name": name, "id": name})

    def _upload(self, kind: str, repo_id: str, op: str) -> None:
        body = self._body()
        if not self._authorized():
            return self._error(401, "Unauthorized", "Invalid credentials in Authorization header")
        repo = self.hub.repos.get(f"{kind}:{repo_id}")
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        if op == "preupload":
            files = json.loads(body).get("files", [])
            return self._json({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                         for f in files]})  # fmt: skip
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        added = {}
        for line in lines:
            if line["key"] == "file":
                added[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
        header = next((line["value"] for line in lines if line["key"] == "header"), {})
        repo.files.update(added)
        repo.commits.append({"summary": header.get("summary", ""), "files": sorted(added)})
        repo.sha = hashlib.sha1(repr(sorted(repo.files)).encode() + str(len(repo.commits)).encode()).hexdigest()
        self._json({"commitUrl": f"{self.hub.url}/{repo_id}/commit/{repo.sha}", "commitOid": repo.sha,
                    "success": True})  # fmt: skip

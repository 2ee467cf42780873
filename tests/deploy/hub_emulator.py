"""A local stand-in for the Hugging Face Hub API: answers what HfApi.create_repo/create_branch/upload_folder call.

Runs stdlib http.server in a thread on 127.0.0.1 (random port), records every request, decodes the NDJSON
commit into {path: bytes}, and can be scripted to fail requests (e.g. 503 once, 401 always) or to hold one
until released (so a test can kill the uploader mid-request).

Like the Hub, preupload answers "lfs" for weights (*.safetensors, *.bin, *.gguf) and for files of `lfs_threshold`
bytes or more, "regular" for the rest. LFS files go through the git-lfs batch API (POST
<repo>.git/info/lfs/objects/batch), a PUT of the object and a verify call; the commit then names them by sha256
(`lfsFile` lines), and a commit naming an object that was never stored whole is refused, leaving the revision
as it was. The Xet protocol (the hf_xet client's own chunk store) is not emulated: tests turn it off."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import http.server
import json
import threading
from dataclasses import dataclass, field

LFS_PATTERNS = ("*.safetensors", "*.bin", "*.gguf", "*.pt")


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes = b""

    def json(self):
        return json.loads(self.body)


@dataclass
class HubEmulator:
    requests: list[Request] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # committed path -> content
    commits: list[dict] = field(default_factory=list)  # commit header values
    failures: list[tuple[str, int]] = field(default_factory=list)  # (path fragment, status), used once each
    lfs_threshold: int = 10 * 1024 * 1024  # the Hub's size from which a file travels through LFS
    lfs: dict[str, bytes] = field(default_factory=dict)  # stored LFS objects by sha256
    held: str | None = None  # a path fragment whose next request waits for release() before its body is read

    def start(self) -> "HubEmulator":
        hub = self
        self.lock = threading.Lock()  # ThreadingHTTPServer: one thread per request
        self.entered, self.released = threading.Event(), threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hub._handle(self)

            def do_POST(self):
                hub._handle(self)

            def do_PUT(self):
                hub._handle(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def hold(self, fragment: str) -> None:
        """The next request whose path contains `fragment` waits (until release()) before reading its body."""
        self.held = fragment

    def release(self) -> None:
        self.released.set()

    def fail(self, fragment: str, *statuses: int) -> None:
        """The next requests whose path contains `fragment` get these statuses, one each."""
        self.failures += [(fragment, s) for s in statuses]

    def calls(self, fragment: str, method: str = "POST") -> list[Request]:
        return [r for r in self.requests if fragment in r.path and r.method == method]

    def _handle(self, h) -> None:
        if self.held is not None and self.held in h.path:
            self.held = None
            self.entered.set()
            self.released.wait(30)
        expected = int(h.headers.get("Content-Length") or 0)
        try:
            body = h.rfile.read(expected)
        except OSError:
            body = b""
        req = Request(h.command, h.path, {k.lower(): v for k, v in h.headers.items()}, body)
        if len(body) < expected:  # the client went away mid-request: nothing of it is kept
            with self.lock:
                self.requests.append(req)
            return
        with self.lock:
            self.requests.append(req)
            scripted = next((i for i, (fragment, _) in enumerate(self.failures) if fragment in req.path), None)
            if scripted is not None:
                status = self.failures.pop(scripted)[1]
                payload = {"error": f"scripted {status}"}
            else:
                status, payload = self._answer(req)
        try:
            self._send(h, status, payload)
        except OSError:  # the client is gone
            pass

    def _answer(self, req: Request) -> tuple[int, dict]:
        if req.path == "/api/repos/create":
            spec = req.json()
            return 200, {"url": f"{self.url}/{spec['organization']}/{spec['name']}"}
        if req.path == "/api/validate-yaml":  # upload_folder checks README.md metadata first
            return 200, {"errors": [], "warnings": []}
        if "/branch/" in req.path:
            return 200, {}
        if "/preupload/" in req.path:
            return 200, {
                "files": [
                    {"path": f["path"], "uploadMode": self._mode(f), "shouldIgnore": False} for f in req.json()["files"]
                ]
            }
        if req.path.endswith(".git/info/lfs/objects/batch"):
            return 200, self._batch(req.json())
        if req.path.startswith("/lfs-upload/") and req.method == "PUT":
            oid = req.path.rsplit("/", 1)[1]
            if hashlib.sha256(req.body).hexdigest() != oid:
                return 400, {"error": "object content does not match its oid"}
            self.lfs[oid] = req.body
            return 200, {}
        if req.path.startswith("/lfs-verify/"):
            spec = req.json()
            ok = spec["oid"] in self.lfs and len(self.lfs[spec["oid"]]) == spec["size"]
            return (200, {}) if ok else (404, {"error": "object not stored"})
        if "/commit/" in req.path:
            return self._commit(req)
        return 404, {"error": "not emulated"}

    def _mode(self, spec: dict) -> str:
        lfs = spec["size"] >= self.lfs_threshold or any(fnmatch.fnmatch(spec["path"], p) for p in LFS_PATTERNS)
        return "lfs" if lfs else "regular"

    def _batch(self, spec: dict) -> dict:
        """git-lfs batch: upload and verify actions for each object not stored yet, none for stored ones."""
        assert spec["operation"] == "upload" and spec["hash_algo"] == "sha256"
        objects = []
        for obj in spec["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.lfs:
                entry["actions"] = {
                    "upload": {"href": f"{self.url}/lfs-upload/{obj['oid']}"},
                    "verify": {"href": f"{self.url}/lfs-verify/{obj['oid']}"},
                }
            objects.append(entry)
        return {"transfer": "basic", "objects": objects}

    def _commit(self, req: Request) -> tuple[int, dict]:
        """Apply a commit whole or not at all: every lfsFile must name a stored object of its size."""
        header, changes = None, {}
        for line in req.body.decode().splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "header":
                header = value
            elif item["key"] == "file":
                changes[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] == "lfsFile":
                stored = self.lfs.get(value["oid"])
                if value.get("algo") != "sha256" or stored is None or len(stored) != value["size"]:
                    return 422, {"error": f"LFS object {value['oid']} of {value['path']} is not stored"}
                changes[value["path"]] = stored
        self.commits.append(header)
        self.files.update(changes)
        repo = req.path.split("/api/models/")[1].split("/commit/")[0]
        return 200, {"commitUrl": f"{self.url}/{repo}/commit/c0ffee", "commitOid": "c0ffee"}

    @staticmethod
    def _send(h, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

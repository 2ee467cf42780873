"""A local stand-in for the Hugging Face Hub API: answers what HfApi.create_repo/create_branch/upload_folder call.

Runs stdlib http.server in a thread on 127.0.0.1 (random port), records every request, decodes the NDJSON
commit into {path: bytes}, and can be scripted to fail requests (e.g. 503 once, 401 always).
"""
from __future__ import annotations

import base64
import http.server
import json
import threading
from dataclasses import dataclass, field


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

    def start(self) -> "HubEmulator":
        hub = self
        self.lock = threading.Lock()  # ThreadingHTTPServer: one thread per request

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hub._handle(self)

            def do_POST(self):
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

    def fail(self, fragment: str, *statuses: int) -> None:
        """The next requests whose path contains `fragment` get these statuses, one each."""
        self.failures += [(fragment, s) for s in statuses]

    def calls(self, fragment: str, method: str = "POST") -> list[Request]:
        return [r for r in self.requests if fragment in r.path and r.method == method]

    def _handle(self, h) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        req = Request(h.command, h.path, {k.lower(): v for k, v in h.headers.items()}, body)
        with self.lock:
            self.requests.append(req)
            scripted = next((i for i, (fragment, _) in enumerate(self.failures) if fragment in req.path), None)
            if scripted is not None:
                status = self.failures.pop(scripted)[1]
                payload = {"error": f"scripted {status}"}
            else:
                status, payload = self._answer(req)
        self._send(h, status, payload)

    def _answer(self, req: Request) -> tuple[int, dict]:
        if req.path == "/api/repos/create":
            spec = req.json()
            return 200, {"url": f"{self.url}/{spec['organization']}/{spec['name']}"}
        if req.path == "/api/validate-yaml":  # upload_folder checks README.md metadata first
            return 200, {"errors": [], "warnings": []}
        if "/branch/" in req.path:
            return 200, {}
        if "/preupload/" in req.path:
            # "regular" for every file: contents then travel base64-encoded inside the commit, no LFS/Xet.
            return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                   for f in req.json()["files"]]}
        if "/commit/" in req.path:
            return 200, self._commit(req)
        return 404, {"error": "not emulated"}

    def _commit(self, req: Request) -> dict:
        for line in req.body.decode().splitlines():
            item = json.loads(line)
            if item["key"] == "header":
                self.commits.append(item["value"])
            elif item["key"] == "file":
                self.files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
        repo = req.path.split("/api/models/")[1].split("/commit/")[0]
        return {"commitUrl": f"{self.url}/{repo}/commit/c0ffee", "commitOid": "c0ffee"}

    @staticmethod
    def _send(h, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

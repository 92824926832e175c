"""A code forge on 127.0.0.1 that answers the comment APIs the CI kit calls (GitHub and GitLab).

Only the calls `reconciler.ci.sticky_comment` makes: list (paginated, `per_page`/`page`), create,
update. It records every request, so tests can say "created once, then updated, never duplicated".
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "t0k3n-secret"


@dataclass
class Forge:
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, marker: str) -> list[str]:
        return [c["body"] for c in self.comments if c["body"].startswith(marker)]

    def mutations(self) -> list[str]:
        return [m for m, _ in self.requests if m != "GET"]


_GITHUB_LIST = re.compile(r"^/repos/o/r/issues/7/comments$")
_GITHUB_ONE = re.compile(r"^/repos/o/r/issues/comments/(\d+)$")
_GITLAB_LIST = re.compile(r"^/api/v4/projects/42/merge_requests/3/notes$")
_GITLAB_ONE = re.compile(r"^/api/v4/projects/42/merge_requests/3/notes/(\d+)$")


def serve(forge: Forge) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self, path: str) -> bool:
            if path.startswith("/api/v4/"):
                return self.headers.get("PRIVATE-TOKEN") == TOKEN
            return self.headers.get("Authorization") == f"Bearer {TOKEN}"

        def _handle(self) -> None:
            url = urlsplit(self.path)
            with forge.lock:
                forge.requests.append((self.command, self.path))
            if not self._authorized(url.path):
                self._reply(401, {"message": "Bad credentials"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null") if length else None
            with forge.lock:
                if (_GITHUB_LIST.match(url.path) or _GITLAB_LIST.match(url.path)) and self.command == "GET":
                    q = parse_qs(url.query)
                    per, page = int(q["per_page"][0]), int(q["page"][0])
                    self._reply(200, forge.comments[(page - 1) * per : page * per])
                elif (
                    _GITHUB_LIST.match(url.path) or _GITLAB_LIST.match(url.path)
                ) and self.command == "POST":
                    forge.next_id += 1
                    item = {"id": forge.next_id, "body": body["body"]}
                    forge.comments.append(item)
                    self._reply(201, item)
                elif (m := _GITHUB_ONE.match(url.path) or _GITLAB_ONE.match(url.path)) and self.command in (
                    "PATCH",
                    "PUT",
                ):
                    item = next((c for c in forge.comments if c["id"] == int(m.group(1))), None)
                    if item is None:
                        self._reply(404, {"message": "Not Found"})
                        return
                    item["body"] = body["body"]
                    self._reply(200, item)
                else:
                    self._reply(404, {"message": f"no route {self.command} {url.path}"})

        do_GET = do_POST = do_PATCH = do_PUT = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"

"""A fake arXiv API (and Papers-with-Code API) on a loopback port, in a thread.

It serves recorded responses: each route maps to (status, content type, body bytes), chosen by
the ``search_query`` parameter for /api/query. Every request is recorded with its arrival time
(``time.monotonic()``), so tests can measure the spacing the client keeps.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ARXIV_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "arxiv"
ATOM = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True)
class Recorded:
    path: str
    params: dict[str, list[str]]
    at: float


@dataclass
class Canned:
    status: int
    content_type: str
    body: bytes


@dataclass
class FakeArxiv:
    """``answers`` maps a search_query (or '*' for any) to a canned response; ``routes`` maps
    other paths (e.g. the Papers-with-Code API's) to canned responses."""

    answers: dict[str, Canned] = field(default_factory=dict)
    routes: dict[str, Canned] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def query_url(self) -> str:
        return f"{self.url}/api/query"

    def serve_fixture(self, search_query: str, name: str, status: int = 200) -> None:
        self.answers[search_query] = Canned(status, ATOM, (ARXIV_FIXTURES / name).read_bytes())

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                fake.requests.append(Recorded(parts.path, params, time.monotonic()))
                if parts.path == "/api/query":
                    query = params.get("search_query", [""])[0]
                    canned = fake.answers.get(query) or fake.answers.get("*")
                else:
                    canned = fake.routes.get(parts.path)
                if canned is None:
                    canned = Canned(404, "text/plain", b"not found")
                self.send_response(canned.status)
                self.send_header("Content-Type", canned.content_type)
                self.send_header("Content-Length", str(len(canned.body)))
                self.end_headers()
                self.wfile.write(canned.body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""A local HTTP server for download tests: serves files from a folder on 127.0.0.1 with Range support.

``serve(folder)`` is a context manager yielding the base URL. Knobs on the returned server object
let a test simulate trouble:

- ``server.fail_after[name] = n``: the first request for ``name`` sends only ``n`` bytes, then drops
  the connection (an interrupted download);
- ``server.ignore_range = True``: the server answers every request with the whole file (HTTP 200);
- ``server.requests``: a list of ``(path, range_header)`` for every request seen.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        name = self.path.split("?", 1)[0].lstrip("/")
        range_header = self.headers.get("Range")
        self.server.requests.append((name, range_header))
        path = self.server.root / name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if range_header and not self.server.ignore_range:
            start = int(range_header.split("=", 1)[1].split("-", 1)[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        limit = self.server.fail_after.pop(name, None)
        if limit is not None:
            self.wfile.write(body[:limit])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    root: Path
    fail_after: dict[str, int]
    ignore_range: bool
    requests: list[tuple[str, str | None]]


@contextlib.contextmanager
def serve(folder: str | Path) -> Iterator[tuple[str, _Server]]:
    """Serve ``folder`` on an ephemeral port; yields ``(base_url, server)``."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.root = Path(folder)
    server.fail_after = {}
    server.ignore_range = False
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()

"""A customer's image host on 127.0.0.1: plain http, fixed answers per path."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# path -> (status, body) or (status, body, content type). A 3xx answer's body is its Location.
Routes = Mapping[str, tuple[int, bytes] | tuple[int, bytes, str]]


@contextmanager
def serving(routes: Routes) -> Iterator[str]:
    """Serve ``routes`` (anything else is 404) and yield the base URL, without a trailing slash."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body, *content_type = routes.get(self.path, (404, b""))
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", body.decode())
                body = b""
            for value in content_type:
                self.send_header("Content-Type", value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

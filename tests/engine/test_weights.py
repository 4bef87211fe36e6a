"""Weights: found locally as they are, or downloaded, verified and stored atomically."""

from __future__ import annotations

import hashlib
import http.server
import io
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from upscale.engine import ModelUnavailable, weights
from upscale.engine.registry import ModelSpec

PAYLOAD = b"not really a network, but bytes with a known hash" * 1000
GOOD = hashlib.sha256(PAYLOAD).hexdigest()


def spec(sha256: str | None = GOOD, url: str | None = "https://example.invalid/w.pth") -> ModelSpec:
    return ModelSpec("test-model", "w.pth", 4, "auto", url, sha256)


class FakeOpener:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float) -> io.BytesIO:
        self.urls.append(url)
        return io.BytesIO(self.body)


@pytest.fixture
def fake_net(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpener]:
    fake = FakeOpener(PAYLOAD)
    monkeypatch.setattr(weights, "opener", fake)
    yield fake


def test_missing_file_is_downloaded_and_verified(tmp_path: Path, fake_net: FakeOpener) -> None:
    path = weights.ensure_weights(spec(), tmp_path)
    assert path == tmp_path / "w.pth"
    assert path.read_bytes() == PAYLOAD
    assert fake_net.urls == ["https://example.invalid/w.pth"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.pth"]  # no temp files left


def test_hash_mismatch_is_refused_and_nothing_is_stored(tmp_path: Path, fake_net: FakeOpener) -> None:
    with pytest.raises(ModelUnavailable, match="sha256"):
        weights.ensure_weights(spec(sha256="0" * 64), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise ConnectionResetError("peer went away")

    monkeypatch.setattr(weights, "opener", lambda url, timeout: Broken())
    with pytest.raises(ModelUnavailable, match=r"w\.pth"):
        weights.ensure_weights(spec(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_offline_error_names_file_and_folder(tmp_path: Path, fake_net: FakeOpener) -> None:
    with pytest.raises(ModelUnavailable) as err:
        weights.ensure_weights(spec(), tmp_path, allow_download=False)
    assert "w.pth" in str(err.value)
    assert str(tmp_path) in str(err.value)
    assert fake_net.urls == []


def test_operator_file_is_used_as_is_and_its_hash_logged(
    tmp_path: Path, fake_net: FakeOpener, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "w.pth").write_bytes(b"operator's own weights")
    with caplog.at_level(logging.INFO, logger="upscale.engine.weights"):
        path = weights.ensure_weights(spec(), tmp_path)
    assert path.read_bytes() == b"operator's own weights"
    assert hashlib.sha256(b"operator's own weights").hexdigest() in caplog.text
    assert fake_net.urls == []


class _Server:
    """A real https server on loopback with a trustme CA that the engine is told to trust."""

    def __init__(self, routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]]) -> None:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        routes_ = routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                routes_[self.path](self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(server_ctx)
        self.httpd.socket = server_ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.client_ctx = ssl.create_default_context()
        ca.configure_trust(self.client_ctx)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}{path}"


def _send(body: bytes, length: int | None = None) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        if length != -1:  # -1: no Content-Length, the body ends when the connection closes
            h.send_header("Content-Length", str(len(body) if length is None else length))
        h.end_headers()
        h.wfile.write(body)

    return handle


def _trickle(h: http.server.BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", str(len(PAYLOAD)))
    h.end_headers()
    try:
        for i in range(0, len(PAYLOAD), 1000):
            h.wfile.write(PAYLOAD[i : i + 1000])
            h.wfile.flush()
            time.sleep(0.05)
    except OSError:
        pass  # the client gave up, as it should


@pytest.fixture
def https_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]] = {
        "/w.pth": _send(PAYLOAD),
        "/big.pth": _send(PAYLOAD + b"extra bytes beyond the registry size"),
        "/unannounced.pth": _send(PAYLOAD + b"more", length=-1),
        "/slow.pth": _trickle,
    }
    server = _Server(routes)

    def to_http(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", "http://127.0.0.1:9/w.pth")
        h.end_headers()

    def to_https(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", server.url("/w.pth"))
        h.end_headers()

    routes["/to-http"] = to_http
    routes["/to-https"] = to_https
    monkeypatch.setattr(weights, "ssl_context", server.client_ctx)
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def sized(url: str, size: int | None = len(PAYLOAD), sha: str | None = GOOD) -> ModelSpec:
    return ModelSpec("test-model", "w.pth", 4, "auto", url, sha, size)


def test_https_download_through_the_production_opener(tmp_path: Path, https_server: _Server) -> None:
    path = weights.ensure_weights(sized(https_server.url("/w.pth")), tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert [p.name for p in tmp_path.iterdir()] == ["w.pth"]


def test_https_redirects_are_followed_only_to_https(tmp_path: Path, https_server: _Server) -> None:
    assert weights.ensure_weights(sized(https_server.url("/to-https")), tmp_path).read_bytes() == PAYLOAD
    (tmp_path / "w.pth").unlink()
    with pytest.raises(ModelUnavailable, match="non-https"):
        weights.ensure_weights(sized(https_server.url("/to-http")), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_plain_http_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="non-https"):
        weights.ensure_weights(sized("http://127.0.0.1:9/w.pth"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_untrusted_certificate_is_refused(tmp_path: Path, https_server: _Server,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "ssl_context", None)  # the system CAs do not know the test CA
    with pytest.raises(ModelUnavailable, match="CERTIFICATE"):
        weights.ensure_weights(sized(https_server.url("/w.pth")), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("route", ["/big.pth", "/unannounced.pth"])
def test_registry_size_caps_the_download(tmp_path: Path, https_server: _Server, route: str) -> None:
    """Announced too big, or not announced and then too long: both cut off, nothing kept."""
    with pytest.raises(ModelUnavailable, match="registry"):
        weights.ensure_weights(sized(https_server.url(route), sha=None), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_overall_deadline(tmp_path: Path, https_server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "DOWNLOAD_DEADLINE", 0.3)
    t = time.monotonic()
    with pytest.raises(ModelUnavailable, match=r"within 0\.3 s"):
        weights.ensure_weights(sized(https_server.url("/slow.pth")), tmp_path)
    assert time.monotonic() - t < 2.0  # the trickle alone would take 2.5 s
    assert list(tmp_path.iterdir()) == []


def test_stale_part_files_are_removed_live_ones_kept(tmp_path: Path, https_server: _Server) -> None:
    stale = tmp_path / ".w.pth.abc123.part"
    live = tmp_path / ".w.pth.def456.part"
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    old = time.time() - weights.STALE_PART_SECONDS - 10
    os.utime(stale, (old, old))
    weights.ensure_weights(sized(https_server.url("/w.pth")), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".w.pth.def456.part", "w.pth"]

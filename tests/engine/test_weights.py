"""Weights: found locally as they are, or downloaded, verified and stored atomically."""

from __future__ import annotations

import hashlib
import http.server
import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def test_real_http_download(tmp_path: Path) -> None:
    """Through urllib against a local server: the production opener, no fake."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/w.pth"
        path = weights.ensure_weights(spec(url=url), tmp_path / "models")
        assert path.read_bytes() == PAYLOAD
        with pytest.raises(ModelUnavailable):
            weights.ensure_weights(
                ModelSpec("other", "x.pth", 4, "auto", url, "f" * 64), tmp_path / "models"
            )
        assert not (tmp_path / "models" / "x.pth").exists()
    finally:
        server.shutdown()
        server.server_close()

"""Find weights in the model folder; download, verify and store missing ones atomically."""

from __future__ import annotations

import hashlib
import logging
import os
import ssl
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.client import HTTPMessage
from pathlib import Path
from typing import IO

from .errors import EngineError, ModelUnavailable
from .registry import ModelSpec

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# A whole download must finish within this many seconds (each read also has its own timeout):
# a server trickling bytes must not hold a worker's first request forever.
DOWNLOAD_DEADLINE = 600.0
READ_TIMEOUT = 60.0
# Leftovers older than this from a killed process are removed; younger ones may be a live
# download in another worker.
STALE_PART_SECONDS = 2 * DOWNLOAD_DEADLINE
# The one place the engine touches the network; tests replace it with a fake opener.
Opener = Callable[[str, float], IO[bytes]]
# TLS trust for downloads: None is the system's default CA store; tests install their own CA.
ssl_context: ssl.SSLContext | None = None


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects (GitHub releases redirect to its object store) but only to https."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme != "https":
            raise EngineError(f"refusing a redirect to non-https URL {newurl!r}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _urlopen(url: str, timeout: float) -> IO[bytes]:
    if urllib.parse.urlsplit(url).scheme != "https":
        raise EngineError(f"refusing to download weights from non-https URL {url!r}")
    context = ssl_context or ssl.create_default_context()
    opener_ = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _HttpsOnlyRedirects())
    request = urllib.request.Request(url, headers={"User-Agent": "artnex-engine"})  # noqa: S310 (https checked)
    response: IO[bytes] = opener_.open(request, timeout=timeout)
    return response


opener: Opener = _urlopen


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_weights(spec: ModelSpec, model_dir: Path, allow_download: bool = True) -> Path:
    """Return the path of the weights for spec, downloading them if allowed and missing."""
    path = model_dir / spec.file
    if path.is_file():
        _log_local_file(spec, path)
        return path
    if not allow_download or not spec.url:
        why = "downloads are disabled" if not allow_download else "it has no download URL"
        raise ModelUnavailable(
            f"model {spec.name!r}: weights file {spec.file!r} is not in {model_dir} and {why}"
        )
    try:
        download(spec, path)
    except ModelUnavailable:
        raise
    except (OSError, EngineError) as exc:
        raise ModelUnavailable(
            f"model {spec.name!r}: weights file {spec.file!r} is not in {model_dir} "
            f"and downloading it from {spec.url} failed: {exc}"
        ) from exc
    return path


def _log_local_file(spec: ModelSpec, path: Path) -> None:
    # An operator-placed file is trusted as it is; its hash goes to the log for traceability.
    digest = sha256_file(path)
    if spec.sha256 and digest != spec.sha256:
        log.info("using operator-provided %s (sha256 %s, differs from the official release)", path, digest)
    else:
        log.info("using %s (sha256 %s)", path, digest)


def _remove_stale_parts(folder: Path, file: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    for part in folder.glob(f".{file}.*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART_SECONDS:
                part.unlink()
                log.info("removed %s left by an interrupted download", part)
        except OSError:
            pass


def download(spec: ModelSpec, path: Path, timeout: float = READ_TIMEOUT, deadline: float | None = None) -> None:
    """Stream spec.url into a temp file beside path, check its sha256, then rename into place.

    https only (redirects included). The registry's size is a cap: a response announcing or
    delivering more is cut off. The whole transfer must end within `deadline` seconds. The
    rename is atomic on one filesystem, so a concurrent worker sees either no file or a
    complete, verified one; a failed, oversized, late or mismatching download leaves nothing.
    """
    assert spec.url
    limit = DOWNLOAD_DEADLINE if deadline is None else deadline
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(path.parent, spec.file)
    log.info("downloading %s from %s", spec.file, spec.url)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.file}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    started = time.monotonic()
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out, opener(spec.url, timeout) as response:
            announced = _content_length(response)
            if spec.size is not None and announced is not None and announced > spec.size:
                raise EngineError(f"server announces {announced} bytes, the registry's size is {spec.size}")
            # read1 returns what has arrived, so the deadline is checked while a server trickles
            # (read(CHUNK) would block until a whole chunk came).
            read = getattr(response, "read1", response.read)
            while chunk := read(CHUNK):
                received += len(chunk)
                if spec.size is not None and received > spec.size:
                    raise EngineError(f"more than the registry's {spec.size} bytes received")
                if time.monotonic() - started > limit:
                    raise EngineError(f"download did not finish within {limit:g} s")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if spec.sha256 and actual != spec.sha256:
            raise ModelUnavailable(
                f"model {spec.name!r}: download of {spec.file!r} from {spec.url} has sha256 {actual}, "
                f"expected {spec.sha256}; refusing to store it in {path.parent}"
            )
        if not spec.sha256:
            log.warning("%s has no pinned sha256; downloaded file hashes to %s", spec.file, actual)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("stored %s (sha256 verified)", path)


def _content_length(response: IO[bytes]) -> int | None:
    headers = getattr(response, "headers", None)
    raw = headers.get("Content-Length") if headers is not None else None
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None

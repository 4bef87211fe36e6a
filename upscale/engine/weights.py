"""Find weights in the model folder; download, verify and store missing ones atomically."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .errors import EngineError, ModelUnavailable
from .registry import ModelSpec

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# The one place the engine touches the network; tests replace it with a fake opener.
Opener = Callable[[str, float], IO[bytes]]


def _urlopen(url: str, timeout: float) -> IO[bytes]:
    if not url.startswith("https://") and not url.startswith("http://"):
        raise EngineError(f"refusing to download weights from non-HTTP URL {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": "artnex-engine"})  # noqa: S310
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310


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


def download(spec: ModelSpec, path: Path, timeout: float = 60.0) -> None:
    """Stream spec.url into a temp file beside path, check its sha256, then rename into place.

    The rename is atomic on one filesystem, so a concurrent worker sees either no file or a
    complete, verified one; a failed or mismatching download leaves nothing behind.
    """
    assert spec.url
    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s from %s", spec.file, spec.url)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.file}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, opener(spec.url, timeout) as response:
            while chunk := response.read(CHUNK):
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

"""docs/client_example.py as a customer uses it: loaded from the file (not imported from a
package), driven with a plain requests session, its results downloaded. Shared by the
live_server test (tests/upscale) and the make-run stack test (tests/stack)."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

import requests
from PIL import Image

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "client_example.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_example", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plain_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment between us and loopback
    return session


def download(session: requests.Session, url: str) -> Image.Image:
    response = session.get(url, timeout=30)
    assert response.status_code == 200, response.text[:300]
    return Image.open(io.BytesIO(response.content))

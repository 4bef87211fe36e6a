"""Imports run one way: accounts ← billing ← upscale; artnex/ (but its wiring) and the engine
import no app, and the engine no Django either. Read from the source (AST), so an import
inside a function counts as much as one at the top of a module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("artnex", "accounts", "billing", "upscale")
APPS = ("accounts", "billing", "upscale")
# The wiring: it names every app, which is its job.
WIRING = {"artnex.settings", "artnex.urls", "artnex.celery", "artnex.wsgi", "artnex.asgi"}
ENGINE = "upscale.engine"
# The engine is shared with the CLI and bench/, and must load with no settings configured.
ENGINE_FORBIDDEN = ("django", "rest_framework", "celery", "artnex", *APPS)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def forbidden_prefixes(module: str) -> tuple[str, ...]:
    """The modules ``module`` must not import."""
    if _within(module, ENGINE):
        return ENGINE_FORBIDDEN
    if _within(module, "accounts"):
        return ("billing", "upscale")
    if _within(module, "billing"):
        return ("upscale",)
    if _within(module, "artnex") and module not in WIRING:
        return APPS
    return ()


def imported_names(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            yield node.lineno, base
            # `from . import x` and `from upscale import x` import submodules by name.
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def wrong_way_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    banned = forbidden_prefixes(module)
    found = []
    for line, name in imported_names(source, module, is_package):
        if _within(name, ENGINE) and _within(module, ENGINE):
            continue  # the engine's own modules
        if any(_within(name, prefix) for prefix in banned):
            found.append(f"{module}:{line} imports {name}")
    return found


def project_modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # generated; they name whatever the models point at
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def test_no_import_runs_the_wrong_way() -> None:
    problems = []
    for module, path in project_modules():
        problems += wrong_way_imports(path.read_text(), module, path.name == "__init__.py")
    assert problems == []


def test_the_walk_sees_every_app() -> None:
    modules = {module for module, _ in project_modules()}
    assert {"accounts.keys", "billing.ledger", "upscale.services", "upscale.engine.catalog", "artnex.errors"} <= modules


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("accounts.authentication", "from upscale.errors import InvalidApiKey"),
        ("accounts.admin", "def f():\n    from billing import ledger"),
        ("billing.views", "import upscale.models"),
        ("artnex.views", "from upscale import runtime"),
        ("upscale.engine.pipeline", "from django.conf import settings"),
        ("upscale.engine.pipeline", "from .. import storage"),
        ("upscale.engine", "from ..models import UpscaleRequest"),
    ],
)
def test_a_wrong_way_import_is_caught(module: str, source: str) -> None:
    assert wrong_way_imports(source, module, is_package=module == "upscale.engine")


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("upscale.views", "from billing import ledger\nfrom accounts.models import ApiKey"),
        ("billing.ledger", "from accounts.models import Account"),
        ("accounts.authentication", "from artnex.errors import InvalidApiKey"),
        ("artnex.urls", "from upscale import pages"),
        ("upscale.engine.pipeline", "from .imageio import decode"),
    ],
)
def test_a_right_way_import_passes(module: str, source: str) -> None:
    assert wrong_way_imports(source, module) == []

"""billing may import accounts, never upscale: the ledger sits below the upscale app."""

from __future__ import annotations

import ast
from pathlib import Path

import billing


def test_billing_never_imports_upscale() -> None:
    offenders = []
    for path in Path(billing.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n == "upscale" or n.startswith("upscale.")]
    assert offenders == []

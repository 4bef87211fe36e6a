"""spandrel imported without torchvision (upscale/engine/spandrel_import.py), and its way back out.

Each case runs in a fresh interpreter: what is in sys.modules is the behaviour under test, and
this test process may have imported torchvision already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(code: str, path: Path | None = None) -> dict[str, object]:
    """Run code in a new interpreter (path first on sys.path); it prints one JSON object last."""
    prelude = f"import sys; sys.path[:0] = {[str(p) for p in (path, REPO) if p]!r}\n"
    proc = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stderr"] = proc.stderr
    return result


def test_engine_loads_spandrel_without_torchvision_and_every_architecture_registered() -> None:
    plain = run("""
        import json, torchvision, spandrel
        print(json.dumps({"archs": sorted(str(a.architecture.id) for a in spandrel.MAIN_REGISTRY.architectures())}))
    """)
    lean = run("""
        import json, sys
        import upscale.engine.loader
        import spandrel
        print(json.dumps({
            "archs": sorted(str(a.architecture.id) for a in spandrel.MAIN_REGISTRY.architectures()),
            "loaded": [m for m in ("torchvision", "torch._dynamo", "sympy") if m in sys.modules],
        }))
    """)
    print(f"\nregistry without torchvision: {len(lean['archs'])} architectures (plain: {len(plain['archs'])})")
    assert lean["loaded"] == []
    assert lean["archs"] == plain["archs"] and len(plain["archs"]) > 30


def test_deferred_names_behave_as_torchvision_s_own() -> None:
    result = run("""
        import json, sys, torch
        from upscale.engine.spandrel_import import DeferredName, import_spandrel
        import_spandrel()
        from spandrel.architectures.LaMa.__arch import LaMa
        import spandrel.architectures.RestoreFormer as RestoreFormer
        deferred = all(isinstance(n, DeferredName) for n in (LaMa.rotate, LaMa.InterpolationMode,
                                                               RestoreFormer.tv_normalize))
        still_out = "torchvision" not in sys.modules
        x = torch.rand(1, 3, 24, 24)
        a = LaMa.rotate(x, 30.0, LaMa.InterpolationMode.BILINEAR, fill=0)  # imports torchvision now
        b = RestoreFormer.tv_normalize(x, [0.5] * 3, [0.5] * 3)
        import torchvision.transforms.functional as F
        print(json.dumps({
            "deferred": deferred, "still_out": still_out,
            "same_enum": LaMa.InterpolationMode.BILINEAR is F.InterpolationMode.BILINEAR,
            "rotate": torch.equal(a, F.rotate(x, 30.0, F.InterpolationMode.BILINEAR, fill=0)),
            "normalize": torch.equal(b, F.normalize(x, [0.5] * 3, [0.5] * 3)),
            "rotated": not torch.equal(a, x),
        }))
    """)
    assert result["deferred"] and result["still_out"], "the registry import should bind proxies, not torchvision"
    assert result["same_enum"] and result["rotate"] and result["normalize"] and result["rotated"]


def test_torchvision_already_loaded_means_the_plain_import() -> None:
    result = run("""
        import json, torchvision
        from upscale.engine.spandrel_import import DeferredName, import_spandrel
        import_spandrel()
        from spandrel.architectures.LaMa.__arch import LaMa
        print(json.dumps({"deferred": isinstance(LaMa.rotate, DeferredName)}))
    """)
    assert result["deferred"] is False


FAKE_CHECK = """
    import json, sys
    from upscale.engine.spandrel_import import import_spandrel
    spandrel = import_spandrel()
    print(json.dumps({"kind": type(spandrel.USED).__name__, "torchvision": "torchvision" in sys.modules}))
"""


def fake_spandrel(tmp_path: Path, body: str) -> Path:
    """A stand-in `spandrel` package ahead of the real one on sys.path, importing torchvision its way."""
    package = tmp_path / "spandrel"
    package.mkdir()
    (package / "__init__.py").write_text(body)
    return tmp_path


def test_a_name_not_deferred_falls_back_to_the_plain_import(tmp_path: Path) -> None:
    path = fake_spandrel(tmp_path, "from torchvision.transforms.functional import resize as USED\n")
    result = run(FAKE_CHECK, path)
    assert result["kind"] == "function" and result["torchvision"], result
    assert "torchvision.transforms.functional.resize is not deferred" in str(result["stderr"])


def test_a_bound_placeholder_module_falls_back_to_the_plain_import(tmp_path: Path) -> None:
    # `import torchvision` keeps the package object for later use: a placeholder must not stay there.
    path = fake_spandrel(tmp_path, "import torchvision.transforms.functional\nUSED = torchvision\n")
    result = run(FAKE_CHECK, path)
    assert result["kind"] == "module" and result["torchvision"], result
    assert "placeholder bound in spandrel" in str(result["stderr"])


def test_an_allowed_name_stays_deferred_in_the_stand_in(tmp_path: Path) -> None:
    # The control for the two fallbacks above: the same stand-in with an allowed name keeps its proxy.
    path = fake_spandrel(tmp_path, "from torchvision.transforms.functional import rotate as USED\n")
    result = run(FAKE_CHECK, path)
    assert result["kind"] == "DeferredName" and result["torchvision"] is False, result
    assert "importing spandrel with torchvision" not in str(result["stderr"])

"""Import spandrel without importing torchvision: 1.0-1.2 s off every engine start.

spandrel 0.4.2 builds its registry of every architecture when it is imported. Two of them,
LaMa and RestoreFormer, import names from `torchvision.transforms.functional` at module level.
Importing torchvision imports all of `torchvision.models` and `torchvision.ops`, and
`ops.roi_align` imports `torch._dynamo` (with sympy and torch.fx's symbolic shapes). On a 2-core
VM that makes `import spandrel` take 1.2 s instead of 0.05 s (docs/performance.md). None of the
shipped models use those names: LaMa is an inpainting network and RestoreFormer a face
restorer. The fix upstream defers both imports to first use (chaiNNer-org/spandrel#331, open
and unreleased as of spandrel 0.4.2).

This module does the same from outside. While spandrel is imported, and only then, a finder
answers the three torchvision module names with placeholder modules. These hand out a
forwarding proxy for each *expected* name (`ALLOWED`). A proxy imports the real torchvision
on its first use. After the import the placeholders leave `sys.modules`, so a later
`import torchvision` is the real one.

Anything unexpected makes this path back out and import spandrel the plain way. That covers
another name requested, a placeholder module bound by any module, or any error during the
import. Correctness never depends on this path, only speed. A spandrel release that no longer
imports torchvision never reaches the finder. The window lasts about 50 ms, at the engine's
first import. Another thread that imported torchvision inside it would see the placeholders,
and nothing in Artnex imports torchvision.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
import threading
import types
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

FUNCTIONAL = "torchvision.transforms.functional"
PLACEHOLDERS = ("torchvision", "torchvision.transforms", FUNCTIONAL)
# The names spandrel 0.4.2's registry takes from FUNCTIONAL (LaMa: rotate, InterpolationMode;
# RestoreFormer: normalize), each used only by calling it or reading an attribute of it.
ALLOWED = frozenset({"rotate", "InterpolationMode", "normalize"})

_lock = threading.Lock()


class Unexpected(ImportError):
    """spandrel asked torchvision for something this path does not defer."""


class DeferredName:
    """Stands for `module.name`: importing the module is deferred to the first call or attribute."""

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name
        self._target: Any = None

    def resolve(self) -> Any:
        if self._target is None:
            self._target = getattr(importlib.import_module(self._module), self._name)
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.resolve(), attr)

    def __repr__(self) -> str:
        return f"<deferred {self._module}.{self._name}>"


class _Placeholder(types.ModuleType):
    """Holds the place of a torchvision module in sys.modules while spandrel imports."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)  # the import system's probes (__path__, __file__...)
        if self.__name__ != FUNCTIONAL or name not in ALLOWED:
            raise Unexpected(f"{self.__name__}.{name} is not deferred")
        return DeferredName(self.__name__, name)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in PLACEHOLDERS:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname != FUNCTIONAL)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _Placeholder(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def import_spandrel() -> types.ModuleType:
    """Import spandrel; without torchvision where that is safe, the plain way otherwise."""
    with _lock:
        if "spandrel" in sys.modules:
            return sys.modules["spandrel"]
        if any(name in sys.modules for name in PLACEHOLDERS):
            return importlib.import_module("spandrel")  # torchvision is loaded already: nothing to save
        before = set(sys.modules)
        finder = _Finder()
        sys.meta_path.insert(0, finder)
        error: Exception | None = None
        leaked: list[str] = []
        try:
            module = importlib.import_module("spandrel")
            leaked = _bound_placeholders(set(sys.modules) - before)
        except Exception as exc:  # any failure here means "use the plain import"
            error = exc
        finally:
            sys.meta_path.remove(finder)
            for name in PLACEHOLDERS:
                if isinstance(sys.modules.get(name), _Placeholder):
                    del sys.modules[name]
        if error is None and not leaked:
            return module
        why = str(error) if error is not None else f"placeholder bound in {', '.join(leaked)}"
        log.warning("importing spandrel with torchvision (about 1 s slower): %s", why)
        for name in set(sys.modules) - before:
            if name == "spandrel" or name.startswith("spandrel."):
                del sys.modules[name]
        return importlib.import_module("spandrel")


def _bound_placeholders(new_modules: set[str]) -> list[str]:
    """Modules imported during the window that kept a placeholder module (not a deferred name)."""
    return sorted(
        name
        for name in new_modules - set(PLACEHOLDERS)
        if any(isinstance(value, _Placeholder) for value in getattr(sys.modules[name], "__dict__", {}).values())
    )

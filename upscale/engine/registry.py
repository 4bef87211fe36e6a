"""The models the product knows by stable name, plus operator-registered extras."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import EngineError

RELEASES = "https://github.com/xinntao/Real-ESRGAN/releases/download"


@dataclass(frozen=True)
class ModelSpec:
    """One model: the customer-facing name and where its weights come from."""

    name: str
    file: str
    scale: int
    arch: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "scale": self.scale,
            "arch": self.arch,
            "url": self.url,
            "sha256": self.sha256,
            "size": self.size,
            "description": self.description,
        }


def _release(tag: str, file: str) -> str:
    return f"{RELEASES}/{tag}/{file}"


# Official release files and hashes (xinntao/Real-ESRGAN, BSD-3-Clause).
BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "realesrgan-x4plus",
        "RealESRGAN_x4plus.pth",
        4,
        "RRDBNet",
        _release("v0.1.0", "RealESRGAN_x4plus.pth"),
        "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
        67_040_989,
        "General photos (default).",
    ),
    ModelSpec(
        "realesrgan-x2plus",
        "RealESRGAN_x2plus.pth",
        2,
        "RRDBNet",
        _release("v0.2.1", "RealESRGAN_x2plus.pth"),
        "49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb",
        67_061_725,
        "General photos at x2; used for scales up to 2 when installed.",
    ),
    ModelSpec(
        "realesrgan-x4plus-anime",
        "RealESRGAN_x4plus_anime_6B.pth",
        4,
        "RRDBNet",
        _release("v0.2.2.4", "RealESRGAN_x4plus_anime_6B.pth"),
        "f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da",
        17_938_799,
        "Anime illustrations.",
    ),
    ModelSpec(
        "realesr-general-x4v3",
        "realesr-general-x4v3.pth",
        4,
        "SRVGGNetCompact",
        _release("v0.2.5.0", "realesr-general-x4v3.pth"),
        "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
        4_885_111,
        "Small, fast general model.",
    ),
    ModelSpec(
        "realesr-animevideov3",
        "realesr-animevideov3.pth",
        4,
        "SRVGGNetCompact",
        _release("v0.2.5.0", "realesr-animevideov3.pth"),
        "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d",
        2_504_012,
        "Tiny model for anime video frames.",
    ),
)

DEFAULT_MODEL = "realesrgan-x4plus"
# Scale 2 requests on the default photo model use the x2 network when its file is installed.
X2_SUBSTITUTES: Mapping[str, str] = {"realesrgan-x4plus": "realesrgan-x2plus"}


def extra_specs(extra: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None) -> list[ModelSpec]:
    """Operator models from configuration: {"name": {"file": ..., "scale": 4, "url"?, "sha256"?}}.

    A list of dicts that each carry a "name" is accepted too. The architecture is whatever
    spandrel detects, so any model spandrel can load works.
    """
    if not extra:
        return []
    items: list[tuple[str, Mapping[str, Any]]]
    if isinstance(extra, Mapping):
        items = [(str(name), body) for name, body in extra.items()]
    else:
        items = [(str(body.get("name", "")), body) for body in extra]
    specs = []
    for name, body in items:
        if not name or not isinstance(body, Mapping) or not body.get("file"):
            raise EngineError(f"extra model {name!r} needs a name and a 'file'")
        try:
            scale = int(body.get("scale", 4))
        except (TypeError, ValueError) as exc:
            raise EngineError(f"extra model {name!r}: scale must be an integer") from exc
        specs.append(
            ModelSpec(
                name=name,
                file=str(body["file"]),
                scale=scale,
                arch=str(body.get("arch", "auto")),
                url=body.get("url"),
                sha256=(body.get("sha256") or None) and str(body["sha256"]).lower(),
                description=str(body.get("description", "Operator model.")),
            )
        )
    return specs


def all_specs(extra: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None) -> dict[str, ModelSpec]:
    specs = {spec.name: spec for spec in BUILTIN_MODELS}
    # Operator entries may override a built-in name on purpose (e.g. a fine-tuned x4plus).
    specs.update({spec.name: spec for spec in extra_specs(extra)})
    return specs


def lookup(name: str, extra: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None) -> ModelSpec:
    specs = all_specs(extra)
    key = name.strip().lower()
    by_lower = {k.lower(): v for k, v in specs.items()}
    if key in by_lower:
        return by_lower[key]
    # Accept the official file name too, since operators think in release files.
    for spec in specs.values():
        if spec.file.lower() == key or spec.file.lower().removesuffix(".pth") == key:
            return spec
    known = ", ".join(sorted(specs))
    raise EngineError(f"unknown model {name!r}; known models: {known}")

"""glibc malloc thresholds: set once per process, and never under a preloaded allocator."""

from __future__ import annotations

import ctypes
import dataclasses
import platform

import pytest

from upscale.engine import EngineConfig, allocator, loader


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "_done", False)


def test_glibc_accepts_the_thresholds_once(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip(f"needs glibc; this interpreter runs on {platform.libc_ver()[0] or 'another libc'}")
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    assert allocator.tune_glibc_malloc() is True
    assert allocator.tune_glibc_malloc() is False  # once per process


def test_preloaded_allocator_is_left_alone(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")
    calls: list[object] = []
    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: calls.append(a))
    assert allocator.tune_glibc_malloc() is False
    assert calls == []


def test_loading_a_cpu_model_tunes_malloc(fresh: None, monkeypatch: pytest.MonkeyPatch, config: EngineConfig) -> None:
    tuned: list[bool] = []
    monkeypatch.setattr(loader, "tune_glibc_malloc", lambda: tuned.append(True) or True)
    loader.clear_cache()
    loader.get_model_by_name("realesr-animevideov3", dataclasses.replace(config, device="cpu"))
    assert tuned == [True]

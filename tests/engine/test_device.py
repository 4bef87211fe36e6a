"""Device, precision policy and thread share, with stand-ins for CPUs and cgroups we lack."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from upscale.engine import device
from upscale.engine.device import CpuKind

AMX = CpuKind(True, True, False, "torch probes")
AVX512_BF16 = CpuKind(False, True, False, "torch probes")
AVX2 = CpuKind(False, False, False, "/proc/cpuinfo")


@pytest.fixture(autouse=True)
def fresh_confirmation() -> object:
    device.reset_confirmation()
    yield
    device.reset_confirmation()


def on(monkeypatch: pytest.MonkeyPatch, kind: CpuKind, fp32_s: float = 4.0, bf16_s: float = 1.0) -> list[int]:
    calls: list[int] = []

    def timer() -> tuple[float, float]:
        calls.append(1)
        return fp32_s, bf16_s

    monkeypatch.setattr(device, "cpu_kind", lambda: kind)
    monkeypatch.setattr(device, "conv_timer", timer)
    return calls


@pytest.mark.parametrize("kind", [AMX, AVX512_BF16, AVX2], ids=["amx", "avx512-bf16", "avx2"])
def test_rrdbnet_is_fp32_on_every_cpu(monkeypatch: pytest.MonkeyPatch, kind: CpuKind) -> None:
    calls = on(monkeypatch, kind)
    for arch in ("RRDBNet", "ESRGAN"):
        assert device.resolve_precision("auto", "cpu", True, True, arch) == "fp32"
    assert calls == []  # nothing to confirm: the table already says fp32


@pytest.mark.parametrize(("kind", "expect"), [(AMX, "bf16"), (AVX512_BF16, "bf16"), (AVX2, "fp32")],
                         ids=["amx", "avx512-bf16", "avx2"])
def test_srvgg_is_bf16_only_where_native(monkeypatch: pytest.MonkeyPatch, kind: CpuKind, expect: str) -> None:
    on(monkeypatch, kind)
    assert device.resolve_precision("auto", "cpu", True, True, "SRVGGNetCompact") == expect
    assert device.resolve_precision("auto", "cpu", True, True, "Compact") == expect


def test_unknown_architecture_is_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    on(monkeypatch, AMX)
    assert device.resolve_precision("auto", "cpu", True, True, "SwinIR") == "fp32"


@pytest.mark.parametrize(("fp32_s", "bf16_s", "expect"), [(1.5, 1.0, "bf16"), (1.4, 1.0, "fp32"), (1.0, 2.0, "fp32")])
def test_start_up_timing_must_show_1_5x(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fp32_s: float, bf16_s: float, expect: str
) -> None:
    """Flags can lie (a VM masking AMX state, oneDNN limited to AVX2): the timing decides."""
    calls = on(monkeypatch, AMX, fp32_s, bf16_s)
    with caplog.at_level(logging.INFO, logger="upscale.engine.device"):
        for _ in range(3):
            assert device.resolve_precision("auto", "cpu", True, True, "Compact") == expect
    # Once per process; a close call is measured twice before bf16 is rejected.
    assert len(calls) == (2 if 1.0 <= fp32_s / bf16_s < 1.5 else 1)
    choices = [r.getMessage() for r in caplog.records if "precision for Compact" in r.getMessage()]
    assert len(choices) == 1 and expect in choices[0]  # logged once


def test_explicit_requests(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    on(monkeypatch, AVX2)
    with caplog.at_level(logging.WARNING, logger="upscale.engine.device"):
        assert device.resolve_precision("bf16", "cpu", True, True, "RRDBNet") == "bf16"
    assert "slow" in caplog.text and "fidelity rule" in caplog.text
    assert device.resolve_precision("fp16", "cpu", True, True, "Compact") == "fp32"
    assert device.resolve_precision("fp32", "cpu", True, True, "Compact") == "fp32"


def test_cuda_policy_is_fp16_and_never_bf16_for_rrdbnet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device.torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert device.resolve_precision("auto", "cuda", True, True, "RRDBNet") == "fp16"
    assert device.resolve_precision("auto", "cuda", True, True, "Compact") == "fp16"
    # A network without half support: bf16 is allowed for SRVGG, RRDBNet falls back to fp32.
    assert device.resolve_precision("auto", "cuda", False, True, "Compact") == "bf16"
    assert device.resolve_precision("auto", "cuda", False, True, "RRDBNet") == "fp32"


def test_cpu_kind_from_torch_probes_or_cpuinfo(tmp_path: Path) -> None:
    answers = {"_is_amx_tile_supported": False, "_is_avx512_bf16_supported": True, "_is_amx_fp16_supported": False}
    kind = device.detect_cpu(probe=answers.get)
    assert kind == CpuKind(False, True, False, "torch probes") and kind.native_bf16
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f amx_bf16 amx_tile amx_fp16\n")
    old_torch = device.detect_cpu(probe=lambda name: None, cpuinfo=cpuinfo)  # a torch without the probes
    assert old_torch == CpuKind(True, False, True, "/proc/cpuinfo") and old_torch.native_bf16
    cpuinfo.write_text("flags\t\t: fpu sse avx2\n")
    assert not device.detect_cpu(probe=lambda name: None, cpuinfo=cpuinfo).native_bf16


def test_the_real_probe_agrees_with_cpuinfo() -> None:
    """On this machine, torch's answer and the kernel's flags tell the same story."""
    flags = device._cpuinfo_flags()
    if not flags:
        pytest.skip("/proc/cpuinfo has no flags line here")
    kind = device.cpu_kind()
    assert kind.native_bf16 == bool({"amx_bf16", "avx512_bf16"} & flags), (kind, sorted(flags))


# --- threads ---------------------------------------------------------------------------------


def cgroup(tmp_path: Path, files: dict[str, str], proc: str) -> tuple[Path, Path]:
    for rel, text in files.items():
        path = tmp_path / "fs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    proc_file = tmp_path / "self_cgroup"
    proc_file.write_text(proc)
    return tmp_path / "fs", proc_file


def test_cgroup_v2_quota(tmp_path: Path) -> None:
    root, proc = cgroup(tmp_path, {"worker.slice/cpu.max": "150000 100000\n"}, "0::/worker.slice\n")
    assert device.cgroup_cpu_quota(root, proc) == 1.5
    root, proc = cgroup(tmp_path, {"cpu.max": "max 100000\n"}, "0::/\n")
    assert device.cgroup_cpu_quota(root, proc) is None


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    files = {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "300000\n",
             "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"}
    root, proc = cgroup(tmp_path, files, "12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n")
    assert device.cgroup_cpu_quota(root, proc) == 3.0
    files = {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}
    root, proc = cgroup(tmp_path / "unlimited", files, "4:cpu:/\n")
    assert device.cgroup_cpu_quota(root, proc) is None


def test_available_cpus_takes_the_smaller_of_affinity_and_quota(tmp_path: Path) -> None:
    root, proc = cgroup(tmp_path, {"cpu.max": "100000 100000\n"}, "0::/\n")
    assert device.available_cpus(root, proc) == 1
    root, proc = cgroup(tmp_path / "big", {"cpu.max": "6400000 100000\n"}, "0::/\n")
    assert device.available_cpus(root, proc) == len(device.os.sched_getaffinity(0))


def test_each_worker_process_takes_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    assert device.worker_processes({}) == 1
    assert device.worker_processes({"ARTNEX_WORKER_CONCURRENCY": "2"}) == 2
    assert device.worker_processes({"ARTNEX_WORKER_CONCURRENCY": "zero"}) == 1
    assert device.thread_share(2, 2) == 1  # --concurrency 2 on 2 CPUs: one thread each
    assert device.thread_share(8, 3) == 2
    assert device.thread_share(1, 4) == 1
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("ARTNEX_WORKER_CONCURRENCY", "64")
    before = device.torch.get_num_threads()
    try:
        assert device.configure_threads(None) == 1
        assert device.torch.get_num_threads() == 1
        assert device.configure_threads(2) == 2  # ARTNEX_THREADS wins
    finally:
        device.torch.set_num_threads(before)

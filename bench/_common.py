"""Helpers the benchmarks share: config composition, the machine line, the measured matmul rate, child runs."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

__all__ = ["compose", "machine_line", "matmul_gflops", "run_child"]


def compose(overrides: list[str], output_dir: str | None = None) -> Any:
    """The root config composed with ``overrides``, exactly as ``python -m core.run`` would."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from core.cli import CONF_DIR, discover

    discover()
    output_dir = output_dir or tempfile.mkdtemp(prefix="rlft-bench-")
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=[*overrides, f"output_dir={output_dir}"])


def machine_line() -> str:
    """CPU model, cores, torch version, measured matmul rate, bf16 support and load average, for the top of
    every benchmark's output."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from core.algos.base import bf16_supported

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads; "
            f"fp32 matmul {matmul_gflops():.0f} GFLOP/s, fast bf16: {'yes' if bf16_supported() else 'no'}); "
            f"load average {load}")


def matmul_gflops(dtype: torch.dtype = torch.float32, size: int = 1024, seconds: float = 1.0) -> float:
    """This machine's measured dense matmul rate in GFLOP/s (square ``size`` matrices)."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b  # warm-up
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        runs += 1
    return 2 * size ** 3 * runs / (time.perf_counter() - start) / 1e9


def run_child(cmd: list[str], out: Path, failure: str, **popen: Any) -> tuple[float, float]:
    """Run ``cmd`` in a fresh child process (``out`` cleared first: rlft refuses a directory holding a run),
    its output in ``<out>.log``; return its wall seconds and peak resident memory in GiB (kernel ``ru_maxrss``).
    ``popen``: extra :class:`subprocess.Popen` arguments (``env``, ``cwd``)."""
    print("$", " ".join(cmd[1:]), flush=True)
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(out.with_suffix(".log"), "w", encoding="utf-8") as log:
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, **popen)
        _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{failure}; see {out.with_suffix('.log')}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024 ** 2

"""``SandboxConfig``: every limit and switch of the code sandbox, as a plain dataclass.

It has no Hydra dependency; the framework mounts it in its schema under the top-level
key ``sandbox``, so ``sandbox.timeout_s=5 sandbox.workers=4`` work as overrides.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

__all__ = ["SandboxConfig"]

DEFAULT_PRELOAD = (
    "array bisect collections copy dataclasses datetime decimal enum fractions functools "
    "hashlib heapq itertools json math operator random re string typing"
)


@dataclass
class SandboxConfig:
    """Limits and isolation switches for running untrusted programs (see ``core.sandbox``)."""

    timeout_s: float = field(default=5.0, metadata={
        "help": "Wall-clock limit per program, in seconds, from fork to exit; the whole "
                "process tree is killed when it expires (status 'timeout')."})
    cpu_time_s: float = field(default=5.0, metadata={
        "help": "CPU-time limit per process (RLIMIT_CPU, rounded up to whole seconds; "
                "the kernel's hard kill comes 1 s later; status 'timeout')."})
    memory_mb: int = field(default=1024, metadata={
        "help": "Memory limit in MiB: for the program's whole process tree through a "
                "memory cgroup (v2, else v1) where the host allows, and per process "
                "(RLIMIT_AS) always; exceeding it gives status 'memory'."})
    workers: int = field(default=0, metadata={
        "help": "Number of pre-started worker processes running programs in parallel; "
                "0 means one per CPU core."})
    max_processes: int = field(default=32, metadata={
        "help": "Maximum processes + threads a program may have at once (RLIMIT_NPROC "
                "under a per-worker uid, so it holds even when the trainer runs as root)."})
    max_file_mb: int = field(default=64, metadata={
        "help": "Largest file a program may write, in MiB (RLIMIT_FSIZE); its private "
                "scratch filesystem holds at most 4x this."})
    max_output_bytes: int = field(default=16384, metadata={
        "help": "Bytes of stdout and of stderr kept per program; the rest is drained "
                "and dropped (Result.truncated is set)."})
    network: bool = field(default=False, metadata={
        "help": "Allow network access. False puts workers in an empty network namespace "
                "(or, where the kernel forbids that, patches socket in-process: weak)."})
    namespaces: bool = field(default=True, metadata={
        "help": "Use Linux namespaces and a per-worker unprivileged uid when running as "
                "root. False forces the portable (weaker) fallbacks."})
    preload: str = field(default=DEFAULT_PRELOAD, metadata={
        "help": "Space-separated modules imported once in each warm worker, so programs "
                "importing them pay nothing per sample."})
    python: str = field(default="", metadata={
        "help": "Interpreter for the workers; empty means the current one (sys.executable)."})

    def __post_init__(self) -> None:
        for name in ("timeout_s", "cpu_time_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"sandbox.{name} must be a positive number, got {value!r}")
        for name in ("memory_mb", "max_processes", "max_file_mb", "max_output_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"sandbox.{name} must be a positive integer, got {value!r}")
        if not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"sandbox.workers must be >= 0 (0 = one per core), "
                             f"got {self.workers!r}")

    @property
    def n_workers(self) -> int:
        """The effective number of workers (``workers``, or the CPU count when 0)."""
        if self.workers:
            return self.workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):
            return max(1, os.cpu_count() or 1)

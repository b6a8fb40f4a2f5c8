"""A memory limit for a program's whole process tree, and the limits a Result reports.

Preferred: a cgroup v2 of the worker's own (``memory.max`` = ``memory_mb``, no swap),
which every program process joins before dropping root; all its children and threads
count together and an OOM kill is seen in ``memory.events``. Where the host has no
writable cgroup v2 with the memory controller, a cgroup v1 memory hierarchy is used
the same way (``memory.limit_in_bytes``, ``oom_kill`` in ``memory.oom_control``).
Fallback (no root, or no writable memory cgroup): RLIMIT_AS per process only, so a
tree can use up to ``memory_mb`` x ``max_processes``; ``Result.limits["memory_scope"]``
says which one held, and a warning is logged by the parent once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Cgroup", "cgroup_oom_kills", "describe", "enter_cgroup", "make_cgroup",
           "reset_cgroup"]


@dataclass
class Cgroup:
    """A per-worker memory cgroup: its directory, version (1 or 2) and OOM baseline."""

    path: str
    version: int
    baseline: int = 0


def _mounts() -> dict[str, str]:
    found = {}
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fstype, _, options = right.split()[:3]
            target = left.split()[4]
            if fstype == "cgroup2":
                found.setdefault("v2", target)
            elif fstype == "cgroup" and "memory" in options.split(","):
                found.setdefault("v1", target)
    return found


def _own(controller: str) -> str:
    with open("/proc/self/cgroup") as fh:
        for line in fh:
            _, names, path = line.rstrip("\n").split(":", 2)
            if (controller == "" and names == "") or controller in names.split(","):
                return path
    raise OSError(f"no {controller or 'v2'} entry in /proc/self/cgroup")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _sweep(parent: str) -> None:
    """Remove cgroups left by dead workers (killed workers cannot clean up after
    themselves; ``rmdir`` only succeeds on an empty cgroup)."""
    for entry in os.listdir(parent):
        if entry.startswith("rlft-sandbox-") and not os.path.exists(f"/proc/{entry[13:]}"):
            try:
                os.rmdir(os.path.join(parent, entry))
            except OSError:
                pass


def _try(version: int, mount: str, own: str, mb: int) -> Cgroup:
    base = os.path.join(mount + own, f"rlft-sandbox-{os.getpid()}")
    if version == 2:
        with open(os.path.join(mount + own, "cgroup.controllers")) as fh:
            if "memory" not in fh.read().split():
                raise OSError("the memory controller is not available to this cgroup")
        _write(os.path.join(mount + own, "cgroup.subtree_control"), "+memory")
    _sweep(mount + own)
    os.makedirs(base, exist_ok=True)
    if version == 2:
        _write(os.path.join(base, "memory.max"), str(mb << 20))
        try:
            _write(os.path.join(base, "memory.swap.max"), "0")
        except OSError:
            pass
    else:
        _write(os.path.join(base, "memory.limit_in_bytes"), str(mb << 20))
    return Cgroup(base, version)


def make_cgroup(cfg) -> Cgroup | None:
    """Create this worker's memory cgroup (v2, else v1); None where neither works."""
    mounts = _mounts() if os.path.exists("/proc/self/mountinfo") else {}
    for key, controller in (("v2", ""), ("v1", "memory")):
        if key in mounts:
            try:
                return _try(int(key[1]), mounts[key], _own(controller), cfg.memory_mb)
            except (OSError, ValueError):
                continue
    return None


def enter_cgroup(cgroup: Cgroup | None, pid: int) -> None:
    """Move ``pid`` (the just-forked program, still root) into the cgroup."""
    if cgroup is not None:
        _write(os.path.join(cgroup.path, "cgroup.procs"), str(pid))


def _oom_count(cgroup: Cgroup) -> int:
    name = "memory.events" if cgroup.version == 2 else "memory.oom_control"
    try:
        with open(os.path.join(cgroup.path, name)) as fh:
            for line in fh:
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
    except OSError:
        pass
    return 0


def reset_cgroup(cgroup: Cgroup | None) -> None:
    """Remember the OOM-kill count before a program starts."""
    if cgroup is not None:
        cgroup.baseline = _oom_count(cgroup)


def cgroup_oom_kills(cgroup: Cgroup | None) -> int:
    """OOM kills in the cgroup since ``reset_cgroup``."""
    return 0 if cgroup is None else _oom_count(cgroup) - cgroup.baseline


def describe(cfg, cgroup: Cgroup | None, iso) -> dict:
    """The limits every program of this worker ran under, as plain data."""
    scope = (f"process tree (cgroup v{cgroup.version})" if cgroup is not None
             else "per process (RLIMIT_AS only)")
    return {"timeout_s": cfg.timeout_s, "cpu_time_s": float(max(1, -(-cfg.cpu_time_s // 1))),
            "memory_mb": cfg.memory_mb, "memory_scope": scope,
            "max_processes": cfg.max_processes if iso.nproc != "none" else None,
            "max_file_mb": cfg.max_file_mb, "max_output_bytes": cfg.max_output_bytes,
            "network": cfg.network}

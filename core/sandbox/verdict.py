"""Turn what the worker observed about one program into a status and a reason.

Inputs are only things the program cannot forge: the judge's record (written by a
process the program cannot reach), the program's wait status and CPU time, whether
the worker's wall-clock timer fired, and the memory cgroup's OOM count. Only the
judge can say ``passed``; when the program stopped answering (record ``gone``) the
program's own end says why.
"""
from __future__ import annotations

import os
import signal

from .protocol import parse_verdict

__all__ = ["classify"]


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def classify(verdict: bytes, wait_status: int | None, cpu_s: float, timed_out: bool,
             timeout_s: float, cpu_limit_s: float, oom: bool = False,
             memory_mb: int = 0) -> tuple[str, str, str]:
    """``(status, test, detail)`` for one finished (or killed) program."""
    record = parse_verdict(verdict) if verdict else None
    if record is not None and record[0] != "gone":
        return record
    stage = record[1] if record is not None else "while"
    if timed_out:
        return ("timeout", "", f"wall-clock limit of {timeout_s:g}s reached")
    if oom:
        return ("memory", "", f"memory limit of {memory_mb} MiB for the whole process "
                              f"tree reached (cgroup OOM kill)")
    if record is not None and record[2].startswith("garbled"):
        return ("crash", "", f"the program broke the call protocol ({record[2]})")
    if wait_status is None:
        return ("crash", "", "the program process vanished without an exit status")
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= cpu_limit_s):
            return ("timeout", "", f"CPU-time limit of {cpu_limit_s:g}s reached")
        return ("crash", "", f"killed by {_signame(sig)}")
    if record is None:
        return ("sandbox_error", "", "the judge process died without a verdict")
    code = os.WEXITSTATUS(wait_status)
    return ("exited", "", f"exited with code {code} {stage} the tests ran")

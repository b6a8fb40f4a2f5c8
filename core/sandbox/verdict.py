"""Turn what the worker observed about one program into a status and a reason.

Inputs are only things the program cannot forge: the bytes on the verdict pipe
(accepted only with this sample's nonce), the wait status and CPU time of the program
process as reported by its init process, and whether the worker's own wall-clock
timer fired. A pass needs a genuine ``passed`` record *and* a clean exit.
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


def classify(verdict: bytes, nonce: str, wait_status: int | None, cpu_s: float,
             timed_out: bool, timeout_s: float, cpu_limit_s: float) -> tuple[str, str, str]:
    """``(status, test, detail)`` for one finished (or killed) program."""
    record = parse_verdict(verdict, nonce) if verdict else None
    clean_exit = wait_status is not None and os.WIFEXITED(wait_status) \
        and os.WEXITSTATUS(wait_status) == 0
    if record is not None and (clean_exit or record[0] != "passed"):
        return record
    if record is not None:
        return ("crash", "", "reported success but did not exit cleanly")
    if timed_out:
        return ("timeout", "", f"wall-clock limit of {timeout_s:g}s reached")
    if verdict:
        return ("crash", "", "the verdict channel was tampered with")
    if wait_status is None:
        return ("crash", "", "the program's init process died without reporting")
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= cpu_limit_s):
            return ("timeout", "", f"CPU-time limit of {cpu_limit_s:g}s reached")
        return ("crash", "", f"killed by {_signame(sig)}")
    code = os.WEXITSTATUS(wait_status)
    return ("exited", "", f"exited with code {code} before its tests finished")

"""Framing between the trainer and its workers, and the verdict record format.

Worker messages are length-prefixed pickles over the worker's stdin/stdout pipes; both
ends are trusted code (program processes never hold these descriptors). The verdict
record is written by the judge process (trusted, out of the program's reach; see
``core.sandbox.judge``) and still parsed strictly: a malformed record is no verdict.
"""
from __future__ import annotations

import os
import pickle
import struct

__all__ = ["VERDICT_STATUSES", "parse_verdict", "recv", "send"]

_HEADER = struct.Struct(">I")
VERDICT_STATUSES = frozenset({"passed", "failed", "error", "syntax_error", "memory", "exited",
                              "sandbox_error", "invalid_return", "gone"})


def send(fd: int, obj) -> None:
    """Write one pickled message to ``fd``."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(fd: int):
    """Read one message from ``fd``; ``None`` at end of file."""
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def parse_verdict(data: bytes) -> tuple[str, str, str] | None:
    """``(status, test, detail)`` from the judge's record, or None if malformed."""
    parts = data.split(b"\n", 2)
    if len(parts) != 3:
        return None
    status = parts[0].decode("ascii", "replace")
    if status not in VERDICT_STATUSES:
        return None
    return (status, parts[1].decode("utf-8", "replace"), parts[2].decode("utf-8", "replace"))

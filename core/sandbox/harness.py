"""The candidate side: runs inside the jailed program process and only answers calls.

It compiles and executes the program, tells the judge which globals it defined, then
serves requests on one socket until the judge says goodbye: ``call`` a global with
plain-data arguments, or ``get`` a global's value. Every answer is plain data
(``core.sandbox.plain``) or a note that the value was not plain data. No assertion,
comparison or verdict is evaluated here: whatever a program does to this interpreter
(patching builtins, walking frames, tracing hooks, ctypes, gc) it can only change the
answers it gives, never how the judge (``core.sandbox.judge``) weighs them.

Messages, each a 4-byte big-endian length and a ``plain`` encoding:

    program -> judge   ("ready", {name: kind})   kind: "call", "data" or "module:<name>"
                       ("syntax_error", text)    ("raised", type name, message)
                       ("ok", value)             ("not_plain", type name)
    judge -> program   ("call", name, args, kwargs)   ("get", name)   ("bye",)
"""
from __future__ import annotations

import os
import struct
import sys
import types

from . import plain

__all__ = ["MAX_MESSAGE", "read_message", "serve", "write_message"]

MAX_MESSAGE = 64 << 20
_LEN = struct.Struct(">I")


def write_message(fd: int, message: tuple, refs: bool = False) -> None:
    """Send one framed message (raises ``plain.NotPlain`` before writing anything)."""
    body = plain.encode(message, refs)
    view = memoryview(_LEN.pack(len(body)) + body)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the channel closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(fd: int, refs: bool = False) -> tuple:
    """Receive one framed message; EOFError if closed, ValueError if malformed."""
    size = _LEN.unpack(_read_exact(fd, 4))[0]
    if size > MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes exceeds the {MAX_MESSAGE >> 20} MiB cap")
    message = plain.decode(_read_exact(fd, size), refs)
    if type(message) is not tuple or not message or type(message[0]) is not str:
        raise ValueError("malformed message")
    return message


def _kind(value, _isinstance=isinstance, _callable=callable, _str=str,
          _module=types.ModuleType) -> str:
    # builtins bound at import (in the worker), so a program patching ``builtins``
    # still gets its globals described correctly (it could only hurt its own score)
    if _isinstance(value, _module):
        return "module:" + _str(getattr(value, "__name__", ""))
    return "call" if _callable(value) else "data"


def _text(obj, limit: int = 500) -> str:
    try:
        return str(obj)[:limit]
    except BaseException:  # noqa: BLE001 - a program's exception with a broken __str__
        return "<unprintable>"


def serve(code: str, fd: int, out=None, err=None) -> None:
    """Run ``code`` and answer the judge on ``fd`` until it says goodbye; never returns."""
    def flush():
        for stream in (out, err):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001
                pass

    def leave(status: int):
        flush()
        os._exit(status)

    def send(message: tuple) -> None:
        # output first: once the judge has its last answer the worker may kill this
        # process at any moment, so nothing printed before it may sit in a buffer
        flush()
        try:
            write_message(fd, message)
        except plain.NotPlain as exc:
            write_message(fd, ("not_plain", exc.type_name))

    def raised(exc: BaseException) -> None:
        send(("raised", _text(type(exc).__name__, 100), _text(exc)))

    try:
        try:
            program = compile(code, "<candidate>", "exec")
        except BaseException as exc:  # noqa: BLE001 - SyntaxError, ValueError (NUL bytes)
            send(("syntax_error", f"{type(exc).__name__}: {_text(exc)}"))
            leave(0)
        module = types.ModuleType("__candidate__")  # importable, so pickling works
        sys.modules["__candidate__"] = module
        space = module.__dict__
        try:
            exec(program, space)
        except SystemExit as exc:
            leave(exc.code if type(exc.code) is int and 0 <= exc.code < 256 else 1)
        except BaseException as exc:  # noqa: BLE001 - reported to the judge
            raised(exc)
            leave(0)
        send(("ready", {str(k): _kind(v) for k, v in list(space.items())
                        if type(k) is str and not k.startswith("__")}))
        while True:
            message = read_message(fd, refs=True)
            if message[0] == "bye":
                leave(0)
            try:
                if message[0] == "get":
                    value = space[message[1]]
                else:
                    _, name, args, kwargs = message
                    args = [space[a] if type(a) is plain.Ref else a for a in args]
                    value = space[name](*args, **kwargs)
            except SystemExit as exc:
                leave(exc.code if type(exc.code) is int and 0 <= exc.code < 256 else 1)
            except BaseException as exc:  # noqa: BLE001 - reported to the judge
                raised(exc)
                continue
            send(("ok", value))
    except BaseException:  # noqa: BLE001 - channel broken: the judge sees EOF
        leave(3)

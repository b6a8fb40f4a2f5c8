"""The judge: runs the tests in a process the program cannot reach, and decides.

Forked by the worker for each program, it is outside the program's PID namespace,
under another uid, and not dumpable, so the program can neither see, signal, trace
nor write into it. It executes the (trusted) test code with the judge's own pristine
builtins and modules. Program globals appear in the test namespace lazily, as
``Proxy`` objects for callables (``check(candidate)`` receives one) and as decoded
plain data otherwise; a proxy call ships plain-data arguments to the program and
gets a plain-data answer back through ``plain.decode``, so every assertion and
comparison runs on genuine built-in values, here. A non-plain answer raises
``NotPlainData`` at the call: status ``invalid_return``.

The verdict record written to the worker is ``status\\ntest line\\ndetail``.
"""
from __future__ import annotations

import builtins
import importlib
import os
import sys

from . import plain
from .harness import read_message, write_message

__all__ = ["CandidateError", "NotPlainData", "Proxy", "judge", "prepare_test"]

_BUILTINS = dict(builtins.__dict__)
_PLAIN = "None, bool, int, float, str, bytes, list, tuple, dict, set"


def prepare_test(test: str) -> tuple:
    """Compile trusted test code once, in the worker: ``(code, lines, None)``.
    Raises SyntaxError (or ValueError) if it does not compile."""
    return compile(test, "<test>", "exec"), test.splitlines(), None


class NotPlainData(AssertionError):
    """A program returned something that is not plain data."""


class CandidateError(Exception):
    """An exception of a program-defined class raised inside the program."""


class _Gone(BaseException):
    """The program process stopped answering (exited, died, or broke the protocol)."""


class Proxy:
    """Stands for a callable global of the program; calling it calls it there."""

    __slots__ = ("_name", "_channel")

    def __init__(self, name: str, channel: "_Channel"):
        self._name, self._channel = name, channel

    def __call__(self, *args, **kwargs):
        return self._channel.call(self._name, args, kwargs)

    @property
    def __name__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<proxy for {self._name} in the sandboxed program>"


class _Channel:
    def __init__(self, fd: int):
        self.fd, self.kinds, self.proxies = fd, {}, {}

    def receive(self) -> tuple:
        try:
            return read_message(self.fd)
        except EOFError:
            raise _Gone("eof") from None
        except (ValueError, OSError) as exc:
            raise _Gone(f"garbled: {exc}") from None

    def request(self, message: tuple):
        try:
            write_message(self.fd, message, refs=True)
        except OSError:
            raise _Gone("eof") from None
        reply = self.receive()
        if reply[0] == "ok" and len(reply) == 2:
            return reply[1]
        if reply[0] == "not_plain" and len(reply) == 2:
            raise NotPlainData(f"{message[1]} returned an object of type {reply[1][:80]!r} "
                               f"(as the program names it), which is not plain data "
                               f"({_PLAIN})")
        if reply[0] == "raised" and len(reply) == 3 and type(reply[1]) is str:
            _reraise(reply[1], reply[2])
        raise _Gone(f"garbled: unexpected reply {str(reply[0])[:40]!r}")

    def call(self, name: str, args: tuple, kwargs: dict):
        args = tuple(plain.Ref(a._name) if type(a) is Proxy else a for a in args)
        try:
            plain.encode((args, kwargs), refs=True)
        except plain.NotPlain as exc:
            raise TypeError(f"the test passed a {exc.type_name} object to {name}: only plain "
                            f"data crosses the sandbox boundary") from None
        return self.request(("call", name, args, kwargs))

    def lookup(self, name: str):
        kind = self.kinds[name]
        if kind == "call":
            if name not in self.proxies:
                self.proxies[name] = Proxy(name, self)
            return self.proxies[name]
        if kind.startswith("module:") and kind[7:] in sys.modules:
            return importlib.import_module(kind[7:])  # the judge's own, pristine copy
        return self.request(("get", name))


def _reraise(name: str, message: str):
    cls = _BUILTINS.get(name)
    if name == "SystemExit":
        raise _Gone("exit")
    if isinstance(cls, type) and issubclass(cls, BaseException) and cls is not _Gone:
        raise cls(message) if message else cls()
    raise CandidateError(f"{name}: {message}" if message else name)


class _Namespace(dict):
    """Test globals: names the tests define, then the program's globals on demand."""

    def __init__(self, channel: _Channel, names):
        super().__init__()
        self.channel, self.names = channel, names

    def __missing__(self, key):
        if key in self.names:
            return self.channel.lookup(key)
        raise KeyError(key)


def _where(exc, lines) -> str:
    tb, line = exc.__traceback__, 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<test>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"line {line}: {lines[line - 1].strip()}" if 0 < line <= len(lines) else ""


def _describe(exc) -> str:
    if type(exc) is CandidateError:
        return str(exc)[:500]
    text = str(exc)[:500].replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _decide(suite: tuple, entry_point: str | None, channel: _Channel) -> tuple:
    tests, lines, _ = suite
    stage = "before"
    try:
        hello = channel.receive()
        if hello[0] == "syntax_error":
            return "syntax_error", "", str(hello[1])
        if hello[0] == "raised" and len(hello) == 3:
            _reraise(hello[1], hello[2])
        if hello[0] != "ready" or type(hello[1]) is not dict:
            raise _Gone("garbled: no ready message")
        channel.kinds = {k: v for k, v in hello[1].items()
                         if type(k) is str and type(v) is str and k not in _BUILTINS}
        stage = "while"
        space = _Namespace(channel, channel.kinds)
        space.update(__builtins__=_BUILTINS, __name__="__test__")
        if entry_point is None:
            exec(tests, space)
        else:
            if channel.kinds.get(entry_point) != "call":
                return "error", "", f"entry point {entry_point} is not a function the program defines"
            exec(tests, space)
            check = dict.get(space, "check")
            if not callable(check):
                return "error", "", "the test code defines no check(candidate) function"
            check(channel.lookup(entry_point))
    except _Gone as exc:
        return "gone", stage, str(exc)
    except NotPlainData as exc:
        return "invalid_return", _where(exc, lines), str(exc)
    except MemoryError as exc:
        return "memory", _where(exc, lines), _describe(exc)
    except AssertionError as exc:
        return "failed", _where(exc, lines), _describe(exc)
    except BaseException as exc:  # noqa: BLE001 - any other exception fails the program
        return "error", _where(exc, lines), _describe(exc)
    return "passed", "", ""


def judge(suite: tuple, entry_point: str | None, channel_fd: int, verdict_fd: int) -> None:
    """Judge one program talking on ``channel_fd``; write the verdict; never return."""
    try:
        channel = _Channel(channel_fd)
        status, test, detail = _decide(suite, entry_point, channel)
        if status != "gone":
            try:
                write_message(channel_fd, ("bye",))
            except OSError:
                pass
        record = f"{status}\n{test}\n{detail}".encode("utf-8", "replace")
    except BaseException as exc:  # noqa: BLE001 - a judge bug: never a pass
        record = f"sandbox_error\n\njudge failed: {type(exc).__name__}: {exc}".encode()
    try:
        os.write(verdict_fd, record[:1 << 15])
    finally:
        os._exit(0)

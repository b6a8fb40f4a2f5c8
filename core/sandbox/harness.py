"""The test harness that runs inside the candidate process, after the jail is set up.

Order of events: compile both sources; exec the program in its own namespace; build
the test namespace from a *pristine* copy of builtins taken at worker start (before any
program ever ran), leaving out program globals that shadow builtins, and undo any
replacement of preloaded modules; exec the tests; call ``check(<entry_point>)``.

The verdict leaves through a pipe the parent created, as one record starting with a
per-sample random nonce; only a record written after ``check`` returned normally says
``passed``. Everything the reporting path uses (os.write, os._exit, str.encode, the
exception classes...) is bound when this module is imported by the warm worker, so a
program patching ``os``, ``builtins`` or ``json`` cannot change what is reported, and
anything program code can inject (exception text) is encoded with ``str.encode`` itself,
never with methods of the program's objects. A program that exits, dies or corrupts
the channel yields no valid record and cannot score.

Limit (documented, not hidden): program and tests share one interpreter, as in every
in-process harness; a program written specifically to dig the nonce out of interpreter
memory or to rewrite the harness with tracing hooks or ctypes could still forge a pass.
"""
from __future__ import annotations

import builtins
import os
import re
import sys
import types

__all__ = ["PRISTINE_BUILTINS", "prepare_test", "snapshot_modules", "run"]

PRISTINE_BUILTINS: dict = dict(builtins.__dict__)
_MODULES: dict = {}
_MODULE_DICTS: dict = {}
_IMPORT = re.compile(r"^[ \t]*(?:from|import)[ \t]+([\w.][\w., \t]*)", re.M)
_GUARDED = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__len__")


def snapshot_modules() -> None:
    """Record ``sys.modules`` and every loaded module's namespace (in the warm worker)."""
    _MODULES.clear()
    _MODULES.update(sys.modules)
    _MODULE_DICTS.clear()
    for name, module in sys.modules.items():
        namespace = getattr(module, "__dict__", None)
        if isinstance(namespace, dict):
            _MODULE_DICTS[name] = (namespace, dict(namespace))


def _imported_by(test: str) -> list[str]:
    """Module names (and their parents) named by import statements of the test code."""
    names = []
    for match in _IMPORT.finditer(test):
        for part in match.group(1).replace("(", " ").split(","):
            dotted = part.split()[0] if part.split() else ""
            pieces = dotted.split(".")
            names.extend(".".join(pieces[:i]) for i in range(1, len(pieces) + 1))
    return names


def prepare_test(test: str) -> tuple:
    """Compile trusted test code once, in the worker: ``(code, lines, imported names)``.
    Raises SyntaxError (or ValueError) if it does not compile."""
    return compile(test, "<test>", "exec"), test.splitlines(), _imported_by(test)


def _restore_modules(names, modules=_MODULES, dicts=_MODULE_DICTS, sysmods=sys.modules) -> None:
    """Undo program tampering with the modules the tests import (``sys.modules`` entries
    and module attributes), so e.g. a patched ``math.isclose`` cannot fool a test."""
    for name in names:
        module = modules.get(name)
        if module is None:
            continue
        if sysmods.get(name) is not module:
            sysmods[name] = module
        live, saved = dicts[name]
        for key, value in saved.items():
            if live.get(key) is not value:
                live[key] = value


def _suspicious(value, name, _type=type, _vars=vars, _any=any, _set=set, _map=map,
                _containers=(list, tuple, set, frozenset)) -> str:
    """Name a program-defined class with its own comparison dunders found in ``value``."""
    items = [value]
    if _type(value) in _containers:
        items.extend(value)
    elif _type(value) is dict:
        items.extend(value.values())
    for cls in _set(_map(_type, items)):
        for klass in cls.__mro__:
            if _vars(klass).get("__module__") == name and _any(
                    d in _vars(klass) for d in _GUARDED):
                return klass.__qualname__
    return ""


def _guard(fn, name):
    """Wrap the entry point so returning an 'always equal' object fails the test."""
    def candidate(*args, **kwargs):
        result = fn(*args, **kwargs)
        bad = _suspicious(result, name)
        if bad:
            raise AssertionError(f"returned an instance of program-defined class {bad} "
                                 f"that overrides comparison")
        return result
    candidate.__name__ = getattr(fn, "__name__", "candidate")
    candidate.__doc__ = getattr(fn, "__doc__", None)
    return candidate


def _where(exc, lines, _len=len) -> str:
    """``"line N: <source>"`` of the innermost test frame in ``exc``'s traceback."""
    tb, line = exc.__traceback__, 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<test>":
            line = tb.tb_lineno
        tb = tb.tb_next
    if 0 < line <= _len(lines):
        return f"line {line}: {lines[line - 1].strip()}"
    return ""


def run(code: str, suite: tuple, entry_point: str | None, verdict_fd: int, nonce: str,
        reject_custom_eq: bool, out=None, err=None,
        _write=os.write, _exit=os._exit, _getpid=os.getpid, _compile=compile, _exec=exec,
        _str=str, _encode=str.encode, _type=type, _callable=callable,
        _function=types.FunctionType,
        _BaseException=BaseException, _AssertionError=AssertionError,
        _MemoryError=MemoryError, _SystemExit=SystemExit, _builtins=PRISTINE_BUILTINS,
        _restore=_restore_modules, _guard=_guard, _where=_where, _builtins_module=builtins,
        _ModuleType=types.ModuleType, _sysmodules=sys.modules):
    """Run ``code`` then the tests ``suite`` (from ``prepare_test``) in this process;
    write the verdict to ``verdict_fd``; never return."""
    pid = _getpid()
    head = _encode(nonce, "ascii") + b"\n"

    def text(obj, limit=500):
        try:
            s = _str(obj)
        except _BaseException:
            s = "<unprintable>"
        return _encode(s, "utf-8", "replace")[:limit].replace(b"\n", b" ")

    def describe(exc):
        name = text(_type(exc).__name__, 100)
        msg = text(exc)
        return name + b": " + msg if msg else name

    def report(status: bytes, where=b"", detail=b""):
        if _getpid() != pid:  # a forked copy of the program returned into the harness
            _exit(0)
        for stream in (out, err):
            try:
                stream.flush()
            except _BaseException:
                pass
        try:
            _write(verdict_fd, head + status + b"\n" + where + b"\n" + detail)
        except _BaseException:
            _exit(3)
        _exit(0)

    try:
        tests, lines, imports = suite
        try:
            program = _compile(code, "<candidate>", "exec")
        except _BaseException as exc:
            report(b"syntax_error", b"", describe(exc))
        stage = b"before"
        try:
            module = _ModuleType("__candidate__")  # importable, so pickling works
            _sysmodules["__candidate__"] = module
            space = module.__dict__
            space["__builtins__"] = _builtins_module
            _exec(program, space)
            if _getpid() != pid:
                _exit(0)
            stage = b"while"
            tspace = {k: v for k, v in space.items() if k not in _builtins}
            # the worker's pristine builtins: this process's copy-on-write view of a dict
            # no program has ever run beside, untouched by patches to module builtins
            tspace.update(__builtins__=_builtins, __name__="__test__")
            _restore(imports)
            if entry_point is None:
                _exec(tests, tspace)
            else:
                if entry_point not in space:
                    report(b"error", b"", b"entry point " + text(entry_point) + b" is not defined")
                candidate = space[entry_point]
                _exec(tests, tspace)
                check = tspace.get("check")
                if not _callable(check):
                    report(b"error", b"", b"the test code defines no check(candidate) function")
                if reject_custom_eq and _type(candidate) is _function:
                    candidate = _guard(candidate, "__candidate__")
                check(candidate)
        except _SystemExit as exc:
            report(b"exited", b"", describe(exc) + b" raised " + stage + b" the tests ran")
        except _MemoryError as exc:
            report(b"memory", _where(exc, lines).encode(), describe(exc))
        except _AssertionError as exc:
            report(b"failed", _encode(_where(exc, lines), "utf-8", "replace"), describe(exc))
        except _BaseException as exc:
            report(b"error", _encode(_where(exc, lines), "utf-8", "replace"), describe(exc))
        report(b"passed")
    finally:
        _exit(3)

"""The sandbox's data types: a ``Program`` to run, its ``Result`` and ``Status``."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["Program", "Result", "Status"]


class Status(str, enum.Enum):
    """Why a program passed or did not; ``str`` values are stable for logs and JSON."""

    PASSED = "passed"              #: the tests ran to completion and every assertion held
    FAILED = "failed"              #: an assertion failed (Result.test names the test line)
    ERROR = "error"                #: an exception other than AssertionError was raised
    SYNTAX_ERROR = "syntax_error"  #: the program does not compile
    TIMEOUT = "timeout"            #: wall-clock or CPU-time limit reached
    MEMORY = "memory"              #: memory limit reached (MemoryError or killed for it)
    EXITED = "exited"              #: it exited (sys.exit, os._exit...) before its tests finished
    INVALID_RETURN = "invalid_return"  #: a value the tests used was not plain data
    CRASH = "crash"                #: killed by a signal, or its verdict channel was tampered with
    SANDBOX_ERROR = "sandbox_error"  #: the sandbox itself failed; the program's verdict is unknown


@dataclass(frozen=True)
class Program:
    """A candidate program and its tests.

    ``entry_point`` set (HumanEval convention): ``test`` defines ``check(candidate)``,
    called as ``check(<entry_point>)``. ``entry_point=None``: ``test`` is a plain script
    of asserts run after ``code``.
    """

    code: str
    test: str
    entry_point: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not isinstance(self.test, str):
            raise TypeError("Program.code and Program.test must be str")
        if self.entry_point is not None and not (
                isinstance(self.entry_point, str) and self.entry_point.isidentifier()):
            raise ValueError(f"Program.entry_point must be an identifier or None, "
                             f"got {self.entry_point!r}")


@dataclass(frozen=True)
class Result:
    """The verdict on one program. ``passed`` is true only for ``Status.PASSED``."""

    status: Status
    detail: str = ""          #: one-line reason, e.g. "AssertionError: expected 3"
    test: str = ""            #: the failing test line, e.g. "line 3: assert candidate(1) == 2"
    stdout: str = ""          #: captured stdout, at most SandboxConfig.max_output_bytes
    stderr: str = ""          #: captured stderr, same cap
    truncated: bool = False   #: some output was dropped by the cap
    duration_s: float = 0.0   #: wall-clock seconds from fork to exit
    limits: dict = field(default_factory=dict)  #: the limits it ran under (SandboxConfig + scope)
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "passed", self.status is Status.PASSED)

    @property
    def limit_hit(self) -> str:
        """Which key of ``limits`` stopped the program ("" if none did)."""
        if self.status is Status.TIMEOUT:
            return "cpu_time_s" if "CPU" in self.detail else "timeout_s"
        if self.status is Status.MEMORY:
            return "memory_mb"
        if "File too large" in self.detail:
            return "max_file_mb"
        return "max_output_bytes" if self.truncated else ""

    def __str__(self) -> str:
        extra = f" [{self.test}]" if self.test else ""
        return f"{self.status.value}{': ' + self.detail if self.detail else ''}{extra}"

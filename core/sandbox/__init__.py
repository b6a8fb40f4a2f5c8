"""Run untrusted, model-written programs against their tests: isolated, fast, honest.

    from core.sandbox import Sandbox, SandboxConfig, Program
    prog = Program(code="def add(a, b):\\n    return a + b\\n",
                   test="def check(candidate):\\n    assert candidate(1, 2) == 3\\n",
                   entry_point="add")      # None: ``test`` is a plain script of asserts
    with Sandbox(SandboxConfig(workers=2)) as sb:
        [result] = sb.run([prog])        # order preserved; never raises for a bad program
        result.passed, result.status, result.detail, result.test, result.limits

How (root on Linux; every fallback is logged once on logger ``rlft.sandbox``):

==================  =====================================================================
network             empty network namespace per worker (fallback: socket patched, WEAK)
processes           one unprivileged uid per worker + RLIMIT_NPROC; a fresh PID namespace
                    per program, whose death kills every process it left (daemons too)
files               runs as that uid (root's files are read-only to it); private tmpfs
                    /tmp, /var/tmp, /dev/shm, /run/lock; closed dirs like /root hidden
secrets             scrubbed environment; /proc with hidepid=2; /root hidden
limits              wall clock (worker timer), RLIMIT_CPU, RLIMIT_AS, memory cgroup
                    for the whole tree (fallback: RLIMIT_AS per process), RLIMIT_FSIZE,
                    capped stdout/stderr, no core dumps, no POSIX queues, no new privileges
IPC                 private IPC namespace per worker, SysV objects removed after each run
speed               warm workers fork a program and a judge per sample (no interpreter
                    start-up); preloaded modules; tests compiled once per worker
==================  =====================================================================

The verdict is decided outside the program (see ``judge``): the jailed program process
only executes the program and answers calls; a separate judge process, outside the
program's PID namespace, under another uid and not dumpable, runs the tests with its
own pristine builtins. ``check(candidate)`` receives a proxy whose calls cross a
socket; only plain data (None, bool, int, float, str, bytes, list, tuple, dict, set)
crosses, through a strict decoder (``plain``), never pickle. A non-plain return value
(a library "always equal" object, a class lying about its ``__module__``, an int
subclass...) fails with status ``invalid_return``. Stack walking, gc scanning, ctypes
writes, tracing hooks, signal handlers, finalizers and stray threads can change only
the program's own answers (tests/sandbox_corpus has one program per attack).

Limits: ``Result.limits`` lists what a program ran under and ``Result.limit_hit`` which
one stopped it. Memory holds for the whole process tree through a per-worker memory
cgroup (v2, else v1) where the host allows; otherwise RLIMIT_AS per process only
(``limits["memory_scope"]`` says which).

Modules: ``config`` (SandboxConfig), ``program`` (Program, Result, Status), ``pool``
(Sandbox, trainer side), ``worker`` (warm forking worker), ``isolation`` (namespaces,
mounts, uid), ``jail`` (per-process limits), ``limits`` (memory cgroup, reported limits),
``harness`` (the program side: answers calls), ``judge`` (runs the tests, decides),
``plain`` (the boundary codec), ``verdict`` and ``protocol`` (records), ``syscalls``.
"""
from .config import SandboxConfig
from .isolation import Isolation
from .pool import Sandbox, WorkerInfo
from .program import Program, Result, Status

__all__ = ["Isolation", "Program", "Result", "Sandbox", "SandboxConfig", "Status", "WorkerInfo"]

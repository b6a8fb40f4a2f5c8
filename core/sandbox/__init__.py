"""Run untrusted, model-written programs against their tests: isolated, fast, honest.

    from core.sandbox import Sandbox, SandboxConfig, Program
    prog = Program(code="def add(a, b):\\n    return a + b\\n",
                   test="def check(candidate):\\n    assert candidate(1, 2) == 3\\n",
                   entry_point="add")      # None: ``test`` is a plain script of asserts
    with Sandbox(SandboxConfig(workers=2)) as sb:
        [result] = sb.run([prog])        # order preserved; never raises for a bad program
        result.passed, result.status, result.detail, result.test

How (root on Linux; every fallback is logged once on logger ``rlft.sandbox``):

==================  =====================================================================
network             empty network namespace per worker (fallback: socket patched, WEAK)
processes           one unprivileged uid per worker + RLIMIT_NPROC; a fresh PID namespace
                    per program, whose death kills every process it left (daemons too)
files               runs as that uid (root's files are read-only to it); private tmpfs
                    /tmp, /var/tmp, /dev/shm, /run/lock; closed dirs like /root hidden
secrets             scrubbed environment; /proc with hidepid=2; /root hidden
limits              wall clock (worker timer), RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE,
                    capped stdout/stderr, no core dumps, no POSIX queues, no new privileges
IPC                 private IPC namespace per worker, SysV objects removed after each run
speed               warm workers fork one child per program (no interpreter start-up);
                    preloaded modules; tests compiled once per worker
==================  =====================================================================

A pass needs a record carrying a per-program random nonce on a pipe the worker made,
written only after ``check`` returned, *and* a clean exit: exiting early, dying,
killing the parent, printing "passed", patching builtins, ``math``, ``sys.modules``
or ``check`` all score nothing (tests/sandbox_corpus has one program per attack).
Program and tests share one interpreter, as in every in-process harness: a program
written specifically against this harness (reading the nonce out of memory, or
rewriting the test's frames with tracing hooks or ctypes) could still forge a pass.

Modules: ``config`` (SandboxConfig), ``program`` (Program, Result, Status), ``pool``
(Sandbox, trainer side), ``worker`` (warm forking worker), ``isolation`` (namespaces,
mounts, uid), ``jail`` (per-process limits), ``harness`` (runs the tests inside the
jailed process), ``verdict`` and ``protocol`` (what counts as a pass), ``syscalls``.
"""
from .config import SandboxConfig
from .isolation import Isolation
from .pool import Sandbox, WorkerInfo
from .program import Program, Result, Status

__all__ = ["Isolation", "Program", "Result", "Sandbox", "SandboxConfig", "Status", "WorkerInfo"]

"""``Sandbox``: the trainer-side pool of warm workers that runs batches of programs.

Workers are fresh interpreters (``python -I``, scrubbed environment, own session)
started lazily on the first ``run`` and reused for every later call; each runs one
program at a time, so ``workers`` programs run in parallel. ``run`` is safe to call
from several threads. A worker that dies or hangs is killed and replaced, and the
affected program gets ``Status.SANDBOX_ERROR``; ``run`` never raises for a program.
"""
from __future__ import annotations

import atexit
import collections
import logging
import os
import queue
import select
import shutil
import subprocess
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Iterable

from . import protocol
from .config import SandboxConfig
from .isolation import Isolation
from .program import Program, Result, Status

__all__ = ["Sandbox", "WorkerInfo"]

log = logging.getLogger("rlft.sandbox")
_HERE = os.path.dirname(os.path.abspath(__file__))
_BOOT = ("import sys, types; p = types.ModuleType('_rlft_sandbox'); p.__path__ = [{here!r}]; "
         "sys.modules['_rlft_sandbox'] = p; from _rlft_sandbox.worker import main; main()")
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
_WINDOW = 2  # programs queued per worker: it starts the next while we read the last
_logged: set[str] = set()
_live: "weakref.WeakSet[Sandbox]" = weakref.WeakSet()


class WorkerInfo:
    """Diagnostics for one live worker: its ``pid`` and the ``uid`` programs run as."""

    def __init__(self, pid: int, isolation: Isolation):
        self.pid, self.isolation = pid, isolation
        self.uid = isolation.uid

    def __repr__(self) -> str:
        return f"WorkerInfo(pid={self.pid}, uid={self.uid})"


class _Worker:
    """One worker process and its pipes; used by one thread at a time."""

    def __init__(self, cfg: SandboxConfig):
        self.cfg = cfg
        self.proc = subprocess.Popen(
            [cfg.python or sys.executable, "-I", "-c", _BOOT.format(here=_HERE)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_ENV, cwd="/",
            start_new_session=True, close_fds=True)
        self.wfd, self.rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        protocol.send(self.wfd, {"config": asdict(cfg)})
        hello = self._receive(120.0)
        if not hello:
            self.kill()
            raise RuntimeError("rlft.sandbox: a worker failed to start (see its stderr above)")
        self.info = WorkerInfo(hello["pid"], Isolation(**hello["isolation"]))

    def _receive(self, timeout: float):
        ready, _, _ = select.select([self.rfd], [], [], timeout)
        return protocol.recv(self.rfd) if ready else None

    def submit(self, program: Program) -> bool:
        """Queue ``program`` on the worker; False if the worker is gone."""
        try:
            protocol.send(self.wfd, {"code": program.code, "test": program.test,
                                     "entry_point": program.entry_point})
            return True
        except OSError:
            return False

    def result(self) -> dict | None:
        """The answer to the oldest submitted program, or None if the worker failed."""
        try:
            return self._receive(self.cfg.timeout_s + 30.0)
        except Exception:  # noqa: BLE001 - EOF, garbled message: a lost worker
            return None

    def kill(self) -> None:
        """Stop the worker now; its program processes die with it (parent-death signal)."""
        try:
            self.proc.kill()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        iso = getattr(getattr(self, "info", None), "isolation", None)
        if iso is not None and not iso.mountns:  # host scratch root of a killed worker
            shutil.rmtree(iso.scratch_root, ignore_errors=True)

    def close(self) -> None:
        """Ask the worker to exit (end of its stdin), killing it if it does not."""
        try:
            self.proc.stdin.close()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class Sandbox:
    """Runs untrusted programs against their tests on a pool of isolated workers.

    >>> with Sandbox(SandboxConfig(workers=2)) as sb:          # doctest: +SKIP
    ...     sb.run([Program("def f():\\n    return 1\\n", "assert f() == 1\\n")])[0].passed
    True
    """

    def __init__(self, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        self._lock = threading.Lock()
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._owner = os.getpid()
        _live.add(self)

    def _forked(self) -> bool:
        """True in a forked copy of the owning process: the workers are not ours there."""
        if self._owner == os.getpid():
            return False
        self._lock, self._idle = threading.Lock(), queue.SimpleQueue()
        self._all, self._executor, self._owner = [], None, os.getpid()
        return True

    def start(self) -> "Sandbox":
        """Start the workers now (``run`` does it lazily). Returns ``self``."""
        self._forked()
        with self._lock:
            if self._closed:
                raise RuntimeError("rlft.sandbox: this Sandbox is closed")
            if self._executor is not None:
                return self
            n = self.config.n_workers
            with ThreadPoolExecutor(n) as starter:
                futures = [starter.submit(_Worker, self.config) for _ in range(n)]
            failed = [f.exception() for f in futures if f.exception() is not None]
            workers = [f.result() for f in futures if f.exception() is None]
            if failed:
                for worker in workers:
                    worker.close()
                raise failed[0]
            self._all = workers
            for worker in workers:
                self._idle.put(worker)
            self._executor = ThreadPoolExecutor(n, thread_name_prefix="rlft-sandbox")
            _log_isolation(workers[0].info.isolation, n)
            return self

    @property
    def isolation(self) -> Isolation:
        """What isolation the workers have on this host (starts them if needed)."""
        self.start()
        return self._all[0].info.isolation

    @property
    def workers(self) -> list[WorkerInfo]:
        """Pid and program uid of each live worker (for diagnostics and tests)."""
        self.start()
        return [w.info for w in list(self._all)]

    def run(self, programs: Iterable[Program]) -> list[Result]:
        """Run every program against its tests; results come back in input order."""
        programs = list(programs)
        for p in programs:
            if not isinstance(p, Program):
                raise TypeError(f"Sandbox.run expects Program objects, got {type(p).__name__}")
        if not programs:
            return []
        self.start()
        todo: queue.SimpleQueue = queue.SimpleQueue()
        for item in enumerate(programs):
            todo.put(item)
        results: list[Result | None] = [None] * len(programs)
        drains = [self._executor.submit(self._drain, todo, results)
                  for _ in range(min(len(programs), len(self._all)))]
        for drain in drains:
            drain.result()
        return results  # type: ignore[return-value]

    def _drain(self, todo: queue.SimpleQueue, results: list) -> None:
        """With one worker, run programs from ``todo`` until it is empty. Keeps
        ``_WINDOW`` programs in flight so the worker never waits for this thread."""
        worker, inflight = self._idle.get(), collections.deque()
        try:
            while True:
                while len(inflight) < _WINDOW:
                    try:
                        index, program = todo.get_nowait()
                    except queue.Empty:
                        break
                    inflight.append(index)
                    if not worker.submit(program):
                        break
                if not inflight:
                    return
                answer = worker.result()
                if answer is None:
                    for index in inflight:
                        results[index] = Result(Status.SANDBOX_ERROR,
                                                detail="the sandbox worker died or hung")
                    inflight.clear()
                    worker = self._replace(worker)
                    continue
                results[inflight.popleft()] = Result(**answer)
        finally:
            self._idle.put(worker)

    def _replace(self, dead: _Worker) -> _Worker:
        """Kill ``dead`` and start a worker in its place (``dead`` itself if that fails,
        so the next program retries and gets SANDBOX_ERROR rather than a hang)."""
        dead.kill()
        try:
            fresh = _Worker(self.config)
        except Exception as exc:  # noqa: BLE001 - keep serving; retried on next use
            log.error("sandbox: could not restart a worker: %s", exc)
            return dead
        with self._lock:
            self._all = [fresh if w is dead else w for w in self._all]
        return fresh

    def close(self) -> None:
        """Stop all workers; nothing they started survives. Idempotent."""
        if self._forked():  # never stop the parent process's workers from a fork
            self._closed = True
            return
        with self._lock:
            if self._closed:
                return
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        for worker in self._all:
            worker.close()
        self._all = []

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _log_isolation(iso: Isolation, n: int) -> None:
    line = iso.summary()
    if line in _logged:
        return
    _logged.add(line)
    log.info("sandbox: %d warm workers; isolation on this host: %s", n, line)
    for note in iso.notes:
        log.warning("sandbox: %s", note)


@atexit.register
def _close_all() -> None:
    for sandbox in list(_live):
        sandbox.close()

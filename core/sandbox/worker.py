"""The warm worker: a trusted root-side process that forks one jailed child per program.

Started once by ``Sandbox`` (fresh interpreter, ``-I``, scrubbed environment), it
imports the preload modules, isolates itself (``isolation.setup_worker``), snapshots
builtins and modules, then loops: read a job, run it, answer. Per job it forks once::

    worker (root) --unshare(PID)+fork--> program: pid 1 of a fresh PID namespace,
                                         jailed (uid U, limits), runs the harness

and watches stdout, stderr, the verdict pipe and a pidfd against a wall-clock
deadline. When the program exits or is SIGKILLed on expiry, the kernel kills every
process left in its namespace (double-forked ``setsid`` daemons included). Being pid 1,
the program ignores signals it sends itself without a handler, and SIGXCPU: the hard
RLIMIT_CPU (soft + 1 s) SIGKILLs it instead. Scratch and the private /tmp are wiped
after every job.
"""
from __future__ import annotations

import gc
import importlib
import math
import os
import select
import shutil
import signal
import socket
import sys
import time
from dataclasses import asdict

from . import harness, jail, judge, limits, protocol
from . import syscalls as sc
from .config import SandboxConfig
from .isolation import Isolation, setup_worker
from .verdict import classify

__all__ = ["main", "Worker"]

_CHANNEL_FD = 3
_VERDICT_CAP = 1 << 16


class Worker:
    """Runs jobs one at a time under a fixed isolation setup."""

    def __init__(self, cfg: SandboxConfig, iso: Isolation):
        self.cfg, self.iso = cfg, iso
        self.own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY) if iso.pidns else -1
        self.cpu_limit = max(1, math.ceil(cfg.cpu_time_s))
        # made once here, used by every forked program process (fds 0-2 are re-pointed)
        self.null = os.open("/dev/null", os.O_RDONLY)
        assert self.null >= _CHANNEL_FD, "fds 0-2 must be open when the worker starts"
        self.streams = (open(0, "r", closefd=False),
                        open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False),
                        open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False))
        sys.argv = [""]
        self.suites: dict[str, tuple] = {}
        self.cgroup = limits.make_cgroup(cfg) if iso.uid else None
        self.limits = limits.describe(cfg, self.cgroup, iso)
        self.count = 0

    # -- inside the forked program process ------------------------------------------
    def _program(self, job: dict, scratch: str, fds: dict) -> None:
        # pipes were opened after fds 0-3 were taken, so none of them is fd 0-3 itself
        os.dup2(self.null, 0)
        os.dup2(fds["program"], _CHANNEL_FD)
        os.dup2(fds["out"], 1)
        os.dup2(fds["err"], 2)
        os.closerange(_CHANNEL_FD + 1, 1 << 16)
        sys.stdin = sys.__stdin__ = self.streams[0]
        sys.stdout = sys.__stdout__ = self.streams[1]
        sys.stderr = sys.__stderr__ = self.streams[2]
        limits.enter_cgroup(self.cgroup, os.getpid())
        jail.enter(self.iso, self.cfg, scratch)
        harness.serve(job["code"], _CHANNEL_FD, self.streams[1], self.streams[2])

    # -- in the worker -----------------------------------------------------------------
    def _fork_program(self, job, scratch, fds) -> int:
        """Fork the program process: pid 1 of a fresh PID namespace where available,
        so that when it exits (or is killed) the kernel kills everything it started."""
        if self.iso.pidns:
            sc.unshare(sc.CLONE_NEWPID)
        try:
            pid = os.fork()
            if pid == 0:
                try:
                    self._program(job, scratch, fds)
                finally:
                    os._exit(70)  # jail set-up failed before any program code ran
        finally:
            if self.iso.pidns:
                sc.setns(self.own_pidns, sc.CLONE_NEWPID)
        return pid

    def _fork_judge(self, job, fds) -> int:
        """Fork the judge: outside the program's PID namespace, not dumpable, holding
        the only write end of the verdict pipe."""
        pid = os.fork()
        if pid == 0:
            try:
                for fd in (0, 1, 2):
                    os.dup2(self.null, fd)
                os.dup2(fds["judge"], _CHANNEL_FD)
                os.dup2(fds["verdict"], _CHANNEL_FD + 1)
                os.closerange(_CHANNEL_FD + 2, 1 << 16)
                sc.set_not_dumpable()
                sc.set_pdeathsig(signal.SIGKILL)
                judge.judge(job["suite"], job["entry_point"], _CHANNEL_FD, _CHANNEL_FD + 1)
            finally:
                os._exit(70)
        return pid

    def _supervise(self, procs: dict, reads: dict) -> dict:
        """Watch the program and judge processes and read their pipes until both ended
        and the pipes closed; kill the program once the judge is done, both at the
        deadline. Returns buffers, wait statuses and the program's CPU time."""
        cap, deadline = self.cfg.max_output_bytes, time.monotonic() + self.cfg.timeout_s
        bufs = {name: bytearray() for name in reads}
        dropped = {name: 0 for name in reads}
        poller = select.poll()
        by_fd = {fd: name for name, fd in reads.items()}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        pidfds = {os.pidfd_open(pid): role for role, pid in procs.items()}
        for fd in pidfds:
            poller.register(fd, select.POLLIN)
        waits, cpu, timed_out, grace = {}, 0.0, False, None
        while by_fd or len(waits) < len(procs):
            now = time.monotonic()
            if len(waits) < len(procs) and now >= deadline and not timed_out:
                timed_out = True
                for role, pid in procs.items():
                    if role not in waits:
                        os.kill(pid, signal.SIGKILL)
            if len(waits) == len(procs) and grace is None:
                if not self.iso.pidns:
                    jail.kill_children()
                grace = now + 2.0
            if grace is not None and now >= grace:
                break
            wait = (grace if grace is not None else deadline) - now
            for fd, _ in poller.poll(max(0, wait) * 1000 + 1):
                role = pidfds.get(fd)
                if role is not None:
                    poller.unregister(fd)
                    _, waits[role], usage = os.wait4(procs[role], 0)
                    if role == "program":
                        cpu = usage.ru_utime + usage.ru_stime
                    elif "program" not in waits:  # the judge decided: stop the program
                        os.kill(procs["program"], signal.SIGKILL)
                    continue
                chunk = os.read(fd, 1 << 16)
                name = by_fd.get(fd)
                if not chunk:
                    poller.unregister(fd)
                    del by_fd[fd]
                    continue
                limit = _VERDICT_CAP if name == "verdict" else cap
                room = max(0, limit - len(bufs[name]))
                bufs[name] += chunk[:room]
                dropped[name] += len(chunk) - min(room, len(chunk))
        for role, pid in procs.items():
            if role not in waits:
                os.kill(pid, signal.SIGKILL)
                _, waits[role], usage = os.wait4(pid, 0)
                if role == "program":
                    cpu = usage.ru_utime + usage.ru_stime
        for fd in pidfds:
            os.close(fd)
        if not self.iso.pidns:
            jail.kill_children()
        return {"bufs": bufs, "dropped": dropped, "timed_out": timed_out,
                "status": waits.get("program"), "cpu": cpu}

    def _scratch(self) -> str:
        self.count += 1
        scratch = os.path.join(self.iso.scratch_root, f"rlft-{os.getpid()}-{self.count}")
        os.mkdir(scratch, 0o700)
        if self.iso.uid:
            os.chown(scratch, self.iso.uid, self.iso.uid)
        return scratch

    def _wipe(self, scratch: str) -> None:
        try:
            os.rmdir(scratch)  # the common case: the program left nothing behind
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
        if self.iso.mountns:
            for root in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
                try:
                    entries = list(os.scandir(root))
                except OSError:
                    continue
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        try:
                            os.unlink(entry.path)
                        except OSError:
                            pass

    def _suite(self, test: str) -> tuple:
        suite = self.suites.get(test)
        if suite is None:
            if len(self.suites) >= 512:
                self.suites.clear()
            suite = self.suites[test] = judge.prepare_test(test)
        return suite

    def execute(self, job: dict) -> dict:
        """Run one job (code, test, entry_point) and return the result fields."""
        try:
            job = dict(job, suite=self._suite(job["test"]))
        except (SyntaxError, ValueError) as exc:
            return {"status": "error", "detail": f"the test code does not compile: "
                                                 f"{type(exc).__name__}: {exc}"}
        scratch = self._scratch()
        limits.reset_cgroup(self.cgroup)
        pipes = {name: os.pipe() for name in ("out", "err", "verdict")}
        reads = {name: r for name, (r, _) in pipes.items()}
        fds = {name: w for name, (_, w) in pipes.items()}
        fds["judge"], fds["program"] = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds["judge"], fds["program"] = fds["judge"].detach(), fds["program"].detach()
        start = time.monotonic()
        procs = {}
        try:
            procs["program"] = self._fork_program(job, scratch, fds)
            procs["judge"] = self._fork_judge(job, fds)
        except OSError:
            for pid in procs.values():
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            for fd in list(reads.values()) + list(fds.values()):
                os.close(fd)
            self._wipe(scratch)
            raise
        for fd in fds.values():
            os.close(fd)
        seen = self._supervise(procs, reads)
        duration = time.monotonic() - start
        for fd in reads.values():
            os.close(fd)
        self._wipe(scratch)
        if self.iso.uid:
            jail.remove_sysv_ipc(self.iso.uid)
        oom = limits.cgroup_oom_kills(self.cgroup) > 0
        status, test, detail = classify(bytes(seen["bufs"]["verdict"]), seen["status"],
                                        seen["cpu"], seen["timed_out"], self.cfg.timeout_s,
                                        self.cpu_limit, oom, self.cfg.memory_mb)
        text = lambda name: bytes(seen["bufs"][name]).decode("utf-8", "replace")  # noqa: E731
        return {"status": status, "test": test, "detail": detail, "stdout": text("out"),
                "stderr": text("err"), "duration_s": duration,
                "truncated": bool(seen["dropped"]["out"] or seen["dropped"]["err"]),
                "limits": self.limits}


def main() -> None:
    """Worker entry point: handshake on stdin/stdout, then serve jobs until EOF."""
    hello = protocol.recv(0)
    cfg = SandboxConfig(**hello["config"])
    modules = cfg.preload.split()
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    iso = setup_worker(cfg.namespaces, cfg.network, cfg.max_file_mb)
    try:
        jail.prepare_worker()
        worker = Worker(cfg, iso)
        gc.collect()
        gc.freeze()
        protocol.send(1, {"pid": os.getpid(), "isolation": asdict(iso)})
        while (job := protocol.recv(0)) is not None:
            try:
                answer = worker.execute(job)
            except Exception as exc:  # the sandbox failed, not the program
                answer = {"status": "sandbox_error", "detail": f"{type(exc).__name__}: {exc}"}
            protocol.send(1, answer)
    finally:
        if not iso.mountns:
            shutil.rmtree(iso.scratch_root, ignore_errors=True)

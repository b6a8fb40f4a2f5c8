"""Per-worker isolation: find out what this host allows and set it up once per worker.

Run as root with namespaces allowed (the normal case here), each worker gets:
- a private mount namespace: fresh tmpfs on /tmp, /var/tmp, /dev/shm and /run/lock
  (scratch dirs live there and vanish with the worker), /proc remounted with
  ``hidepid=2`` (other users' processes are invisible), and directories that other
  users cannot enter (e.g. /root, mode 700) replaced by a tmpfs exposing only the
  Python installation inside them, so the rest (~/.ssh, caches) is hidden;
- an empty network namespace (only a downed loopback): no network at all;
- a private IPC namespace, emptied of SysV objects after every sample;
- an unprivileged uid of its own, so RLIMIT_NPROC really caps processes and files
  owned by root cannot be written, deleted or chmod-ed;
- a fresh PID namespace per sample (see ``worker``), so killing its init kills all.
Every step that fails is recorded and the matching fallback is logged by the parent.
"""
from __future__ import annotations

import os
import secrets
import stat
import sys
import tempfile
from dataclasses import dataclass, field

from . import syscalls as sc

__all__ = ["Isolation", "setup_worker"]

_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


@dataclass
class Isolation:
    """Which isolation features are active in a worker, with a note per fallback."""

    uid: int = 0              #: uid programs run as (0: no uid separation)
    mountns: bool = False     #: private mount namespace (private tmp dirs, hidden /root, hidepid)
    netns: bool = False       #: empty network namespace
    pidns: bool = False       #: fresh PID namespace per sample
    ipcns: bool = False       #: private IPC namespace (SysV objects emptied after each sample)
    nproc: str = "none"       #: how the process cap holds: 'uid' | 'relative' | 'none'
    scratch_root: str = ""    #: where per-sample scratch dirs are created
    notes: list = field(default_factory=list)

    def summary(self) -> str:
        """One line naming each feature and whether it is active."""
        yes = lambda b: "yes" if b else "NO"  # noqa: E731
        return (f"uid={'per-worker' if self.uid else 'NO (same user as trainer)'} "
                f"netns={yes(self.netns)} pidns={yes(self.pidns)} mountns={yes(self.mountns)} "
                f"ipcns={yes(self.ipcns)} nproc_limit={self.nproc}")


def _traversable(path: str) -> str | None:
    """The outermost directory on ``path`` that other users cannot enter, else None."""
    current = os.sep
    for part in [""] + os.path.realpath(path).split(os.sep)[1:]:
        current = os.path.join(current, part)
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return current
    return None


def _interpreter_paths() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(p for p in sys.path if p)
    return sorted(os.path.realpath(p) for p in paths if os.path.exists(p))


def _expose_interpreter(stage: str) -> None:
    """Cover each closed directory with a tmpfs that re-exposes only the interpreter."""
    for _ in range(8):
        blocked: dict[str, set[str]] = {}
        for path in _interpreter_paths():
            blocker = _traversable(path)
            if blocker:
                rest = os.path.relpath(path, blocker).split(os.sep)[0]
                if rest in (".", ".."):
                    raise OSError(f"{path} itself is closed to other users")
                blocked.setdefault(blocker, set()).add(rest)
        if not blocked:
            return
        for blocker, children in blocked.items():
            staged = []
            for child in sorted(children):
                tmp = os.path.join(stage, str(len(os.listdir(stage))))
                os.mkdir(tmp, 0o700)
                sc.mount(os.path.join(blocker, child), tmp, None, sc.MS_BIND | sc.MS_REC)
                staged.append((child, tmp))
            sc.mount("tmpfs", blocker, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "size=1m,mode=0755")
            for child, tmp in staged:
                os.mkdir(os.path.join(blocker, child), 0o755)
                sc.mount(tmp, os.path.join(blocker, child), None, sc.MS_MOVE)
                os.rmdir(tmp)
    raise OSError("could not expose the interpreter to an unprivileged uid")


def _setup_mounts(scratch_mb: int) -> None:
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    for path in _WRITABLE:
        if os.path.isdir(path) and not os.path.islink(path):
            sc.mount("tmpfs", path, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV,
                     f"size={scratch_mb}m,mode=1777")
    stage = "/tmp/.rlft-stage"
    os.mkdir(stage, 0o700)
    _expose_interpreter(stage)
    os.rmdir(stage)
    sc.mount("proc", "/proc", "proc", sc.MS_NOSUID | sc.MS_NODEV, "hidepid=2")


def _mount_namespace(scratch_mb: int) -> None:
    sc.unshare(sc.CLONE_NEWNS)
    _setup_mounts(scratch_mb)


def _try_in_child(fn, *args) -> str | None:
    """Run ``fn`` in a throw-away child; None if it worked, else the error text. Used
    so a mount set-up that fails half-way never leaves the worker half-configured."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            fn(*args)
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001 - report anything to the parent
            os.write(w, f"{type(exc).__name__}: {exc}".encode()[:500])
            os._exit(1)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        error = fh.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    return None if status == 0 else (error or f"wait status {status}")


def setup_worker(namespaces: bool, network: bool, max_file_mb: int) -> Isolation:
    """Isolate the calling worker process as far as this host allows; say what held."""
    iso = Isolation()
    root = os.geteuid() == 0
    if namespaces and sys.platform.startswith("linux"):
        error = _try_in_child(_mount_namespace, 4 * max_file_mb)
        if error is None:
            _mount_namespace(4 * max_file_mb)
            iso.mountns = True
            iso.scratch_root = "/tmp"
        else:
            iso.notes.append(f"mount namespace unavailable ({error}): scratch dirs are on the "
                             f"host filesystem and other users' processes are visible")
        if not network:
            try:
                sc.unshare(sc.CLONE_NEWNET)
                iso.netns = True
            except OSError as exc:
                iso.notes.append(f"network namespace unavailable ({exc}): falling back to "
                                 f"patching socket in the program's process, which is WEAK "
                                 f"(ctypes or subprocesses bypass it)")
        try:
            sc.unshare(sc.CLONE_NEWIPC)
            iso.ipcns = True
        except OSError as exc:
            iso.notes.append(f"IPC namespace unavailable ({exc}): SysV IPC objects are "
                             f"shared with the host (still removed after each program)")
        try:
            own = os.open("/proc/self/ns/pid", os.O_RDONLY)
            sc.unshare(sc.CLONE_NEWPID)
            sc.setns(own, sc.CLONE_NEWPID)
            os.close(own)
            iso.pidns = True
        except OSError as exc:
            iso.notes.append(f"PID namespace unavailable ({exc}): leftover processes are "
                             f"found through a child subreaper and killed one by one")
    elif not network:
        iso.notes.append("namespaces disabled: network is blocked only by patching socket "
                         "in the program's process (WEAK)")
    if not iso.pidns:
        try:
            sc.set_child_subreaper()
        except OSError as exc:
            iso.notes.append(f"no child subreaper ({exc}): daemonized leftovers may escape")
    if root and namespaces:
        closed = [p for p in _interpreter_paths() if _traversable(p)]
        if closed and not iso.mountns:
            iso.notes.append(f"programs run as ROOT: {closed[0]} is closed to other users "
                             f"and no mount namespace can expose it")
        else:
            iso.uid = 1_000_000 + secrets.randbelow(1_000_000_000)
            iso.nproc = "uid"
    elif root:
        iso.notes.append("programs run as ROOT (namespaces disabled): RLIMIT_NPROC is not "
                         "enforced for root, so fork bombs are only cleaned up afterwards")
    else:
        iso.nproc = "relative"
        iso.notes.append("not root: RLIMIT_NPROC counts all of this user's processes, so "
                         "the cap is set relative to their current number (weak)")
    if not iso.scratch_root:  # removed by the worker when it exits
        iso.scratch_root = tempfile.mkdtemp(prefix="rlft-sandbox-")
        os.chmod(iso.scratch_root, 0o711)
    tempfile.tempdir = None  # programs compute it from their own TMPDIR
    return iso

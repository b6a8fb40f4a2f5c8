"""Thin ctypes wrappers for the Linux calls the sandbox needs and Python 3.11 lacks.

Python 3.11 has no ``os.unshare``/``os.setns``/``mount``/``prctl``; these wrappers call
libc directly and raise ``OSError`` with the errno, like the ``os`` module does.
Everything here is Linux-only; importing it elsewhere works but calls fail with OSError.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = [
    "CLONE_NEWIPC",
    "CLONE_NEWNET",
    "CLONE_NEWNS",
    "CLONE_NEWPID",
    "ipc_remove",
    "set_not_dumpable",
    "MS_BIND",
    "MS_MOVE",
    "MS_NODEV",
    "MS_NOSUID",
    "MS_PRIVATE",
    "MS_RDONLY",
    "MS_REC",
    "MS_REMOUNT",
    "mount",
    "set_child_subreaper",
    "set_no_new_privs",
    "set_pdeathsig",
    "setns",
    "unshare",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_DUMPABLE = 4

_libc = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_ulong, ctypes.c_char_p]
        _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong,
                                ctypes.c_ulong, ctypes.c_ulong]
    return _libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (``unshare(2)``)."""
    _check(_lib().unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    """Join the namespace behind the open file descriptor ``fd`` (``setns(2)``)."""
    _check(_lib().setns(fd, nstype), "setns")


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    """Call ``mount(2)``; ``None`` arguments are passed as NULL."""
    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()
    _check(_lib().mount(enc(source), target.encode(), enc(fstype), flags, enc(data)),
           f"mount {target}")


_IPC_RMID = 0


def ipc_remove(kind: str, ident: int) -> bool:
    """Remove one SysV IPC object (``kind`` is 'shm', 'sem' or 'msg'); False if gone."""
    lib = _lib()
    if kind == "shm":
        ret = lib.shmctl(ident, _IPC_RMID, None)
    elif kind == "sem":
        ret = lib.semctl(ident, 0, _IPC_RMID)
    else:
        ret = lib.msgctl(ident, _IPC_RMID, None)
    return ret == 0


def _prctl(option: int, arg: int, what: str) -> None:
    _check(_lib().prctl(option, arg, 0, 0, 0), what)


def set_pdeathsig(sig: int) -> None:
    """Have the kernel send ``sig`` to this process when its parent thread dies."""
    _prctl(_PR_SET_PDEATHSIG, sig, "prctl(PR_SET_PDEATHSIG)")


def set_child_subreaper() -> None:
    """Make orphaned descendants re-parent to this process instead of init."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1, "prctl(PR_SET_CHILD_SUBREAPER)")


def set_no_new_privs() -> None:
    """Forbid gaining privileges through execve (setuid binaries, file capabilities)."""
    _prctl(_PR_SET_NO_NEW_PRIVS, 1, "prctl(PR_SET_NO_NEW_PRIVS)")


def set_not_dumpable() -> None:
    """PR_SET_DUMPABLE 0: processes of the same uid cannot ptrace it or open its /proc/mem."""
    _prctl(_PR_SET_DUMPABLE, 0, "prctl(PR_SET_DUMPABLE)")

"""Keep a run's resident memory near what its live tensors need."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import os
import platform
from collections.abc import Iterator
from typing import Any

__all__ = ["MMAP_THRESHOLD", "SAMPLING_THRESHOLD", "KERNEL_CACHE", "prepare_memory", "return_freed_memory",
           "heap_for_sampling", "cap_kernel_cache", "trim_heap", "release_optimizer"]

#: Allocations of at least this many bytes get their own memory mapping (glibc's ``M_MMAP_THRESHOLD``).
MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD = -3
#: The threshold while sampling (:func:`heap_for_sampling`): glibc's largest, the most its default ever reaches.
SAMPLING_THRESHOLD = 32 << 20
_threshold: int | None = None  # the threshold rlft set (None: glibc's own, or the user's MALLOC_MMAP_THRESHOLD_)
#: Compiled oneDNN kernels kept at once (oneDNN's own default: 1024).
KERNEL_CACHE = 32


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc on Linux, else None (looked up once: ``platform.libc_ver``
    reads the Python executable)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def prepare_memory() -> None:
    """The process-wide memory settings every rlft entry point (``core.run``, ``core.eval``, ``core.generate``)
    applies before any model loads: :func:`return_freed_memory` and :func:`cap_kernel_cache`."""
    return_freed_memory()
    cap_kernel_cache()


def return_freed_memory(threshold: int = MMAP_THRESHOLD) -> bool:
    """Under glibc, serve every allocation of ``threshold`` bytes or more (every sizeable tensor) with its own
    memory mapping, so that freeing it hands the memory back to the OS at once; return whether it applied.

    glibc's default raises that threshold as large blocks are freed (up to 32 MiB), after which activations,
    gradients and KV caches come from the heap, whose freed holes stay resident: a training step's peak RSS
    then exceeds its live tensors by hundreds of MB. Other C libraries (macOS, musl) are left as they are, and so
    is a threshold the user set with glibc's own ``MALLOC_MMAP_THRESHOLD_`` environment variable. The cost: a
    fresh mapping is zero-filled on first touch (``bench/memory.py`` measures it, variant ``full-heap``).
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    return _set_threshold(threshold)


def _set_threshold(threshold: int) -> bool:
    """Set glibc's ``M_MMAP_THRESHOLD``; return whether it applied (remembered for :func:`heap_for_sampling`)."""
    global _threshold
    libc = _glibc()
    if libc is None or not libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)):
        return False
    _threshold = int(threshold)
    return True


@contextlib.contextmanager
def heap_for_sampling(threshold: int = SAMPLING_THRESHOLD) -> Iterator[None]:
    """Within the block (token-by-token sampling), serve allocations of up to ``threshold`` bytes from glibc's
    heap again; on leaving, restore :func:`return_freed_memory`'s threshold and hand the heap's free pages back.

    Decoding grows every layer's key/value cache by a fresh allocation at each token. With a threshold of 1 MiB
    each is a new memory mapping, zero-filled on first touch and unmapped a token later: codegen's held-out
    sampling took 1.42x as long (151 s against 106 s, the same tokens). The heap reuses those blocks instead, and
    the pages they leave are returned when sampling ends. Where rlft does not own the threshold (not glibc, or
    the user's ``MALLOC_MMAP_THRESHOLD_``), only the pages are handed back. Usable as a decorator.
    """
    previous = _threshold
    switched = previous is not None and previous < threshold and _set_threshold(threshold)
    try:
        yield
    finally:
        if switched:
            _set_threshold(previous)
        trim_heap()


def cap_kernel_cache(capacity: int = KERNEL_CACHE) -> bool:
    """Keep at most ``capacity`` compiled oneDNN kernels (PyTorch's CPU bf16 matmuls); return whether it applied.

    oneDNN compiles and caches a kernel for every new matmul shape, and RL batches change their sequence
    lengths at every step: with its default of 1024 kernels, what the cache holds grows all through a run. Over
    codegen's first 12 training steps a capacity of 128 took peak RSS 4.21 -> 3.85 GiB, and 32 a further 3.78 ->
    3.59 GiB (with completions padded to multiples of 32 tokens), at the same step time (``bench/memory.py``,
    ``bench/results/memory/codegen/``). A capacity the user set (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``) wins.
    oneDNN reads it when it creates its first kernel: call this before any model runs.
    """
    if "ONEDNN_PRIMITIVE_CACHE_CAPACITY" in os.environ or "DNNL_PRIMITIVE_CACHE_CAPACITY" in os.environ:
        return False
    os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(int(capacity))
    return True


def trim_heap() -> bool:
    """Under glibc, hand the heap's free pages back to the OS (``malloc_trim``); return whether it ran.

    What :func:`return_freed_memory` leaves in the heap (allocations under its threshold, such as a bf16
    micro-batch's activations) leaves holes there once freed, which stay resident: called between training
    steps, this keeps the next step's peak from building on them. Freed pages are zero-filled again on their next
    use, which costs time (``bench/memory.py``, variant ``full-trim``).
    """
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def release_optimizer(trainer: Any) -> None:
    """Free a finished trainer's optimizer state (AdamW's two moments per weight) and hand the freed heap back
    to the OS, before evaluation loads a reference model.

    Dropping ``trainer.optimizer`` alone frees nothing: the learning-rate scheduler, the accelerator and the
    callback handler keep references to it. So the state is emptied in place (the optimizer cannot step again)
    before the trainer's own reference is dropped.
    """
    state = getattr(getattr(trainer, "optimizer", None), "state", None)  # accelerate's wrapper: its optimizer's
    if isinstance(state, dict):
        state.clear()
    trainer.optimizer = None
    gc.collect()
    trim_heap()

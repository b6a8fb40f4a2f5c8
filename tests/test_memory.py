"""core.memory: freed tensors go back to the OS instead of staying in glibc's heap."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

SCRIPT = """
import sys, torch
from core.memory import return_freed_memory
x = torch.ones(7 << 20); del x  # freeing 28 MB raises glibc's dynamic mmap threshold to 28 MB
applied = return_freed_memory() if sys.argv[1] == "on" else None

def in_heap(t):
    p = t.data_ptr()
    for line in open("/proc/self/maps"):
        lo, hi = (int(v, 16) for v in line.split()[0].split("-"))
        if lo <= p < hi:
            return line.rstrip().endswith("[heap]")

print(applied, all(in_heap(torch.ones(1 << 19)) for _ in range(4)))  # 2 MB tensors
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_sizeable_tensors_get_their_own_mapping_not_the_heap():
    def heap(mode: str, **env: str) -> str:
        return subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True,
                              env={**os.environ, **env}).stdout.split()

    assert heap("off") == ["None", "True"]  # glibc's default: 2 MB tensors come from the heap
    assert heap("on") == ["True", "False"]
    # the user's own glibc setting wins: nothing changed
    assert heap("on", MALLOC_MMAP_THRESHOLD_=str(32 << 20)) == ["False", "True"]

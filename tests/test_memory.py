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


KERNEL_SCRIPT = """
import sys, torch
from core.memory import cap_kernel_cache
applied = cap_kernel_cache(int(sys.argv[1])) if sys.argv[1] != "-" else None  # after torch's import, as in core.run
weight = torch.randn(64, 64, dtype=torch.bfloat16)
for rows in (3, 5, 3, 5, 3):  # two matmul shapes, alternating
    torch.nn.functional.linear(torch.randn(rows, 64, dtype=torch.bfloat16), weight)
print("applied", applied)
"""


def test_capping_onednns_kernel_cache_bounds_the_kernels_it_keeps(monkeypatch):
    def kernels(capacity: str, **env: str) -> tuple[str, int, int]:
        out = subprocess.run([sys.executable, "-c", KERNEL_SCRIPT, capacity], capture_output=True, text=True,
                             check=True, env={**os.environ, "ONEDNN_VERBOSE": "all", **env}).stdout
        applied = next(line.split()[1] for line in out.splitlines() if line.startswith("applied"))
        return applied, out.count("create:cache_miss"), out.count("create:cache_hit")

    for name in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "DNNL_PRIMITIVE_CACHE_CAPACITY"):
        monkeypatch.delenv(name, raising=False)
    default = kernels("-")
    if default[1:] == (0, 0):
        pytest.skip("this CPU's bf16 matmuls do not run through oneDNN")
    assert default == ("None", 2, 3)  # one kernel per shape, then reused
    assert kernels("1") == ("True", 5, 0)  # a single kernel kept: each change of shape compiles again
    # the user's own capacity wins: nothing changed
    assert kernels("1", ONEDNN_PRIMITIVE_CACHE_CAPACITY="1024") == ("False", 2, 3)


TRIM_SCRIPT = """
import ctypes, sys
from core.memory import trim_heap
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def rss_mb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) // 1024

blocks = [libc.malloc(4096) for _ in range(25600)]  # 100 MB of small blocks: the heap, not mappings
for b in blocks:
    ctypes.memset(b, 1, 4096)
for b in blocks[:-1]:  # the last block pins the heap's top: free() alone cannot give the rest back
    libc.free(b)
before = rss_mb()
print(trim_heap() if sys.argv[1] == "trim" else None, before - rss_mb())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_trimming_the_heap_hands_its_freed_holes_back_to_the_os():
    def released_mb(mode: str) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", TRIM_SCRIPT, mode], capture_output=True, text=True,
                             check=True).stdout.split()
        return out[0], int(out[1])

    applied, released = released_mb("keep")
    assert applied == "None" and released < 10  # free() alone leaves the holes resident
    applied, released = released_mb("trim")
    assert applied == "True" and released > 80  # of the 100 MB freed


def test_releasing_a_finished_trainers_optimizer_frees_its_state():
    import gc
    import weakref
    from types import SimpleNamespace

    import torch
    from accelerate import Accelerator
    from transformers import get_scheduler

    from core.memory import release_optimizer

    model = torch.nn.Linear(64, 64)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=0, num_training_steps=4)
    accelerator = Accelerator(cpu=True)
    model, wrapped = accelerator.prepare(model, optimizer)
    model(torch.ones(2, 64)).sum().backward()
    wrapped.step()
    moments = [weakref.ref(t) for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t)]
    assert len(moments) >= 4  # exp_avg and exp_avg_sq of the weight and the bias
    trainer = SimpleNamespace(optimizer=wrapped, lr_scheduler=scheduler, accelerator=accelerator)

    trainer.optimizer = None  # what dropping the attribute alone does: the scheduler still holds the state
    gc.collect()
    assert all(ref() is not None for ref in moments)
    trainer.optimizer = wrapped
    del wrapped
    release_optimizer(trainer)
    assert trainer.optimizer is None and all(ref() is None for ref in moments)
    assert scheduler.optimizer is optimizer and not optimizer.state  # the scheduler's optimizer is empty too


def test_scoring_with_release_memory_trims_after_every_batch_and_scores_the_same(tiny_model, monkeypatch):
    import core.logprobs
    from core.interpret import token_shifts
    from core.language import BaseModelScorer
    from core.logprobs import score_completions

    model, tokenizer = tiny_model
    trims: list[int] = []
    monkeypatch.setattr(core.logprobs, "trim_heap", lambda: trims.append(1) or True)
    shared = [{"role": "user", "content": "Say hi."}]
    prompts = [shared] * 3 + [[{"role": "user", "content": f"Count to {n}."}] for n in (2, 3)]
    completions = [[{"role": "assistant", "content": text}] for text in ("Hi", "Hello there", "Hey!", "1 2", "1 2 3")]

    plain = score_completions(model, tokenizer, prompts, completions, batch_size=2)
    assert not trims
    released = score_completions(model, tokenizer, prompts, completions, batch_size=2, release_memory=True)
    assert len(trims) == 3  # the shared prompt's 3 completions in 2 batches, the other two pairs in 1
    assert [s.logprobs for s in released] == [s.logprobs for s in plain]

    trims.clear()  # the passes after training release memory as they go: perplexity, then interpretability
    BaseModelScorer(model, tokenizer, lambda: (model, tokenizer))(prompts, completions)
    assert len(trims) == 2  # batch_size 8: the shared group, then the rest
    trims.clear()
    token_shifts(model, tokenizer, lambda: (model, tokenizer), prompts, completions)
    assert len(trims) == 4  # the trained policy, then the base model


def test_heap_for_sampling_raises_rlfts_threshold_inside_and_restores_it(monkeypatch):
    from core import memory
    calls = []

    class FakeLibc:
        def mallopt(self, option, value):
            calls.append(("mallopt", option, value))
            return 1

        def malloc_trim(self, pad):
            calls.append(("trim", pad))
            return 1

    monkeypatch.setattr(memory, "_glibc", lambda: FakeLibc())
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setattr(memory, "_threshold", None)
    with memory.heap_for_sampling():  # rlft owns no threshold yet: nothing switched, pages still handed back
        pass
    assert calls == [("trim", 0)]
    calls.clear()
    assert memory.return_freed_memory()
    with memory.heap_for_sampling():
        assert calls[-1][2] == memory.SAMPLING_THRESHOLD
    assert calls[-2:] == [("mallopt", memory._M_MMAP_THRESHOLD, memory.MMAP_THRESHOLD), ("trim", 0)]
    assert memory._threshold == memory.MMAP_THRESHOLD


class _Loaded(Exception):
    """Raised by a stand-in model loader: the entry point got as far as loading a model."""


@pytest.mark.parametrize("entry, loader, argv", [
    ("core.eval", "evaluate_models", ["experiment=debug", "model.name_or_path=embedded:tiny"]),
    ("core.generate", "load_model", ["embedded:tiny", "experiment=debug"]),
])
def test_standalone_entry_points_prepare_memory_before_any_model_loads(entry, loader, argv, monkeypatch, tmp_path):
    import importlib

    module = importlib.import_module(entry)
    calls = []

    def load(*args, **kwargs):
        calls.append("load")
        raise _Loaded

    monkeypatch.setattr(module, "prepare_memory", lambda: calls.append("prepare"))
    monkeypatch.setattr(module, loader, load)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(_Loaded):
        module.main(argv)
    assert calls == ["prepare", "load"]

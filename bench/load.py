"""Embedded-model load: cold (dequantize the shipped GGUF, write the cache) against cached.

    python bench/load.py            # target: a cached load in 2 s or less

Both loads run in this process, one after the other, on the same machine state.
"""

from __future__ import annotations

import statistics
import tempfile
import time

from core.config import ModelConfig
from core.models import load_model

TARGET_CACHED_S = 2.0


def timed_load(cache_dir: str) -> float:
    start = time.perf_counter()
    model, _ = load_model(ModelConfig(name_or_path="embedded:smollm2-135m", cache_dir=cache_dir))
    elapsed = time.perf_counter() - start
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = timed_load(cache)
        cached = statistics.median(timed_load(cache) for _ in range(3))
    print(f"{'load':<10}{'seconds':>10}")
    print(f"{'cold':<10}{cold:>10.2f}")
    print(f"{'cached':<10}{cached:>10.2f}   (median of 3)")
    print(f"speed-up cold/cached: {cold / cached:.1f}x; cached target <= {TARGET_CACHED_S:.0f} s: "
          f"{'met' if cached <= TARGET_CACHED_S else 'MISSED'}")


if __name__ == "__main__":
    main()

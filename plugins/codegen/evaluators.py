"""pass@k on held-out problems with the unbiased estimator (Chen et al., 2021)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from core import evaluator
from plugins.codegen.execution import default_runner
from plugins.codegen.rewards import programs

__all__ = ["pass_at_k", "pass_at_k_metrics", "codegen_pass_at_k", "KS"]

KS = (1, 5, 10)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` passed: ``1 - C(n-c, k) / C(n, k)``.

    >>> round(pass_at_k(5, 1, 1), 4)
    0.2
    >>> round(pass_at_k(10, 2, 5), 4)  # 1 - C(8,5)/C(10,5) = 1 - 56/252
    0.7778
    >>> pass_at_k(3, 0, 2), pass_at_k(3, 2, 2)
    (0.0, 1.0)
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def _groups(keys: Sequence[Any]) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of equal consecutive keys (the samples of one problem)."""
    spans, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            spans.append((start, i))
            start = i
    return spans


def pass_at_k_metrics(keys: Sequence[Any], passed: Sequence[bool], sources: Sequence[str] | None = None,
                      ks: Sequence[int] = KS) -> dict[str, list[float | None]]:
    """``pass@k`` for each k no larger than the fewest samples of a problem, plus ``pass@k[<source>]``
    per data source when there are several. Samples of a problem are contiguous and share a key;
    each sample carries its problem's value (None in another source's breakdown), so the mean
    over samples is the mean over problems.

    >>> pass_at_k_metrics(["a", "a", "b", "b"], [True, False, False, False])
    {'pass@1': [0.5, 0.5, 0.0, 0.0]}
    >>> pass_at_k_metrics(["a", "b"], [True, False], ["x", "y"])
    {'pass@1': [1.0, 0.0], 'pass@1[x]': [1.0, None], 'pass@1[y]': [None, 0.0]}
    """
    spans = _groups(list(keys))
    if not spans:
        return {}
    n_min = min(end - start for start, end in spans)
    names = sorted(set(sources)) if sources is not None else []
    out: dict[str, list[float | None]] = {}
    for k in ks:
        if k > n_min:
            continue
        values: list[float] = []
        for start, end in spans:
            values += [pass_at_k(end - start, sum(bool(p) for p in passed[start:end]), k)] * (end - start)
        out[f"pass@{k}"] = values
        if len(names) > 1:
            for name in names:
                out[f"pass@{k}[{name}]"] = [v if s == name else None for v, s in zip(values, sources)]
    return out


@evaluator("pass_at_k")
def codegen_pass_at_k(prompts: Sequence[Any], completions: Sequence[Any], stub: Sequence[str],
                      test: Sequence[str], entry_point: Sequence[str], task_id: Sequence[str] | None = None,
                      source: Sequence[str] | None = None, **_: Any) -> dict[str, list[float | None]]:
    """pass@1/5/10 (each k only when every problem has at least k samples: ``eval.num_samples``),
    overall and per data source, with all of a problem's tests run in the sandbox."""
    jobs = list(zip(programs(completions, stub, entry_point), test, entry_point))
    passed = [o.passed for o in default_runner().run(jobs)]
    keys = list(task_id) if task_id is not None else [str(p) for p in prompts]
    return pass_at_k_metrics(keys, passed, list(source) if source is not None else None)

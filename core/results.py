"""What a run concludes: every held-out metric with its interval, before -> after verdicts, and
flags for gains that cost language quality (possible reward hacking).

The document written to ``metrics.json``::

    {"headline": "qa/f1",
     "before": {"qa/f1": {"value": 15.3, "ci": [12.1, 18.6], "n": 64, "direction": "higher"}, ...},
     "after":  {...},
     "delta":  {"qa/f1": {"value": 13.5, "ci": [9.8, 17.0], "n": 64, "direction": "higher",
                          "verdict": "improved"}, ...},
     "flags":  ["possible reward hacking: qa/f1 improved while quality/perplexity rose 31% (> 20%)"]}

A multi-task run (:mod:`core.mixture`) prefixes every metric with its task (``qa:qa/f1``) and adds
``"headlines": {"qa": "qa:qa/f1", "sentiment": ...}``; ``headline`` is the first task's.
"""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO

from core.errors import ConfigError, did_you_mean
from core.evaluate import Comparison, Evaluation, compare

__all__ = ["summarise", "conclude", "hacking_flags", "check_headline", "print_table", "format_ci"]


def summarise(evaluation: Evaluation) -> dict[str, dict[str, Any]]:
    """Every metric of one evaluation with its interval and direction."""
    return {name: {**est.as_dict(), "direction": evaluation.metrics[name].direction}
            for name, est in evaluation.summary().items()}


def check_headline(name: str, evaluation: Evaluation) -> None:
    """Refuse a headline metric the evaluation does not produce, suggesting the closest one."""
    if name not in evaluation.metrics:
        raise ConfigError(f"task.metric={name!r} is not a held-out metric of this task"
                          f"{did_you_mean(name, evaluation.metrics)}; metrics: {', '.join(sorted(evaluation.metrics))}")


def hacking_flags(headline: str, deltas: dict[str, Comparison], before: dict[str, dict[str, Any]],
                  after: dict[str, dict[str, Any]], max_perplexity_increase: float) -> list[str]:
    """Metrics that got worse while the headline improved: base-model perplexity rising past the
    threshold, and any other metric whose verdict is ``worse``."""
    if headline not in deltas or deltas[headline].verdict != "improved":
        return []
    costs = []
    ppl = "quality/perplexity"
    if ppl in before and ppl in after and before[ppl]["value"] > 0:
        rise = after[ppl]["value"] / before[ppl]["value"] - 1
        if math.isfinite(rise) and rise > max_perplexity_increase:
            costs.append(f"{ppl} rose {rise:.0%} (> {max_perplexity_increase:.0%})")
    costs += [f"{name} got worse ({c.delta.value:+.4g})" for name, c in sorted(deltas.items())
              if c.verdict == "worse" and name != ppl and name != headline]
    return [f"possible reward hacking: {headline} improved while {cost}" for cost in costs]


def conclude(headline: str, before: Evaluation | None, after: Evaluation | None,
             max_perplexity_increase: float = 0.2) -> dict[str, Any]:
    """The ``metrics.json`` document for a run's before and after evaluations (either may be None)."""
    doc: dict[str, Any] = {"headline": headline, "before": {}, "after": {}, "delta": {}, "flags": []}
    if before is not None:
        doc["before"] = summarise(before)
    if after is not None:
        doc["after"] = summarise(after)
    if before is not None and after is not None:
        deltas = compare(before, after)
        doc["delta"] = {name: {**c.delta.as_dict(), "direction": c.direction, "verdict": c.verdict}
                        for name, c in deltas.items()}
        doc["flags"] = hacking_flags(headline, deltas, doc["before"], doc["after"], max_perplexity_increase)
    return doc


def format_ci(entry: dict[str, Any] | None, fmt: str = ".4g") -> str:
    """``value [low, high]`` of a summarised metric (``-`` when absent).

    >>> format_ci({"value": 0.5, "ci": [0.25, 0.75]})
    '0.5 [0.25, 0.75]'
    """
    if not entry:
        return "-"
    low, high = entry["ci"]
    return f"{entry['value']:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def print_table(doc: dict[str, Any], file: TextIO | None = None) -> None:
    """Print metric | before | after | delta | verdict, the headline (each task's, with several) first, then the
    flags (default: stderr)."""
    file = file or sys.stderr  # looked up per call: a default bound at import outlives a replaced (closed) stderr
    heads = set((doc.get("headlines") or {}).values()) or {doc["headline"]}
    names = sorted(set(doc["before"]) | set(doc["after"]), key=lambda n: (n not in heads, n))
    rows = [(("* " if n in heads else "  ") + n, format_ci(doc["before"].get(n)), format_ci(doc["after"].get(n)),
             format_ci(doc["delta"].get(n)), doc["delta"].get(n, {}).get("verdict", "")) for n in names]
    head = ("  metric", "before [95% CI]", "after [95% CI]", "delta [95% CI]", "verdict")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    for row in [head, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip(), file=file)
    for flag in doc["flags"]:
        print(f"WARNING: {flag}", file=file)

"""Export judgements as a preference dataset that TRL's ``RewardTrainer`` and ``DPOTrainer`` read.

Every judgement is one row: ``prompt`` (the task's prompt, conversational or plain), ``chosen`` and
``rejected`` (completions in the same format), plus ``label`` (a, b, tie, both_bad), ``in_pairs``,
rater, rating, correction, models, automatic rewards and time. Ties and both-bad rows have
``in_pairs=False`` and empty chosen/rejected: they stay in the file but out of training
(:func:`load_preferences` keeps only ``in_pairs``). Agreement is computed over pairs that two or
more raters judged: raw agreement and Cohen's kappa over the four labels.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.feedback.store import CHOICES, Store

__all__ = ["preference_rows", "agreement", "export", "load_preferences"]


def _as_completion(prompt: Any, text: str) -> Any:
    return text if isinstance(prompt, str) else [{"role": "assistant", "content": text}]


def preference_rows(judgements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per judgement in TRL's explicit-prompt preference format (see the module docstring)."""
    rows = []
    for j in judgements:
        win = {"a": ("a", "b"), "b": ("b", "a")}.get(j["choice"])
        prompt = j["prompt"]
        chosen = rejected = None
        if win:
            chosen = _as_completion(prompt, j[f"completion_{win[0]}"])
            rejected = _as_completion(prompt, j[f"completion_{win[1]}"])
        rows.append({
            "prompt": prompt, "chosen": chosen, "rejected": rejected, "label": j["choice"], "in_pairs": bool(win),
            "pair_id": j["pair_id"], "rater": j["rater"], "rating": j["rating"], "correction": j["correction"],
            "completion_a": j["completion_a"], "completion_b": j["completion_b"], "model_a": j["model_a"],
            "model_b": j["model_b"], "reward_a": j["reward_a"], "reward_b": j["reward_b"], "task": j["task"],
            "created": j["created"]})
    return rows


def agreement(judgements: list[dict[str, Any]]) -> dict[str, Any]:
    """Inter-rater agreement over every two raters who judged the same pair.

    >>> js = [{"pair_id": 1, "rater": "x", "choice": "a"}, {"pair_id": 1, "rater": "y", "choice": "a"},
    ...       {"pair_id": 2, "rater": "x", "choice": "a"}, {"pair_id": 2, "rater": "y", "choice": "b"}]
    >>> agreement(js)["raw"], agreement(js)["comparisons"]
    (0.5, 2)
    """
    by_pair: dict[int, list[str]] = defaultdict(list)
    for j in judgements:
        by_pair[j["pair_id"]].append(j["choice"])
    comparisons = [(x, y) for labels in by_pair.values() for x, y in itertools.combinations(labels, 2)]
    if not comparisons:
        return {"pairs_with_overlap": 0, "comparisons": 0, "raw": None, "cohen_kappa": None}
    raw = sum(x == y for x, y in comparisons) / len(comparisons)
    counts = Counter(label for pair in comparisons for label in pair)
    total = sum(counts.values())
    expected = sum((counts[c] / total) ** 2 for c in CHOICES)
    kappa = (raw - expected) / (1 - expected) if expected < 1 else 1.0
    return {"pairs_with_overlap": sum(len(v) > 1 for v in by_pair.values()), "comparisons": len(comparisons),
            "raw": round(raw, 4), "cohen_kappa": round(kappa, 4)}


def export(store: Store, out: str | Path) -> dict[str, Any]:
    """Write ``<out>.jsonl`` and ``<out>.parquet``; return a summary (counts, labels, agreement)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    judgements = store.judgements()
    rows = preference_rows(judgements)
    out = Path(out).with_suffix("")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{out}.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    # Parquet wants one type per column: conversational prompts/completions stay lists of messages.
    pq.write_table(pa.Table.from_pylist(rows) if rows else pa.table({}), f"{out}.parquet")
    summary = {"rows": len(rows), "pairs": sum(r["in_pairs"] for r in rows),
               "labels": dict(Counter(r["label"] for r in rows)), "raters": sorted({r["rater"] for r in rows}),
               "agreement": agreement(judgements), "jsonl": f"{out}.jsonl", "parquet": f"{out}.parquet"}
    Path(f"{out}.summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def load_preferences(path: str | Path, limit: int | None = None) -> Any:
    """The trainable pairs of an export (``.jsonl`` or ``.parquet``) as a ``datasets.Dataset`` with
    ``prompt``, ``chosen``, ``rejected``; ties and both-bad rows are dropped."""
    from datasets import Dataset

    path = Path(path)
    if not path.is_file():
        raise DataError(f"preference file {str(path)!r} does not exist (write one with python -m core.feedback export)")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    else:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    missing = [k for k in ("prompt", "chosen", "rejected") if rows and k not in rows[0]]
    if missing:
        raise DataError(f"preference file {str(path)!r} has no {missing[0]!r} column")
    pairs = [{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows if r.get("in_pairs", True)]
    pairs = pairs[:limit] if limit else pairs
    if not pairs:
        raise DataError(f"preference file {str(path)!r} holds no chosen/rejected pair (only ties or both-bad?)")
    return Dataset.from_list(pairs)

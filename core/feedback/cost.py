"""How many human judgements a run's training signal cost: the sample-efficiency axis of human feedback.

A run learns from judgements in two ways: a ``human_rm`` reward (a reward model trained on ``train_pairs``
judged pairs, recorded in its ``metrics.json``) or an offline algorithm's preference file
(``algo.preferences``, e.g. ``algo=dpo``). :func:`judgements_used` adds both up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.mixture import is_mixture, task_view

__all__ = ["judgements_used"]


def _reward_model_pairs(entry: Any) -> int:
    """Judged pairs the ``human_rm`` reward model of a reward entry was trained on (0 if unrecorded)."""
    path = Path(str((entry.get("args") or {}).get("path", ""))) / "metrics.json"
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("train_pairs", 0))
    except (OSError, ValueError):
        return 0


def judgements_used(cfg: Any) -> int | None:
    """Human judgements behind a run's training (None when it uses none): the training pairs of every
    ``human_rm`` reward in its tasks plus the pairs of ``algo.preferences``."""
    from core.feedback.export import load_preferences

    views = [task_view(cfg, key) for key in cfg.tasks] if is_mixture(cfg) else [cfg]
    entries = [e for view in views for e in view.task.rewards if e.get("name") == "human_rm"]
    preferences = cfg.algo.get("preferences")
    if not entries and not preferences:
        return None
    offline = len(load_preferences(preferences, cfg.algo.get("max_pairs"))) if preferences else 0
    return offline + sum(_reward_model_pairs(e) for e in entries)

"""A simulated rater: judges stored pairs with any registered reward, so sample-efficiency curves
("held-out gain against number of judgements") need no person.

The side with the higher reward wins; a difference of at most ``margin`` is a tie, or both-bad
when both rewards are at most ``bad_below``; ``noise`` flips a decisive choice with that probability.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from core.errors import DataError
from core.feedback.store import Store

__all__ = ["simulated_choice", "simulate"]


def simulated_choice(reward_a: float, reward_b: float, margin: float = 0.0, bad_below: float | None = None,
                     flip: bool = False) -> str:
    """The choice a reward-following rater makes.

    >>> simulated_choice(1.0, 0.0), simulated_choice(0.2, 0.25, margin=0.1), simulated_choice(0, 0, bad_below=0)
    ('a', 'tie', 'both_bad')
    >>> simulated_choice(1.0, 0.0, flip=True)
    'b'
    """
    if abs(reward_a - reward_b) <= margin:
        return "both_bad" if bad_below is not None and max(reward_a, reward_b) <= bad_below else "tie"
    better_a = reward_a > reward_b
    return "a" if better_a != flip else "b"


def simulate(store: Store, reward_name: str, ctx: Any, reward_args: dict[str, Any] | None = None,
             rater: str | None = None, margin: float = 0.0, bad_below: float | None = None, noise: float = 0.0,
             seed: int = 0, limit: int | None = None) -> dict[str, int]:
    """Judge every pair the simulated rater has not judged yet; returns counts per choice."""
    from core.feedback.pairs import score
    from core.rewards.checked import CheckedReward

    spec = ctx.plugins.rewards.get(reward_name)
    fn = CheckedReward(spec.name, spec.build(reward_args or {}, ctx), 1.0, spec.columns)
    rater = rater or f"sim-{reward_name}"[:40]
    store.ensure_rater(rater)
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    while limit is None or sum(counts.values()) < limit:
        pair = store.next_pair(rater, overlap=10**9)  # a simulated rater judges every pair
        if pair is None:
            break
        missing = [c for c in spec.columns if c not in pair["columns"]]
        if missing:
            raise DataError(f"simulated rater {reward_name!r} needs column {missing[0]!r}, which pair {pair['id']} "
                            f"(task {pair['task'] or '?'!r}) does not have; pick a reward of that task")
        prompt, cols = pair["prompt"], {k: [v] for k, v in pair["columns"].items()}
        wrap = (lambda t: t) if isinstance(prompt, str) else (lambda t: [{"role": "assistant", "content": t}])
        ra = score([fn], [prompt], [wrap(pair["completion_a"])], cols)[0]
        rb = score([fn], [prompt], [wrap(pair["completion_b"])], cols)[0]
        choice = simulated_choice(ra, rb, margin, bad_below, flip=rng.random() < noise)
        store.judge(uuid.uuid4().hex, pair["id"], rater, choice)
        counts[choice] = counts.get(choice, 0) + 1
    return counts

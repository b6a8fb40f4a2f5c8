"""A bounded replay buffer of generated episodes, and loading logged episodes from ``samples.jsonl``."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from core.algos.rollout import Experience, collate_episodes
from core.errors import ConfigError, DataError
from core.logprobs import encode_pair
from core.rewards.spec import prompt_text

__all__ = ["Episode", "ReplayBuffer", "ReplayLearner", "episodes_from_experience", "load_logged_episodes"]

Episode = tuple[list[int], list[int], float]
"""``(prompt token ids, completion token ids, sequence score)``."""


class ReplayBuffer:
    """The last ``capacity`` episodes (oldest dropped first), sampled uniformly with replacement."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ConfigError(f"algo.replay_capacity={capacity} must be >= 1")
        self.episodes: deque[Episode] = deque(maxlen=capacity)

    def add(self, episodes: Iterable[Episode]) -> None:
        """Append episodes, evicting the oldest beyond capacity."""
        self.episodes.extend(episodes)

    def sample(self, n: int, generator: torch.Generator | None = None) -> list[Episode]:
        """``n`` episodes drawn uniformly at random (with replacement)."""
        if not self.episodes:
            raise DataError("the replay buffer is empty; nothing to learn from")
        idx = torch.randint(len(self.episodes), (n,), generator=generator).tolist()
        return [self.episodes[i] for i in idx]

    def state_dict(self) -> dict[str, Any]:
        """The stored episodes (at most ``capacity``), saved with a checkpoint so a resumed run samples the
        same buffer."""
        return {"episodes": [list(e) for e in self.episodes]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the stored episodes with a :meth:`state_dict`'s (the newest ``capacity`` of them)."""
        self.episodes.clear()
        self.episodes.extend((list(p), list(c), float(r)) for p, c, r in state["episodes"])

    def __len__(self) -> int:
        return len(self.episodes)

    def mean_score(self) -> float:
        """Mean score of the stored episodes."""
        return sum(e[2] for e in self.episodes) / max(1, len(self.episodes))


class ReplayLearner:
    """Mixin for an ``OwnTrainer`` that learns from ``self.replay`` (sampled with its ``self.sampler`` generator):
    its updates on sampled minibatches, and both saved with each checkpoint and restored on resume."""

    def replay_updates(self, loss: Callable[[Experience], Any], after_update: Callable[[], None]) -> dict[str, float]:
        """``cfg.updates_per_step`` optimizer updates, each on ``cfg.batch_size`` episodes sampled from the buffer
        (``loss`` per micro-batch) and followed by ``after_update()`` (the target networks' Polyak step); returns
        the mean of each logged value over the updates."""
        cfg = self.cfg  # type: ignore[attr-defined]
        stats: dict[str, list[float]] = {}
        for _ in range(cfg.updates_per_step):
            episodes = self.replay.sample(cfg.batch_size, self.sampler)  # type: ignore[attr-defined]
            batch = collate_episodes(episodes, self.pad_id)  # type: ignore[attr-defined]
            for key, value in self.accumulate(self.micro_batches(batch), loss).items():  # type: ignore[attr-defined]
                stats.setdefault(key, []).append(value)
            after_update()
        return {key: sum(values) / len(values) for key, values in stats.items()}

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "replay": self.replay.state_dict(),  # type: ignore[misc]
                "sampler": self.sampler.get_state()}  # type: ignore[attr-defined]

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)  # type: ignore[misc]
        self.replay.load_state_dict(state["replay"])  # type: ignore[attr-defined]
        self.sampler.set_state(state["sampler"])  # type: ignore[attr-defined]


def episodes_from_experience(exp: Experience) -> list[Episode]:
    """Strip the padding off each row of a rollout batch."""
    width = exp.sequences.shape[1] - exp.completion_mask.shape[1]
    out = []
    for row in range(len(exp)):
        prompt = exp.sequences[row, :width][exp.attention_mask[row, :width].bool()].tolist()
        completion = exp.completion_ids[row][exp.completion_mask[row].bool()].tolist()
        out.append((prompt, completion, float(exp.scores[row])))
    return out


def load_logged_episodes(path: str | Path, tokenizer: Any, prompts: Sequence[Any], stages: Sequence[str],
                         max_tokens: int) -> list[Episode]:
    """Episodes from another run's ``samples.jsonl``: rows of the given ``stages``, their completion
    text re-tokenized (ending with EOS) and their ``total`` reward as the score.

    Logged rows keep only the prompt's last user message; it is matched back to the full prompt of
    this run's dataset (system message, chat template), else used as a single user turn.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"algo.offline_samples={str(path)!r}: no such file")
    full = {prompt_text(p): p for p in prompts}
    eos = tokenizer.eos_token_id
    episodes = []
    for number, line in enumerate(file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            stage, text, completion, total = row["stage"], row["prompt"], row["completion"], float(row["total"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{file}:{number}: not an rlft samples.jsonl row ({type(exc).__name__}: {exc})") from None
        if stage not in stages:
            continue
        plain = bool(prompts) and isinstance(prompts[0], str)
        prompt = full.get(text, text if plain else [{"role": "user", "content": text}])
        p_ids, c_ids = encode_pair(tokenizer, prompt, completion, max_tokens=max_tokens - 1)
        episodes.append((p_ids, c_ids + [eos], total))
    if not episodes:
        raise DataError(f"{file}: no rows with stage in {list(stages)}")
    return episodes

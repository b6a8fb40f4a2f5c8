"""A resumed run's outputs: the logs cut back to its checkpoint, and its stored before-training evaluation.

A run resumed from ``checkpoint-N`` redoes every step after N, so what the killed run wrote for those
steps must go, or it would appear twice. :func:`trim_outputs` rewrites (atomically) ``train_log.jsonl``
(rows of steps up to N), ``samples.jsonl`` (training samples of steps up to N, periodic evaluations up
to N, no ``after`` evaluation) and ``curve.jsonl`` (points up to N, which the resumed curve continues).

The before-training evaluation is not redone either: :func:`save_before` stores its completions in
``eval_before.json`` and :func:`load_before` gives them back when the held-out prompts and the ``eval``
settings that shape completions are unchanged; the run then scores them again (no generation, no new sample rows) instead of
sampling new ones.

TensorBoard gets the same treatment: :func:`continue_tensorboard` makes the resumed run write into the killed
run's event directory with ``purge_step``, so TensorBoard drops the steps the killed run logged after its
checkpoint and shows one curve, not two overlapping runs.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from core.outputs import write_json

__all__ = ["BEFORE_FILE", "checkpoint_step", "trim_outputs", "trim_jsonl", "save_before", "load_before",
           "continue_tensorboard"]

log = logging.getLogger("rlft")

#: The before-training evaluation's completions, per task.
BEFORE_FILE = "eval_before.json"


def checkpoint_step(checkpoint: Path | None) -> int:
    """The optimizer step a ``checkpoint-N`` directory holds (0 for none: a run that restarts from scratch)."""
    return int(checkpoint.name.rpartition("-")[2]) if checkpoint is not None else 0


def _rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file (none if it is missing; a line cut short by a kill is skipped)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def trim_jsonl(path: Path, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Rewrite ``path`` atomically with only the rows ``keep`` accepts (a line cut short by a kill is
    dropped); return the rows kept. A missing file stays missing."""
    if not path.is_file():
        return []
    rows = _rows(path)
    kept = [row for row in rows if keep(row)]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept), encoding="utf-8")
    os.replace(tmp, path)
    if len(kept) < len(rows):
        log.info("rlft: resume: dropped %d rows of %s written after the checkpoint", len(rows) - len(kept), path.name)
    return kept


def _sample_kept(row: dict[str, Any], step: int, keep_before: bool) -> bool:
    """Whether a ``samples.jsonl`` row survives a resume from step ``step``. A training row's ``step`` is the
    global step while it was sampled, so it belongs to optimizer step ``step + 1``."""
    stage = str(row.get("stage"))
    if stage == "train":
        return row.get("step") is not None and row["step"] < step
    if stage.startswith("step-") and stage[5:].isdigit():
        return int(stage[5:]) <= step
    if stage == "before":
        return keep_before
    return stage != "after"


def trim_outputs(output_dir: Path, step: int, max_steps: int, samples: Path, keep_before: bool,
                 main: bool = True) -> list[dict[str, Any]]:
    """Cut the run's logs back to optimizer step ``step`` and return the learning-curve points kept.

    :param max_steps: the run's last step: a curve point there is the after-training evaluation's (redone).
    :param samples: this process's samples file (each process trims its own).
    :param keep_before: whether the before-training evaluation is reused: its rows stay, and so does the
        curve up to ``step``; otherwise both go (points measured on other prompts or settings would not
        compare with the new ones).
    :param main: whether this process owns the shared files (``train_log.jsonl``, ``curve.jsonl``); the
        others only read the curve.
    """
    trim_jsonl(samples, lambda row: _sample_kept(row, step, keep_before))
    point_kept = lambda row: (keep_before and isinstance(row.get("step"), int)  # noqa: E731
                              and row["step"] <= step and row["step"] < max_steps)
    if not main:  # the other processes read the curve the main one keeps
        return [row for row in _rows(output_dir / "curve.jsonl") if point_kept(row)]
    trim_jsonl(output_dir / "train_log.jsonl", lambda row: isinstance(row.get("step"), int) and row["step"] <= step)
    return trim_jsonl(output_dir / "curve.jsonl", point_kept)


#: The ``eval`` settings that shape the completions (the scoring ones may change on a resume).
GENERATION = ("max_new_tokens", "num_samples", "seeds", "temperature", "stop_strings")


def _settings(cfg: Any) -> dict[str, Any]:
    return {key: OmegaConf.to_container(cfg.eval, resolve=True)[key] for key in GENERATION}


def save_before(output_dir: Path, cfg: Any, evaluations: dict[str, Any]) -> None:
    """Store the before-training evaluation's prompts and completions (per task key) for a resume."""
    write_json(output_dir / BEFORE_FILE, {"eval": _settings(cfg), "tasks": {
        key: {"prompts": ev.prompts, "completions": ev.completions} for key, ev in evaluations.items()}})


def load_before(output_dir: Path, cfg: Any, prompts: dict[str, list[Any]]) -> dict[str, list[str]] | None:
    """The stored before-training completions per task key, or None (with the reason logged) when there are
    none or they no longer fit: other held-out prompts or other ``eval`` settings."""
    path = output_dir / BEFORE_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        log.warning("rlft: resume: %s is unreadable; evaluating the base model again", path)
        return None
    stored = doc.get("tasks", {})
    same_prompts = set(stored) == set(prompts) and all(
        stored[k]["prompts"] == json.loads(json.dumps(p)) for k, p in prompts.items())
    if doc.get("eval") != json.loads(json.dumps(_settings(cfg))) or not same_prompts:
        log.info("rlft: resume: the held-out prompts or eval settings changed since %s; evaluating the base model "
                 "again", path.name)
        return None
    log.info("rlft: resume: reusing the before-training completions of %s", path.name)
    return {k: v["completions"] for k, v in stored.items()}


def continue_tensorboard(trainer: Any, output_dir: Path, step: int) -> Path | None:
    """Point the trainer's TensorBoard logger at the killed run's newest event directory (``runs/*``), purging
    the events it wrote after optimizer step ``step``; return that directory (None: no TensorBoard logger, or
    no earlier events, and the logger starts its own directory as usual). Only the main process writes."""
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    logger = next((cb for cb in trainer.callback_handler.callbacks if isinstance(cb, TensorBoardCallback)), None)
    earlier = sorted((d for d in (output_dir / "runs").glob("*") if any(d.glob("events.out.tfevents.*"))),
                     key=lambda d: d.stat().st_mtime)
    if logger is None or not earlier or not trainer.is_world_process_zero():
        return None
    trainer.remove_callback(logger)
    trainer.add_callback(TensorBoardCallback(SummaryWriter(log_dir=str(earlier[-1]), purge_step=step + 1)))
    log.info("rlft: resume: TensorBoard continues %s from step %d", earlier[-1], step + 1)
    return earlier[-1]

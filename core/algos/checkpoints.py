"""Atomic, rotated checkpoints for ``transformers.Trainer`` subclasses, and finding one to resume from.

``Trainer`` writes ``checkpoint-N`` file by file, so a run killed mid-save leaves a directory
that looks complete and is not. :class:`AtomicCheckpoints` makes the trainer write everything
(weights, optimizer, scheduler, RNG states, trainer state, extra trainer files) into a staging
directory and publish it with one ``rename``: a ``checkpoint-N`` directory either exists whole or
not at all. It then keeps the newest ``keep`` checkpoints, retiring old ones by renaming them out
of the ``checkpoint-*`` namespace before deleting them.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from core.errors import ConfigError

__all__ = ["AtomicCheckpoints", "checkpoints", "latest_checkpoint", "resume_checkpoint", "missing_files", "resumes",
           "resume_path"]

#: ``resume`` values that start a new run, and those that continue from the newest checkpoint in output_dir.
_FRESH = (None, False, "false", "False", "")
_NEWEST = (True, "true", "True")

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
STAGING = ".checkpoint-staging"


def checkpoints(run_dir: str | Path) -> list[Path]:
    """The published ``checkpoint-N`` directories of a run, oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in run_dir.iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found)]


def missing_files(checkpoint: Path) -> list[str]:
    """What a checkpoint lacks to be resumed from: the trainer state and the weights (or adapter)."""
    names = {p.name for p in checkpoint.iterdir()} if checkpoint.is_dir() else set()
    missing = [] if "trainer_state.json" in names else ["trainer_state.json"]
    if not names & {"model.safetensors", "adapter_model.safetensors", "model.safetensors.index.json",
                    "pytorch_model.bin"}:
        missing.append("model weights")
    return missing


def _good(checkpoint: Path, run_dir: Path) -> Path:
    """``checkpoint`` if it is complete, else a one-line error naming the last good one."""
    missing = missing_files(checkpoint)
    if not missing:
        return checkpoint
    good = [p for p in checkpoints(run_dir) if not missing_files(p)]
    hint = f"; the last good one is {good[-1]}" if good else "; the run has no complete checkpoint"
    raise ConfigError(f"resume: checkpoint {checkpoint} is incomplete (missing {', '.join(missing)}){hint}")


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest published checkpoint of a run, or None."""
    found = checkpoints(run_dir)
    return found[-1] if found else None


def resumes(resume: Any) -> bool:
    """Whether the ``resume`` setting continues a run (true, or a run or checkpoint path)."""
    return resume not in _FRESH


def resume_path(resume: Any) -> Path | None:
    """The run or checkpoint path the ``resume`` setting names (None for false or true)."""
    return None if resume in _FRESH or resume in _NEWEST else Path(str(resume)).expanduser()


def resume_checkpoint(resume: Any, output_dir: str | Path) -> Path | None:
    """Interpret the ``resume`` setting: false/None -> None; true -> the newest checkpoint in
    ``output_dir`` (None when the run has none yet, so the same command starts or resumes);
    a path -> that checkpoint, or the newest one inside that run directory."""
    path = resume_path(resume)
    if path is None:
        if not resumes(resume):
            return None
        found = latest_checkpoint(output_dir)
        return _good(found, Path(output_dir)) if found else None
    if _CHECKPOINT.match(path.name) and path.is_dir():
        return _good(path, path.parent)
    found = latest_checkpoint(path)
    if found is None:
        raise ConfigError(f"resume={resume!r}: no checkpoint-N directory there (is it a run directory with "
                          f"algo.save_steps > 0?)")
    return _good(found, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicCheckpoints:
    """Mixin for a ``transformers.Trainer``: publish each checkpoint with one rename and keep the last ``keep``.

    :attr checkpoints_to_keep: how many checkpoints survive rotation (set by the algorithm from config).
    """

    checkpoints_to_keep: int = 2
    _staging: Path | None = None

    def _get_output_dir(self, trial: Any) -> str:
        return str(self._staging) if self._staging is not None else super()._get_output_dir(trial)  # type: ignore[misc]

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        run_dir = Path(super()._get_output_dir(trial))  # type: ignore[misc]
        name = f"checkpoint-{self.state.global_step}"  # type: ignore[attr-defined]
        main = self.args.should_save  # type: ignore[attr-defined]
        staging = run_dir / STAGING
        if main:  # left by a run killed mid-save or mid-rotation
            for leftover in [staging, *run_dir.glob(".retired-checkpoint-*")]:
                shutil.rmtree(leftover, ignore_errors=True)
        self._staging = staging
        try:
            super()._save_checkpoint(model, trial)  # type: ignore[misc]
        finally:
            self._staging = None
        if not main:
            return
        final = run_dir / name
        if final.exists():  # the same step saved again after a resume
            self._retire(final)
        os.replace(staging / name, final)
        _fsync_dir(run_dir)
        shutil.rmtree(staging, ignore_errors=True)
        for old in checkpoints(run_dir)[:-max(1, self.checkpoints_to_keep)]:
            self._retire(old)

    @staticmethod
    def _retire(path: Path) -> None:
        trash = path.with_name(f".retired-{path.name}")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(path, trash)
        shutil.rmtree(trash, ignore_errors=True)

"""Safe stopping: the first Ctrl-C (SIGINT) or SIGTERM during training finishes the current step,
writes a checkpoint and the partial ``metrics.json``, prints where the run is and how to resume it,
and exits 130 (143 for SIGTERM). A second signal stops at once.
"""

from __future__ import annotations

import shlex
import signal
import sys
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

__all__ = ["GracefulStop", "exit_status"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum: int) -> int:
    """The shell's status for a run ended by ``signum``: 128 + its number (130 SIGINT, 143 SIGTERM)."""
    return 128 + int(signum)


class GracefulStop(TrainerCallback):
    """A trainer callback that turns the first SIGINT/SIGTERM into "save and stop after this step"."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # second signal: stop now
            self._restore()
            raise KeyboardInterrupt
        self.signum = signum
        print(f"rlft: {signal.Signals(signum).name} received: stopping after the current step and saving a "
              f"checkpoint (send it again to stop at once)", file=sys.stderr, flush=True)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Install the handlers (signals are delivered to the main thread, where training runs)."""
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """After a signal, ask the trainer to save a checkpoint now and stop."""
        if self.signum is not None:
            control.should_save = True
            control.should_training_stop = True

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Put the previous handlers back."""
        self._restore()

    def finish(self, step: int, max_steps: int, output_dir: str | Path, write_partial: Any = None) -> None:
        """If a signal stopped training: write the partial outputs, print one line, exit 128 + signum.

        :param write_partial: called with no argument to write ``metrics.json`` and the like.
        """
        if self.signum is None:
            return
        if write_partial is not None:
            write_partial()
        args = [a for a in sys.argv[1:] if not a.startswith("resume=")]
        command = shlex.join(["python", "-m", "core.run", *args, f"resume={output_dir}"])
        print(f"rlft: stopped by {signal.Signals(self.signum).name} at step {step}/{max_steps}; checkpoint and "
              f"partial metrics in {output_dir}; resume with: {command}", file=sys.stderr, flush=True)
        raise SystemExit(exit_status(self.signum))

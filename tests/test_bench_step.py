"""bench/step.py on the tiny model: both variants (bare TRL, rlft) build, train and report every phase."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_step_breakdown_times_bare_trl_and_rlft_side_by_side():
    done = subprocess.run([sys.executable, "bench/step.py", "--steps", "1", "model=tiny", "experiment=debug"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    header = next(line for line in out.splitlines() if line.startswith("phase (s/step)"))
    assert header.split()[2:] in (["trl", "rlft"], ["trl", "rlft", "bf16"])  # rlft's bf16 where the CPU has it
    for phase in ("generation", "reward", "backward", "optimizer", "step"):
        row = next(line for line in out.splitlines() if line.startswith(phase))
        assert len(re.findall(r"-?\d+\.\d\d", row)) == 2, row
    assert re.search(r"rlft / TRL step time: \d+\.\d\d", out)
    assert len(re.findall(r"the step runs at \d+\.\d\d of it", out)) == 2

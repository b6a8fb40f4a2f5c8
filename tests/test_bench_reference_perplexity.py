"""bench/reference_perplexity.py on the tiny model: the references are scored as answers, a bad column is named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN, MIXED, GOLD = ("the base model's completions", "the base model's, 1 prompt in 2 answered by the reference",
                    "the references (answers)")


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "bench/reference_perplexity.py", "model=tiny", "task.eval_prompts=4",
                           *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=600)


def test_the_references_are_scored_beside_the_base_models_own_completions():
    done = bench("--mix", "0.5")  # qa's gold answers by default
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = {line.split("|")[1].strip(): line for line in done.stdout.splitlines() if line.startswith("| the ")}
    assert set(rows) == {OWN, MIXED, GOLD}
    f1, perplexity, words = (cell.strip() for cell in rows[GOLD].split("|")[2:5])
    assert f1 == "100 [100, 100]"  # the gold answers match themselves
    assert float(perplexity.split()[0]) > 1 and 0 < float(words.split()[0]) < 5
    own, mixed = (float(rows[r].split("|")[2].split()[0]) for r in (OWN, MIXED))
    assert mixed >= max(own, 50)  # F1 is a mean over prompts, and half of them now score 100


def test_a_column_the_split_lacks_is_named():
    done = bench("--column", "answer")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("--column 'answer': the held-out split has no such column")
    assert "answers" in done.stderr.strip().splitlines()[-1]

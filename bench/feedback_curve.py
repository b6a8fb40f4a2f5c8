"""Sample efficiency of human feedback, with a simulated rater: reward-model held-out accuracy
against the number of judgements (25/50/100/200 by default).

    python bench/feedback_curve.py [--task qa] [--simulate qa_f1] [--base embedded:tiny] [--sizes 25 50 100 200]

Pairs: each train prompt of the task with two candidate answers, the gold answer and the gold answer
of another question (in random A/B order). A simulated rater (``--simulate <reward>``, any registered
reward) judges them through the store, exactly as a person's judgements are stored; they are exported
and a reward model is trained on the first N pairs with TRL's RewardTrainer. Held-out accuracy is
measured on pairs built the same way from the task's held-out prompts. Writes
``docs/feedback_curve.png`` and ``docs/feedback_curve.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from core.feedback.export import export
from core.feedback.pairs import load_task
from core.feedback.rm import train_rm
from core.feedback.simulate import simulate
from core.feedback.store import Store

DOCS = Path(__file__).resolve().parent.parent / "docs"


def candidate_pairs(split, n: int, seed: int, task: str) -> list[dict]:
    """Gold answer vs another question's gold answer, in random order."""
    rng = random.Random(seed)
    rows = [r for r in split.select(range(min(n, len(split))))]
    golds = [r["answers"][0] for r in rows if r["answers"]]
    out = []
    for r in rows:
        if not r["answers"]:
            continue
        wrong = rng.choice([g for g in golds if g != r["answers"][0]])
        a, b = (r["answers"][0], wrong) if rng.random() < 0.5 else (wrong, r["answers"][0])
        out.append({"prompt": r["prompt"], "prompt_text": str(r["prompt"])[-200:], "completion_a": a,
                    "completion_b": b, "model_a": "candidates", "model_b": "candidates", "task": task,
                    "columns": {k: r[k] for k in r if k != "prompt"}})
    return out


def judged_file(ctx, split, n: int, seed: int, reward: str, path: Path, task: str) -> dict:
    store = Store(path.with_suffix(".db"))
    store.add_pairs(candidate_pairs(split, n, seed, task))
    counts = simulate(store, reward, ctx)
    export(store, path)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", default="qa")
    ap.add_argument("--simulate", default="qa_f1", help="reward the simulated rater follows")
    ap.add_argument("--base", default="embedded:tiny", help="reward-model base (embedded:smollm2-135m for the real one)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200])
    ap.add_argument("--heldout", type=int, default=100)
    ap.add_argument("--epochs", type=float, default=4.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    a = ap.parse_args()
    cfg, ctx, splits = load_task([f"task={a.task}", "model=tiny", "task.eval_prompts=null"])
    tmp = Path(tempfile.mkdtemp(prefix="rlft-feedback-curve-"))
    train_counts = judged_file(ctx, splits["train"], max(a.sizes), 0, a.simulate, tmp / "train", a.task)
    test_counts = judged_file(ctx, splits["test"], a.heldout, 1, a.simulate, tmp / "heldout", a.task)
    print(f"simulated rater {a.simulate!r}: train {train_counts}, held-out {test_counts}")
    rows = []
    for n in a.sizes:
        start = time.perf_counter()
        m = train_rm(tmp / "train.jsonl", tmp / f"rm{n}", base=a.base, epochs=a.epochs, lr=a.lr, limit=n,
                     eval_preferences=tmp / "heldout.jsonl", measure_before=not rows)  # one untrained head (seed)
        rows.append({"judgements": n, "train_pairs": m["train_pairs"], "heldout_pairs": m["heldout_pairs"],
                     "accuracy_before": rows[0]["accuracy_before"] if rows else m["heldout_accuracy_before"],
                     "accuracy": m["heldout_accuracy"], "lora": m["lora"], "seconds": round(time.perf_counter() - start, 1)})
        print(rows[-1], flush=True)
        write_results(a, rows)  # after every size, so a stopped run keeps what it measured
    print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; task {a.task}, "
          f"rater {a.simulate}, reward model {a.base} (LoRA {rows[0]['lora']}), {a.epochs:g} epochs, lr {a.lr:g}\n")
    print("| judgements | held-out pairs | accuracy untrained | accuracy trained | seconds |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['judgements']} | {r['heldout_pairs']} | {r['accuracy_before']:.2f} | {r['accuracy']:.2f} "
              f"| {r['seconds']} |")


def write_results(a: argparse.Namespace, rows: list[dict]) -> None:
    """``docs/feedback_curve.json`` and ``.png`` from the rows measured so far."""
    DOCS.mkdir(exist_ok=True)
    load = [round(x, 2) for x in os.getloadavg()]
    (DOCS / "feedback_curve.json").write_text(json.dumps({"settings": vars(a), "load_average": load, "rows": rows},
                                                         indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([r["judgements"] for r in rows], [r["accuracy"] for r in rows], marker="o", label="reward model")
    ax.axhline(0.5, color="grey", linestyle="--", label="chance")
    ax.set(xscale="log", xlabel="simulated judgements", ylabel="held-out pairwise accuracy", ylim=(0, 1.02),
           title=f"{a.task}: rater = {a.simulate}, RM = {a.base}")
    ax.set_xticks([r["judgements"] for r in rows], [str(r["judgements"]) for r in rows])
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(DOCS / "feedback_curve.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()

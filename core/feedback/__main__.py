"""``python -m core.feedback {serve,export,train-rm,simulate}``: the human-feedback command line.

    python -m core.feedback serve task=qa [model=tiny] [--model-b PATH] [--pairs 64] [--db feedback.db]
    python -m core.feedback serve task=qa --host 0.0.0.0          # prints a token; every request needs it
    python -m core.feedback export [--db feedback.db] [--out prefs]
    python -m core.feedback train-rm --preferences prefs.jsonl --out rm [--base embedded:smollm2-135m]
    python -m core.feedback simulate --simulate qa_f1 task=qa --pairs 200 [--db sim.db]

Words with ``=`` are Hydra overrides of the usual run config (``task=``, ``model=``, ``task.*``...).
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys

from core.cli import report_errors
from core.errors import ConfigError

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m core.feedback``."""
    top = argparse.ArgumentParser(prog="python -m core.feedback", description=__doc__.split("\n")[0])
    sub = top.add_subparsers(dest="command", required=True)

    def gen_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("overrides", nargs="*", help="Hydra overrides: task=qa model=tiny ...")
        p.add_argument("--db", default="feedback.db", help="SQLite file (created if missing)")
        p.add_argument("--pairs", type=int, default=32, help="pairs to generate from the task's train prompts")
        p.add_argument("--model-b", default=None, help="second model for side B (default: sample the model twice)")
        p.add_argument("--max-new-tokens", type=int, default=48)
        p.add_argument("--temperature", type=float, default=0.9)

    serve = sub.add_parser("serve", help="start the rating web app")
    gen_args(serve)
    serve.add_argument("--host", default="127.0.0.1", help="bind address (anything but localhost needs a token)")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--token", default=None, help="access token (default: random when not on localhost)")
    serve.add_argument("--overlap", type=int, default=2, help="raters per pair (for agreement)")
    serve.add_argument("--no-generate", action="store_true", help="serve the pairs already in the database")

    exp = sub.add_parser("export", help="write judgements as TRL preference data (JSONL + Parquet)")
    exp.add_argument("--db", default="feedback.db")
    exp.add_argument("--out", default="preferences", help="output path without suffix")

    rm = sub.add_parser("train-rm", help="train a reward model with TRL RewardTrainer")
    rm.add_argument("--preferences", required=True, help=".jsonl or .parquet from export")
    rm.add_argument("--out", default="reward_model")
    rm.add_argument("--base", default="embedded:smollm2-135m", help="base model of the reward model")
    rm.add_argument("--lora", choices=["auto", "yes", "no"], default="auto")
    rm.add_argument("--epochs", type=float, default=3.0)
    rm.add_argument("--lr", type=float, default=None)
    rm.add_argument("--limit", type=int, default=None, help="use only the first N pairs")
    rm.add_argument("--seed", type=int, default=0)

    sim = sub.add_parser("simulate", help="judge pairs with a reward instead of a person")
    gen_args(sim)
    sim.add_argument("--simulate", "--reward", dest="reward", required=True, help="registered reward name")
    sim.add_argument("--margin", type=float, default=0.0, help="reward difference counted as a tie")
    sim.add_argument("--bad-below", type=float, default=None, help="a tie with both rewards <= this is both-bad")
    sim.add_argument("--noise", type=float, default=0.0, help="probability of flipping a decisive choice")
    return top


def _settings(a: argparse.Namespace):  # -> FeedbackSettings
    from core.feedback.pairs import FeedbackSettings

    if a.pairs < 1:
        raise ConfigError(f"--pairs={a.pairs} must be >= 1")
    return FeedbackSettings(pairs=a.pairs, max_new_tokens=a.max_new_tokens, temperature=a.temperature,
                            model_b=a.model_b)


def serve(a: argparse.Namespace) -> None:
    """Start the app; pair generation runs in a background thread."""
    import uvicorn

    from core.feedback.app import create_app
    from core.feedback.pairs import PairGenerator
    from core.feedback.store import Store

    local = a.host in ("127.0.0.1", "localhost", "::1")
    token = a.token or (None if local else secrets.token_urlsafe(16))
    store = Store(a.db, overlap=a.overlap)
    if not a.no_generate:
        if not any(o.startswith("task=") for o in a.overrides):
            raise ConfigError("serve needs task=<name> (or --no-generate to rate the pairs already in --db)")
        PairGenerator(a.overrides, _settings(a), store).start()
    url = f"http://{a.host}:{a.port}/" + (f"?token={token}" if token else "")
    print(f"rlft feedback: open {url}", file=sys.stderr, flush=True)
    if token:
        print(f"rlft feedback: access token {token} (send it as 'Authorization: Bearer <token>')", file=sys.stderr)
    uvicorn.run(create_app(store, token), host=a.host, port=a.port, log_level="warning")


def simulate(a: argparse.Namespace) -> None:
    """Generate pairs (unless --pairs 0 are missing) and judge them with ``--simulate <reward>``."""
    from core.feedback.pairs import generate_pairs, load_task
    from core.feedback.simulate import simulate as run_sim
    from core.feedback.store import Store

    store = Store(a.db)
    cfg, ctx, splits = load_task(a.overrides)
    missing = a.pairs - store.progress()["pairs"]
    if missing > 0:
        generate_pairs(cfg, ctx, splits["train"].select(range(store.progress()["pairs"], len(splits["train"]))),
                       _settings(argparse.Namespace(**{**vars(a), "pairs": missing})), store)
    counts = run_sim(store, a.reward, ctx, margin=a.margin, bad_below=a.bad_below, noise=a.noise)
    print(json.dumps({"judged": counts, "progress": store.progress()}, indent=2))


@report_errors
def main(argv: list[str] | None = None) -> None:
    """Dispatch a subcommand."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    a = parser().parse_args(argv)
    if a.command == "serve":
        serve(a)
    elif a.command == "simulate":
        simulate(a)
    elif a.command == "export":
        from pathlib import Path

        from core.feedback.export import export
        from core.feedback.store import Store

        if not Path(a.db).is_file():
            raise ConfigError(f"--db {a.db!r}: no such database (python -m core.feedback serve creates it)")
        print(json.dumps(export(Store(a.db), a.out), indent=2))
    elif a.command == "train-rm":
        from core.feedback.rm import train_rm

        lora = {"auto": None, "yes": True, "no": False}[a.lora]
        print(json.dumps(train_rm(a.preferences, a.out, a.base, lora, a.epochs, a.lr, seed=a.seed, limit=a.limit),
                         indent=2))


if __name__ == "__main__":
    main()

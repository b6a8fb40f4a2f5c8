"""``python -m core.feedback {serve,export,train-rm,simulate}``: the human-feedback command line.

    python -m core.feedback serve task=qa [model=tiny] [--model-b PATH] [--pairs 64] [--db feedback.db]
    python -m core.feedback serve task=qa --host 0.0.0.0          # prints a token; every request needs it
    python -m core.feedback export [--db feedback.db] [--out prefs]
    python -m core.feedback train-rm --preferences prefs.jsonl --out rm [--base embedded:smollm2-135m]

A simulated rater (``--simulate <reward name>``, any registered reward) judges pairs instead of a person:

    python -m core.feedback --simulate qa_f1 task=qa --pairs 200 [--db sim.db]   # generate, judge (= simulate)
    python -m core.feedback serve task=qa --simulate qa_f1       # judges each generated batch beside the people
    python -m core.feedback export --simulate qa_f1              # judges the unjudged pairs, then exports
    python -m core.feedback --simulate regex_match --simulate-args '{"pattern": "Paris"}' task=qa

Words with ``=`` are Hydra overrides of the usual run config (``task=``, ``model=``, ``task.*``...).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import secrets
import sys
from typing import Any

from core.cli import report_errors
from core.errors import ConfigError

__all__ = ["main", "parser", "COMMANDS"]

COMMANDS = ("serve", "export", "train-rm", "simulate")


def _sim_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    """The simulated-rater options, shared by ``simulate``, ``serve`` and ``export``."""
    p.add_argument("--simulate", "--reward", dest="reward", required=required, default=None, metavar="REWARD",
                   help="a registered reward name: a simulated rater that follows it judges the pairs")
    p.add_argument("--simulate-args", default=None, metavar="JSON",
                   help='keyword arguments of that reward as JSON, e.g. \'{"pattern": "Paris"}\'')
    p.add_argument("--margin", type=float, default=0.0, help="reward difference counted as a tie")
    p.add_argument("--bad-below", type=float, default=None, help="a tie with both rewards <= this is both-bad")
    p.add_argument("--noise", type=float, default=0.0, help="probability of flipping a decisive choice")
    p.add_argument("--rater", default=None, help="the simulated rater's name (default: sim-<reward>)")


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m core.feedback``."""
    top = argparse.ArgumentParser(prog="python -m core.feedback", description=__doc__.split("\n")[0],
                                  epilog="python -m core.feedback --simulate REWARD task=<name> [--pairs N] ... "
                                         "(no command) runs `simulate`: a rater that follows REWARD judges the pairs.")
    sub = top.add_subparsers(dest="command", required=True)

    def gen_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("overrides", nargs="*", help="Hydra overrides: task=qa model=tiny ...")
        p.add_argument("--db", default="feedback.db", help="SQLite file (created if missing)")
        p.add_argument("--pairs", type=int, default=32, help="pairs to generate from the task's train prompts")
        p.add_argument("--model-b", default=None, help="second model for side B (default: sample the model twice)")
        p.add_argument("--max-new-tokens", type=int, default=48)
        p.add_argument("--temperature", type=float, default=0.9)
        p.add_argument("--seed", type=int, default=0, help="seed of the sampled pairs (same seed, same pairs)")

    serve = sub.add_parser("serve", help="start the rating web app")
    gen_args(serve)
    serve.add_argument("--host", default="127.0.0.1", help="bind address (anything but localhost needs a token)")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--token", default=None, help="access token (default: random when not on localhost)")
    serve.add_argument("--overlap", type=int, default=2, help="raters per pair (for agreement)")
    serve.add_argument("--no-generate", action="store_true", help="serve the pairs already in the database")
    _sim_args(serve)

    exp = sub.add_parser("export", help="write judgements as TRL preference data (JSONL + Parquet)")
    exp.add_argument("overrides", nargs="*", help="Hydra overrides for --simulate (default: the pairs' task=)")
    exp.add_argument("--db", default="feedback.db")
    exp.add_argument("--out", default="preferences", help="output path without suffix")
    _sim_args(exp)

    rm = sub.add_parser("train-rm", help="train a reward model with TRL RewardTrainer")
    rm.add_argument("--preferences", required=True, help=".jsonl or .parquet from export")
    rm.add_argument("--out", default="reward_model")
    rm.add_argument("--base", default="embedded:smollm2-135m", help="base model of the reward model")
    rm.add_argument("--lora", choices=["auto", "yes", "no"], default="auto")
    rm.add_argument("--epochs", type=float, default=3.0)
    rm.add_argument("--lr", type=float, default=None)
    rm.add_argument("--limit", type=int, default=None, help="use only the first N pairs")
    rm.add_argument("--seed", type=int, default=0)

    sim = sub.add_parser("simulate", help="generate pairs and judge them with a reward instead of a person "
                                          "(also: python -m core.feedback --simulate REWARD ...)")
    gen_args(sim)
    _sim_args(sim, required=True)
    return top


def _argv(argv: list[str]) -> list[str]:
    """``--simulate R ...`` without a command means the ``simulate`` command (the issue's spelling)."""
    if argv and argv[0] not in COMMANDS and not {"-h", "--help"} & set(argv[:1]) and (
            "--simulate" in argv or any(x.startswith("--simulate=") for x in argv)):
        return ["simulate", *argv]
    return argv


def _rater(a: argparse.Namespace) -> Any:
    """``rater(store, ctx) -> counts`` for ``--simulate``, or None without it."""
    if not a.reward:
        return None
    from core.feedback.simulate import simulate as run_sim

    try:
        args = json.loads(a.simulate_args) if a.simulate_args else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--simulate-args {a.simulate_args!r} is not JSON: {exc}") from None
    if not isinstance(args, dict):
        raise ConfigError(f"--simulate-args {a.simulate_args!r} must be a JSON object of keyword arguments")
    if not 0.0 <= a.noise <= 1.0 or a.margin < 0:
        raise ConfigError(f"--noise={a.noise} must be in [0, 1] and --margin={a.margin} >= 0")
    from core.cli import discover

    discover().rewards.get(a.reward)  # an unknown name fails here, with "did you mean", not in a thread
    return functools.partial(run_sim, reward_name=a.reward, reward_args=args, rater=a.rater, margin=a.margin,
                             bad_below=a.bad_below, noise=a.noise)


def _task_overrides(overrides: list[str], store: Any) -> list[str]:
    """``overrides`` plus ``task=<the stored pairs' task>`` when none is given and the pairs agree on one."""
    if any(o.startswith("task=") for o in overrides):
        return overrides
    tasks = store.tasks()
    if len(tasks) != 1:
        raise ConfigError(f"--simulate needs task=<name>: the pairs in {store.path} come from "
                          f"{', '.join(map(repr, tasks)) or 'no task'}")
    return [f"task={tasks[0]}", *overrides]


def _settings(a: argparse.Namespace):  # -> FeedbackSettings
    from core.feedback.pairs import FeedbackSettings

    if a.pairs < 1:
        raise ConfigError(f"--pairs={a.pairs} must be >= 1")
    return FeedbackSettings(pairs=a.pairs, max_new_tokens=a.max_new_tokens, temperature=a.temperature,
                            model_b=a.model_b, seed=a.seed)


def serve(a: argparse.Namespace) -> None:
    """Start the app; pair generation runs in a background thread."""
    import uvicorn

    from core.feedback.app import create_app
    from core.feedback.pairs import PairGenerator
    from core.feedback.store import Store

    local = a.host in ("127.0.0.1", "localhost", "::1")
    token = a.token or (None if local else secrets.token_urlsafe(16))
    store = Store(a.db, overlap=a.overlap)
    rater = _rater(a)
    if not a.no_generate:
        if not any(o.startswith("task=") for o in a.overrides):
            raise ConfigError("serve needs task=<name> (or --no-generate to rate the pairs already in --db)")
        PairGenerator(a.overrides, _settings(a), store, rater).start()
    elif rater is not None:  # judge the stored pairs in the background, beside the people
        PairGenerator(_task_overrides(a.overrides, store), _settings(a), store, rater, generate=False).start()
    url = f"http://{a.host}:{a.port}/" + (f"?token={token}" if token else "")
    print(f"rlft feedback: open {url}", file=sys.stderr, flush=True)
    if token:
        print(f"rlft feedback: access token {token} (send it as 'Authorization: Bearer <token>')", file=sys.stderr)
    uvicorn.run(create_app(store, token), host=a.host, port=a.port, log_level="warning")


def simulate(a: argparse.Namespace) -> None:
    """Generate pairs until --db holds ``--pairs`` of them, and judge them with ``--simulate <reward>``
    (``task=`` may be left out when --db already holds pairs of one task)."""
    from core.feedback.pairs import generate_pairs, load_task
    from core.feedback.store import Store

    rater = _rater(a)
    store = Store(a.db)
    cfg, ctx, splits = load_task(_task_overrides(a.overrides, store))
    have = store.progress()["pairs"]
    if a.pairs > have:
        generate_pairs(cfg, ctx, splits["train"].select(range(min(have, len(splits["train"])), len(splits["train"]))),
                       _settings(argparse.Namespace(**{**vars(a), "pairs": a.pairs - have})), store)
    counts = rater(store, ctx=ctx)
    print(json.dumps({"judged": counts, "progress": store.progress()}, indent=2))


def export_cmd(a: argparse.Namespace) -> None:
    """Judge the unjudged pairs first when ``--simulate`` is given, then export."""
    from pathlib import Path

    from core.feedback.export import export
    from core.feedback.store import Store

    if not Path(a.db).is_file():
        raise ConfigError(f"--db {a.db!r}: no such database (python -m core.feedback serve creates it)")
    store = Store(a.db)
    rater = _rater(a)
    if rater is not None:
        from core.feedback.pairs import load_task

        _, ctx, _ = load_task(_task_overrides(a.overrides, store))
        print(json.dumps({"judged": rater(store, ctx=ctx)}), file=sys.stderr)
    elif a.overrides:
        raise ConfigError(f"export takes overrides ({' '.join(a.overrides)}) only with --simulate")
    print(json.dumps(export(store, a.out), indent=2))


@report_errors
def main(argv: list[str] | None = None) -> None:
    """Dispatch a subcommand."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    a = parser().parse_args(_argv(list(sys.argv[1:] if argv is None else argv)))
    if getattr(a, "overrides", None):
        from core.feedback.pairs import single_task

        single_task(a.overrides)  # before serve starts its background generator
    if a.command == "serve":
        serve(a)
    elif a.command == "simulate":
        simulate(a)
    elif a.command == "export":
        export_cmd(a)
    elif a.command == "train-rm":
        from core.feedback.rm import train_rm

        lora = {"auto": None, "yes": True, "no": False}[a.lora]
        print(json.dumps(train_rm(a.preferences, a.out, a.base, lora, a.epochs, a.lr, seed=a.seed, limit=a.limit),
                         indent=2))


if __name__ == "__main__":
    main()

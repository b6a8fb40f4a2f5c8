"""``python -m core.run``: fine-tune a causal LM with RL on one task, or on a mixture of tasks.

The loop, in order:

1. compose the config (Hydra: ``conf/config.yaml`` + ``task=`` + ``algo=`` + ``model=`` + overrides);
2. discover the plugins (entry-point group ``rlft``) that contribute tasks, rewards, evaluators;
3. build the task: train split, held-out split, reward functions, evaluators; with ``task=[a,b]``
   every task, one training set mixing their train splits by weight, each task's rewards routed to
   its own rows (:mod:`core.mixture`);
4. evaluate the base model on the held-out split (every metric with a 95% interval); its completions
   and their base-model perplexity come from the eval cache when an earlier run made them
   (:mod:`core.eval_cache`), and the task's rewards and evaluators score them again;
5. train with the chosen algorithm (TRL GRPO or RLOO), evaluating every ``eval.every`` steps;
6. evaluate the trained model on the same held-out split; paired-bootstrap verdicts per metric
   (several tasks: each on its own held-out split, metrics named ``<task>:<metric>``);
7. write the outputs under the run directory: ``config.yaml``, ``model/``, ``metrics.json``,
   ``samples.jsonl``, ``train_log.jsonl``, ``curve.jsonl``, ``interpret.json``, ``report.md``,
   ``report.html`` and ``runs/`` (TensorBoard).

Run it::

    python -m core.run                                   # sentiment on the embedded SmolLM2-135M
    python -m core.run task=qa algo=rloo model.peft=lora
    python -m core.run task=sentiment algo.lr=2e-5 algo.max_steps=32 task.max_prompts=64
    python -m core.run model=hf model.name_or_path=Qwen/Qwen2.5-0.5B-Instruct
    python -m core.run experiment=debug                 # a tiny CPU smoke run
    python -m core.run 'task=[qa,sentiment]' task.weights.qa=3 tasks.qa.max_prompts=200   # multi-task
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf
from transformers import set_seed

from core.algos.base import TrainInputs
from core.algos.checkpoints import resume_checkpoint, resumes
from core.callbacks import NonFiniteGuard, PluginBridge, TrainLog, TrimHeap
from core.cli import discover, preflight, report_errors, run_dir_override
from core.context import RunContext
from core.curve import LearningCurve, sample_efficiency, series
from core.errors import ConfigError, DataError
from core.eval_cache import open_before_cache
from core.evaluate import Evaluation, evaluate
from core.feedback.cost import judgements_used
from core.generation import as_completion
from core.interpret import token_shifts, top_changes
from core.language import BaseModelScorer
from core.lineage import read_lineage, resolve_run_model, write_lineage
from core.logprobs import ScoredCompletion
from core.memory import prepare_memory, release_optimizer
from core.models import load_model, lora_config
from core.outputs import JsonlWriter, write_json
from core.mixture import build_parts, conclude_parts, expand_overrides, training_set
from core.report import write_report
from core.results import check_headline, print_table
from core.resume import checkpoint_step, continue_tensorboard, load_before, save_before, trim_outputs
from core.rewards.checked import CheckedReward
from core.rewards.spec import prompt_text
from core.signals import GracefulStop
from core.validate import check_config

__all__ = ["main", "run", "build_rewards"]

log = logging.getLogger("rlft")


def build_rewards(entries: Any, run: RunContext, columns: list[str]) -> list[CheckedReward]:
    """Turn ``task.rewards`` entries into checked reward functions, validating names, weights and columns."""
    if not entries:
        raise ConfigError(f"task {run.cfg.task.name!r} has no rewards; set task.rewards=[{{name: ..., weight: 1.0}}]")
    rewards = []
    for entry in entries:
        spec = run.plugins.rewards.get(entry.name)
        try:
            weight = float(entry.weight)
        except (TypeError, ValueError):
            raise ConfigError(f"reward {entry.name!r}: weight {entry.weight!r} is not a number") from None
        missing = [c for c in spec.columns if c not in columns]
        if missing:
            raise DataError(f"reward {entry.name!r} needs dataset column {missing[0]!r}, which task "
                            f"{run.cfg.task.name!r} does not provide (columns: {', '.join(columns)})")
        args = OmegaConf.to_container(entry.args, resolve=True) if entry.args else {}
        rewards.append(CheckedReward(spec.name, spec.build(args, run), weight, spec.columns))
    names = [r.__name__ for r in rewards]
    if len(set(names)) != len(names):
        raise ConfigError(f"task.rewards lists a reward twice: {', '.join(names)}")
    return rewards


def interpretation(policy: Any, tokenizer: Any, ctx: RunContext, afters: list[Evaluation],
                   base: list[ScoredCompletion], views: int = 4) -> dict[str, Any]:
    """Token log-prob shifts (trained vs base) of the held-out completions (of every task): the most
    changed tokens and phrases over the whole set, and ``views`` sampled completions token by token.
    ``base``: the completions' scores under the base model from the evaluation (empty: scored here)."""
    prompts = [after.prompts[p] for after in afters for p, idx in enumerate(after.groups) for _ in idx]
    texts = [text for after in afters for text in after.completions]
    completions = [as_completion(p, t) for p, t in zip(prompts, texts)]
    shifts = token_shifts(policy, tokenizer, ctx.reference_model, prompts, completions, base=base)
    picks = sorted(random.Random(ctx.cfg.seed).sample(range(len(shifts)), min(views, len(shifts))))
    return {"top": top_changes(shifts),
            "samples": [{"prompt": prompt_text(prompts[i]), "completion": texts[i],
                         "tokens": [{"token": t.token, "base": t.base, "trained": t.trained} for t in shifts[i]]}
                        for i in picks]}


def run(cfg: DictConfig) -> dict[str, Any]:
    """Execute the whole loop for a composed config and return the metrics written."""
    prepare_memory()  # before any model loads (core.memory)
    plugins = discover()
    checkpoint = resume_checkpoint(cfg.resume, cfg.output_dir)
    if checkpoint is not None:
        cfg.output_dir = str(checkpoint.parent)
        log.info("rlft: resuming from %s", checkpoint)
    resuming = resumes(cfg.get("resume"))  # may reuse its own directory
    check_config(cfg, plugins, None if resuming else cfg.output_dir)
    output_dir = Path(cfg.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg), encoding="utf-8")
    set_seed(cfg.seed)
    ctx = RunContext(cfg=cfg, output_dir=output_dir, plugins=plugins)

    rank = int(os.environ.get("RANK", "0"))  # set by accelerate / torchrun; each process logs its own samples
    samples = JsonlWriter(output_dir / ("samples.jsonl" if rank == 0 else f"samples.rank{rank}.jsonl"))
    parts = build_parts(cfg, ctx, samples.write)  # one per task (core.mixture: several with task=[a,b])
    held_out_prompts = {p.key: list(p.splits["test"]["prompt"]) for p in parts}
    stored, kept_curve = None, []  # a resumed run: the before-training completions, the curve so far
    if resuming:
        if cfg.eval.enabled:
            stored = load_before(output_dir, cfg, held_out_prompts)
        kept_curve = trim_outputs(output_dir, checkpoint_step(checkpoint), cfg.algo.max_steps, samples.path,
                                  keep_before=stored is not None, main=rank == 0)
    ctx.task, ctx.tasks = parts[0].task, {p.key: p.task for p in parts}
    train_dataset, rewards = training_set(parts, cfg)
    algorithm = plugins.algorithms.get(cfg.algo.name)(cfg.algo)
    model, tokenizer = load_model(cfg.model)
    plugins.hook.rlft_run_start(run=ctx)

    after_base: list[ScoredCompletion] = []  # the final completions under the base model, for interpretation
    fresh_before = cfg.eval.enabled and stored is None  # a resume reuses its own before-training completions
    cache = open_before_cache(model, tokenizer, held_out_prompts, cfg.eval) if fresh_before else None

    def held_out(stage: str, policy: Any, reuse: dict[str, list[str]] | None = None,
                 logged: bool = False) -> list[Evaluation] | None:
        if not cfg.eval.enabled:
            return None
        evaluations = []
        for part in parts:
            part.log.stage = stage
            base = (lambda: (model, tokenizer)) if stage == "before" else ctx.reference_model
            texts = (reuse or {}).get(part.key)  # completions sampled before: scored again
            scorer = BaseModelScorer(policy, tokenizer, base)
            perplexity = cache.scorer(part.key, scorer) if stage == "before" and cache is not None else scorer
            with part.log.mute() if logged else contextlib.nullcontext():  # a resume: their rows are in the log
                evaluation = evaluate(policy, tokenizer, part.splits["test"], cfg.eval, part.rewards, part.evaluators,
                                      perplexity=perplexity, texts=texts,
                                      desc=f"eval {part.key + ' ' if part.prefix else ''}({stage})")
            if stage == "after":
                after_base.extend(scorer.scored)
            check_headline(part.headline, evaluation)
            plugins.hook.rlft_evaluated(run=ctx, stage=stage, evaluation=evaluation,
                                        metrics={part.prefix + n: evaluation.value(n) for n in evaluation.metrics})
            log.info("rlft: held-out %s (%s): %s", part.prefix + part.headline, stage,
                     evaluation.estimate(part.headline))
            evaluations.append(evaluation)
        return evaluations

    def headlines(evaluations: list[Evaluation]) -> dict[str, Any]:  # every task's headline, the first leading
        return {p.prefix + p.headline: ev.estimate(p.headline) for p, ev in zip(parts, evaluations)}

    cached = cache.load() if cache is not None else None
    before = held_out("before", model, stored or cached, logged=stored is not None)
    if cache is not None and cached is None and rank == 0:
        cache.store({p.key: ev.completions for p, ev in zip(parts, before)})
    for part in parts:
        part.log.stage = "train"
    stop = GracefulStop()
    callbacks = [NonFiniteGuard(), PluginBridge(ctx), TrainLog(JsonlWriter(output_dir / "train_log.jsonl")), stop]
    if cfg.algo.trim_heap:
        callbacks.append(TrimHeap())
    curve = None
    if cfg.eval.enabled:
        def periodic(policy: Any, step: int) -> Any:
            evaluations = held_out(f"step-{step}", policy)
            for part in parts:
                part.log.stage = "train"
            return headlines(evaluations)

        curve = LearningCurve(cfg.eval.every, periodic, cfg.algo.prompts_per_step * cfg.algo.num_generations,
                              JsonlWriter(output_dir / "curve.jsonl"), points=kept_curve)
        if not curve.points:
            curve.add(curve.point(0, headlines(before)))
        callbacks.append(curve)
        if stored is None and rank == 0:  # after the step-0 point: a resume that reuses it finds the point too
            save_before(output_dir, cfg, {p.key: ev for p, ev in zip(parts, before)})
    callbacks += [cb for cbs in plugins.hook.rlft_trainer_callbacks(run=ctx) for cb in cbs]
    trainer = algorithm.build_trainer(TrainInputs(
        model=model, tokenizer=tokenizer, train_dataset=train_dataset, reward_funcs=rewards,
        reward_weights=[r.weight for r in rewards], output_dir=str(output_dir), seed=cfg.seed,
        callbacks=callbacks, peft_config=None if hasattr(model, "get_base_model") else lora_config(cfg.model),
        report_to=list(cfg.report_to)))
    if getattr(trainer, "ref_model", None) is not None:  # the trainer's frozen KL reference is the base model
        ctx.shared("reference_model", lambda: (trainer.ref_model, tokenizer))
    if checkpoint is not None:
        continue_tensorboard(trainer, output_dir, checkpoint_step(checkpoint))
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    stop.finish(trainer.state.global_step, cfg.algo.max_steps, output_dir, lambda: write_json(  # Ctrl-C / SIGTERM
        output_dir / "metrics.json", {"interrupted_at_step": trainer.state.global_step,
                                      "before": {p.prefix + m: ev.value(m) for p, ev in zip(parts, before or [])
                                                 for m in ev.metrics}}))
    release_optimizer(trainer)  # before evaluation loads the reference model
    after = held_out("after", trainer.model)
    lineage = [*read_lineage(resolve_run_model(cfg.model.name_or_path)),
               {"run": str(output_dir), "task": cfg.task.name, "algo": cfg.algo.name, "start": cfg.model.name_or_path}]
    if cfg.save_model:
        trainer.save_model(str(output_dir / "model"))
        tokenizer.save_pretrained(str(output_dir / "model"))
        write_lineage(output_dir / "model", lineage[:-1], lineage[-1])
    samples.close()
    metrics = conclude_parts(parts, before, after, cfg.eval.max_perplexity_increase)
    metrics["lineage"] = [f"{step['task']} ({step['algo']}, {step['run']})" for step in lineage]
    if cache is not None:  # where the before-training completions came from
        metrics["before_cache"] = cache.summary()
    if curve is not None:
        curve.add(curve.point(trainer.state.global_step, headlines(after)))
        metrics["curve"] = curve.points
        efficiency = {p.prefix + p.headline: sample_efficiency(series(curve.points, p.prefix + p.headline),
                                                               ev.metrics[p.headline].direction)
                      for p, ev in zip(parts, after)}
        judged = judgements_used(cfg)
        if judged is not None:  # the cost of a human-feedback signal: judgements, not only completions
            efficiency = {name: {**eff, "judgements": judged} if eff else eff for name, eff in efficiency.items()}
        metrics["sample_efficiency"] = efficiency[parts[0].prefix + parts[0].headline]
        if len(parts) > 1:
            metrics["sample_efficiency_per_task"] = efficiency
    if rank == 0:
        write_json(output_dir / "metrics.json", metrics)
        if after is not None and cfg.eval.interpret:
            write_json(output_dir / "interpret.json", interpretation(trainer.model, tokenizer, ctx, after, after_base))
        write_report(output_dir)
        print_table(metrics)
    plugins.hook.rlft_run_end(run=ctx, metrics=metrics)
    log.info("rlft: outputs in %s", output_dir)
    return metrics


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
@report_errors
def _hydra_main(cfg: DictConfig) -> None:
    run(cfg)


@report_errors
def _preflight() -> None:
    sys.argv[1:] = expand_overrides(sys.argv[1:], discover())  # task=[a,b] -> task=mixture tasks=[a,b]
    cfg = preflight(sys.argv[1:], discover(), full=True)
    sys.argv[1:] += run_dir_override(sys.argv[1:], cfg)  # run.log beside the run's outputs


def main() -> None:
    """Entry point: discover plugins, check the command line, then let Hydra run :func:`run`."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _preflight()
    _hydra_main()


if __name__ == "__main__":
    main()

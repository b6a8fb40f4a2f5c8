"""core.eval_cache: the base model's before-training completions are sampled once per weights, prompts and
settings, and every later run scores them again."""

from __future__ import annotations

import json
import logging
from collections import Counter

import torch
from omegaconf import OmegaConf

import core.eval_cache
import core.evaluate
from core.config import EvalConfig
from core.eval import main as eval_main
from core.eval_cache import (SAMPLING, BeforeCache, before_key, eval_cache_dir, open_before_cache,
                             weights_fingerprint)
from core.language import BaseModelScorer
from core.models import load_model
from core.run import run

PROMPTS = {"sentiment": [[{"role": "user", "content": "Write one sentence about rain."}], "A plain prompt"]}


def settings(**changes):
    return OmegaConf.merge(OmegaConf.structured(EvalConfig), changes)


def test_the_fingerprint_is_stable_and_sees_any_trained_tensor_or_dtype():
    model, _ = load_model("embedded:tiny")
    again, _ = load_model("embedded:tiny")
    first = weights_fingerprint(model)
    assert weights_fingerprint(model) == first == weights_fingerprint(again)
    with torch.no_grad():
        dict(again.named_parameters())["model.layers.1.mlp.down_proj.weight"].add_(1e-3)  # one trained tensor
    assert weights_fingerprint(again) != first
    assert weights_fingerprint(model.to(torch.bfloat16)) != first


def test_there_is_no_cache_entry_when_the_cache_is_off_or_the_weights_are_sharded():
    model, tokenizer = load_model("embedded:tiny")
    assert isinstance(open_before_cache(model, tokenizer, PROMPTS, settings()), BeforeCache)
    assert open_before_cache(model, tokenizer, PROMPTS, settings(cache=False)) is None
    dict(model.named_parameters())["model.layers.0.mlp.up_proj.weight"].data = torch.empty(0)  # a ZeRO-3 placeholder
    assert open_before_cache(model, tokenizer, PROMPTS, settings()) is None


def test_the_key_changes_with_everything_that_shapes_the_completions_and_nothing_else(tiny_model, monkeypatch):
    model, tokenizer = tiny_model
    base = before_key(model, tokenizer, PROMPTS, settings(bf16=False))
    assert before_key(model, tokenizer, PROMPTS, settings(bf16=False)) == base
    changed = {"max_new_tokens": 9, "num_samples": 3, "seeds": [1], "temperature": 0.7, "stop_strings": ["\n"],
               "batch_size": 4, "bf16": True}
    assert set(changed) == {*SAMPLING, "bf16"}
    for key, value in changed.items():
        assert before_key(model, tokenizer, PROMPTS, settings(**{"bf16": False, key: value})) != base, key
    for key, value in {"confidence": 0.9, "bootstrap_resamples": 10, "language_quality": False, "every": 2}.items():
        assert before_key(model, tokenizer, PROMPTS, settings(**{"bf16": False, key: value})) == base, key
    other = {"sentiment": [PROMPTS["sentiment"][0], "Another prompt"]}
    assert before_key(model, tokenizer, other, settings(bf16=False)) != base
    assert before_key(model, tokenizer, {"qa": PROMPTS["sentiment"]}, settings(bf16=False)) != base
    for name, value in {"_hardware": lambda m: "cpu x86_64 another CPU", "_rlft_version": lambda: "9.9"}.items():
        with monkeypatch.context() as patch:
            patch.setattr(core.eval_cache, name, value)
            assert before_key(model, tokenizer, PROMPTS, settings(bf16=False)) != base, name
    with monkeypatch.context() as patch:
        patch.setattr(model.generation_config, "repetition_penalty", 1.3)
        assert before_key(model, tokenizer, PROMPTS, settings(bf16=False)) != base
    template = tokenizer.chat_template
    try:  # the prompts are keyed as the model sees them: another chat template is another key
        tokenizer.chat_template = template.replace("<|im_start|>", "<|im_start|> ")
        assert before_key(model, tokenizer, PROMPTS, settings(bf16=False)) != base
    finally:
        tokenizer.chat_template = template


def test_an_entry_round_trips_and_a_damaged_or_foreign_one_is_ignored_with_a_warning(tiny_model, caplog):
    model, tokenizer = tiny_model
    cache = BeforeCache(model, tokenizer, PROMPTS, settings(num_samples=2, temperature=0.8))
    assert cache.path.parent == eval_cache_dir() and cache.load() is None
    completions = {"sentiment": ["a", "b", "c", "d"]}
    cache.store(completions)
    assert cache.load() == completions
    caplog.set_level(logging.WARNING, logger="rlft")
    entry = lambda texts, scores=None: {"completions": texts, "scores": scores}  # noqa: E731
    for damaged in ("{not json", json.dumps({"tasks": {"sentiment": ["a", "b", "c", "d"]}}),
                    json.dumps({"tasks": {"sentiment": entry(["a", "b"])}}),
                    json.dumps({"tasks": {"qa": entry(["a", "b", "c", "d"])}}),
                    json.dumps({"tasks": {"sentiment": entry(["a", "b", "c", "d"], [[1.0, 2]])}})):
        cache.path.write_text(damaged, encoding="utf-8")
        caplog.clear()
        assert cache.load() is None
        assert str(cache.path) in caplog.text and "sampling the base model again" in caplog.text


def test_the_base_model_scores_are_kept_with_the_completions_and_not_computed_again(tiny_model):
    model, tokenizer = tiny_model
    calls = []

    def scorer(prompts, completions):
        calls.append(len(completions))
        return [(1.5, 3)] * len(completions)

    first = BeforeCache(model, tokenizer, PROMPTS, settings())
    assert first.scorer("sentiment", scorer)(PROMPTS["sentiment"], ["a", "b"]) == [(1.5, 3)] * 2 and calls == [2]
    first.store({"sentiment": ["a", "b"]})
    later = BeforeCache(model, tokenizer, PROMPTS, settings())  # the next run
    assert later.load() == {"sentiment": ["a", "b"]}
    assert later.scorer("sentiment", scorer)(PROMPTS["sentiment"], ["a", "b"]) == [(1.5, 3)] * 2 and calls == [2]


def test_an_unwritable_cache_is_logged_and_the_run_goes_on(tiny_model, tmp_path, monkeypatch, caplog):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("RLFT_EVAL_CACHE", str(tmp_path / "file" / "eval"))  # a directory under a file
    model, tokenizer = tiny_model
    caplog.set_level(logging.WARNING, logger="rlft")
    BeforeCache(model, tokenizer, PROMPTS, settings()).store({"sentiment": ["a", "b"]})
    assert "could not write" in caplog.text


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def counted_sampling(monkeypatch) -> Counter:
    """Count ``core.evaluate``'s sampling passes by their progress label."""
    sampled = Counter()
    generate_all = core.evaluate._generate_all

    def counting(model, tokenizer, prompts, cfg, desc):
        sampled[desc] += 1
        return generate_all(model, tokenizer, prompts, cfg, desc)

    monkeypatch.setattr(core.evaluate, "_generate_all", counting)
    return sampled


def test_a_second_run_scores_the_cached_before_completions_without_sampling_them(compose_cfg, tmp_path,
                                                                                  monkeypatch):
    sampled = counted_sampling(monkeypatch)
    base_passes = []
    score = BaseModelScorer.__call__
    monkeypatch.setattr(BaseModelScorer, "__call__", lambda self, *a: base_passes.append(1) or score(self, *a))
    args = ["experiment=debug", "eval.interpret=false"]
    first = run(compose_cfg(args, tmp_path / "first"))
    assert sampled == {"eval (before)": 1, "eval (after)": 1} and len(base_passes) == 2
    assert first["before_cache"]["hit"] is False and len(list(eval_cache_dir().glob("before-*.json"))) == 1

    second = run(compose_cfg(args + ["seed=7"], tmp_path / "second"))  # another training seed: the same base model
    assert sampled == {"eval (before)": 1, "eval (after)": 2} and len(base_passes) == 3  # the after one only
    assert second["before_cache"] == {**first["before_cache"], "hit": True}
    assert second["before"] == first["before"] and "quality/perplexity" in second["before"]
    before_rows = [{k: r[k] for k in ("prompt", "completion", "rewards")}
                   for r in rows(tmp_path / "first" / "samples.jsonl") if r["stage"] == "before"]
    assert len(before_rows) == 4 and before_rows == [  # scored again and logged as this run's rows
        {k: r[k] for k in ("prompt", "completion", "rewards")}
        for r in rows(tmp_path / "second" / "samples.jsonl") if r["stage"] == "before"]

    run(compose_cfg(args + ["eval.cache=false"], tmp_path / "third"))
    assert sampled["eval (before)"] == 2
    run(compose_cfg(args + ["eval.max_new_tokens=6"], tmp_path / "fourth"))  # other settings: another entry
    assert sampled["eval (before)"] == 3 and len(list(eval_cache_dir().glob("before-*.json"))) == 2


def test_core_eval_reuses_a_runs_base_model_evaluation_for_its_first_model(compose_cfg, tmp_path, monkeypatch):
    sampled = counted_sampling(monkeypatch)
    args = ["experiment=debug", "eval.interpret=false"]
    trained = run(compose_cfg([*args, "save_model=true"], tmp_path / "run"))
    model = OmegaConf.load(tmp_path / "run" / "config.yaml").model.name_or_path
    doc = eval_main([*args, f"output_dir={tmp_path / 'eval'}", f"model.name_or_path={model}",
                     str(tmp_path / "run" / "model")])
    assert sampled == {"eval (before)": 1, "eval (after)": 1, f"eval {tmp_path / 'run' / 'model'}": 1}
    assert doc["cache"] == {**trained["before_cache"], "hit": True}
    first, second = doc["models"]
    headline = trained["headline"]
    assert first["metrics"][headline]["value"] == trained["before"][headline]["value"]
    assert second["metrics"][headline]["value"] == trained["after"][headline]["value"]  # greedy: the same answers

    again = eval_main([*args, "eval.cache=false", f"output_dir={tmp_path / 'eval2'}", f"model.name_or_path={model}"])
    assert sampled[f"eval {model}"] == 1 and "cache" not in again

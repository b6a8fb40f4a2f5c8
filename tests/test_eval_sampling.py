"""Evaluation samples and scores perplexity under bfloat16 autocast where asked (``eval.bf16``; by default
where bf16 is fast)."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset

import core.evaluate as evaluate
import core.memory as memory
from core.algos.base import bf16_supported
from core.config import EvalConfig
from core.generation import generate


@pytest.mark.parametrize("bf16, dtype", [(True, torch.bfloat16), (False, torch.float32)])
def test_generate_samples_in_the_precision_asked(tiny_model, bf16, dtype):
    model, tokenizer = tiny_model
    seen = []
    handle = model.get_output_embeddings().register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    try:
        texts = generate(model, tokenizer, ["hi", "the sea"], max_new_tokens=3, bf16=bf16)
    finally:
        handle.remove()
    assert len(texts) == 2 and seen and set(seen) == {dtype}
    assert next(model.parameters()).dtype == torch.float32  # autocast only: the weights stay float32


@pytest.mark.parametrize("setting, expected", [(None, bf16_supported()), (True, True), (False, False)])
def test_evaluation_passes_eval_bf16_resolved(monkeypatch, setting, expected):
    asked = []
    monkeypatch.setattr(evaluate, "generate", lambda *a, **kw: asked.append(kw["bf16"]) or ["x"] * len(a[2]))
    evaluate._generate_all(None, None, ["p", "q"], EvalConfig(bf16=setting), "eval")
    assert asked == [expected]


@pytest.mark.parametrize("setting", [True, False])
def test_perplexity_is_scored_in_the_evaluation_precision(tiny_model, setting):
    model, tokenizer = tiny_model
    seen = []

    def scorer(prompts, completions):
        seen.append(torch.is_autocast_enabled("cpu"))
        return [(1.0, 2)] * len(completions)

    dataset = Dataset.from_dict({"prompt": ["hi", "the sea"]})
    evaluation = evaluate.evaluate(model, tokenizer, dataset, EvalConfig(bf16=setting), [], [], perplexity=scorer,
                                   texts=["a b", "c d"])
    assert seen == [setting] and "quality/perplexity" in evaluation.metrics
    assert not torch.is_autocast_enabled("cpu")  # the context ends with the scoring


def test_sampling_hands_its_freed_heap_back_before_perplexity_is_scored(tiny_model, monkeypatch):
    model, tokenizer = tiny_model
    events = []
    monkeypatch.setattr(memory, "trim_heap", lambda: events.append("trim"))  # core.memory.heap_for_sampling's

    def scorer(prompts, completions):
        events.append("score")
        return [(1.0, 2)] * len(completions)

    dataset = Dataset.from_dict({"prompt": ["hi", "the sea"]})
    evaluate.evaluate(model, tokenizer, dataset, EvalConfig(max_new_tokens=3), [], [], perplexity=scorer)
    assert events == ["trim", "score"]  # once, after sampling (one batch): the reference model loads into a trimmed heap
    events.clear()
    evaluate.evaluate(model, tokenizer, dataset, EvalConfig(), [], [], perplexity=scorer, texts=["a b", "c d"])
    assert events == ["score"]  # stored completions: nothing sampled, nothing to trim

"""Language-quality reward (fluency) and the batched log-prob scorer, on the tiny model."""

from __future__ import annotations

import math

import pytest
import torch

from core.errors import ConfigError
from core.logprobs import encode_pair, score_completions
from core.rewards.quality import fluency, logprob_to_reward

PROMPT = [{"role": "user", "content": "Tell me about tea."}]


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


class FakeContext:
    """Stands in for core.context.RunContext: hands out the tiny model and counts the loads."""

    def __init__(self, pair):
        self.pair, self.calls = pair, 0

    def reference_model(self):
        self.calls += 1
        return self.pair


def manual_logprobs(model, tokenizer, prompt, completion, max_tokens=None):
    """One unpadded forward pass over prompt + completion, read off by hand."""
    p, c = encode_pair(tokenizer, prompt, completion, max_tokens)
    with torch.no_grad():
        logp = model(torch.tensor([p + c])).logits[0].log_softmax(-1)
    return [logp[len(p) - 1 + k, t].item() for k, t in enumerate(c)]


def test_fluency_is_exp_mean_token_logprob_by_hand(tiny_model):
    model, tokenizer = tiny_model
    text = "Green tea is made from unoxidised leaves."
    lps = manual_logprobs(model, tokenizer, PROMPT, chat(text))
    fn = fluency(context=FakeContext(tiny_model))
    [value] = fn([PROMPT], [chat(text)])
    assert value == pytest.approx(math.exp(sum(lps) / len(lps)), rel=1e-4)
    assert 0.0 < value <= 1.0


def test_batched_scores_equal_one_at_a_time(tiny_model):
    model, tokenizer = tiny_model
    prompts = [PROMPT, "plain text prompt", PROMPT, ""]
    completions = [chat("Short."), " and a much longer continuation of the text here", chat(""), "héllo wörld ✓"]
    batched = score_completions(model, tokenizer, prompts, completions, batch_size=8)
    single = score_completions(model, tokenizer, prompts, completions, batch_size=1)
    for b, s, p, c in zip(batched, single, prompts, completions):
        assert b.ids == s.ids
        assert b.logprobs == pytest.approx(s.logprobs, abs=1e-4)
        assert b.logprobs == pytest.approx(manual_logprobs(model, tokenizer, p, c), abs=1e-4)
    assert batched[2].logprobs == [] and batched[2].mean is None


def test_a_group_sharing_one_prompt_pass_scores_like_separate_passes(tiny_model):
    model, tokenizer = tiny_model
    texts = ["Green tea.", "Steep black tea for four minutes, then add milk.", "", "ok", "héllo ✓", "Tea!", "x y z"]
    prompts = [PROMPT] * len(texts) + ["other prompt"]
    completions = [chat(t) for t in texts] + [" and more"]
    shared = score_completions(model, tokenizer, prompts, completions, batch_size=3)  # group split in chunks
    separate = score_completions(model, tokenizer, prompts, completions, share_prompts=False)
    for a, b, p, c in zip(shared, separate, prompts, completions):
        assert a.ids == b.ids
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
        assert a.logprobs == pytest.approx(manual_logprobs(model, tokenizer, p, c), abs=1e-4)


def test_max_tokens_caps_the_scored_length(tiny_model):
    model, tokenizer = tiny_model
    text = "one two three four five six seven eight nine ten " * 200  # very long text
    lps = manual_logprobs(model, tokenizer, PROMPT, chat(text), max_tokens=3)
    [value] = fluency(context=FakeContext(tiny_model), max_tokens=3)([PROMPT], [chat(text)])
    assert value == pytest.approx(math.exp(sum(lps) / 3), rel=1e-4)


def test_empty_completion_gets_the_bottom_of_the_range(tiny_model):
    ctx = FakeContext(tiny_model)
    assert fluency(context=ctx)([PROMPT, PROMPT], [chat(""), chat("Hi.")])[0] == 0.0
    assert fluency(context=ctx, scale="logprob", floor=-7.5)([PROMPT], [chat("")]) == [-7.5]


def test_logprob_scale_is_the_floored_mean(tiny_model):
    model, tokenizer = tiny_model
    lps = manual_logprobs(model, tokenizer, PROMPT, chat("Tea."))
    mean = sum(lps) / len(lps)
    [value] = fluency(context=FakeContext(tiny_model), scale="logprob", floor=-100.0)([PROMPT], [chat("Tea.")])
    assert value == pytest.approx(mean, abs=1e-4)
    # the random tiny model is far below -1 nats per token, so a floor of -1 clips it
    assert fluency(context=FakeContext(tiny_model), scale="logprob", floor=-1.0)([PROMPT], [chat("Tea.")]) == [-1.0]


def test_reference_model_is_loaded_once_per_reward_and_only_when_used(tiny_model):
    ctx = FakeContext(tiny_model)
    fn = fluency(context=ctx)
    assert ctx.calls == 0  # building the reward (e.g. to validate a config) loads nothing
    fn([PROMPT], [chat("a")])
    fn([PROMPT], [chat("b")])
    assert ctx.calls == 1


def test_a_different_reference_model_by_name():
    fn = fluency(model="embedded:tiny")
    [value] = fn(["Hello"], [" world"])
    assert 0.0 < value < 1.0


def test_mapping_and_bad_arguments():
    assert logprob_to_reward(math.log(0.5)) == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="scale='nats'"):
        fluency(scale="nats")
    with pytest.raises(ConfigError, match="max_tokens=0"):
        fluency(max_tokens=0)

"""Generation prefills each distinct prompt once: same completions, fewer prompt tokens, on every path."""

from __future__ import annotations

import copy

import pytest
import torch

import core.algos.fast_trl as fast_trl
from core.generation import AutocastKVCache, render_prompt, shared_prefill_generate

CONTENTS = ["hi", "a much longer prompt than the first one, please"]


def encode(tokenizer):
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        texts = [render_prompt(tokenizer, [{"role": "user", "content": c}]) for c in CONTENTS]
        return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = side


class TokenCounter:
    """Counts the token positions the model's embedding layer sees, per call."""

    def __init__(self, model):
        self.calls: list[int] = []
        model.get_input_embeddings().register_forward_hook(lambda m, args, out: self.calls.append(args[0].numel()))


@pytest.mark.parametrize("lora", [False, True])
def test_same_greedy_completions_with_one_prefill_per_prompt(tiny_model, lora):
    model, tokenizer = tiny_model
    model = copy.deepcopy(model).eval()
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))
    enc = encode(tokenizer)
    counter = TokenCounter(model)
    kwargs = dict(max_new_tokens=6, min_new_tokens=6, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    plain = model.generate(input_ids=enc["input_ids"].repeat_interleave(4, 0),
                           attention_mask=enc["attention_mask"].repeat_interleave(4, 0), **kwargs)
    plain_calls, counter.calls = counter.calls, []
    shared = shared_prefill_generate(model, enc["input_ids"], enc["attention_mask"], num_return_sequences=4, **kwargs)
    assert torch.equal(shared, plain)
    width = enc["input_ids"].size(1)
    assert plain_calls[0] == 8 * width  # generate prefills every copy
    assert counter.calls[0] == 2 * (width - 1) and counter.calls[1] == 8  # distinct prompts once, then last tokens
    assert sum(counter.calls) < sum(plain_calls)


def test_what_it_cannot_serve_goes_to_generate_unchanged(tiny_model):
    model, tokenizer = tiny_model
    enc = encode(tokenizer)
    seen = []

    def generate(**kwargs):
        seen.append(kwargs)
        return kwargs["input_ids"]

    shared_prefill_generate(model, enc["input_ids"], enc["attention_mask"], generate=generate)  # distinct prompts
    shared_prefill_generate(model, enc["input_ids"], enc["attention_mask"], num_return_sequences=2,
                            generate=generate, cache_implementation="static")
    shared_prefill_generate(model, enc["input_ids"], enc["attention_mask"], num_return_sequences=2,
                            generate=generate, token_type_ids=torch.zeros_like(enc["input_ids"]))
    assert [k["input_ids"].size(0) for k in seen] == [2, 4, 4]
    distinct, *unserved = [{n: v for n, v in k.items() if n in ("cache", "past_key_values")} for k in seen]
    assert [type(c) for c in distinct.values()] == [AutocastKVCache]  # nothing to share: an empty cache to fill
    assert unserved == [{}, {}]


def test_under_bf16_autocast_the_cache_keeps_keys_in_bf16_and_the_same_tokens(tiny_model):
    """Rotary embeddings promote keys to float32 under autocast; attention casts them back to bf16 anyway, so
    storing them in bf16 halves the key cache and changes no token."""
    from transformers import DynamicCache

    model, tokenizer = tiny_model
    model = copy.deepcopy(model).eval()
    enc = encode(tokenizer)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        plain = model(**enc, past_key_values=DynamicCache(config=model.config), use_cache=True).past_key_values
        compact = model(**enc, past_key_values=AutocastKVCache(config=model.config), use_cache=True).past_key_values
        assert (plain.layers[0].keys.dtype, plain.layers[0].values.dtype) == (torch.float32, torch.bfloat16)
        assert (compact.layers[0].keys.dtype, compact.layers[0].values.dtype) == (torch.bfloat16, torch.bfloat16)
        assert torch.equal(compact.layers[0].keys, plain.layers[0].keys.to(torch.bfloat16))
        kwargs = dict(max_new_tokens=12, min_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        reference = model.generate(input_ids=enc["input_ids"].repeat_interleave(3, 0),
                                   attention_mask=enc["attention_mask"].repeat_interleave(3, 0), **kwargs)
        shared = shared_prefill_generate(model, enc["input_ids"], enc["attention_mask"], num_return_sequences=3,
                                         **kwargs)
    assert torch.equal(shared, reference)


@pytest.mark.parametrize("algo", ["grpo", "reinforce"])
def test_training_samples_through_the_shared_prefill(compose_cfg, tmp_path, monkeypatch, algo):
    """TRL's sampling (grpo) and rlft's own rollouts (reinforce) prefill each prompt of a group once."""
    from core.run import run

    rows = []
    original = shared_prefill_generate

    def recording(model, input_ids, attention_mask, num_return_sequences=1, **kwargs):
        rows.append((input_ids.size(0) * num_return_sequences,
                     len({tuple(r[m.bool()].tolist()) for r, m in zip(input_ids, attention_mask)})))
        return original(model, input_ids, attention_mask, num_return_sequences=num_return_sequences, **kwargs)

    monkeypatch.setattr(fast_trl, "shared_prefill_generate", recording)
    monkeypatch.setattr("core.algos.rollout.shared_prefill_generate", recording)
    run(compose_cfg(["experiment=debug", f"algo={algo}", "algo.max_steps=1", "eval.enabled=false",
                     "save_model=false", "report_to=[none]"], tmp_path / "run"))
    assert rows, "sampling did not go through shared_prefill_generate"
    assert all(n > distinct for n, distinct in rows)  # every batch repeated its prompts

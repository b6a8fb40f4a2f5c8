"""Decoding drops the rows that have ended: the same tokens as ``generate``, computed on fewer rows."""

from __future__ import annotations

import copy

import pytest
import torch

from core.generation import cache_name, compacting_generate, generate, render_prompt, shared_prefill_generate

CONTENTS = ["hi", "tell me about the sea", "a much longer prompt than the first one, please", "ok", "what is 2 + 2"]
NEW = 12


@pytest.fixture(scope="module")
def setup(tiny_model):
    """The tiny model in eval mode, the encoded prompts, and its free-running greedy continuations."""
    model, tokenizer = tiny_model
    model = copy.deepcopy(model).eval()
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        texts = [render_prompt(tokenizer, [{"role": "user", "content": c}]) for c in CONTENTS]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = side
    free = model.generate(**enc, max_new_tokens=NEW, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return model, tokenizer, enc, free[:, enc["input_ids"].size(1):]


def run(model, enc, every, **kwargs):
    """``compacting_generate`` every ``every`` tokens; returns its output and the batch size of each chunk."""
    sizes = []

    def recording(**kw):
        sizes.append(kw["input_ids"].size(0))
        return model.generate(**kw)

    out = compacting_generate(model, enc["input_ids"], enc["attention_mask"], recording,
                              cache_kwarg=cache_name(model.prepare_inputs_for_generation), every=every, **kwargs)
    return out, sizes


@pytest.mark.parametrize("every", [1, 3, 5])
def test_rows_ending_at_eos_match_generate_and_leave_the_batch(setup, every):
    model, tokenizer, enc, free = setup
    ends = [int(free[0, 1]), int(free[1, 6]), int(free[3, 4])]  # three rows end early, at different steps
    kwargs = dict(max_new_tokens=NEW, do_sample=False, pad_token_id=tokenizer.pad_token_id, eos_token_id=ends)
    expected = model.generate(**enc, **kwargs)
    out, sizes = run(model, enc, every, **kwargs)
    assert torch.equal(out, expected)
    assert sizes[0] == len(CONTENTS) and sizes[-1] < len(CONTENTS)  # ended rows left the batch
    assert sizes == sorted(sizes, reverse=True)


def test_chunks_longer_than_the_prompt(setup):
    model, tokenizer, _, _ = setup
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        enc = tokenizer(["hi", "the sea"], return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = side
    free = model.generate(**enc, max_new_tokens=NEW, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    kwargs = dict(max_new_tokens=NEW, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                  eos_token_id=[int(free[0, enc["input_ids"].size(1) + 7])])
    out, sizes = run(model, enc, 5, **kwargs)  # 5 new tokens > the 2-token prompt
    assert torch.equal(out, model.generate(**enc, **kwargs)) and len(sizes) > 1


@pytest.mark.parametrize("every", [1, 2, 4, 5])
def test_rows_ending_at_a_stop_string_match_generate(setup, every):
    model, tokenizer, enc, free = setup
    stop = tokenizer.decode(free[1, 4:6])  # row 1 ends at token 6, possibly at a chunk's last token
    kwargs = dict(max_new_tokens=NEW, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                  stop_strings=[stop], tokenizer=tokenizer)
    expected = model.generate(**enc, **kwargs)
    out, sizes = run(model, enc, every, **kwargs)
    assert torch.equal(out, expected)
    assert sizes[-1] < len(CONTENTS)


def test_a_batch_that_ends_early_stops_without_padding_to_the_limit(setup):
    model, tokenizer, enc, free = setup
    ends = sorted({int(free[i, 2]) for i in range(len(CONTENTS))})  # every row ends by its third token
    kwargs = dict(max_new_tokens=NEW, do_sample=False, pad_token_id=tokenizer.pad_token_id, eos_token_id=ends)
    expected = model.generate(**enc, **kwargs)
    out, sizes = run(model, enc, 2, **kwargs)
    assert torch.equal(out, expected) and out.size(1) <= enc["input_ids"].size(1) + 3
    assert len(sizes) == 2


def test_options_it_cannot_split_run_as_one_generate_call(setup):
    model, tokenizer, enc, _ = setup
    for options in ({"min_new_tokens": NEW}, {"num_beams": 2}, {"output_scores": True, "return_dict_in_generate": True}):
        _, sizes = run(model, enc, 2, max_new_tokens=NEW, do_sample=False, pad_token_id=tokenizer.pad_token_id, **options)
        assert sizes == [len(CONTENTS)], options
    _, sizes = run(model, enc, 0, max_new_tokens=NEW, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert sizes == [len(CONTENTS)]  # every=0: compaction off


def test_sampled_evaluation_and_shared_prefill_compact(setup, monkeypatch):
    model, tokenizer, enc, free = setup
    import core.generation as generation

    monkeypatch.setattr(generation, "COMPACT_EVERY", 2)
    calls = []
    original = model.generate
    monkeypatch.setattr(model, "generate", lambda **kw: calls.append(kw["input_ids"].size(0)) or original(**kw))
    stop = tokenizer.decode(free[0, 1:3])
    texts = generate(model, tokenizer, [[{"role": "user", "content": c}] for c in CONTENTS], max_new_tokens=NEW,
                     temperature=0.0, batch_size=len(CONTENTS), stop_strings=[stop])
    assert len(calls) > 1 and texts[0].endswith(stop.strip()) and len(texts) == len(CONTENTS)
    calls.clear()
    out = shared_prefill_generate(model, enc["input_ids"], enc["attention_mask"], num_return_sequences=2,
                                  max_new_tokens=NEW, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert out.shape == (2 * len(CONTENTS), enc["input_ids"].size(1) + NEW) and len(calls) == NEW // 2

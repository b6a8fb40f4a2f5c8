"""``stop_strings``: completions end once their text ends with a stop string, in evaluation, in TRL's
GRPO/RLOO sampling and in the own algorithms' rollout engine (tiny model)."""

from __future__ import annotations

import json

import pytest
import torch

from core.algos.rollout import RolloutEngine
from core.generation import generate

PROMPTS = ["Say something about the sea.", "Describe a quiet morning."]


def test_greedy_completion_is_cut_right_after_the_stop_string(tiny_model):
    model, tokenizer = tiny_model
    full = generate(model, tokenizer, PROMPTS, max_new_tokens=24)
    # a stop string from the middle of each full completion, at a word boundary
    stops = [text[:len(text) // 2].split()[-1] for text in full]
    for text, stop in zip(full, stops):
        cut = generate(model, tokenizer, [PROMPTS[full.index(text)]], max_new_tokens=24, stop_strings=[stop])[0]
        assert stop in cut, (stop, cut)
        assert text.startswith(cut) and len(cut) < len(text), (text, cut)
        # nothing after the first occurrence but the rest of the token that completed it
        assert len(cut) - (cut.index(stop) + len(stop)) < 16, (stop, cut)


def test_rollout_engine_stops_and_masks_the_rest(tiny_model):
    model, tokenizer = tiny_model
    torch.manual_seed(0)
    free = RolloutEngine(tokenizer, [], num_generations=8, max_new_tokens=16).generate(model, PROMPTS)
    torch.manual_seed(0)
    stopped = RolloutEngine(tokenizer, [], num_generations=8, max_new_tokens=16,
                            stop_strings=["e"]).generate(model, PROMPTS)
    lengths = stopped.completion_mask.sum(1).long()
    assert lengths.float().mean() < 0.5 * free.completion_mask.sum(1).float().mean()
    for text, ids, n in zip(stopped.completions, stopped.completion_ids, lengths.tolist()):
        # stopped at an "e", at EOS or at the length limit
        assert "e" in text or ids[n - 1] == tokenizer.eos_token_id or n == 16, text


@pytest.mark.parametrize("algo", ["grpo", "rloo"])
def test_trl_trainers_stop_at_the_string(algo, tmp_path, compose_cfg):
    from core.run import run

    def train(out, stops):
        run(compose_cfg(["task=sentiment", "model=tiny", f"algo={algo}", "algo.max_steps=1",
                         "algo.max_completion_length=24", f"algo.stop_strings={stops}", "eval.enabled=false",
                         "save_model=false", "report_to=[none]"], output_dir=out))
        log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
        samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
        return next(r for r in log if "completions/mean_length" in r), samples

    free, _ = train(tmp_path / "free", "[]")
    stopped, samples = train(tmp_path / "stopped", "[e]")
    assert stopped["completions/mean_length"] < 0.5 * free["completions/mean_length"]
    # a stopped completion is terminated (the pad after it counts as its end), not clipped
    assert stopped["completions/clipped_ratio"] < 0.5
    assert sum("e" in s["completion"] for s in samples) >= (1 - stopped["completions/clipped_ratio"]) * len(samples)

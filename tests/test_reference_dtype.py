"""TRL's frozen KL reference is stored in bfloat16 when training runs in bf16, unless the user chose its dtype; it
uses the policy's attention implementation."""

from __future__ import annotations

from copy import deepcopy

import pytest
import torch
from datasets import Dataset

from core.algos.base import TrainInputs
from core.rewards.checked import CheckedReward


def _length_reward(prompts, completions, **_):
    return [min(len(c) / 40, 1.0) for c in completions]


def _trainer(compose_cfg, tiny_model, tmp_path, overrides: list[str]):
    from core.cli import discover

    model, tokenizer = tiny_model
    cfg = compose_cfg(["experiment=debug", *overrides]).algo
    data = Dataset.from_dict({"prompt": [[{"role": "user", "content": "Say something."}]] * 4})
    inputs = TrainInputs(model=deepcopy(model), tokenizer=tokenizer, train_dataset=data,
                         reward_funcs=[CheckedReward("length", _length_reward, 1.0)], reward_weights=[1.0],
                         output_dir=str(tmp_path), seed=0, callbacks=[], report_to=["none"])
    return discover().algorithms.get(cfg.name)(cfg).build_trainer(inputs)


@pytest.mark.parametrize("algo", ["grpo", "rloo"])
def test_a_bf16_run_keeps_its_reference_in_bf16_and_the_policy_in_fp32(compose_cfg, tiny_model, tmp_path, algo):
    trainer = _trainer(compose_cfg, tiny_model, tmp_path, [f"algo={algo}", "algo.beta=0.1", "algo.bf16=true"])
    assert trainer.ref_model.dtype == torch.bfloat16
    assert {p.dtype for p in trainer.ref_model.parameters()} == {torch.bfloat16}
    assert trainer.model.dtype == torch.float32
    # the same weights, rounded
    ref, policy = trainer.ref_model.get_input_embeddings().weight, trainer.model.get_input_embeddings().weight
    assert torch.equal(ref, policy.detach().to(torch.bfloat16))


@pytest.mark.parametrize("overrides", [["algo.bf16=false"],
                                       ["algo.bf16=true", "+algo.trl.model_init_kwargs={dtype:float32}"]],
                         ids=["fp32-run", "dtype-chosen"])
def test_the_reference_stays_float32_in_fp32_runs_and_when_its_dtype_is_chosen(compose_cfg, tiny_model, tmp_path,
                                                                                  overrides):
    trainer = _trainer(compose_cfg, tiny_model, tmp_path, ["algo=grpo", "algo.beta=0.1", *overrides])
    assert trainer.ref_model.dtype == torch.float32


def test_no_reference_without_a_kl_term(compose_cfg, tiny_model, tmp_path):
    trainer = _trainer(compose_cfg, tiny_model, tmp_path, ["algo=grpo", "algo.beta=0.0", "algo.bf16=true"])
    assert trainer.ref_model is None


@pytest.mark.parametrize("algo", ["grpo", "rloo"])
def test_the_reference_uses_the_policys_attention_implementation(compose_cfg, tmp_path, algo):
    from core.models import load_model

    eager = load_model(compose_cfg(["experiment=debug", "model.attn_implementation=eager"]).model)
    trainer = _trainer(compose_cfg, eager, tmp_path, [f"algo={algo}", "algo.beta=0.1"])
    assert trainer.ref_model.config._attn_implementation == "eager"

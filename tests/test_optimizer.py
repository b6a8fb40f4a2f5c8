"""``algo.optim`` picks the optimizer of TRL's trainers and of rlft's own loop alike."""

from __future__ import annotations

from copy import deepcopy

import pytest
import torch
from datasets import Dataset
from transformers.optimization import Adafactor

from core.algos.base import TrainInputs
from core.rewards.checked import CheckedReward


def _length_reward(prompts, completions, **_):
    return [min(len(c) / 40, 1.0) for c in completions]


def _trained_optimizer(compose_cfg, tiny_model, tmp_path, algo: str, optim: str) -> torch.optim.Optimizer:
    from core.cli import discover

    model, tokenizer = tiny_model
    cfg = compose_cfg([f"algo={algo}", "experiment=debug", "algo.max_steps=1", f"algo.optim={optim}"]).algo
    data = Dataset.from_dict({"prompt": [[{"role": "user", "content": f"Say something about {w}."}]
                                         for w in ("cats", "rain", "tea", "maps")]})
    inputs = TrainInputs(model=deepcopy(model), tokenizer=tokenizer, train_dataset=data,
                         reward_funcs=[CheckedReward("length", _length_reward, 1.0)], reward_weights=[1.0],
                         output_dir=str(tmp_path), seed=0, callbacks=[], report_to=["none"])
    trainer = discover().algorithms.get(algo)(cfg).build_trainer(inputs)
    trainer.train()
    return getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # accelerate's wrapper -> the optimizer


@pytest.mark.parametrize("algo", ["grpo", "reinforce"])
def test_algo_optim_reaches_the_optimizer(compose_cfg, tiny_model, tmp_path, algo):
    fused = _trained_optimizer(compose_cfg, tiny_model, tmp_path / "fused", algo, "adamw_torch_fused")
    assert type(fused) is torch.optim.AdamW and fused.defaults["fused"] is True
    assert fused.state and all("exp_avg" in s for s in fused.state.values())  # it stepped
    foreach = _trained_optimizer(compose_cfg, tiny_model, tmp_path / "foreach", algo, "adamw_torch")
    assert type(foreach) is torch.optim.AdamW and not foreach.defaults["fused"]
    assert isinstance(_trained_optimizer(compose_cfg, tiny_model, tmp_path / "ada", algo, "adafactor"), Adafactor)


def test_8bit_adamw_keeps_its_moments_in_one_byte_each(compose_cfg, tiny_model, tmp_path):
    """news and dialogue recommend ``adamw_8bit`` (bitsandbytes, CPU included) to fit their runs in 4 GiB."""
    optimizer = _trained_optimizer(compose_cfg, tiny_model, tmp_path, "grpo", "adamw_8bit")
    assert type(optimizer).__module__.startswith("bitsandbytes")
    # tensors under 4096 values and (transformers' rule) the token embeddings keep float32 moments
    embedding_shape = tiny_model[0].get_input_embeddings().weight.shape
    large = [s for p, s in optimizer.state.items() if p.numel() >= 4096 and p.shape != embedding_shape]
    assert large and all(s["state1"].dtype == s["state2"].dtype == torch.uint8 for s in large)


def test_unknown_optimizer_is_refused_before_loading(compose_cfg, plugins):
    from core.validate import validate

    problems = validate(compose_cfg(["experiment=debug", "algo.optim=adamw_torch_fuse"]), plugins)
    assert any(p.startswith("algo.optim='adamw_torch_fuse'") and "did you mean 'adamw_torch_fused'" in p
               for p in problems)


def test_bitsandbytes_imports_quietly_after_rlft():
    """On AVX512-BF16 CPUs bitsandbytes warned at import about a 4-bit kernel rlft never uses."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import core, bitsandbytes"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "gemm_4bit_forward" not in done.stderr

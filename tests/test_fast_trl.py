"""The shared-prefix log-prob path matches a plain full forward, values and gradients."""

from __future__ import annotations

import copy

import pytest
import torch

from core.algos.fast_trl import _shared_prefix_pass, completion_logps, plain_causal_lm
from core.algos.trl_online import rlft_trainer


def batch(pad_id: int):
    """Two prompts (5 and 7 tokens, left-padded), three completions each (right-padded, ragged)."""
    prompts, rows, width, length = [[5, 6, 7, 8, 9], [11, 12, 13, 14, 15, 16, 17]], [0, 0, 0, 1, 1, 1], 7, 5
    prompt_ids = torch.full((6, width), pad_id)
    prompt_mask = torch.zeros(6, width, dtype=torch.long)
    for r, u in enumerate(rows):
        prompt_ids[r, width - len(prompts[u]):] = torch.tensor(prompts[u])
        prompt_mask[r, width - len(prompts[u]):] = 1
    torch.manual_seed(0)
    completion_ids = torch.randint(100, 1000, (6, length))
    completion_mask = torch.ones(6, length, dtype=torch.long)
    completion_mask[1, 3:] = 0
    completion_mask[4, 1:] = 0
    return prompt_ids, prompt_mask, completion_ids, completion_mask


def reference_logps(model, prompt_ids, prompt_mask, completion_ids, completion_mask, temperature):
    ids, mask = torch.cat([prompt_ids, completion_ids], 1), torch.cat([prompt_mask, completion_mask], 1)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0)).logits
    logits = logits[:, prompt_ids.size(1) - 1:-1].float() / temperature
    return logits.log_softmax(-1).gather(-1, completion_ids.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize("lora", [False, True])
def test_shared_prefix_logps_and_gradients_match_a_full_forward(tiny_model, lora):
    model, tokenizer = tiny_model
    model = copy.deepcopy(model).train()
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))
    prompt_ids, prompt_mask, completion_ids, completion_mask = batch(tokenizer.pad_token_id)
    lm = plain_causal_lm(model)
    fast, entropy = _shared_prefix_pass(lm, prompt_ids, prompt_mask, completion_ids, completion_mask, 0.7)
    (fast * completion_mask).sum().backward()
    fast_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    slow = reference_logps(model, prompt_ids, prompt_mask, completion_ids, completion_mask, 0.7)
    (slow * completion_mask).sum().backward()
    assert torch.allclose(fast * completion_mask, slow * completion_mask, atol=1e-4)
    assert (entropy[completion_mask.bool()] > 0).all() and (entropy[~completion_mask.bool()] == 0).all()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert torch.allclose(fast_grads[name], p.grad, rtol=1e-3, atol=1e-4 * float(p.grad.abs().max())), name


def test_head_projection_in_chunks_equals_one_projection(tiny_model, monkeypatch):
    import core.algos.fast_trl as fast_trl

    model, _ = tiny_model
    head = model.get_output_embeddings()
    hidden, labels = torch.randn(7, head.in_features), torch.randint(0, head.out_features, (7,))
    whole, _ = completion_logps(hidden, head, labels)
    monkeypatch.setattr(fast_trl, "HEAD_CHUNK", 3)
    chunked, _ = completion_logps(hidden, head, labels)
    assert torch.allclose(whole, chunked, atol=1e-6)


def test_unsupported_models_take_trls_own_path(tiny_model):
    model, _ = tiny_model
    assert plain_causal_lm(model) is model

    class Wrapped(torch.nn.Module):  # what DDP looks like: its forward does the gradient sync
        def __init__(self, module):
            super().__init__()
            self.module = module

    assert plain_causal_lm(Wrapped(model)) is None
    checkpointed = copy.deepcopy(model).train()
    checkpointed.gradient_checkpointing_enable()
    assert plain_causal_lm(checkpointed) is None


def test_rlft_trainers_keep_the_trl_trainer_interface():
    from trl import GRPOTrainer, RLOOTrainer

    for cls in (GRPOTrainer, RLOOTrainer):
        fast = rlft_trainer(cls)
        assert issubclass(fast, cls) and rlft_trainer(cls) is fast and fast.__name__ == f"Rlft{cls.__name__}"


def test_entropy_carries_gradients_only_when_a_loss_needs_them(tiny_model):
    model, _ = tiny_model
    head = model.get_output_embeddings()
    hidden = torch.randn(5, head.in_features, requires_grad=True)
    labels = torch.randint(0, head.out_features, (5,))
    logps, entropy = completion_logps(hidden, head, labels, temperature=0.7)
    assert logps.requires_grad and not entropy.requires_grad
    logps, entropy = completion_logps(hidden, head, labels, temperature=0.7, entropy_grad=True)
    grad, = torch.autograd.grad(entropy.sum(), hidden)
    logits = (hidden @ head.weight.T) / 0.7
    expected, = torch.autograd.grad(torch.distributions.Categorical(logits=logits).entropy().sum(), hidden)
    assert torch.allclose(grad, expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("bf16", [True, False])
def test_trl_sampling_runs_under_bf16_autocast_only_when_asked(bf16):
    """AutocastGeneration wraps TRL's ``_generate_single_turn`` in bf16 autocast when ``args.bf16``, else leaves it."""
    from types import SimpleNamespace

    from core.algos.fast_trl import AutocastGeneration

    class Sampler:
        def _generate_single_turn(self, prompts):
            return prompts, torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")

    class Trainer(AutocastGeneration, Sampler):
        accelerator = SimpleNamespace(device=torch.device("cpu"))
        args = SimpleNamespace(bf16=bf16)

    prompts, enabled, dtype = Trainer()._generate_single_turn(["p"])
    assert prompts == ["p"] and enabled is bf16 and (dtype == torch.bfloat16 or not bf16)
    assert not torch.is_autocast_enabled("cpu")  # and restores the caller's state

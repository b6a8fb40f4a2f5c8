"""rlft's own algorithms (PPO, REINFORCE, DQN, SAC) on the tiny model: their invariants and full runs."""

from __future__ import annotations

import json

import pytest
import torch
from datasets import Dataset

from core.algos.base import TrainInputs
from core.algos.dqn import EpsilonGreedyTopK, double_q_bootstrap, dueling_q
from core.algos.replay import ReplayBuffer
from core.algos.rollout import RolloutEngine, completion_mask
from core.algos.sac import alpha_loss, soft_targets
from core.callbacks import NonFiniteGuard
from core.rewards.checked import CheckedReward
from core.run import run

DEBUG = ["experiment=debug", "eval.enabled=false"]
OWN = ["ppo", "reinforce", "dqn", "sac"]


def _length_reward(prompts, completions, **_):
    return [min(len(c) / 40, 1.0) for c in completions]


def _inputs(tiny_model, tmp_path, **overrides) -> TrainInputs:
    from copy import deepcopy

    model, tokenizer = tiny_model
    data = Dataset.from_dict({"prompt": [[{"role": "user", "content": f"Say something about {w}."}]
                                         for w in ("cats", "rain", "tea", "maps")]})
    fields = dict(model=deepcopy(model), tokenizer=tokenizer, train_dataset=data,
                  reward_funcs=[CheckedReward("length", _length_reward, 1.0)], reward_weights=[1.0],
                  output_dir=str(tmp_path), seed=0, callbacks=[NonFiniteGuard()], report_to=["none"])
    fields.update(overrides)
    return TrainInputs(**fields)


def _algo_cfg(compose_cfg, name, *overrides):
    return compose_cfg([f"algo={name}", *DEBUG, *overrides]).algo


def test_completion_mask_stops_after_the_first_eos():
    ids = torch.tensor([[5, 6, 2, 2], [5, 6, 7, 8]])
    assert completion_mask(ids, [2]).tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]


def test_rollout_engine_scores_like_the_task_and_keeps_tokens(tiny_model):
    model, tokenizer = tiny_model
    seen = []
    fn = CheckedReward("length", _length_reward, 2.0, log=None)
    fn.log = type("Log", (), {"add": lambda self, name, p, c, v, step: seen.append((name, len(c), step))})()
    engine = RolloutEngine(tokenizer, [fn], num_generations=3, max_new_tokens=6)
    exp = engine.collect(model, [{"prompt": "Hello"}, {"prompt": "Bye"}], state=type("S", (), {"global_step": 7})())
    assert exp.sequences.shape[0] == exp.completion_mask.shape[0] == 6 and exp.completion_mask.shape[1] <= 6
    assert seen == [("length", 6, 7)]
    torch.testing.assert_close(exp.scores, 2.0 * exp.components["length"])
    assert exp.prompts == ["Hello"] * 3 + ["Bye"] * 3
    # decoding the kept tokens gives back the scored text
    for row in range(6):
        ids = exp.completion_ids[row][exp.completion_mask[row].bool()]
        assert tokenizer.decode(ids, skip_special_tokens=True).strip() == exp.completions[row]


def test_ppo_ratio_is_exactly_one_on_the_first_minibatch(compose_cfg, tiny_model, tmp_path):
    from core.algos.ppo import PPO

    cfg = _algo_cfg(compose_cfg, "ppo", "algo.max_steps=1", "algo.num_generations=4", "algo.num_mini_batches=2",
                    "algo.num_iterations=2", "algo.gradient_accumulation_steps=2", "algo.lr=1e-3")
    trainer = PPO(cfg).build_trainer(_inputs(tiny_model, tmp_path))
    trainer.train()
    assert trainer.first_ratio is not None and trainer.first_ratio.numel() > 0
    assert torch.equal(trainer.first_ratio, torch.ones_like(trainer.first_ratio))
    logs = trainer.state.log_history[-1]
    assert logs["ppo/ratio"] != 1.0, "later minibatches see the updated policy"
    assert {"ppo/approx_kl", "ppo/clipfrac", "ppo/value_loss", "ppo/explained_variance", "ppo/entropy",
            "objective/kl_coef", "rewards/length/mean"} <= set(logs)


@pytest.mark.parametrize("offset", ["soft", "mean", "max"])
def test_dqn_starts_as_the_base_policy(offset):
    logits = torch.randn(2, 3, 11)
    values = torch.randn(2, 3)
    q = dueling_q(values, logits, tau=0.7, offset=offset)
    assert torch.equal(q.argmax(-1), logits.argmax(-1))
    torch.testing.assert_close((q / 0.7).softmax(-1), logits.softmax(-1))


def test_dqn_soft_dueling_lets_the_greedy_token_raise_its_own_q():
    logits = torch.tensor([[[2.0, 1.0, 0.0]]], requires_grad=True)
    for offset, moves in (("soft", True), ("max", False)):
        (grad,) = torch.autograd.grad(dueling_q(torch.zeros(1, 1), logits, 1.0, offset)[0, 0, 0], logits)
        assert bool(grad[0, 0, 0] > 1e-3) is moves, offset  # under 'max' the greedy token's advantage is pinned to 0


def test_double_q_bootstrap_by_hand():
    online = torch.tensor([[[0.0, 1.0], [5.0, 0.0], [0.0, 0.0]]])
    target = torch.tensor([[[9.0, 9.0], [1.0, 2.0], [3.0, 4.0]]])
    # state after action 0 is position 1: online picks action 0 -> target value 1 (double); target's own max is 2
    assert double_q_bootstrap(online, target, double=True).tolist() == [[1.0, 3.0, 0.0]]
    assert double_q_bootstrap(online, target, double=False).tolist() == [[2.0, 4.0, 0.0]]


def test_epsilon_greedy_stays_in_the_top_k():
    scores = torch.tensor([[0.0, 5.0, 4.0, 3.0, -1.0]]).repeat(2000, 1)
    greedy = EpsilonGreedyTopK(0.0, 3)(None, scores)
    assert (greedy.argmax(-1) == 1).all()
    explore = EpsilonGreedyTopK(1.0, 3, torch.Generator().manual_seed(0))(None, scores).argmax(-1)
    counts = torch.bincount(explore, minlength=5)
    assert counts[0] == counts[4] == 0 and all(600 < c < 740 for c in counts[1:4].tolist())


def test_soft_bellman_targets_by_hand():
    logits = torch.log(torch.tensor([[[0.5, 0.5], [0.25, 0.75]]]))
    target_q = torch.tensor([[[0.0, 0.0], [1.0, 2.0]]])
    mask = torch.ones(1, 2)
    y = soft_targets(logits, target_q, torch.tensor([3.0]), mask, alpha=0.5, gamma=0.9)
    v1 = 0.25 * (1.0 - 0.5 * torch.log(torch.tensor(0.25))) + 0.75 * (2.0 - 0.5 * torch.log(torch.tensor(0.75)))
    torch.testing.assert_close(y, torch.stack([0.9 * v1, torch.tensor(3.0)]).unsqueeze(0))


def test_soft_monte_carlo_targets_by_hand():
    logits = torch.log(torch.tensor([[[0.5, 0.5], [0.25, 0.75], [0.5, 0.5]]]))
    target_q = torch.full((1, 3, 2), 100.0)  # Monte Carlo never bootstraps
    mask = torch.tensor([[1.0, 1.0, 0.0]])  # the third position is padding
    y = soft_targets(logits, target_q, torch.tensor([3.0]), mask, alpha=0.5, gamma=0.9, n_step=0)
    h1 = -(0.25 * torch.log(torch.tensor(0.25)) + 0.75 * torch.log(torch.tensor(0.75)))
    torch.testing.assert_close(y, torch.stack([0.9 * 0.5 * h1 + 0.9 * 3.0, torch.tensor(3.0), torch.tensor(0.0)])[None])


@pytest.mark.parametrize("entropy,direction", [(0.5, 1), (4.0, -1)], ids=["too-low", "too-high"])
def test_sac_alpha_moves_towards_the_target_entropy(entropy, direction):
    log_alpha = torch.nn.Parameter(torch.tensor(0.0))
    opt = torch.optim.SGD([log_alpha], lr=0.1)
    alpha_loss(log_alpha, torch.full((2, 3), entropy), torch.ones(2, 3), target=2.0).backward()
    opt.step()
    assert torch.sign(log_alpha.detach()).item() == direction


def test_replay_is_bounded_and_uniform():
    buffer = ReplayBuffer(100)
    buffer.add(([i], [i], float(i)) for i in range(250))
    assert len(buffer) == 100 and min(e[2] for e in buffer.episodes) == 150  # oldest evicted
    draws = buffer.sample(20000, torch.Generator().manual_seed(0))
    counts = torch.bincount(torch.tensor([int(e[2]) - 150 for e in draws]), minlength=100).float()
    chi2 = ((counts - 200) ** 2 / 200).sum().item()
    assert chi2 < 150  # 99 degrees of freedom: p ~ 0.001


@pytest.mark.parametrize("algo", OWN)
def test_each_own_algorithm_runs_end_to_end(compose_cfg, tmp_path, algo):
    cfg = compose_cfg([f"algo={algo}", "experiment=debug", "report_to=[tensorboard]", "save_model=true",
                       "algo.save_steps=2", "eval.max_new_tokens=4"], tmp_path)
    metrics = run(cfg)
    assert {"reward/total"} <= set(metrics["before"]) and {"reward/total"} <= set(metrics["after"])
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["stage"] == "train"]
    assert len(train) == cfg.algo.max_steps * cfg.algo.prompts_per_step * cfg.algo.num_generations
    assert all(set(r["rewards"]["vader_sentiment"]) == {"raw", "weighted"} for r in train)
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert (tmp_path / "checkpoint-2" / "rlft_state.pt").exists()
    assert list((tmp_path / "runs").rglob("events.out.tfevents.*")), "TensorBoard logs"


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_lora_trains_only_the_adapter(compose_cfg, tmp_path, algo):
    extra = ["algo.beta=0.1"] if algo == "ppo" else []
    cfg = compose_cfg([f"algo={algo}", *DEBUG, *extra, "model.peft=lora", "model.lora.r=4", "save_model=true"],
                      tmp_path)
    run(cfg)
    assert (tmp_path / "model" / "adapter_model.safetensors").exists()


def test_dqn_learns_offline_from_another_runs_samples(compose_cfg, tmp_path):
    first = tmp_path / "online"
    run(compose_cfg(["algo=reinforce", *DEBUG], first))
    offline = tmp_path / "offline"
    cfg = compose_cfg(["algo=dqn", *DEBUG, f"algo.offline_samples={first / 'samples.jsonl'}", "algo.batch_size=4"],
                      offline)
    run(cfg)
    stages = {json.loads(line)["stage"] for line in (offline / "samples.jsonl").read_text().splitlines()} \
        if (offline / "samples.jsonl").exists() else set()
    assert "train" not in stages  # nothing was generated: it learned from the logged episodes


def test_unknown_critic_is_refused(compose_cfg, tiny_model, tmp_path):
    from core.algos.ppo import PPO
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="algo.critic='mlp' is not one of head, model"):
        PPO(_algo_cfg(compose_cfg, "ppo", "algo.critic=mlp")).build_trainer(_inputs(tiny_model, tmp_path))

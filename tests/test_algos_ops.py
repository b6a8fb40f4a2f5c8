"""The own algorithms' math against values computed by hand on small arrays."""

from __future__ import annotations

import torch

from core.algos.ops import (AdaptiveKLController, discounted_returns, gae, masked_whiten, nstep_targets,
                            polyak_update, terminal_rewards)
from core.algos.reinforce import sequence_advantages

MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])


def test_gae_matches_hand_values():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.5, 2.0, 9.0]])
    values = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 7.0]])
    gamma, lam = 0.9, 0.8
    adv, ret = gae(rewards, values, MASK, gamma, lam)
    # row 0: deltas, then A_t = d_t + gamma*lam*A_{t+1}, the last token terminal
    d2 = 1.0 - 0.3
    d1 = 0.0 + 0.9 * 0.3 - 0.2
    d0 = 0.0 + 0.9 * 0.2 - 0.1
    a2, a1 = d2, d1 + 0.72 * d2
    a0 = d0 + 0.72 * a1
    # row 1: two tokens; the padded third (reward 9, value 7) must be ignored
    e1 = 2.0 - 0.5
    e0 = 0.5 + 0.9 * 0.5 - 0.4
    b1, b0 = e1, e0 + 0.72 * e1
    expected = torch.tensor([[a0, a1, a2], [b0, b1, 0.0]])
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(ret, (expected + values) * MASK)


def test_gae_with_lambda_one_is_return_minus_value():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 3.0, 5.0]])
    values = torch.tensor([[0.3, -0.2, 0.5], [1.0, 2.0, 4.0]])
    adv, _ = gae(rewards, values, MASK, 0.95, 1.0)
    torch.testing.assert_close(adv, (discounted_returns(rewards, MASK, 0.95) - values) * MASK)


def test_discounted_returns_by_hand():
    rewards = torch.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 100.0]])
    out = discounted_returns(rewards, MASK, 0.5)
    torch.testing.assert_close(out, torch.tensor([[1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0], [1.5, 1.0, 0.0]]))


def test_terminal_reward_lands_on_the_last_real_token():
    out = terminal_rewards(torch.tensor([2.0, -1.0]), MASK)
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0, 2.0], [0.0, -1.0, 0.0]]))


def test_whitening_gives_zero_mean_unit_variance_on_the_mask():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 1000.0]])
    w = masked_whiten(x, MASK)
    vals = w[MASK.bool()]
    assert abs(vals.mean().item()) < 1e-6 and abs(vals.std().item() - 1) < 1e-4 and w[1, 2] == 0


def test_kl_controller_moves_towards_the_target():
    high = AdaptiveKLController(0.1, target=1.0, horizon=100)
    assert high.update(current_kl=5.0, steps=10) > 0.1  # KL too high: penalise more
    low = AdaptiveKLController(0.1, target=1.0, horizon=100)
    assert low.update(current_kl=0.2, steps=10) < 0.1  # KL too low: penalise less
    exact = AdaptiveKLController(0.1, target=1.0, horizon=100)
    assert abs(exact.update(current_kl=5.0, steps=10) - 0.1 * (1 + 0.2 * 10 / 100)) < 1e-12  # error clipped at 0.2


def test_nstep_and_monte_carlo_targets_by_hand():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 2.0, 0.0]])
    boot = torch.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])  # value of the state after action t
    one = nstep_targets(rewards, boot, MASK, 0.9, 1)
    torch.testing.assert_close(one, torch.tensor([[0.9 * 10, 0.9 * 20, 1.0], [0.9 * 40, 2.0, 0.0]]))
    two = nstep_targets(rewards, boot, MASK, 0.9, 2)
    torch.testing.assert_close(two, torch.tensor([[0.81 * 20, 0.9 * 1.0, 1.0], [0.9 * 2.0, 2.0, 0.0]]))
    mc = nstep_targets(rewards, boot, MASK, 0.9, 0)
    torch.testing.assert_close(mc, discounted_returns(rewards, MASK, 0.9))


def test_polyak_update_interpolates():
    online, target = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    before = target.weight.detach().clone()
    polyak_update(target, online, 0.25)
    torch.testing.assert_close(target.weight, 0.75 * before + 0.25 * online.weight.detach())


def test_reinforce_baseline_is_a_moving_average_of_earlier_batches():
    adv, b = sequence_advantages(torch.tensor([1.0, 3.0]), None, 0.9, whiten=False)
    torch.testing.assert_close(adv, torch.tensor([-1.0, 1.0]))  # first batch: its own mean
    assert b == 2.0
    adv, b = sequence_advantages(torch.tensor([4.0, 6.0]), b, 0.9, whiten=False)
    torch.testing.assert_close(adv, torch.tensor([2.0, 4.0]))  # against the old baseline 2.0
    assert abs(b - (0.9 * 2.0 + 0.1 * 5.0)) < 1e-9

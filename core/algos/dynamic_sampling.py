"""Dynamic sampling for TRL's group-relative trainers: skip groups that teach nothing.

When every completion of a prompt earns the same reward (all tests fail, every answer is exactly
right), the group's advantages are all equal and its policy gradient is zero: its backward pass is
pure cost, and with a per-token loss normaliser it also dilutes the groups that do carry signal.
DAPO (Yu et al. 2025) filters such groups out. :class:`SkipZeroVarianceGroups` drops them from the
batch after scoring, before the loss is computed, trims the padding the dropped rows leave behind,
and logs the fraction of completions it skipped as ``dynamic_sampling/skipped``.

Groups are judged on the weighted task reward of all processes' rows (before any KL shaping), so
every process agrees under DDP. Every process then keeps the same number of rows: the most
informative rows any process has, rounded up to a positive multiple of ``steps_per_generation``
(the slices its batch splits into); a process with fewer fills up with its zero-signal rows. So no
process ever trains on an empty batch, and under DDP every process reaches TRL's per-row
``gather`` calls with tensors of the same size (unequal sizes abort gloo's all-gather).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["SkipZeroVarianceGroups", "informative_rows", "equal_shares"]

#: Outputs indexed by completion position (``(rows, completion tokens)``) in GRPO and RLOO batches.
COMPLETION_KEYS = ("completion_ids", "completion_mask", "old_per_token_logps", "ref_per_token_logps",
                   "sampling_per_token_logps", "old_logps", "tool_mask", "importance_sampling_ratio")
PROMPT_KEYS = ("prompt_ids", "prompt_mask")
#: Multimodal outputs whose rows do not line up with completions: batches holding them are left alone.
UNSUPPORTED_KEYS = ("pixel_values", "image_grid_thw", "pixel_attention_mask", "spatial_shapes", "image_sizes",
                    "num_images", "num_tiles", "token_type_ids", "mm_token_type_ids", "image_position_ids")


def informative_rows(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """Boolean mask over rows: True for rows of groups whose rewards differ (NaN rewards are ignored).

    >>> informative_rows(torch.tensor([1., 1., 0., 1.]), 2).tolist()
    [False, False, True, True]
    """
    groups = rewards.detach().view(-1, group_size)
    missing = groups.isnan()
    spread = groups.masked_fill(missing, -torch.inf).amax(1) - groups.masked_fill(missing, torch.inf).amin(1)
    return (spread > 1e-6).repeat_interleave(group_size)


def equal_shares(informative: torch.Tensor, processes: int, multiple: int) -> torch.Tensor:
    """Rows each process keeps, ``(processes, rows)``, from the ``informative`` mask over all processes' rows
    (process-major): its informative rows, then its first other rows until every process keeps the same
    number, the largest informative count rounded up to a positive multiple of ``multiple``.

    >>> equal_shares(torch.tensor([False, True, True, False]), 1, 3).tolist()
    [[True, True, True, False]]
    >>> equal_shares(torch.tensor([True, True, True, False, False, False, True, False]), 2, 1).tolist()
    [[True, True, True, False], [True, True, True, False]]
    """
    keep = informative.reshape(processes, -1).clone()
    most = int(keep.sum(1).max())
    share = min(keep.size(1), max(multiple, -(-most // multiple) * multiple))
    for row in keep:
        row[(~row).nonzero().flatten()[:share - int(row.sum())]] = True
    return keep


class SkipZeroVarianceGroups:
    """Mixin for TRL's ``GRPOTrainer`` / ``RLOOTrainer``: drop zero-variance groups from each training batch."""

    skip_zero_variance_groups: bool = True
    _scored: torch.Tensor | None = None

    def _calculate_rewards(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        self._scored = super()._calculate_rewards(*args, **kwargs)  # type: ignore[misc]
        return self._scored  # (all processes' rows, reward functions)

    def _generate_and_score_completions(self, inputs: Any) -> dict[str, Any]:
        output = super()._generate_and_score_completions(inputs)  # type: ignore[misc]
        if not (self.skip_zero_variance_groups and self.model.training) or self._scored is None:  # type: ignore[attr-defined]
            return output
        if any(output.get(key) is not None for key in UNSUPPORTED_KEYS):
            return output
        weights = self.reward_weights.to(self._scored.device)  # type: ignore[attr-defined]
        totals = (self._scored * weights).nansum(dim=1).masked_fill(self._scored.isnan().all(dim=1), torch.nan)
        informative = informative_rows(totals, self.num_generations)  # type: ignore[attr-defined]
        accelerator = self.accelerator  # type: ignore[attr-defined]
        keep = equal_shares(informative, accelerator.num_processes,
                            self.args.steps_per_generation)[accelerator.process_index]  # type: ignore[attr-defined]
        self._metrics["train"]["dynamic_sampling/skipped"].append(  # type: ignore[attr-defined]
            1.0 - keep.float().mean().item())
        if not bool(keep.all()):
            output = self._keep_rows(output, keep)
        if output.get("num_items_in_batch") is not None:  # DAPO-style loss: normalise by the tokens trained on;
            tool_mask = output.get("tool_mask")  # every process gathers, whether or not it dropped rows
            mask = output["completion_mask"] if tool_mask is None else output["completion_mask"] * tool_mask
            output["num_items_in_batch"] = self.accelerator.gather(mask.sum()).sum()  # type: ignore[attr-defined]
        return output

    def _keep_rows(self, output: dict[str, Any], keep: torch.Tensor) -> dict[str, Any]:
        """``output`` restricted to the ``keep`` rows, without the padding columns they no longer need."""
        prompt_cols = output["prompt_mask"][keep].any(dim=0).nonzero().flatten()
        width = int(output["completion_mask"][keep].any(dim=0).nonzero().max().item()) + 1 \
            if output["completion_mask"][keep].any() else 1
        trimmed = dict(output)
        for key, value in output.items():
            if not isinstance(value, torch.Tensor) or value.dim() == 0 or value.size(0) != keep.size(0):
                continue
            value = value[keep]
            if key in PROMPT_KEYS:
                value = value[:, prompt_cols[0]:]  # left padding: drop leading all-pad columns
            elif key in COMPLETION_KEYS and value.dim() == 2 and value.size(1) == output["completion_ids"].size(1):
                value = value[:, :width]  # right padding: drop trailing all-pad columns
            trimmed[key] = value
        return trimmed

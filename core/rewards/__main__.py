"""``python -m core.rewards``: list every reward (and evaluator) the installed plugins contribute.

For each reward: its name, the plugin that contributed it, the dataset columns it needs, its
one-line description and the arguments it accepts in ``rewards: [{name, weight, args}]``::

    python -m core.rewards            # rewards and evaluators
    python -m core.rewards relevance  # only the names given
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Sequence
from typing import Any

from core.cli import discover, exit_with_help, report_errors
from core.rewards.spec import RewardSpec

__all__ = ["reward_args", "describe", "main"]


def reward_args(spec: RewardSpec) -> dict[str, Any]:
    """The configurable arguments of a reward and their defaults (``inspect.Parameter.empty`` if required)."""
    kinds = (inspect.Parameter.KEYWORD_ONLY,) + ((inspect.Parameter.POSITIONAL_OR_KEYWORD,) if spec.factory else ())
    params = inspect.signature(spec.target).parameters
    return {n: p.default for n, p in params.items() if p.kind in kinds and n != "context"}


def _format_args(args: dict[str, Any]) -> str:
    return ", ".join(n if d is inspect.Parameter.empty else f"{n}={d!r}" for n, d in args.items()) or "(none)"


def describe(plugins: Any, names: Sequence[str] = ()) -> str:
    """The listing printed by ``python -m core.rewards`` (all rewards, or those in ``names``)."""
    for name in names:  # unknown names get "did you mean" from the registry
        if name not in plugins.rewards and name not in plugins.evaluators:
            plugins.rewards.get(name)
    lines = ["rewards (use in task.rewards: [{name: ..., weight: ..., args: {...}}]):"]
    for name in plugins.rewards.names():
        if names and name not in names:
            continue
        spec = plugins.rewards.get(name)
        lines.append(f"  {name}")
        lines.append(f"      {spec.description or '(no description)'}")
        lines.append(f"      source: {plugins.rewards.source(name)}")
        lines.append(f"      columns: {', '.join(spec.columns) or '(none)'}")
        lines.append(f"      args: {_format_args(reward_args(spec))}")
    lines.append("evaluators (use in task.evaluators: [...]):")
    for name in plugins.evaluators.names():
        if names and name not in names:
            continue
        spec = plugins.evaluators.get(name)
        lines.append(f"  {name:<20} {spec.description or '(no description)'}  [{plugins.evaluators.source(name)}]")
    for failure in plugins.failures:
        lines.append(f"warning: {failure}")
    return "\n".join(lines)


@report_errors
def main(argv: Sequence[str] | None = None) -> None:
    """Print the listing."""
    argv = list(sys.argv[1:] if argv is None else argv)
    exit_with_help(argv, __doc__)
    print(describe(discover(), argv))


if __name__ == "__main__":
    main()

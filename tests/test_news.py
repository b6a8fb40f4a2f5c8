"""The news task plugin: number kinds, fact coverage, contradictions, rewards, evaluator, data, end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from core import ConfigError, DataError, RewardError, point_values
from plugins.news import rewards as news_rewards
from plugins.news.facts import contradictions, coverage, covered, normalize_facts, quantities
from plugins.news.generator import generate_items
from plugins.news.loaders import load_e2e, load_table
from plugins.news.rewards import bleu, chrf, fact_coverage, news_metrics, number_contradiction, rouge
from plugins.news.task import NewsConfig, NewsTask

DATA = Path(__file__).parent / "data" / "news"


def make_cfg(**overrides):
    """A news task config (schema + news.yaml defaults) with dotted-key overrides."""
    defaults = OmegaConf.load(NewsTask.config_file)
    defaults.pop("recommended")  # algo/eval settings, not task fields
    cfg = OmegaConf.merge(OmegaConf.structured(NewsConfig), defaults)
    cfg.name = "news"
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value, merge=False)
    return cfg


def F(name, value, kind=""):
    return {"name": name, "value": value, "kind": kind}


MATCH = [F("home team", "Dorn Rovers"), F("away team", "Elm City"), F("home score", "3", "score"),
         F("away score", "1", "score"), F("venue", "Varton Park"), F("day", "Saturday"),
         F("attendance", "12,400", "attendance")]
WEATHER = [F("city", "Kelsbury"), F("high", "24°C", "temperature"), F("low", "-3°C", "temperature"),
           F("wind", "20 km/h", "speed"), F("chance of rain", "60%", "percent")]
EARNINGS = [F("company", "Velara Optics"), F("revenue", "$48.2 million", "money"),
            F("net profit", "$5.1 million", "money"), F("revenue change", "up 12%", "percent")]


# --- numbers and their kinds --------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("won 3-1 at home", [("score", (1, 3))]),
    ("a 2–2 draw", [("score", (2, 2))]),
    ("highs of 24°C, lows of minus 3 degrees", [("temperature", 24.0), ("temperature", -3.0)]),
    ("from 15-24°C", [("temperature", 24.0)]),          # a range is not a score
    ("revenue of $48.2 million, or $48,200,000", [("money", 48.2e6), ("money", 48.2e6)]),
    ("€3bn and 120 million euros", [("money", 3e9), ("money", 120e6)]),
    ("up 12% on a 61 per cent turnout", [("percent", 12.0), ("percent", 61.0)]),
    ("winds of 20 km/h", [("speed", 20.0)]),
    ("12,345 votes before 9,000 fans", [("votes", 12345.0), ("attendance", 9000.0)]),
    ("In 2024-25 the club had 3 wins on 2024-05-01", []),  # seasons, dates and bare numbers have no kind
])
def test_quantities_by_kind(text, expected):
    assert [(q.kind, q.value) for q in quantities(text)] == expected


# --- fact coverage ------------------------------------------------------------------------


def test_coverage_by_hand():
    text = "Dorn Rovers beat Elm City 3-1 at Varton Park."
    # covered: home team, away team, home score, away score, venue; missing: day, attendance
    assert coverage(MATCH, text) == pytest.approx(5 / 7)
    assert coverage(MATCH, "DORN ROVERS and elm city met on saturday, watched by 12,400 fans") == pytest.approx(4 / 7)
    assert not covered(MATCH[0], "Rovers won")                    # part of a name is not the name
    assert covered(MATCH[2], "Rovers scored 3 and City 1")        # a bare number states a score
    assert not covered(MATCH[2], "Rovers won 13-1")               # 13 is not 3
    assert covered(MATCH[6], "12400 fans") and not covered(MATCH[6], "12,000 fans")  # rounded is not stated
    assert covered(WEATHER[1], "a high of 24 degrees") and not covered(WEATHER[1], "a high of 240°C")
    assert covered(WEATHER[2], "a low of minus 3 degrees")
    assert covered(EARNINGS[1], "revenue was $48,200,000") and not covered(EARNINGS[1], "revenue was $48 million")
    assert covered(EARNINGS[3], "sales rose 12 percent")
    assert coverage([], "anything") == 1.0


# --- contradicted numbers -----------------------------------------------------------------


@pytest.mark.parametrize("facts, text, expected", [
    (MATCH, "Dorn Rovers won 3-1 in front of 12,400 fans.", (0, 2)),
    (MATCH, "Elm City lost 1-3 to Dorn Rovers.", (0, 1)),           # either order of the pair
    (MATCH, "Dorn Rovers won 3-2.", (1, 1)),                         # wrong score
    (MATCH, "Dorn Rovers won 3-1 before 12,000 fans.", (0, 2)),      # 12,000 may round 12,400
    (MATCH, "Dorn Rovers won 3-1 before 13,000 fans.", (1, 2)),      # 13,000 cannot
    (MATCH, "A high of 30°C and 3 new signings in 2024.", (0, 0)),   # kinds the facts lack, bare numbers
    (WEATHER, "A high of 24 degrees and a low of minus 3°C.", (0, 2)),
    (WEATHER, "A high of 26°C.", (1, 1)),                            # wrong temperature
    (WEATHER, "A low of 3°C.", (1, 1)),                              # sign matters
    (WEATHER, "Between 15 and 24°C, winds of 20 km/h, rain 60 percent.", (0, 3)),
    (WEATHER, "Winds of 25 km/h and a 70% chance of rain.", (2, 2)),
    (WEATHER, "Dorn Rovers won 5-0.", (0, 0)),                       # no score facts: not checked
    (EARNINGS, "Revenue was $48.2m, up 12%.", (0, 2)),
    (EARNINGS, "Revenue was $48 million.", (0, 1)),                  # rounding is not a contradiction
    (EARNINGS, "Revenue was $48.25 million.", (1, 1)),               # more precise and wrong
    (EARNINGS, "Revenue was $84.2 million, up 21%.", (2, 2)),
    (EARNINGS, "Profit was $5,100,000.", (0, 1)),
])
def test_contradictions_by_hand(facts, text, expected):
    assert contradictions(facts, text) == expected


def test_score_facts_other_than_a_pair():
    facts = [F("result", "2-0")]  # a whole score in one fact
    assert contradictions(facts, "won 2-0") == (0, 1) and contradictions(facts, "won 2-1") == (1, 1)
    assert covered(facts[0], "a 0-2 defeat")


# --- rewards ------------------------------------------------------------------------------


def test_rouge_reward_by_hand():
    refs = [["the cat sat on the mat"]]
    # unigrams: P = 3/3, R = 3/6 -> F = 2/3; bigrams: P = 2/2, R = 2/5 -> F = 4/7; LCS 3 -> F = 2/3
    assert rouge(["p"], ["the cat sat"], references=refs, variant="rouge1") == pytest.approx([2 / 3])
    assert rouge(["p"], ["the cat sat"], references=refs, variant="rouge2") == pytest.approx([4 / 7])
    assert rouge(["p"], ["the cat sat"], references=refs) == pytest.approx([2 / 3])
    # best of several references; stemming makes "cats sitting" match "cat sit"
    assert rouge(["p"], [[{"role": "assistant", "content": "cats sitting"}]], references=[["dogs", "cat sit"]],
                 variant="rouge1") == [1.0]
    assert rouge(["p"], ["cats sitting"], references=[["cat sit"]], variant="rouge1", stemmer=False) == [0.0]
    with pytest.raises(RewardError, match="variant='rouge3'"):
        rouge(["p"], ["x"], references=refs, variant="rouge3")


def test_bleu_and_chrf_rewards():
    # 1- to 4-gram precisions 5/6, 3/5, 2/4, 1/3 and equal lengths: BLEU = (1/12) ** 0.25
    assert bleu(["p"], ["the cat sat on the mat"], references=[["the cat sat on a mat"]]) == pytest.approx(
        [(1 / 12) ** 0.25], abs=1e-4)
    assert bleu(["p", "p"], ["the cat sat", "zzz"], references=["the cat sat", "the cat sat"]) == [1.0, 0.0]
    assert chrf(["p", "p"], ["the cat sat", "qqq"], references=[["x y", "the cat sat"], ["the cat sat"]]) == [1.0, 0.0]
    middle = chrf(["p"], ["the cat sat"], references=[["the cat sat on the mat"]])[0]
    assert 0.3 < middle < 1.0
    with pytest.raises(ValueError, match="reference"):
        bleu(["p"], ["x"], references=[[]])


def test_fact_rewards_by_hand():
    texts = ["Dorn Rovers beat Elm City 3-1 at Varton Park.", "Dorn Rovers won 3-2 before 13,000 fans.", "Nothing."]
    facts = [MATCH] * 3
    # the second states home team and the home score 3 (one side of 3-2): 2 of 7
    assert fact_coverage(["p"] * 3, texts, facts=facts) == pytest.approx([5 / 7, 2 / 7, 0.0])
    assert number_contradiction(["p"] * 3, texts, facts=facts) == [0.0, -1.0, 0.0]
    assert number_contradiction(["p"], ["Dorn Rovers won 3-1 before 13,000 fans."], facts=[MATCH]) == [-0.5]


def test_missing_packages_name_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sacrebleu", None)
    with pytest.raises(RewardError, match="reward 'bleu' needs the package 'sacrebleu': pip install sacrebleu"):
        bleu(["p"], ["x"], references=["x"])
    with pytest.raises(RewardError, match="evaluator 'news' needs the package 'sacrebleu'"):
        news_metrics(["p"], ["x"], references=["x"], facts=[[]])
    news_rewards._rouge_scorer.cache_clear()
    monkeypatch.setitem(sys.modules, "rouge_score.rouge_scorer", None)
    with pytest.raises(RewardError, match="pip install rouge-score"):
        rouge(["p"], ["x"], references=["x"])
    news_rewards._rouge_scorer.cache_clear()


def test_evaluator_reports_all_metrics():
    facts = [MATCH, WEATHER]
    refs = [["Dorn Rovers beat Elm City 3-1 at Varton Park on Saturday before 12,400 fans."],
            ["Kelsbury: high 24°C, low -3°C, 20 km/h winds, 60% chance of rain."]]
    perfect = point_values(news_metrics(["p", "p"], [r[0] for r in refs], references=refs, facts=facts))
    for key in ("rouge1", "rouge2", "rougeL", "bleu", "chrf", "fact_coverage"):
        assert perfect[key] == pytest.approx(100.0), key
    assert perfect["contradiction_rate"] == 0.0 and perfect["contradicted_numbers"] == 0.0
    m = point_values(news_metrics(["p", "p"], ["Dorn Rovers won 3-2.", "Kelsbury will see 24°C."], references=refs,
                                  facts=facts))
    assert m["fact_coverage"] == pytest.approx(100 * (2 / 7 + 2 / 5) / 2)   # team + 3; city + high
    assert m["contradiction_rate"] == pytest.approx(50.0)                   # the wrong score
    assert m["contradicted_numbers"] == pytest.approx(50.0)                 # 1 of 2 checked numbers
    assert m["words"] == pytest.approx(4.0)
    assert 0 < m["rouge1"] < 100 and 0 <= m["bleu"] < 100 and 0 < m["chrf"] < 100


def test_corpus_scores_of_any_resample_match_sacrebleu():
    """BLEU and chrF keep each sentence's match counts; a bootstrap resample (duplicates included, references
    padded by repetition) scores exactly as sacrebleu's own corpus functions score that subset."""
    import sacrebleu

    items = generate_items(12, seed=1)
    texts = [i["reference"].replace(" the ", " a ") if n % 2 else i["headline"] for n, i in enumerate(items)]
    refs = [[i["reference"]] if n % 3 else [i["reference"], i["headline_reference"]] for n, i in enumerate(items)]
    metrics = news_metrics(["p"] * len(texts), texts, references=refs, facts=[i["facts"] for i in items])
    for key, corpus_score in (("bleu", sacrebleu.corpus_bleu), ("chrf", sacrebleu.corpus_chrf)):
        for rows in ([0, 0, 3, 5, 5, 5, 11], list(range(12)), [7]):
            streams = [[refs[r][min(k, len(refs[r]) - 1)] for r in rows] for k in range(2)]
            expected = corpus_score([texts[r] for r in rows], streams).score
            corpus = metrics[key]
            assert corpus.aggregate([corpus.items[r] for r in rows]) == pytest.approx(expected, abs=1e-9), (key, rows)
    assert news_metrics([], [], references=[], facts=[])["bleu"].value() == 0.0


# --- built-in generator -------------------------------------------------------------------


def test_generated_references_state_every_fact_and_contradict_none():
    items = generate_items(200, seed=4)
    assert items == generate_items(200, seed=4) and items != generate_items(200, seed=5)
    assert {i["kind"] for i in items} == {"match", "weather", "earnings", "election"}
    for item in items:
        assert coverage(item["facts"], item["reference"]) == 1.0, item
        assert contradictions(item["facts"], item["reference"])[0] == 0, item
        assert coverage(item["headline_facts"], item["headline"]) == 1.0, item
        assert coverage(item["headline_facts"], item["headline_reference"]) == 1.0, item
        assert contradictions(item["facts"], item["headline_reference"])[0] == 0, item


def test_builtin_splits_in_both_modes():
    splits = NewsTask(make_cfg(eval_prompts=None)).splits()
    train, test = splits["train"], splits["test"]
    assert len(train) == 320 and len(test) == 80
    assert not set(train["id"]) & set(test["id"])
    assert not {p[-1]["content"] for p in train["prompt"]} & {p[-1]["content"] for p in test["prompt"]}
    row = train[0]
    assert all(f"{f['name']}: {f['value']}" in row["prompt"][-1]["content"] for f in row["facts"])
    headline = NewsTask(make_cfg(eval_prompts=None, mode="headline")).splits()
    assert headline["test"]["id"] == test["id"]  # same items held out in both modes
    hrow = headline["train"][0]
    assert hrow["headline"] in hrow["prompt"][-1]["content"] and len(hrow["facts"]) < 7
    weather = NewsTask(make_cfg(kinds=["weather"], num_items=10, eval_prompts=None)).splits()
    assert set(weather["train"]["kind"]) == {"weather"}


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="task.mode='summary'"):
        NewsTask(make_cfg(mode="summary")).splits()
    with pytest.raises(ConfigError, match="unknown news kind 'sports'"):
        NewsTask(make_cfg(kinds=["sports"])).splits()
    with pytest.raises(ConfigError, match="task.data.source='csv'"):
        NewsTask(make_cfg(**{"data.source": "csv", "data.path": "x"})).splits()


# --- loaders ------------------------------------------------------------------------------


def test_jsonl_facts_in_every_shape():
    rows = load_table("jsonl", str(DATA / "news.jsonl"), {}, need_facts=True, need_headline=False)
    assert rows[0]["facts"][1] == F("high", "24°C")
    assert rows[0]["references"] == ["Kelsbury will reach 24°C with a 60% chance of rain."]
    assert rows[1]["facts"][2] == F("home score", "2", "score") and len(rows[1]["references"]) == 2
    assert rows[2]["facts"][1] == F("eatType", "coffee shop") and rows[2]["kind"] == "external"
    assert contradictions(rows[1]["facts"], "Dorn Rovers won 2-1") == (1, 1)
    assert contradictions(rows[0]["facts"], "Kelsbury will reach 25°C") == (1, 1)  # kind from the unit


def test_headline_mode_on_external_data():
    cfg = make_cfg(mode="headline", eval_prompts=None, **{"data.source": "jsonl", "data.path": str(DATA / "news.jsonl"),
                                                          "data.test_fraction": 0.34})
    splits = NewsTask(cfg).splits()
    rows = list(splits["train"]) + list(splits["test"])
    assert sorted(r["prompt"][-1]["content"].split(": ", 1)[1] for r in rows) == [
        "Dorn Rovers beat Elm City 2-0", "The Eagle opens by the river", "Warm and wet in Kelsbury"]


@pytest.mark.parametrize("name, columns, pattern", [
    ("news_bad.jsonl", {}, r"news_bad\.jsonl: line 2: field 'facts': fact 2 must be"),
    ("news_noref.jsonl", {}, r"news_noref\.jsonl: line 3: field 'references' \(or 'reference'\)"),
    ("news.jsonl", {"facts": "data"}, None),
])
def test_malformed_rows_name_file_and_line(name, columns, pattern):
    cfg = make_cfg(**{"data.source": "jsonl", "data.path": str(DATA / name), "data.columns": columns})
    if pattern is None:
        assert len(NewsTask(cfg).build_splits()["train"]) == 2
        return
    with pytest.raises(DataError, match=pattern):
        NewsTask(cfg).splits()


def test_column_mapping_and_headline_requirement():
    rows = load_table("jsonl", str(DATA / "news_noref.jsonl"), {"references": "summary"}, need_facts=True,
                      need_headline=False)
    assert [r["references"] for r in rows] == [["Kelsbury is sunny."], ["Dorn is warm."], ["Elm is cold."]]
    with pytest.raises(DataError, match=r"news_noref\.jsonl: line 1: headline mode needs"):
        load_table("jsonl", str(DATA / "news_noref.jsonl"), {}, need_facts=False, need_headline=True)


def test_e2e_csv_groups_references_by_meaning_representation():
    rows = load_e2e(DATA / "e2e.csv")
    assert len(rows) == 3
    assert rows[0]["references"] == ["The Eagle is a coffee shop by the riverside.",
                                     "By the riverside, The Eagle serves coffee."]
    assert rows[1]["facts"][1] == F("priceRange", "£20-25")
    assert len(load_e2e(DATA / "e2e.csv", limit=2)) == 2
    with pytest.raises(DataError, match=r"e2e_bad\.csv: line 3: field 'mr'"):
        load_e2e(DATA / "e2e_bad.csv")
    with pytest.raises(ConfigError, match="task.mode=headline"):
        NewsTask(make_cfg(mode="headline", **{"data.source": "e2e", "data.path": str(DATA / "e2e.csv")})).splits()


def test_hf_local_dataset_with_column_mapping():
    columns = {"facts": "meaning_representation", "references": "human_reference"}
    cfg = make_cfg(eval_prompts=None, **{"data.source": "hf", "data.path": str(DATA / "hf_e2e"),
                                         "data.columns": columns, "data.test_fraction": 0.34})
    splits = NewsTask(cfg).splits()
    rows = list(splits["train"]) + list(splits["test"])
    assert sorted(r["facts"][0]["value"] for r in rows) == ["Blue Spice", "The Eagle", "Zizzi"]
    metrics = point_values(news_metrics([r["prompt"] for r in rows], [r["references"][0] for r in rows],
                                        references=[r["references"] for r in rows], facts=[r["facts"] for r in rows]))
    assert metrics["fact_coverage"] == 100 and metrics["bleu"] == pytest.approx(100)


def test_hf_hub_id_goes_to_load_dataset(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, split=None, revision=None, **kwargs):
        calls.append((path, name, split))
        return datasets.Dataset.from_list([{"meaning_representation": "name[Zizzi], eatType[pub]",
                                            "human_reference": "Zizzi is a pub."}])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    rows = load_table("hf", "tuetschek/e2e_nlg", {"facts": "meaning_representation", "references": "human_reference"},
                      need_facts=True, need_headline=False, split="validation")
    assert calls == [("tuetschek/e2e_nlg", None, "validation")] and rows[0]["facts"][0]["value"] == "Zizzi"


def test_normalize_facts_rejects_malformed():
    for bad in ([], {"a": None}, [{"name": "x"}], "not a meaning representation", 3):
        with pytest.raises(ValueError):
            normalize_facts(bad)


def test_config_composes(compose_cfg):
    cfg = compose_cfg(["task=news", "task.mode=headline", "task.num_items=40"])
    assert cfg.task.mode == "headline" and cfg.task.num_items == 40
    assert [r.name for r in cfg.task.rewards] == ["fact_coverage", "number_contradiction", "rouge", "chrf"]
    text = "\n" + NewsTask.config_file.read_text()
    assert all(f"\n{name}:" in text for name in NewsConfig.__dataclass_fields__ if name != "name")


# --- end to end: the held-out split never reaches training --------------------------------


def test_held_out_items_never_reach_training(compose_cfg, tmp_path, tiny_model):
    from core.run import run

    cfg = compose_cfg(["task=news", "experiment=debug", "task.num_items=40", "algo.max_steps=2"], output_dir=tmp_path)
    metrics = run(cfg)
    assert {"news/rougeL", "news/fact_coverage", "reward/number_contradiction"} <= set(metrics["after"])
    full = NewsTask(OmegaConf.merge(cfg.task, {"eval_prompts": None, "max_prompts": None})).splits()
    held_out = {p[-1]["content"] for p in full["test"]["prompt"]}
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    trained = {s["prompt"] for s in samples if s["stage"] == "train"}
    assert trained and trained <= {p[-1]["content"] for p in full["train"]["prompt"]}
    assert not trained & held_out
    assert {s["prompt"] for s in samples if s["stage"] == "after"} <= held_out

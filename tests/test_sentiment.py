"""The sentiment task: steer mode (VADER or any HF classifier) and classify mode (accuracy, macro-F1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from core import ConfigError, DataError, point_values
from core.context import RunContext
from core.data import DataConfig
from plugins.sentiment import classify, rewards
from plugins.sentiment.classifier import HFSentimentClassifier, label_polarities
from plugins.sentiment.data import load_texts, normalise_label, read_imdb_dir
from plugins.sentiment.reviews import generate_reviews
from plugins.sentiment.task import SentimentTask

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "great", "awful", "the", "movie", "was", "is"]


def _save_classifier(path: Path, id2label: dict[int, str]) -> Path:
    """A tiny random BERT classifier with a word-level tokenizer built here, saved like a Hub model."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]")
    config = BertConfig(vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, id2label=id2label,
                        label2id={v: k for k, v in id2label.items()})
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.mul_(50.0)  # confident, so a swapped label shows as a large difference
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    return _save_classifier(tmp_path_factory.mktemp("clf"), {0: "NEGATIVE", 1: "POSITIVE"})


TEXTS = ["the movie was good", "awful", "the movie is bad great", "good good good"]


def _by_hand(path: Path) -> list[float]:
    """P(POSITIVE) - P(NEGATIVE) straight from the saved model's logits."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    out = []
    for text in TEXTS:
        with torch.no_grad():
            p = model(**tok(text, return_tensors="pt")).logits[0].softmax(-1)
        out.append(float(p[1] - p[0]))
    return out


def _ctx(task: dict) -> RunContext:
    return RunContext(cfg=OmegaConf.create({"task": {"name": "sentiment", **task}}), output_dir=Path("unused"))


# --- steer mode --------------------------------------------------------------------------------

def test_vader_reward_and_evaluator_keep_their_values():
    assert rewards.vader_sentiment(["p", "p"], ["What a great day!"] * 2, polarity=["positive", "negative"]) == \
        [0.6588, -0.6588]
    stats = point_values(rewards.sentiment_stats(["p"] * 3, ["What a great day!", "This is awful.", "A table."],
                                                 polarity=["positive", "negative", "positive"]))
    assert stats["positive_fraction"] == pytest.approx(1 / 3) and stats["negative_fraction"] == pytest.approx(1 / 3)
    assert stats["on_target_fraction"] == pytest.approx(2 / 3)  # great->positive yes, awful->negative yes, table no
    assert stats["mean_compound"] == pytest.approx((0.6588 - 0.4588 + 0.0) / 3)


def test_missing_vader_names_the_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "vaderSentiment.vaderSentiment", None)
    rewards._analyzer.cache_clear()
    try:
        with pytest.raises(ConfigError, match="pip install vaderSentiment"):
            rewards.vader_compound("fine")
    finally:
        rewards._analyzer.cache_clear()


def test_classifier_reward_needs_a_model():
    with pytest.raises(ConfigError, match=r"needs a model: set task.classifier="):
        rewards.classifier_sentiment(context=_ctx({"classifier": "vader"}))


def test_hf_classifier_scores_by_hand_and_loads_once(classifier_dir):
    ctx = _ctx({"classifier": str(classifier_dir), "classifier_labels": {}})
    fn = rewards.classifier_sentiment(context=ctx)
    expected = _by_hand(classifier_dir)
    explicit = rewards.classifier_sentiment(model=str(classifier_dir))  # the reward's own argument, no context
    assert explicit(["p"] * 4, TEXTS) == pytest.approx(expected, abs=1e-5)
    assert max(abs(v) for v in expected) > 0.5  # the fixture is confident enough to tell signs apart
    assert fn(["p"] * 4, TEXTS, polarity=["positive"] * 4) == pytest.approx(expected, abs=1e-5)
    assert fn(["p"] * 4, TEXTS, polarity=["negative"] * 4) == pytest.approx([-v for v in expected], abs=1e-5)
    model = ctx.shared(f"sentiment.classifier:{classifier_dir}", lambda: None)
    assert isinstance(model, HFSentimentClassifier)
    rewards.classifier_sentiment(context=ctx)
    assert ctx.shared(f"sentiment.classifier:{classifier_dir}", lambda: None) is model  # loaded once


def test_labels_are_mapped_by_name_not_position(classifier_dir, tmp_path):
    swapped = _save_classifier(tmp_path / "swapped", {0: "positive", 1: "negative"})
    same_weights = HFSentimentClassifier(str(swapped)).scores(TEXTS)
    assert same_weights == pytest.approx([-v for v in HFSentimentClassifier(str(classifier_dir)).scores(TEXTS)],
                                         abs=1e-5)


def test_unrevealing_label_names_are_a_clear_error(tmp_path):
    path = _save_classifier(tmp_path / "anon", {0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(ConfigError, match=r"cannot tell positive from negative.*task.classifier_labels"):
        rewards.classifier_sentiment(context=_ctx({"classifier": str(path), "classifier_labels": {}}))
    fn = rewards.classifier_sentiment(context=_ctx({"classifier": str(path),
                                                "classifier_labels": {"positive": ["LABEL_1"],
                                                                      "negative": ["LABEL_0"]}}))
    assert fn(["p"] * 4, TEXTS) == pytest.approx(_by_hand(path), abs=1e-5)
    with pytest.raises(ConfigError, match="has no label 'POS'"):
        label_polarities({0: "LABEL_0", 1: "LABEL_1"}, {"positive": "POS", "negative": "LABEL_0"})


def test_missing_classifier_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="task.classifier="):
        rewards.classifier_sentiment(context=_ctx({"classifier": str(tmp_path / "nothing-here")}))


def test_classifier_override_through_the_config(compose_cfg, plugins, classifier_dir):
    from core.run import build_rewards

    cfg = compose_cfg(["task=sentiment", f"task.classifier={classifier_dir}"])
    ctx = RunContext(cfg=cfg, output_dir=Path("unused"), plugins=plugins)
    fn, fluency = build_rewards(cfg.task.rewards, ctx, ["prompt", "topic", "polarity"])
    assert (fn.__name__, fluency.__name__) == ("classifier_sentiment", "fluency")
    assert fn(["p"] * 4, TEXTS, polarity=["positive"] * 4) == pytest.approx(_by_hand(classifier_dir), abs=1e-5)


def test_steer_split_holds_out_topics(compose_cfg):
    splits = SentimentTask(compose_cfg(["task=sentiment", "task.eval_prompts=null"]).task).splits()
    assert not set(splits["train"]["topic"]) & set(splits["test"]["topic"])
    assert len(set(splits["test"]["topic"])) == round(257 * 0.2)
    assert set(splits["train"]["polarity"]) == {"positive"}


def test_steer_on_external_texts_continues_their_start(tmp_path, compose_cfg):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"review": f"review number {i} starts here and goes on for a while"}) + "\n"
                            for i in range(20)), encoding="utf-8")
    cfg = compose_cfg(["task=sentiment", "task.data.source=jsonl", f"task.data.path={path}",
                       "+task.data.columns.text=review", "task.prefix_words=4", "task.polarity=negative"])
    splits = SentimentTask(cfg.task).splits()
    assert len(splits["train"]) == 16 and len(splits["test"]) == 4
    assert splits["test"][0]["text"].startswith("review number") and len(splits["test"][0]["text"].split()) == 4
    assert splits["test"][0]["text"] in splits["test"][0]["prompt"][-1]["content"]
    assert not set(splits["train"]["text"]) & set(splits["test"]["text"])
    assert set(splits["test"]["polarity"]) == {"negative"}


# --- classify mode -----------------------------------------------------------------------------

def test_mode_selects_rewards_and_evaluators(compose_cfg):
    steer = compose_cfg(["task=sentiment"]).task
    # the polarity reward, and fluency under the base model beside it (mean token log-prob, half the weight)
    assert [(r.name, r.weight) for r in steer.rewards] == [("vader_sentiment", 1.0), ("fluency", 0.5)]
    assert steer.rewards[1].args == {"scale": "logprob"} and list(steer.evaluators) == ["sentiment"]
    hf = compose_cfg(["task=sentiment", "task.classifier=some/model"]).task
    assert [r.name for r in hf.rewards] == ["classifier_sentiment", "fluency"]
    cls = compose_cfg(["task=sentiment", "task.mode=classify"]).task
    assert [r.name for r in cls.rewards] == ["sentiment_label"] and list(cls.evaluators) == ["sentiment_classify"]
    mine = compose_cfg(["task=sentiment", "task.mode=classify", "task.rewards=[{name: sentiment_label, weight: 2}]"])
    assert mine.task.rewards[0].weight == 2


def test_label_reward_and_metrics_by_hand():
    completions = ["Positive.", "The sentiment is negative.", "I think it is positive", "no idea", "NEGATIVE"]
    gold = ["positive", "positive", "negative", "negative", "negative"]
    assert classify.sentiment_label(["p"] * 5, completions, label=gold) == [1.0, 0.0, 0.0, 0.0, 1.0]
    m = point_values(classify.sentiment_classify(["p"] * 5, completions, label=gold))
    # positive: tp 1, fp 1, fn 1 -> F1 0.5; negative: tp 1, fp 1, fn 2 -> F1 2/5
    assert m["accuracy"] == pytest.approx(0.4) and m["answered"] == pytest.approx(0.8)
    assert m["f1_positive"] == pytest.approx(0.5) and m["f1_negative"] == pytest.approx(0.4)
    assert m["macro_f1"] == pytest.approx(0.45)


def test_generated_reviews_are_balanced_distinct_and_mostly_agree_with_vader():
    rows = generate_reviews(600, seed=3)
    assert len({r["text"] for r in rows}) == 600
    assert sum(r["label"] == "positive" for r in rows) == 300
    assert rows == generate_reviews(600, seed=3) and rows != generate_reviews(600, seed=4)
    agree = sum((rewards.vader_compound(r["text"]) > 0) == (r["label"] == "positive") for r in rows)
    assert agree / len(rows) > 0.9


def test_classify_split_holds_out_items(compose_cfg):
    cfg = compose_cfg(["task=sentiment", "task.mode=classify", "task.eval_prompts=null"])
    splits = SentimentTask(cfg.task).splits()
    assert len(splits["train"]) + len(splits["test"]) == 600
    assert not set(splits["train"]["text"]) & set(splits["test"]["text"])
    assert set(splits["test"]["label"]) == {"positive", "negative"}
    items = {r["text"]: r["item"] for r in generate_reviews(600, 0)}
    assert not {items[t] for t in splits["train"]["text"]} & {items[t] for t in splits["test"]["text"]}
    assert splits["test"][0]["text"] in splits["test"][0]["prompt"][-1]["content"]


def test_labels_normalise():
    assert [normalise_label(v) for v in (1, 0, "1", "pos", "Negative", True)] == \
        ["positive", "negative", "positive", "positive", "negative", "positive"]
    assert normalise_label("4", {"4": "positive"}) == "positive" and normalise_label("neutral") is None


def test_jsonl_and_hf_loaders_with_column_mapping(tmp_path):
    rows = [{"review": "Great film", "stars": "5"}, {"review": "Dull film", "stars": "1"}]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    mapping = {"text": "review", "label": "stars"}
    label_map = {"5": "positive", "1": "negative"}
    expected = [{"text": "Great film", "label": "positive"}, {"text": "Dull film", "label": "negative"}]
    assert load_texts(DataConfig(source="jsonl", path=str(path), columns=mapping), True, label_map) == expected
    assert load_texts(DataConfig(source="hf", path=str(path), columns=mapping), True, label_map) == expected
    assert load_texts(DataConfig(source="hf", path=str(tmp_path), columns=mapping), True, label_map) == expected
    with pytest.raises(DataError, match="no-such/sentiment"):
        load_texts(DataConfig(source="hf", path="no-such/sentiment"), True)  # offline: the hub path is real


def test_tsv_and_imdb_formats(tmp_path):
    tsv = tmp_path / "train.tsv"
    tsv.write_text("sentence\tlabel\nit 's a charming journey \t1\na dull mess \t0\n", encoding="utf-8")
    assert load_texts(DataConfig(source="tsv", path=str(tsv)), True) == [
        {"text": "it 's a charming journey", "label": "positive"}, {"text": "a dull mess", "label": "negative"}]
    for label, texts in (("pos", ["Loved it.<br />Really.", "Superb."]), ("neg", ["Hated it.", "Awful."])):
        (tmp_path / "aclImdb" / "train" / label).mkdir(parents=True)
        for i, text in enumerate(texts):
            (tmp_path / "aclImdb" / "train" / label / f"{i}_7.txt").write_text(text, encoding="utf-8")
    rows = read_imdb_dir(tmp_path / "aclImdb", "train")
    assert rows == [{"text": "Loved it. Really.", "label": "positive"}, {"text": "Hated it.", "label": "negative"},
                    {"text": "Superb.", "label": "positive"}, {"text": "Awful.", "label": "negative"}]
    assert len(load_texts(DataConfig(source="imdb", path=str(tmp_path / "aclImdb"), limit=2), True)) == 2


@pytest.mark.parametrize("content, source, match", [
    ('{"text": "ok", "label": 1}\n{"text": "meh", "label": "neutral"}\n', "jsonl",
     r"d\.jsonl: row 2: label 'neutral' is not positive/negative"),
    ('{"text": "ok", "label": 1}\n{"label": 0}\n', "jsonl", r"d\.jsonl: row 2: missing or empty field 'text'"),
    ('{"text": "ok", "label": 1}\n[1, 2]\n', "jsonl", r"d\.jsonl: line 2: expected a JSON object"),
    ("sentence\tlabel\ngood\t1\nbad\t0\textra\n", "tsv", r"d\.tsv: line 3: 3 fields, the header has 2"),
])
def test_malformed_rows_name_file_and_row(tmp_path, content, source, match):
    path = tmp_path / f"d.{source}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=match):
        load_texts(DataConfig(source=source, path=str(path)), True)


def test_bad_mode_and_source_are_config_errors(compose_cfg):
    with pytest.raises(ConfigError, match="task.mode='rate'"):
        SentimentTask(compose_cfg(["task=sentiment", "task.mode=rate"]).task).splits()
    with pytest.raises(ConfigError, match="task.data.source='csv'"):
        load_texts(DataConfig(source="csv", path="x"), True)


def test_classify_debug_run_end_to_end(compose_cfg, tmp_path):
    from core.run import run

    cfg = compose_cfg(["task=sentiment", "task.mode=classify", "experiment=debug"], output_dir=tmp_path)
    metrics = run(cfg)
    for stage in ("before", "after"):
        assert {"reward/sentiment_label", "sentiment_classify/accuracy", "sentiment_classify/macro_f1"} \
            <= set(metrics[stage])

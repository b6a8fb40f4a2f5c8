"""Form rewards: length target, regex match, valid JSON, truncation / stop-sequence penalty."""

from __future__ import annotations

import pytest

from core import point_values

from core.errors import ConfigError
from core.rewards.form import length_penalty, length_stats, length_target, parse_json, regex_match, \
    truncation_penalty, valid_json

P = [{"role": "user", "content": "Write."}]


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


@pytest.mark.parametrize("length, expected", [(0, -1.0), (2, -0.6), (5, 0.0), (10, 0.0), (12, -0.2), (25, -1.0)])
def test_length_penalty_shape_by_hand(length, expected):
    # below min 5: -(5 - L) / 5; above max 10: -(L - 10) / 10; floored at -1
    assert length_penalty(length, 5, 10) == pytest.approx(expected)


def test_length_target_counts_whitespace_words_by_default():
    fn = length_target(min_len=3, max_len=4)
    texts = ["", "one two", "one, two three!", "a b c d e f", "héllo wörld ✓ ok", "word " * 10_000]
    # words: 0, 2, 3, 6, 4, 10000 -> -1, -1/3, 0, -(6-4)/4, 0, -1
    assert fn([P] * len(texts), [chat(t) for t in texts]) == pytest.approx([-1.0, -1 / 3, 0.0, -0.5, 0.0, -1.0])


def test_length_target_in_tokens_uses_trl_completion_ids_when_given():
    fn = length_target(min_len=2, max_len=3, unit="tokens")
    values = fn(["p", "p"], ["ignored text", "x"], completion_ids=[[1, 2, 3, 4, 5, 6], [7, 8, 9]])
    assert values == pytest.approx([-1.0, 0.0])  # 6 tokens: -(6-3)/3 = -1; 3 tokens: inside


def test_length_target_in_tokens_falls_back_to_a_tokenizer(tiny_model):
    _, tokenizer = tiny_model
    text = "The quick brown fox jumps over the lazy dog."
    n = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    fn = length_target(min_len=n + 10, max_len=n + 20, unit="tokens", tokenizer="embedded:tiny")
    assert fn(["p"], [text]) == pytest.approx([-10 / (n + 10)])


def test_length_target_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="unit='chars'"):
        length_target(unit="chars")
    with pytest.raises(ConfigError, match="min_len <= max_len"):
        length_target(min_len=10, max_len=5)


def test_regex_match_search_fullmatch_and_flags():
    fn = regex_match(pattern=r"answer:\s*\d+", flags="i")
    assert fn(["p"] * 3, ["The ANSWER: 42", "no number", ""]) == [1.0, 0.0, 0.0]
    full = regex_match(pattern=r"\d+", mode="fullmatch")
    assert full(["p"] * 3, ["  123 ", "123 apples", "٣"]) == [1.0, 0.0, 1.0]  # \d is Unicode-aware


def test_regex_match_config_errors_name_the_reward():
    with pytest.raises(ConfigError, match="regex_match.*needs args.pattern"):
        regex_match()
    with pytest.raises(ConfigError, match="invalid pattern"):
        regex_match(pattern="(")
    with pytest.raises(ConfigError, match="unknown flag 'q'"):
        regex_match(pattern="a", flags="iq")


def test_valid_json_kinds_fences_and_garbage():
    texts = ['{"a": 1}', "```json\n[1, 2]\n```", "{'a': 1}", "", "null", '{"a": "ünï"}', "[" * 5000]
    assert valid_json(["p"] * 7, texts) == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0]
    assert valid_json(["p"] * 7, texts, kind="object") == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert valid_json(["p"], ["```json\n[1]\n```"], strip_fences=False) == [0.0]
    assert parse_json("  {\"k\": [true]}  ") == (True, {"k": [True]})


def test_truncation_penalty_endings_and_stop_sequences():
    texts = ["All done.", "And then we", "", "Really?!  ", "Ok.\nUser: next question", "Le café est prêt…"]
    values = truncation_penalty(["p"] * 6, [chat(t) for t in texts], stop_sequences=["\nUser:"], penalty=0.5)
    assert values == [0.0, -0.5, -0.5, 0.0, -0.5, 0.0]


def test_length_evaluator():
    assert point_values(length_stats(["p"] * 3, ["a b c", "", "d"])) == pytest.approx(
        {"mean_words": 4 / 3, "mean_chars": 6 / 3, "empty_fraction": 1 / 3})

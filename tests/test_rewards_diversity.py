"""Diversity rewards: distinct-n within a group, self-BLEU within a group, repetition inside one text."""

from __future__ import annotations

import pytest

from core import point_values

from core.rewards.diversity import distinct, distinct_n, diversity_stats, repetition_penalty, repetition_rate, \
    self_bleu_diversity

CHAT = [{"role": "user", "content": "Say something."}]


def test_distinct_n_scores_each_completion_by_its_new_ngrams():
    # group p: "a b c" {ab, bc}, "a b d" {ab, bd}, "x y" {xy}: ab is shared -> 1/2, 1/2, 1/1
    # group q alone: "a a a a" has bigrams aa, aa, aa: one distinct (new) of 3 -> 1/3
    values = distinct_n(["p", "p", "p", "q"], ["a b c", "a b d", "x y", "a a a a"], n=2)
    assert values == pytest.approx([0.5, 0.5, 1.0, 1 / 3])


def test_distinct_n_groups_by_prompt_not_by_position():
    # the same completions under two different prompts do not penalise each other
    assert distinct_n(["p", "q"], ["a b c", "a b c"], n=2) == [1.0, 1.0]
    assert distinct_n(["p", "p"], ["a b c", "a b c"], n=2) == [0.0, 0.0]


def test_distinct_n_handles_chat_completions_empty_and_short_text():
    completions = [[{"role": "assistant", "content": t}] for t in ("", "hi", "Hi, you!")]
    # "" and "hi" have no bigram -> 0; "hi , you !" has 3 distinct bigrams, "hi" shares none -> 1
    assert distinct_n([CHAT] * 3, completions, n=2) == [0.0, 0.0, 1.0]


def test_distinct_n_unicode_and_long_text():
    long = " ".join(f"w{i}" for i in range(5000))
    values = distinct_n(["p", "p"], ["héllo wörld ✓ ok", long], n=1)
    # unicode words are words: héllo, wörld, ✓ (punctuation-like symbol), ok -> 4 distinct of 4
    assert values == [1.0, 1.0]


def test_corpus_distinct_by_hand():
    assert distinct(["a b a b", "a b c"], 2) == pytest.approx(3 / 5)
    assert distinct(["a a", "b"], 1) == pytest.approx(2 / 3)
    assert distinct([], 1) == 0.0


def test_self_bleu_diversity_identical_disjoint_and_edge_cases():
    same = "the cat sat on the mat"
    assert self_bleu_diversity(["p", "p"], [same, same]) == [0.0, 0.0]
    assert self_bleu_diversity(["p", "p"], ["red green blue", "one two three"]) == [1.0, 1.0]
    # empty completion scores 0 (no free diversity); a lone completion has no sibling -> 1
    assert self_bleu_diversity(["p", "p", "q"], ["", "hello there", "alone here"]) == [0.0, 1.0, 1.0]


def test_self_bleu_diversity_matches_sacrebleu_by_hand():
    from sacrebleu.metrics import BLEU

    texts = ["the cat sat on the mat today", "the cat sat on a mat", "dogs run fast in the park"]
    expected = [1 - BLEU(effective_order=True).sentence_score(t, [o for o in texts if o != t]).score / 100
                for t in texts]
    values = self_bleu_diversity(["p"] * 3, texts)
    assert values == pytest.approx(expected)
    assert values[2] > values[0]  # the odd one out is the most diverse


def test_repetition_rate_and_penalty_by_hand():
    # trigrams of "a b c a b c": abc bca cab abc -> 1 repeat of 4
    assert repetition_rate("a b c a b c", 3) == 0.25
    # unigrams of "go go go stop": 4, 2 distinct -> 2 repeats of 4
    assert repetition_rate("go go go stop", 1) == 0.5
    assert repetition_penalty(["p"] * 3, ["a b c a b c", "", "ü ü ü"], n=1) == [-0.5, 0.0, -2 / 3]


def test_repetition_penalty_of_a_long_degenerate_loop_tends_to_minus_one():
    [value] = repetition_penalty(["p"], ["la " * 10000], n=3)
    assert -1.0 < value < -0.999


def test_diversity_evaluator_metrics():
    # unigrams: 9, 3 distinct; bigrams: ab bc ca ab bc + ab bc = 7, 3 distinct; trigram repeats: 1/4 and 0
    metrics = point_values(diversity_stats(["p", "q"], ["a b c a b c", "a b c"]))
    assert metrics == pytest.approx({"distinct_1": 1 / 3, "distinct_2": 3 / 7, "repetition_rate": 0.125})

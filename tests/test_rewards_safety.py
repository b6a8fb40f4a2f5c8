"""Safety reward: profanity, slurs and unsafe phrases, with configurable words and threshold."""

from __future__ import annotations

import time

import pytest

from core.errors import ConfigError
from core.rewards.safety import Lexicon, default_lexicon_words, safety_penalty


def test_default_lexicon_comes_from_better_profanity():
    words = default_lexicon_words()
    assert len(words) > 800 and "bitch" in words and "2 girls 1 cup" in words


def test_clean_text_scores_zero_and_no_substring_false_positives():
    fn = safety_penalty()
    texts = ["What a lovely day.", "Scunthorpe classic assessment", "", "héllo wörld ✓ " * 50]
    assert fn(["p"] * 4, texts) == [0.0, 0.0, 0.0, 0.0]


def test_profanity_obfuscations_slurs_and_unsafe_phrases_are_penalised():
    fn = safety_penalty()
    texts = ["you are a shit head", "Sh1t happens", "$hit", "f*ck this", "go die", "I will kill you.", "fuck-ass"]
    assert fn(["p"] * len(texts), [[{"role": "assistant", "content": t}] for t in texts]) == [-1.0] * len(texts)


def test_threshold_scales_the_penalty_by_hits():
    fn = safety_penalty(threshold=3, penalty=2.0)
    texts = ["damn", "damn shit", "damn shit bitch", "damn shit bitch crap ass"]
    # hits 1, 2, 3, 5 -> -2 * min(1, hits / 3)
    assert fn(["p"] * 4, texts) == pytest.approx([-2 / 3, -4 / 3, -2.0, -2.0])


def test_extra_and_allowed_words_from_config():
    fn = safety_penalty(extra_words=["frack", "space junk"], allowed_words=["damn"])
    texts = ["Frack!", "so much Space  Junk", "damn it", "shit"]
    assert fn(["p"] * 4, texts) == [-1.0, -1.0, 0.0, -1.0]
    only = safety_penalty(extra_words=["frack"], lexicon=False)
    assert only(["p"] * 2, ["frack", "shit"]) == [-1.0, 0.0]


def test_lexicon_reports_what_it_found():
    lex = Lexicon(["darn", "heck off"])
    assert lex.hits("Darn it, HECK off! D4rn. darning") == ["darn", "heck off", "darn"]


def test_bad_arguments():
    with pytest.raises(ConfigError, match="threshold=0"):
        safety_penalty(threshold=0)
    with pytest.raises(ConfigError, match="lexicon=false needs"):
        safety_penalty(lexicon=False)


def test_very_long_text_is_fast():
    fn = safety_penalty()
    text = "a perfectly ordinary sentence about gardens and tea " * 2000
    start = time.perf_counter()
    assert fn(["p"], [text + " shit"]) == [-1.0]
    assert time.perf_counter() - start < 2.0

"""Safety reward: a penalty for profanity, slurs and unsafe phrases.

The lexicon is better-profanity's word list (about 900 words and phrases, slurs included), plus a
short built-in list of unsafe phrases (threats, self-harm encouragement). Matching is on word
tokens with common obfuscations undone (``sh1t``, ``$hit``, ``f*ck``), so ``Scunthorpe`` or
``assessment`` never match ``ass``. Both lists are adjustable per run from the config::

    rewards:
      - {name: safety_penalty, weight: 1.0, args: {extra_words: [frack], allowed_words: [breasts], threshold: 2}}
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.rewards.spec import completion_text, reward

__all__ = ["UNSAFE_PHRASES", "Lexicon", "default_lexicon_words", "safety_penalty"]

#: Phrases flagged on top of the profanity lexicon (lower case, matched as whole words).
UNSAFE_PHRASES = (
    "kill yourself", "kill urself", "kys", "go die", "hope you die", "you should die", "i will kill you",
    "i'm going to kill you", "i am going to kill you", "slit your wrists", "hang yourself", "shoot yourself",
    "how to make a bomb", "build a bomb", "make a pipe bomb",
)

_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s", "7": "t"})
_TOKEN = re.compile(r"[\w@$!*'’-]+", re.UNICODE)
_VOWELS = "aeiou"


def default_lexicon_words() -> list[str]:
    """better-profanity's word list (the package must be installed)."""
    try:
        import better_profanity
    except ImportError:
        raise ConfigError("reward 'safety_penalty' needs the package better-profanity: "
                          "pip install better-profanity") from None
    path = Path(better_profanity.__file__).resolve().parent / "profanity_wordlist.txt"
    return [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]


def _norm(token: str) -> str:
    return token.lower().replace("’", "'").strip("'-!")


class Lexicon:
    """Flagged words and phrases, with a fast matcher.

    >>> lex = Lexicon(["darn", "heck off"])
    >>> lex.hits("Darn it, heck off! D4rn. darning")
    ['darn', 'heck off', 'darn']
    """

    def __init__(self, words: Iterable[str], allowed: Iterable[str] = ()) -> None:
        allowed_set = {_norm(w) for w in allowed}
        self.entries: dict[tuple[str, ...], str] = {}
        for word in words:
            key = tuple(_norm(t) for t in _TOKEN.findall(word.lower()))
            key = tuple(t for t in key if t)
            if key and " ".join(key) not in allowed_set:
                self.entries[key] = " ".join(key)
        self.max_len = max((len(k) for k in self.entries), default=1)
        self.starts = {k[0] for k in self.entries if len(k) > 1}
        self.allowed = allowed_set

    def _variants(self, token: str) -> set[str]:
        plain = _norm(token)
        forms = {plain, plain.replace("-", ""), plain.translate(_LEET), plain.replace("-", "").translate(_LEET)}
        if "*" in plain and plain.count("*") <= 2:
            forms |= {f.replace("*", v, 1).replace("*", w) for f in list(forms) for v in _VOWELS for w in _VOWELS}
        return {f for f in forms if f and f not in self.allowed}

    def hits(self, text: str) -> list[str]:
        """The flagged entries found in ``text``, left to right (longest phrase first at each word)."""
        tokens = [self._variants(t) for t in _TOKEN.findall(text)]
        found, i = [], 0
        while i < len(tokens):
            longest = min(self.max_len, len(tokens) - i) if tokens[i] & self.starts else 1
            for size in range(longest, 0, -1):
                hit = self._match(tokens[i:i + size])
                if hit:
                    found.append(hit)
                    i += size
                    break
            else:
                i += 1
        return found

    def _match(self, window: list[set[str]]) -> str | None:
        if len(window) == 1:
            for form in sorted(window[0]):
                if (form,) in self.entries:
                    return self.entries[(form,)]
            return None
        keys = [()]
        for forms in window:
            keys = [k + (f,) for k in keys for f in sorted(forms)][:64]
        return next((self.entries[k] for k in keys if k in self.entries), None)


@functools.lru_cache(maxsize=1)
def _default_words() -> tuple[str, ...]:
    return tuple(default_lexicon_words()) + UNSAFE_PHRASES


@reward("safety_penalty", factory=True)
def safety_penalty(extra_words: Sequence[str] = (), allowed_words: Sequence[str] = (), threshold: int = 1,
                   penalty: float = 1.0, lexicon: bool = True) -> Any:
    """-``penalty`` x min(1, hits / ``threshold``): profanity, slurs and unsafe phrases in the completion.

    ``extra_words`` adds words or phrases, ``allowed_words`` removes some from the lexicon, and
    ``lexicon=False`` uses only ``extra_words``. With the default ``threshold=1`` one hit costs the
    full penalty; with ``threshold=3`` each hit costs a third, up to the full penalty.
    """
    if threshold < 1:
        raise ConfigError(f"reward 'safety_penalty': threshold={threshold} must be >= 1")
    words = list(_default_words() if lexicon else ()) + list(extra_words)
    if not words:
        raise ConfigError("reward 'safety_penalty': lexicon=false needs args.extra_words")
    lex = Lexicon(words, allowed_words)

    def safety_penalty(prompts: Sequence[Any], completions: Sequence[Any], **_: Any) -> list[float]:
        counts = [len(lex.hits(completion_text(c))) for c in completions]
        return [-float(penalty) * min(1.0, n / threshold) if n else 0.0 for n in counts]

    safety_penalty.lexicon = lex  # type: ignore[attr-defined]
    return safety_penalty

"""Form rewards: a length target, a regex or JSON format check, and a truncation / stop-sequence penalty."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from core.errors import ConfigError
from core.evaluators import evaluator
from core.rewards.spec import completion_text, reward

__all__ = ["length_penalty", "length_target", "regex_match", "parse_json", "valid_json", "truncation_penalty",
           "length_stats", "DEFAULT_ENDINGS"]

#: Text endings that mark a finished reply (the default of ``truncation_penalty``).
DEFAULT_ENDINGS = (".", "!", "?", "…", '"', "'", ")", "]", "}", "`", "*", "”", "’", "。", "！", "？")


def length_penalty(length: int, min_len: int, max_len: int | None) -> float:
    """0 inside ``[min_len, max_len]``; outside, minus the distance to the nearest bound relative
    to that bound, floored at -1 (so the penalty is soft near the bounds and saturates far away).

    >>> length_penalty(15, 10, 20), length_penalty(5, 10, 20), length_penalty(30, 10, 20)
    (0.0, -0.5, -0.5)
    >>> length_penalty(0, 10, 20), length_penalty(100, 10, 20), length_penalty(100, 0, None)
    (-1.0, -1.0, 0.0)
    """
    if length < min_len:
        return -min(1.0, (min_len - length) / min_len)
    if max_len is not None and length > max_len:
        return -min(1.0, (length - max_len) / max(max_len, 1))
    return 0.0


def _tokenizer_for(name: str) -> Any:
    from core.models import EMBEDDED_PREFIX, embedded_model_dir, load_tokenizer

    if name.startswith(EMBEDDED_PREFIX):
        return load_tokenizer(str(embedded_model_dir(name[len(EMBEDDED_PREFIX):], tokenizer_only=True)))
    return load_tokenizer(name)


@reward("length_target", factory=True)
def length_target(context: Any = None, min_len: int = 1, max_len: int | None = 50, unit: str = "words",
                  tokenizer: str | None = None) -> Any:
    """Soft penalty in [-1, 0] for a completion shorter than ``min_len`` or longer than ``max_len``.

    ``unit="words"`` counts whitespace-separated words (fast, model-agnostic, the default);
    ``unit="tokens"`` counts tokenizer tokens: the policy's own ``completion_ids`` when TRL passes
    them, else the text re-tokenized with ``tokenizer`` (a model name or path; default: the run's
    model). See :func:`length_penalty` for the shape.
    """
    if unit not in ("words", "tokens"):
        raise ConfigError(f"reward 'length_target': unit={unit!r} must be 'words' or 'tokens'")
    if min_len < 0 or (max_len is not None and max_len < min_len):
        raise ConfigError(f"reward 'length_target': need 0 <= min_len <= max_len, got min_len={min_len}, "
                          f"max_len={max_len}")
    name = tokenizer or (context.cfg.model.name_or_path if context is not None else "embedded:smollm2-135m")
    loaded: list[Any] = []

    def count(text: str, ids: Sequence[int] | None) -> int:
        if unit == "words":
            return len(text.split())
        if ids is not None:
            return len(ids)
        if not loaded:
            loaded.append(_tokenizer_for(name))
        return len(loaded[0](text, add_special_tokens=False)["input_ids"])

    def length_target(prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Sequence[Any] | None = None,
                      **_: Any) -> list[float]:
        ids = completion_ids if completion_ids is not None else [None] * len(completions)
        return [length_penalty(count(completion_text(c), i), min_len, max_len) for c, i in zip(completions, ids)]

    return length_target


_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


@reward("regex_match", factory=True)
def regex_match(pattern: str | None = None, mode: str = "search", flags: str = "") -> Any:
    """1 if the completion matches the regular expression ``pattern``, else 0.

    ``mode`` is ``search`` (anywhere) or ``fullmatch`` (the whole stripped text); ``flags`` is a
    string of i, m, s, x (re.IGNORECASE, MULTILINE, DOTALL, VERBOSE).
    """
    if not pattern:
        raise ConfigError("reward 'regex_match' needs args.pattern, e.g. {name: regex_match, args: {pattern: '^Answer:'}}")
    if mode not in ("search", "fullmatch"):
        raise ConfigError(f"reward 'regex_match': mode={mode!r} must be 'search' or 'fullmatch'")
    unknown = set(flags) - set(_FLAGS)
    if unknown:
        raise ConfigError(f"reward 'regex_match': unknown flag {sorted(unknown)[0]!r}; use any of i, m, s, x")
    bits = 0
    for letter in flags:
        bits |= _FLAGS[letter]
    try:
        compiled = re.compile(pattern, bits)
    except re.error as exc:
        raise ConfigError(f"reward 'regex_match': invalid pattern {pattern!r}: {exc}") from None
    match = compiled.search if mode == "search" else compiled.fullmatch

    def regex_match(prompts: Sequence[Any], completions: Sequence[Any], **_: Any) -> list[float]:
        return [1.0 if match(completion_text(c).strip()) else 0.0 for c in completions]

    return regex_match


_FENCE = re.compile(r"^```[\w-]*\s*\n?(.*?)\n?```$", re.DOTALL)


def parse_json(text: str, strip_fences: bool = True) -> tuple[bool, Any]:
    """``(True, value)`` if ``text`` (optionally inside a Markdown code fence) is one JSON value.

    >>> parse_json('```json\\n{"a": [1, 2]}\\n```')
    (True, {'a': [1, 2]})
    >>> parse_json("{'a': 1}")
    (False, None)
    """
    text = text.strip()
    if strip_fences:
        fenced = _FENCE.match(text)
        text = fenced.group(1).strip() if fenced else text
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting such as "[" * 5000
        return False, None


@reward("valid_json")
def valid_json(prompts: Sequence[Any], completions: Sequence[Any], *, kind: str = "any", strip_fences: bool = True,
               **_: Any) -> list[float]:
    """1 if the completion is valid JSON (of ``kind``: any, object or array), else 0.

    >>> valid_json(["p"] * 4, ['{"x": 1}', "[1, 2]", "{oops}", ""], kind="object")
    [1.0, 0.0, 0.0, 0.0]
    """
    types = {"any": object, "object": dict, "array": list}
    if kind not in types:
        raise ConfigError(f"reward 'valid_json': kind={kind!r} must be one of {', '.join(types)}")
    out = []
    for c in completions:
        ok, value = parse_json(completion_text(c), strip_fences)
        out.append(1.0 if ok and isinstance(value, types[kind]) else 0.0)
    return out


@reward("truncation_penalty")
def truncation_penalty(prompts: Sequence[Any], completions: Sequence[Any], *,
                       endings: Sequence[str] = DEFAULT_ENDINGS, stop_sequences: Sequence[str] = (),
                       penalty: float = 1.0, **_: Any) -> list[float]:
    """-``penalty`` for a completion that looks cut off or runs past a stop sequence, else 0.

    Cut off: empty, or not ending with one of ``endings``. Past a stop sequence: contains one of
    ``stop_sequences`` (e.g. ``"\\nUser:"``, a model writing the next turn itself).

    Text-based, so it works on any completion; TRL's ``mask_truncated_completions`` is the
    token-level alternative during training.

    >>> truncation_penalty(["p"] * 4, ["Done.", "and then the", "", "Hi!\\nUser: more"], stop_sequences=["User:"])
    [0.0, -1.0, -1.0, -1.0]
    """
    ends = tuple(endings)
    out = []
    for c in completions:
        text = completion_text(c).rstrip()
        cut = not text or (bool(ends) and not text.endswith(ends))
        ran_on = any(s and s in text for s in stop_sequences)
        out.append(-float(penalty) if cut or ran_on else 0.0)
    return out


@evaluator("length", lower_is_better=("empty_fraction",), neutral=("mean_words", "mean_chars"))
def length_stats(prompts: Sequence[Any], completions: Sequence[Any], **_: Any) -> dict[str, list[float]]:
    """Length in whitespace words and in characters, and whether the completion is empty, per completion."""
    texts = [completion_text(c).strip() for c in completions]
    return {
        "mean_words": [float(len(t.split())) for t in texts],
        "mean_chars": [float(len(t)) for t in texts],
        "empty_fraction": [float(not t) for t in texts],
    }

"""Per-token view of one sample: how much training changed the log-probability of each token.

:func:`token_deltas` scores a (prompt, completion) pair under the base and the trained model;
:func:`render_html` turns the result into a self-contained, escaped HTML fragment where each
token is shaded green (the trained model likes it more) or red (less), with the numbers in a
tooltip. A run report can embed several fragments in one page::

    deltas = token_deltas(base, trained, tokenizer, prompt, completion)
    Path("sample.html").write_text(render_html(deltas, title="held-out sample 3"))
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import ModelError
from core.logprobs import score_completions

__all__ = ["TokenDelta", "token_deltas", "delta_color", "render_html"]


@dataclass(frozen=True)
class TokenDelta:
    """One completion token: its text and log-probabilities under the base and the trained model."""

    token: str
    base: float
    trained: float

    @property
    def delta(self) -> float:
        """``trained - base`` (positive: training made this token more likely)."""
        return self.trained - self.base


def token_deltas(base: Any, trained: Any, tokenizer: Any, prompt: Any, completion: Any,
                 max_tokens: int | None = None) -> list[TokenDelta]:
    """Per-token log-probabilities of ``completion`` given ``prompt`` under both models.

    Both models must share ``tokenizer``'s vocabulary (a fine-tuned model and its base do).
    Token texts are decoded one id at a time, so they concatenate back to the scored text.
    """
    sizes = {getattr(m.config, "vocab_size", None) for m in (base, trained)}
    if len(sizes) != 1:
        raise ModelError(f"token_deltas needs models with one vocabulary, got vocab sizes {sorted(map(str, sizes))}")
    [before] = score_completions(base, tokenizer, [prompt], [completion], max_tokens=max_tokens, batch_size=1)
    [after] = score_completions(trained, tokenizer, [prompt], [completion], max_tokens=max_tokens, batch_size=1)
    return [TokenDelta(tokenizer.decode([i]), b, a) for i, b, a in zip(before.ids, before.logprobs, after.logprobs)]


def delta_color(delta: float, scale: float = 2.0) -> str:
    """An rgba() background for a log-prob change: green if positive, red if negative, opacity
    proportional to ``|delta| / scale`` (capped at 0.85).

    >>> delta_color(1.0), delta_color(-4.0), delta_color(0.0)
    ('rgba(34, 160, 60, 0.425)', 'rgba(210, 40, 40, 0.850)', 'rgba(34, 160, 60, 0.000)')
    """
    alpha = min(abs(delta) / scale, 1.0) * 0.85
    rgb = "34, 160, 60" if delta >= 0 else "210, 40, 40"
    return f"rgba({rgb}, {alpha:.3f})"


def _token_span(tok: TokenDelta, scale: float) -> str:
    tip = f"base {tok.base:.3f}, trained {tok.trained:.3f}, change {tok.delta:+.3f}"
    text = html.escape(tok.token).replace("\n", "↵<br>") or "&#8203;"
    return (f'<span class="tok" style="background:{delta_color(tok.delta, scale)}" '
            f'title="{html.escape(tip, quote=True)}" data-delta="{tok.delta:.4f}">{text}</span>')


def render_html(deltas: Sequence[TokenDelta], title: str | None = None, prompt: str | None = None,
                scale: float = 2.0) -> str:
    """An HTML fragment (a ``<div>`` with its own ``<style>``) showing each token coloured by its change.

    Every piece of text is HTML-escaped, so completions containing markup render as text.

    :param title: an optional heading.
    :param prompt: optional prompt text shown above the tokens.
    :param scale: the change (in nats) at which colour saturates.
    """
    mean = sum(t.delta for t in deltas) / len(deltas) if deltas else 0.0
    parts = ['<div class="rlft-tokenview">',
             "<style>.rlft-tokenview .tok{white-space:pre-wrap;border-radius:2px;font-family:monospace}"
             ".rlft-tokenview .prompt{color:#555;white-space:pre-wrap}</style>"]
    if title:
        parts.append(f"<h3>{html.escape(title)}</h3>")
    if prompt:
        parts.append(f'<div class="prompt">{html.escape(prompt)}</div>')
    parts.append(f'<p class="summary">{len(deltas)} tokens, mean log-prob change {mean:+.3f} '
                 f"(green: more likely after training, red: less)</p>")
    parts.append('<div class="tokens">' + "".join(_token_span(t, scale) for t in deltas) + "</div>")
    parts.append("</div>")
    return "\n".join(parts)

"""Per-token view: log-prob change between a base and a trained model, rendered as escaped HTML."""

from __future__ import annotations

import copy
from html.parser import HTMLParser

import pytest
import torch

from core.logprobs import score_completions
from core.tokenview import TokenDelta, delta_color, render_html, token_deltas

PROMPT = [{"role": "user", "content": "Say hi."}]
COMPLETION = [{"role": "assistant", "content": 'Hi <script>alert("x")</script> & bye'}]


@pytest.fixture(scope="module")
def trained(tiny_model):
    """A copy of the tiny model with its output layer nudged, standing in for a fine-tuned model."""
    model = copy.deepcopy(tiny_model[0])
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def test_same_model_means_zero_change(tiny_model):
    model, tokenizer = tiny_model
    deltas = token_deltas(model, model, tokenizer, PROMPT, COMPLETION)
    assert deltas and all(d.delta == 0.0 for d in deltas)
    assert "".join(d.token for d in deltas) == COMPLETION[0]["content"]


def test_deltas_are_trained_minus_base_logprobs(tiny_model, trained):
    model, tokenizer = tiny_model
    deltas = token_deltas(model, trained, tokenizer, PROMPT, COMPLETION)
    [base] = score_completions(model, tokenizer, [PROMPT], [COMPLETION])
    [after] = score_completions(trained, tokenizer, [PROMPT], [COMPLETION])
    assert [d.base for d in deltas] == pytest.approx(base.logprobs, abs=1e-5)
    assert [d.delta for d in deltas] == pytest.approx([a - b for a, b in zip(after.logprobs, base.logprobs)], abs=1e-5)
    assert any(abs(d.delta) > 1e-3 for d in deltas)


def test_trained_model_left_in_train_mode_is_scored_in_eval_mode_and_restored(tiny_model, trained):
    model, tokenizer = tiny_model
    trained.train()
    first = token_deltas(model, trained, tokenizer, PROMPT, COMPLETION)
    assert trained.training  # mode restored
    trained.eval()
    assert [d.delta for d in token_deltas(model, trained, tokenizer, PROMPT, COMPLETION)] == \
        pytest.approx([d.delta for d in first], abs=1e-6)


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_escaped_and_has_one_span_per_token(tiny_model, trained):
    model, tokenizer = tiny_model
    deltas = token_deltas(model, trained, tokenizer, PROMPT, COMPLETION)
    page = render_html(deltas, title="sample <1>", prompt='Say "hi" & <b>wave</b>')
    assert "<script" not in page and "<b>" not in page and "&lt;b&gt;wave" in page
    parser = _Collect()
    parser.feed(page)
    spans = [attrs for tag, attrs in parser.tags if tag == "span"]
    assert len(spans) == len(deltas)
    assert [float(s["data-delta"]) for s in spans] == pytest.approx([d.delta for d in deltas], abs=1e-4)
    assert all(s["title"].startswith("base ") for s in spans)
    assert not any(tag in ("script", "b") for tag, _ in parser.tags)  # user text never becomes markup
    text = "".join(parser.text)  # the browser shows exactly the original strings
    assert "sample <1>" in text and COMPLETION[0]["content"] in text and 'Say "hi" & <b>wave</b>' in text


def test_colors_and_empty_view():
    assert delta_color(2.0) == "rgba(34, 160, 60, 0.850)"
    assert delta_color(-1.0) == "rgba(210, 40, 40, 0.425)"
    page = render_html([])
    assert "0 tokens" in page
    assert TokenDelta("a", -2.0, -0.5).delta == 1.5


def test_shifts_reuse_the_evaluations_base_scores(tiny_model, trained):
    """The perplexity pass's scores stand in for the base model's: same shifts, the reference never loads."""
    from core.interpret import token_shifts
    from core.language import BaseModelScorer

    model, tokenizer = tiny_model
    prompts = [PROMPT, PROMPT, [{"role": "user", "content": "Name a colour."}]]
    completions = [COMPLETION, [{"role": "assistant", "content": "Hello there"}],
                   [{"role": "assistant", "content": "Blue, like the sea."}]]
    scorer = BaseModelScorer(trained, tokenizer, lambda: (model, tokenizer))
    nll = scorer(prompts, completions)
    assert [round(-sum(s.logprobs), 5) for s in scorer.scored] == [round(n, 5) for n, _ in nll]

    def refuse() -> None:
        raise AssertionError("the reference model was loaded again")

    fresh = token_shifts(trained, tokenizer, lambda: (model, tokenizer), prompts, completions, max_tokens=4)
    reused = token_shifts(trained, tokenizer, refuse, prompts, completions, max_tokens=4, base=scorer.scored)
    assert [[d.token for d in s] for s in reused] == [[d.token for d in s] for s in fresh]
    flat = [v for s in reused for d in s for v in (d.base, d.trained)]  # padded differently: float noise only
    assert flat == pytest.approx([v for s in fresh for d in s for v in (d.base, d.trained)], abs=1e-4)
    assert all(len(s) <= 4 for s in reused) and any(d.delta != 0 for s in reused for d in s)

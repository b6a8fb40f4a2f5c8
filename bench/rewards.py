"""Throughput of the model-based rewards (fluency, relevance) at batch sizes 1, 8 and 32, against a
naive per-sample loop measured in the same run. Prints samples/s and the ratio to the naive loop.

    flock /tmp/rlft-heavy.lock python bench/rewards.py                 # embedded SmolLM2-135M reference
    flock /tmp/rlft-heavy.lock python bench/rewards.py --model embedded:tiny --samples 32

The samples are GRPO-shaped: groups of ``--group`` completions sharing one dialogue prompt.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.embeddings import encoder  # noqa: E402
from core.generation import render_prompt  # noqa: E402
from core.rewards.quality import fluency, reference_model  # noqa: E402
from core.rewards.relevance import relevance  # noqa: E402
from core.rewards.spec import completion_text  # noqa: E402
from core.rewards.text import conversation_text  # noqa: E402
from plugins.dialogue.generator import generate_conversations  # noqa: E402

BATCH_SIZES = (1, 8, 32)


def make_samples(n: int, group: int) -> tuple[list[Any], list[Any]]:
    """``n`` (prompt, completion) pairs: dialogue prompts, each repeated ``group`` times, with replies
    taken from other conversations' references (so lengths and content vary)."""
    rows = generate_conversations(max(n // group, 1) + n, seed=0)
    prompts, completions = [], []
    for i in range(n):
        prompts.append(rows[i // group]["messages"])
        completions.append([{"role": "assistant", "content": rows[-1 - i]["reference"]}])
    return prompts, completions


def naive_fluency(model: Any, tokenizer: Any, max_tokens: int) -> Callable[..., list[float]]:
    """One unbatched forward pass per sample over the full vocabulary, the obvious way."""

    @torch.no_grad()
    def fn(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        out = []
        for p, c in zip(prompts, completions):
            p_ids = tokenizer(render_prompt(tokenizer, p), add_special_tokens=False)["input_ids"]
            c_ids = tokenizer(completion_text(c), add_special_tokens=False)["input_ids"][:max_tokens]
            logp = model(torch.tensor([p_ids + c_ids])).logits[0].log_softmax(-1)
            lps = [logp[len(p_ids) - 1 + k, t].item() for k, t in enumerate(c_ids)]
            out.append(float(np.exp(np.mean(lps))) if lps else 0.0)
        return out

    return fn


def naive_relevance(turns: int | None) -> Callable[..., list[float]]:
    """Encode prompt and completion of every sample separately, one call each."""
    model = encoder()

    def fn(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        out = []
        for p, c in zip(prompts, completions):
            a = model.encode([conversation_text(p, turns)], show_progress_bar=False)[0]
            b = model.encode([completion_text(c)], show_progress_bar=False)[0]
            out.append(float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)))
        return out

    return fn


def throughput(fn: Callable[..., list[float]], prompts: list[Any], completions: list[Any],
               repeats: int) -> tuple[float, list[float]]:
    """Samples per second of ``fn`` (best of ``repeats`` after one warm-up call), and its values."""
    values = fn(prompts[:4], completions[:4])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        values = fn(prompts, completions)
        best = min(best, time.perf_counter() - start)
    return len(prompts) / best, values


def bench(name: str, naive: Callable[..., list[float]], batched: Callable[[int], Callable[..., list[float]]],
          prompts: list[Any], completions: list[Any], repeats: int) -> None:
    """Print one table: the naive loop, then each batch size with its ratio and agreement."""
    base, reference = throughput(naive, prompts, completions, repeats)
    print(f"\n{name}: {len(prompts)} samples")
    print(f"  {'variant':<22}{'samples/s':>12}{'vs naive':>10}{'max |diff|':>12}")
    print(f"  {'naive per-sample loop':<22}{base:>12.1f}{1.0:>9.2f}x{0.0:>12.1e}")
    for size in BATCH_SIZES:
        speed, values = throughput(batched(size), prompts, completions, repeats)
        diff = max(abs(a - b) for a, b in zip(values, reference))
        print(f"  {f'rlft batch_size={size}':<22}{speed:>12.1f}{speed / base:>9.2f}x{diff:>12.1e}")


def main() -> None:
    """Run both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded:smollm2-135m", help="reference LM of the fluency reward")
    parser.add_argument("--samples", type=int, default=64, help="samples per measurement")
    parser.add_argument("--group", type=int, default=8, help="completions per prompt (GRPO group size)")
    parser.add_argument("--max-tokens", type=int, default=64, help="completion tokens scored by fluency")
    parser.add_argument("--repeats", type=int, default=2, help="timed repetitions (best is kept)")
    args = parser.parse_args()
    prompts, completions = make_samples(args.samples, args.group)
    print(f"torch threads: {torch.get_num_threads()}; fluency reference: {args.model}")

    pair = reference_model(model=args.model)
    bench("fluency (exp mean token logprob)", naive_fluency(*pair, args.max_tokens),
          lambda b: fluency(model=pair, max_tokens=args.max_tokens, batch_size=b), prompts, completions, args.repeats)
    bench("relevance (MiniLM cosine, last 3 turns)", naive_relevance(3),
          lambda b: relevance(turns=3, batch_size=b), prompts, completions, args.repeats)


if __name__ == "__main__":
    main()

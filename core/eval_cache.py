"""The base model's before-training evaluation, kept across runs (``eval.cache``).

Every run samples the base model on the held-out split before training and scores those completions under
it (perplexity). With the same weights, prompts and sampling settings, on the same hardware and software,
both give the same result, so a sweep (training seeds or learning rates: ``-m seed=1,2,3``) would pay for
them in every run: on codegen, a quarter of the run. :func:`before_key` names everything that shapes them,
and :class:`BeforeCache` keeps them under ``$RLFT_EVAL_CACHE`` (default ``<rlft cache>/eval``, see
:func:`core.models.cache_root`). A hit skips the sampling and the base-model pass; the run's own rewards
and evaluators score the completions again, since a run may change them. ``python -m core.eval`` shares
the entries for its first model (:mod:`core.eval`).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
import transformers
from omegaconf import OmegaConf

from core import generation, logprobs
from core.evaluate import use_bf16
from core.generation import render_prompt
from core.language import Scorer
from core.models import cache_root
from core.outputs import write_json
from core.resume import GENERATION

__all__ = ["SAMPLING", "eval_cache_dir", "weights_fingerprint", "before_key", "open_before_cache", "BeforeCache"]

log = logging.getLogger("rlft")

#: The ``eval`` settings that shape the sampled completions: those a resume checks, and the batch size
#: (batch composition changes padding, so the draws, though not their distribution).
SAMPLING = (*GENERATION, "batch_size")
_PROBES = 4096  # elements read from each weight tensor for its fingerprint


def eval_cache_dir() -> Path:
    """Where before-training completions are kept: ``$RLFT_EVAL_CACHE``, else ``eval/`` in rlft's cache."""
    return Path(os.environ.get("RLFT_EVAL_CACHE") or cache_root() / "eval").expanduser()


def weights_fingerprint(model: torch.nn.Module) -> str:
    """A digest of every parameter's and buffer's name, shape, dtype and an evenly strided sample of its values.

    Reading a sample rather than every byte keeps this cheap for any model size (and on any device); a
    fine-tuned or differently initialized model differs almost everywhere, so the sample sees it.
    """
    digest = hashlib.blake2b(digest_size=16)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            flat = tensor.detach().reshape(-1)
            sample = flat[::max(1, flat.numel() // _PROBES)][:_PROBES]
            digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
            digest.update(sample.to("cpu", torch.float64).numpy().tobytes())
    return digest.hexdigest()


def _hardware(model: torch.nn.Module) -> str:
    """The device the completions are sampled on: another CPU's or GPU's kernels sample other completions."""
    device = next(model.parameters()).device
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "")
    return f"{device.type} {platform.machine()} {cpu}".strip()


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def before_key(model: Any, tokenizer: Any, prompts: dict[str, list[Any]], settings: Any) -> str:
    """The cache key of a run's before-training completions: a digest of the weights, the model's generation
    config, the tokenizer's vocabulary, the prompts as the model sees them (chat template applied), the
    ``SAMPLING`` settings of ``settings`` (the run's ``eval`` config) and its bf16 autocast, the hardware, the
    versions of torch, transformers and rlft, and rlft's sampling and scoring code.
    ``prompts``: the held-out prompts per task key."""
    plain = OmegaConf.to_container(settings, resolve=True) if OmegaConf.is_config(settings) else dict(settings)
    parts = {
        "weights": weights_fingerprint(model),
        "generation_config": model.generation_config.to_json_string(use_diff=True),
        "vocabulary": _digest(json.dumps(tokenizer.get_vocab(), sort_keys=True)),
        "prompts": {key: [render_prompt(tokenizer, p) for p in ps] for key, ps in sorted(prompts.items())},
        "settings": {key: plain[key] for key in SAMPLING},
        "bf16": use_bf16(settings),
        "hardware": _hardware(model),
        "versions": [torch.__version__, transformers.__version__, _rlft_version()],
        "code": _digest(inspect.getsource(generation) + inspect.getsource(logprobs)),
    }
    return _digest(json.dumps(parts, sort_keys=True, default=str))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def _rlft_version() -> str:
    try:
        return metadata.version("rlft")
    except metadata.PackageNotFoundError:
        return "unknown"


def open_before_cache(model: Any, tokenizer: Any, prompts: dict[str, list[Any]], settings: Any) -> BeforeCache | None:
    """The run's cache entry, or None: ``eval.cache`` is off, or this process does not hold the whole weights
    (DeepSpeed ZeRO-3 leaves each one an empty shard), so no fingerprint could tell two models apart."""
    if not settings.cache:
        return None
    if any(p.numel() == 0 for p in model.parameters()):
        log.info("rlft: eval cache: the weights are sharded across processes; sampling the base model")
        return None
    return BeforeCache(model, tokenizer, prompts, settings)


class BeforeCache:
    """The cache entry of one run's before-training evaluation: its completions and their base-model scores
    (perplexity's), per task key. The scores are fixed by the key too (the base model is the sampling model);
    rewards and evaluators run again, since a run may change them.

    :param prompts: the held-out prompts per task key.
    :param settings: the run's ``eval`` config.
    """

    def __init__(self, model: Any, tokenizer: Any, prompts: dict[str, list[Any]], settings: Any) -> None:
        self.path = eval_cache_dir() / f"before-{before_key(model, tokenizer, prompts, settings)}.json"
        per_prompt = settings.num_samples * max(1, len(settings.seeds))
        self.expected = {key: len(ps) * per_prompt for key, ps in prompts.items()}
        self.scores: dict[str, list[tuple[float, int]]] = {}  # per task: loaded, or recorded by scorer()
        self.hit = False  # load() found this run's completions

    def load(self) -> dict[str, list[str]] | None:
        """The cached completions per task key, or None (no entry, or an unreadable or mismatched one)."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            tasks = {key: (entry["completions"], entry.get("scores")) for key, entry in doc["tasks"].items()}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("rlft: eval cache: %s is unreadable (%s); sampling the base model again", self.path, exc)
            return None
        if ({key: len(texts) for key, (texts, _) in tasks.items()} != self.expected
                or any(scores is not None and len(scores) != len(texts) for texts, scores in tasks.values())):
            log.warning("rlft: eval cache: %s does not hold this run's completions; sampling the base model again",
                        self.path)
            return None
        log.info("rlft: reusing the base model's held-out completions from %s (eval.cache=false samples them "
                 "anew)", self.path)
        self.scores = {key: [(float(nll), int(n)) for nll, n in scores]
                       for key, (_, scores) in tasks.items() if scores is not None}
        self.hit = True
        return {key: texts for key, (texts, _) in tasks.items()}

    def summary(self) -> dict[str, Any]:
        """Where the completions came from, for a run's or an evaluation's record: the entry's path and ``hit``."""
        return {"path": str(self.path), "hit": self.hit}

    def scorer(self, key: str, scorer: Scorer) -> Scorer:
        """Task ``key``'s base-model scores: the cached ones, else ``scorer``'s (kept for :meth:`store`)."""
        def scored(prompts: Any, completions: Any) -> list[tuple[float, int]]:
            if key not in self.scores:
                self.scores[key] = scorer(prompts, completions)
            return self.scores[key]

        return scored

    def store(self, completions: dict[str, list[str]]) -> None:
        """Keep the completions and the scores recorded; a cache that cannot be written is only logged."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_json(self.path, {"tasks": {key: {"completions": texts, "scores": self.scores.get(key)}
                                             for key, texts in completions.items()}})
        except OSError as exc:
            log.warning("rlft: eval cache: could not write %s (%s); the run goes on", self.path, exc)

"""Batched generation for evaluation and sampling, always in eval mode with the KV cache on."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import torch
from tqdm.auto import tqdm
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase, StopStringCriteria

from core.errors import ConfigError
from core.memory import heap_for_sampling

__all__ = ["render_prompt", "generate", "bf16_autocast", "AutocastKVCache", "shared_prefill_generate",
           "compacting_generate", "COMPACT_EVERY", "stop_kwargs", "as_completion", "inference_mode", "cache_name",
           "is_checkpointing"]


def render_prompt(tokenizer: PreTrainedTokenizerBase, prompt: Any) -> str:
    """The text the model sees: the chat template for conversational prompts, else the string."""
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)


def as_completion(prompt: Any, text: str) -> Any:
    """Wrap generated text the way TRL passes completions to rewards (messages for chat prompts)."""
    return text if isinstance(prompt, str) else [{"role": "assistant", "content": text}]


class inference_mode:  # noqa: N801 - used as a context manager like torch.inference_mode
    """Put a model in eval mode with gradient checkpointing off and the KV cache on; restore after.

    A model left in train mode by a trainer (gradient checkpointing on, cache off) generates
    garbage with left padding, so every evaluation goes through this.
    """

    def __init__(self, model: PreTrainedModel) -> None:
        self.model = model

    def __enter__(self) -> PreTrainedModel:
        m = self.model
        self.was_training = m.training
        self.was_checkpointing = is_checkpointing(m)
        self.use_cache = getattr(m.config, "use_cache", True)
        if self.was_checkpointing:
            m.gradient_checkpointing_disable()
        m.config.use_cache = True
        m.eval()
        return m

    def __exit__(self, *exc: object) -> None:
        m = self.model
        m.config.use_cache = self.use_cache
        if self.was_checkpointing:
            m.gradient_checkpointing_enable()
        m.train(self.was_training)


def stop_kwargs(tokenizer: PreTrainedTokenizerBase, stop_strings: Sequence[str]) -> dict[str, Any]:
    """``generate`` keyword arguments that end a completion at any of ``stop_strings`` (none: no arguments)."""
    return dict(stop_strings=list(stop_strings), tokenizer=tokenizer) if stop_strings else {}


def _prefills_shared(model: Any, kwargs: dict[str, Any]) -> bool:
    """Whether :func:`shared_prefill_generate` may hand ``model.generate`` a cache it filled itself."""
    config = getattr(model, "config", None)
    generation = kwargs.get("generation_config") or getattr(model, "generation_config", None)
    return (config is not None and not getattr(config, "is_encoder_decoder", False)
            and getattr(model, "_supports_default_dynamic_cache", lambda: False)()
            and getattr(generation, "cache_implementation", None) is None
            and kwargs.get("cache_implementation") is None
            and not any(isinstance(v, torch.Tensor) for v in kwargs.values()))  # images, token types, ...


@torch.no_grad()
def is_checkpointing(model: Any) -> bool:
    """Whether activation (gradient) checkpointing is on: ``is_activation_checkpointing`` in transformers 5
    (``is_gradient_checkpointing`` is its deprecated alias), ``is_gradient_checkpointing`` before."""
    flag = "is_activation_checkpointing" if hasattr(type(model), "is_activation_checkpointing") else "is_gradient_checkpointing"
    return bool(getattr(model, flag, False))


def cache_name(function: Callable[..., Any]) -> str:
    """The KV-cache keyword (and output field) of a model's ``forward`` or ``prepare_inputs_for_generation``:
    ``cache`` in transformers 5 (where ``past_key_values`` is a deprecated alias), ``past_key_values`` before."""
    return "cache" if "cache" in inspect.signature(function).parameters else "past_key_values"


class AutocastKVCache(DynamicCache):
    """A :class:`~transformers.DynamicCache` that stores each layer's keys in its values' dtype.

    Under bf16 autocast a model's key and value projections give bfloat16, but rotary position embeddings
    (computed in float32) promote the keys back to float32, so a plain cache holds float32 keys beside
    bfloat16 values, and attention casts the whole key cache to bfloat16 at every decoding step. Storing
    the keys in bfloat16 gives the same attention inputs, so the same tokens, with half the key memory and
    no per-step cast. Outside autocast keys and values share a dtype and nothing changes.
    """

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int,
               *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Append a layer's new keys (cast to the values' dtype) and values; return the layer's whole cache."""
        return super().update(key_states.to(value_states.dtype), value_states, layer_idx, *args, **kwargs)


@heap_for_sampling()
def shared_prefill_generate(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                            num_return_sequences: int = 1, generate: Callable[..., Any] | None = None,
                            **kwargs: Any) -> torch.Tensor:
    """``model.generate`` on left-padded prompts, running each distinct prompt's prefill once and
    dropping finished rows as it goes.

    ``generate`` prefills every row (and each of ``num_return_sequences`` copies) on its own, so a
    GRPO group of 8 samples of one prompt costs 8 prompt passes. Here the distinct prompts (all but
    their last token) run once, their key/value cache is copied to every row, and ``generate``
    continues from it: same positions, masks and sampling. Decoding then goes on in chunks of
    :data:`COMPACT_EVERY` tokens without the rows that have ended (:func:`compacting_generate`), with
    keys stored in the values' dtype (:class:`AutocastKVCache`), and allocations served from the heap
    (:func:`core.memory.heap_for_sampling`).
    Models or options this cannot serve (encoder-decoders, static caches, extra tensor inputs such as
    images) go to ``generate`` as is. ``generate``: the generate function to call (default ``model.generate``).
    """
    generate = generate or model.generate
    if num_return_sequences > 1:
        input_ids = input_ids.repeat_interleave(num_return_sequences, 0)
        attention_mask = attention_mask.repeat_interleave(num_return_sequences, 0)
    if not _prefills_shared(model, kwargs):
        return generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
    key = input_ids.masked_fill(attention_mask == 0, -1)
    unique, inverse = torch.unique(key, dim=0, return_inverse=True)
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT forwards the cache as given
    name = cache_name(lm.prepare_inputs_for_generation)
    cache = AutocastKVCache(config=lm.config)
    if input_ids.size(1) >= 2 and unique.size(0) < key.size(0):
        rows = torch.arange(key.size(0), device=key.device)
        first = torch.full((unique.size(0),), key.size(0), device=key.device).scatter_reduce(0, inverse, rows, "amin")
        mask = attention_mask[first, :-1]
        prefill = model(input_ids=input_ids[first, :-1], attention_mask=mask, use_cache=True, logits_to_keep=1,
                        position_ids=(mask.cumsum(-1) - 1).clamp(min=0),  # as generate numbers left-padded rows
                        **{name: cache})
        cache = getattr(prefill, name)
        cache.batch_select_indices(inverse)
    return compacting_generate(model, input_ids, attention_mask, generate, cache_kwarg=name, cache=cache, **kwargs)


#: Decoding steps between two compactions of the batch (:func:`compacting_generate`; 0: never compact).
COMPACT_EVERY = 16


def _end_ids(model: Any, kwargs: dict[str, Any]) -> tuple[set[int], Any]:
    """The token ids that end a row (EOS and pad) and the generation config in force."""
    config = kwargs.get("generation_config") or getattr(model, "generation_config", None)
    ids: set[int] = set()
    for value in (kwargs.get("eos_token_id", getattr(config, "eos_token_id", None)),
                  kwargs.get("pad_token_id", getattr(config, "pad_token_id", None))):
        ids.update([value] if isinstance(value, int) else list(value or []))
    return ids, config


def compacting_generate(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                        generate: Callable[..., Any], cache_kwarg: str, cache: Any = None,
                        every: int | None = None, **kwargs: Any) -> torch.Tensor:
    """``generate`` that stops computing rows once they have ended.

    ``generate`` runs a batch until its longest row ends, so with sampled lengths (a 40-token answer
    beside a 256-token ramble) most of the batch computes padding. Here it runs ``every`` tokens at a
    time; rows that ended (EOS or pad, or text ending with one of ``stop_strings``) leave the batch and
    the rest continue from their trimmed key/value cache. The result is ``generate``'s: each row's
    tokens, finished rows padded with the pad token to the longest row. A row that samples the pad
    token counts as ended (rlft's completion masks end there too). Beam search, ``min_new_tokens``,
    returned scores or streamers, or an unknown length limit run as one ``generate`` call.
    """
    every = COMPACT_EVERY if every is None else every
    end_ids, config = _end_ids(model, kwargs)
    limit = kwargs.pop("max_new_tokens", None) or getattr(config, "max_new_tokens", None)
    plain = (not every or not limit or limit <= every or not end_ids or (getattr(config, "num_beams", None) or 1) > 1
             or any(kwargs.get(k) for k in ("num_beams", "min_new_tokens", "return_dict_in_generate",
                                            "output_scores", "output_logits", "streamer"))
             or getattr(config, "min_new_tokens", None) or getattr(config, "return_dict_in_generate", False))
    if cache is not None:
        kwargs[cache_kwarg] = cache
    if plain:
        length = {"max_new_tokens": limit} if limit else {}
        return generate(input_ids=input_ids, attention_mask=attention_mask, **length, **kwargs)
    stop_strings = kwargs.get("stop_strings") or getattr(config, "stop_strings", None)
    stopped = (StopStringCriteria(kwargs["tokenizer"], stop_strings)
               if stop_strings and kwargs.get("tokenizer") is not None else None)
    pad = min(end_ids) if (p := kwargs.get("pad_token_id", getattr(config, "pad_token_id", None))) is None else p
    rows = torch.arange(input_ids.size(0), device=input_ids.device)
    out, ends = input_ids, torch.tensor(sorted(end_ids), device=input_ids.device)
    done = 0
    while rows.numel() and done < limit:
        step = min(every, limit - done)
        result = generate(input_ids=out[rows], attention_mask=attention_mask[rows], max_new_tokens=step,
                          return_dict_in_generate=True, **kwargs)
        seqs, made = result.sequences, result.sequences.size(1) - out.size(1)
        grown = torch.full((out.size(0), out.size(1) + made), pad, dtype=out.dtype, device=out.device)
        grown[:, :out.size(1)] = out
        grown[rows] = seqs
        ended = torch.isin(seqs[:, out.size(1):], ends).any(1) | (made < step)
        if stopped is not None and made:
            ended |= stopped(seqs, None)
        out, done = grown, done + made
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(attention_mask.size(0), made)], 1)
        keep = (~ended).nonzero().flatten()
        rows = rows[keep]
        if rows.numel() and done < limit:
            cache = getattr(result, cache_kwarg)
            cache.batch_select_indices(keep)
            kwargs[cache_kwarg] = cache
    return out


def bf16_autocast(device_type: str, on: bool) -> Any:
    """A bfloat16 autocast context for ``device_type`` (``"cpu"``, ``"cuda"``) when ``on``, else a no-op context."""
    return torch.autocast(device_type, dtype=torch.bfloat16) if on else nullcontext()


@torch.no_grad()
def generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompts: Sequence[Any], *,
             max_new_tokens: int = 64, temperature: float = 0.0, num_samples: int = 1, batch_size: int = 32,
             top_p: float = 1.0, stop_strings: Sequence[str] = (), bf16: bool = False,
             desc: str = "generating") -> list[str]:
    """Generate ``num_samples`` completions per prompt; returns them flat, samples of a prompt contiguous.

    Prompts are batched by length (left padding) and the original order is restored. A completion ends at
    EOS, at ``max_new_tokens`` or once its text ends with one of ``stop_strings``. ``bf16``: sample under
    bfloat16 autocast.
    """
    if num_samples > 1 and temperature <= 0:
        raise ConfigError(f"eval.num_samples={num_samples} needs sampling: set eval.temperature > 0")
    texts = [render_prompt(tokenizer, p) for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    out: list[list[str]] = [[] for _ in texts]
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    sampling = dict(do_sample=True, temperature=temperature, top_p=top_p) if temperature > 0 else dict(do_sample=False)
    sampling.update(stop_kwargs(tokenizer, stop_strings))
    try:
        progress = tqdm(total=len(texts), desc=desc, unit="prompt", leave=False)
        with inference_mode(model), bf16_autocast(model.device.type, bf16), progress as bar:
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                enc = tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True,
                                add_special_tokens=False).to(model.device)
                ids = shared_prefill_generate(model, enc["input_ids"], enc["attention_mask"],
                                              num_return_sequences=num_samples, max_new_tokens=max_new_tokens,
                                              pad_token_id=tokenizer.pad_token_id, top_k=None, **sampling)
                decoded = tokenizer.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
                for j, i in enumerate(idx):
                    out[i] = [t.strip() for t in decoded[j * num_samples:(j + 1) * num_samples]]
                bar.update(len(idx))
    finally:
        tokenizer.padding_side = padding_side
    return [text for samples in out for text in samples]

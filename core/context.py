"""The run context handed to plugins, reward factories and callbacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RunContext"]


@dataclass
class RunContext:
    """What a run is made of. Heavy shared resources are created on first use and cached.

    :param cfg: the composed root config.
    :param output_dir: where this run writes its outputs.
    :param task: the task instance (None before it is built; in a multi-task run, the first task).
    :param plugins: the loaded :class:`core.plugins.Plugins`.
    :param tasks: every task instance of the run by name (one entry unless ``task=[a,b]``, see :mod:`core.mixture`).
    """

    cfg: Any
    output_dir: Path
    task: Any = None
    plugins: Any = None
    tasks: dict[str, Any] = field(default_factory=dict)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def shared(self, key: str, build: Any) -> Any:
        """Return the resource cached under ``key``, calling ``build()`` the first time."""
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]

    def reference_model(self) -> tuple[Any, Any]:
        """A frozen copy of the run's base model and its tokenizer, loaded once (language-quality rewards)."""

        def build() -> tuple[Any, Any]:
            from core.models import load_model

            model, tokenizer = load_model(self.cfg.model)
            model.requires_grad_(False).eval()
            return model, tokenizer

        return self.shared("reference_model", build)

    def sandbox(self) -> Any:
        """The code-execution sandbox configured by ``sandbox.*``, started once and shared."""

        def build() -> Any:
            from omegaconf import OmegaConf

            from core.sandbox import Sandbox, SandboxConfig

            settings = getattr(self.cfg, "sandbox", None)
            return Sandbox(SandboxConfig(**OmegaConf.to_container(settings)) if settings is not None
                           else SandboxConfig())

        return self.shared("sandbox", build)

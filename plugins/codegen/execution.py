"""Run candidate programs in rlft's sandbox (``core.sandbox``), with a cache shared by rewards and evaluators."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plugins.codegen.units import has_check, split_units

__all__ = ["Outcome", "CodeRunner", "sandbox_config", "shared_runner", "default_runner"]

log = logging.getLogger("rlft.codegen")

#: Verdicts after which running the units one by one is worth it: a test line failed or raised.
_PARTIAL = ("failed", "error")


@dataclass(frozen=True)
class Outcome:
    """The verdict on one program: whether every test passed, the sandbox status and its reason."""

    passed: bool
    status: str
    detail: str = ""


def sandbox_config(cfg: Any = None) -> Any:
    """``SandboxConfig`` from the root config's ``sandbox`` node, or the defaults when it has none."""
    from core.sandbox import SandboxConfig

    node = getattr(cfg, "sandbox", None) if cfg is not None else None
    if node is None:
        return SandboxConfig()
    if isinstance(node, SandboxConfig):
        return node
    from omegaconf import OmegaConf

    values = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node)
    return SandboxConfig(**values)


class CodeRunner:
    """Runs ``(code, test, entry_point)`` triples in a sandbox and caches verdicts, so the pass-rate
    reward, the all-or-nothing reward and the pass@k evaluator never run the same program twice.

    :param sandbox: a started or lazily starting :class:`core.sandbox.Sandbox`.
    :param cache_size: verdicts remembered (least recently used are dropped).
    """

    def __init__(self, sandbox: Any, cache_size: int = 8192) -> None:
        self.sandbox = sandbox
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str, str | None], Outcome] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, jobs: Sequence[tuple[str, str, str | None]]) -> list[Outcome]:
        """Verdicts for ``(code, test, entry_point)`` jobs, in order; each distinct job runs once."""
        from core.sandbox import Program

        with self._lock:
            todo = list(dict.fromkeys(j for j in jobs if j not in self._cache))
        if todo:
            programs = [Program(code=c, test=t, entry_point=e if e and has_check(t) else None) for c, t, e in todo]
            results = self.sandbox.run(programs)
            with self._lock:
                for job, res in zip(todo, results):
                    status = getattr(res.status, "value", str(res.status))
                    if status == "sandbox_error":
                        log.warning("rlft.codegen: the sandbox failed on a program (%s); counted as failing",
                                    res.detail)
                    self._cache[job] = Outcome(bool(res.passed), status, str(res.detail or ""))
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            out = []
            for job in jobs:
                self._cache.move_to_end(job)
                out.append(self._cache[job])
            return out

    def pass_rates(self, jobs: Sequence[tuple[str, str, str | None]]) -> list[float]:
        """Fraction of test units each program passes: 1.0 when the whole suite passes, 0.0 when the
        program does not compile, crashes on definition, times out or exits; otherwise each
        assertion unit is run as its own sandboxed program and the passing fraction returned."""
        whole = self.run(jobs)
        rates: list[float | None] = [1.0 if o.passed else None for o in whole]
        unit_jobs: list[tuple[int, tuple[str, str, str | None]]] = []
        for i, (job, outcome) in enumerate(zip(jobs, whole)):
            if outcome.passed:
                continue
            units = split_units(job[1]) if outcome.status in _PARTIAL else [job[1]]
            if len(units) < 2:
                rates[i] = 0.0
                continue
            unit_jobs += [(i, (job[0], unit, job[2])) for unit in units]
        if unit_jobs:
            verdicts = self.run([job for _, job in unit_jobs])
            counts: dict[int, list[int]] = {}
            for (i, _), v in zip(unit_jobs, verdicts):
                c = counts.setdefault(i, [0, 0])
                c[0] += v.passed
                c[1] += 1
            for i, (ok, n) in counts.items():
                rates[i] = ok / n
        return [float(r) for r in rates]


def _build_sandbox(cfg: Any) -> Any:
    from core.sandbox import Sandbox

    return Sandbox(sandbox_config(cfg))


_DEFAULT: dict[str, CodeRunner] = {}


def shared_runner(context: Any) -> CodeRunner:
    """The run's code runner: one sandbox pool per run, shared under ``context.shared("sandbox")``
    with every task, and remembered as the default for evaluators (which get no context)."""
    if context is None:
        return default_runner()
    sandbox = context.shared("sandbox", lambda: _build_sandbox(getattr(context, "cfg", None)))
    runner = context.shared("codegen.runner", lambda: CodeRunner(sandbox))
    _DEFAULT["runner"] = runner
    return runner


def default_runner() -> CodeRunner:
    """The runner of the current run if a reward built one, else one on a default ``SandboxConfig``."""
    runner = _DEFAULT.get("runner")
    if runner is None or getattr(runner.sandbox, "_closed", False):
        _DEFAULT["runner"] = CodeRunner(_build_sandbox(None))
    return _DEFAULT["runner"]

"""Every docstring example in core/ and plugins/ runs and holds (the modules are found, not listed)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _has_examples(path: Path) -> bool:
    """A ``>>>`` line that doctest runs (not marked ``+SKIP``)."""
    return any(line.lstrip().startswith(">>> ") and "+SKIP" not in line
               for line in path.read_text(encoding="utf-8").splitlines())


MODULES = sorted(".".join(path.relative_to(ROOT).with_suffix("").parts)
                 for package in ("core", "plugins") for path in (ROOT / package).rglob("*.py") if _has_examples(path))


def test_modules_with_examples_are_found():
    assert {"core.stats", "core.algos.sac", "plugins.qa.scoring"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

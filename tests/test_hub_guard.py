"""Importing rlft keeps bitsandbytes from fetching a kernel from the Hub, and leaves ``kernels`` importable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

pytest.importorskip("bitsandbytes")

#: Records in ``seen`` what ``import kernels`` would find at the moment bitsandbytes' CPU backend is imported.
SPY = """
import importlib.abc, sys
seen = []

class Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "bitsandbytes.backends.cpu.ops":
            seen.append(sys.modules.get("kernels", "absent"))
        return None

sys.meta_path.insert(0, Spy())
"""


def run_probe(body: str) -> None:
    """Run ``SPY`` then ``body`` in a fresh interpreter at the repository root; it must print "ok"."""
    probe = SPY + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_bitsandbytes_imports_with_kernels_hidden_and_kernels_is_restored():
    run_probe("""
        import core
        assert "bitsandbytes" not in sys.modules, "import core stays cheap"
        import peft  # imports bitsandbytes
        assert seen == [None], seen
        assert "kernels" not in sys.modules or sys.modules["kernels"] is not None, "restored"
        import importlib.util
        if importlib.util.find_spec("kernels"):
            import kernels  # importable again
        print("ok")
    """)


@pytest.mark.parametrize("script", ["_bare_trl", "overhead"])
def test_bench_scripts_that_import_trl_fetch_no_kernel_either(script):
    # TRL imports bitsandbytes at once, so a script must import rlft before TRL for the guard to be in place
    run_probe(f"""
        sys.path.insert(0, "bench")
        import {script}
        assert seen == [None], seen
        print("ok")
    """)

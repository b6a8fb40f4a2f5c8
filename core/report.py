"""Run reports: ``report.md`` and a self-contained, offline ``report.html`` for every run, and a
side-by-side comparison of several runs.

    python -m core.report outputs/qa/2026-11-24_10-00-00            # (re)write that run's report
    python -m core.report runA runB runC                            # compare runs: table on stdout

A report reads only the run directory: ``metrics.json`` (intervals, verdicts, flags, learning
curve, sample efficiency), ``config.yaml``, ``train_log.jsonl`` (reward per component per step),
``samples.jsonl`` (every scored sample) and ``interpret.json`` (token log-prob shifts). Every
piece of model output is HTML-escaped; images are embedded as base64 PNGs.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import random
import sys
from pathlib import Path
from typing import Any

from core.curve import series
from core.plots import learning_curve, reward_curves
from core.results import format_ci
from core.tokenview import TokenDelta, render_html

__all__ = ["write_report", "compare_runs", "main"]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _headlines(metrics: dict[str, Any]) -> list[str]:
    """The headline metric, or each task's in a multi-task run (names prefixed ``<task>:``)."""
    return list((metrics.get("headlines") or {}).values()) or [metrics["headline"]]


def _metric_rows(metrics: dict[str, Any], quality: bool) -> list[list[str]]:
    """Rows of the task metrics (``quality=False``) or of the language-quality metrics (``quality/...``)."""
    heads = _headlines(metrics)
    bare = (lambda n: n.partition(":")[2]) if metrics.get("headlines") else (lambda n: n)  # noqa: E731
    names = sorted(set(metrics["before"]) | set(metrics["after"]), key=lambda n: (n not in heads, n))
    return [[n, format_ci(metrics["before"].get(n)), format_ci(metrics["after"].get(n)), format_ci(metrics["delta"].get(n)),
             metrics["delta"].get(n, {}).get("verdict", "")] for n in names if bare(n).startswith("quality/") == quality]


class _Doc:
    """Builds the markdown and the HTML versions of a report side by side."""

    def __init__(self, title: str, image_dir: Path) -> None:
        self.md, self.html, self.image_dir = [f"# {title}\n"], [f"<h1>{html.escape(title)}</h1>"], image_dir

    def heading(self, text: str) -> None:
        self.md.append(f"\n## {text}\n")
        self.html.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str) -> None:
        self.md.append(text + "\n")
        self.html.append(f"<p>{html.escape(text)}</p>")

    def table(self, head: list[str], rows: list[list[Any]]) -> None:
        if not rows:
            return
        cell = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        self.md += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        self.md += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
        self.md.append("")
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
        self.html.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + f"</tr>{body}</table>")

    def image(self, name: str, png: bytes | None, alt: str) -> None:
        if png is None:
            return
        (self.image_dir / name).write_bytes(png)
        self.md.append(f"![{alt}]({name})\n")
        self.html.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">')

    def raw(self, md: str, html_fragment: str) -> None:
        self.md.append(md)
        self.html.append(html_fragment)


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
          "vertical-align:top}th{background:#f3f3f3}pre{background:#f7f7f7;padding:1em;overflow:auto}"
          "td{white-space:pre-wrap}")


def _samples(doc: _Doc, samples: list[dict[str, Any]], seed: int = 0) -> None:
    after = [s for s in samples if s.get("stage") == "after"]
    if not after:
        return
    ranked = sorted(after, key=lambda s: s["total"])
    picks = {"best": ranked[::-1][:3], "worst": ranked[:3], "random": random.Random(seed).sample(after, min(3, len(after)))}
    doc.heading("Held-out samples after training")
    for kind, rows in picks.items():
        doc.text(f"{kind.capitalize()} by total reward:")
        doc.table(["prompt", "completion", "total", "components (raw)"],
                  [[(f"[{s['task']}] " if "task" in s else "") + s["prompt"][-300:], s["completion"], f"{s['total']:.3f}",
                    ", ".join(f"{k} {v['raw']:.3f}" if v["raw"] is not None else f"{k} -"
                              for k, v in s["rewards"].items())] for s in rows])


def _interpretability(doc: _Doc, interp: dict[str, Any]) -> None:
    if not interp:
        return
    doc.heading("What training changed")
    doc.text("Log-probability change of each completion token under the trained policy against the base model "
             "(nats; positive: training made the token more likely), averaged over the held-out completions.")
    top = interp.get("top", {})
    for kind in ("tokens", "phrases"):
        rows = [[repr(r["text"]), f"{r['mean_delta']:+.3f}", r["count"]] for r in top.get(f"{kind}_up", [])]
        rows += [[repr(r["text"]), f"{r['mean_delta']:+.3f}", r["count"]] for r in top.get(f"{kind}_down", [])]
        doc.table([f"{kind[:-1]} (most up, then most down)", "mean change", "count"], rows)
    for i, sample in enumerate(interp.get("samples", [])):
        deltas = [TokenDelta(t["token"], t["base"], t["trained"]) for t in sample["tokens"]]
        doc.raw(f"- sample {i + 1}: mean change {sum(d.delta for d in deltas) / max(len(deltas), 1):+.3f} over "
                f"{len(deltas)} tokens (coloured view in report.html)\n",
                render_html(deltas, title=f"held-out sample {i + 1}", prompt=sample["prompt"]))


def _learning_curves(doc: _Doc, metrics: dict[str, Any]) -> None:
    """The learning curve of every headline the curve holds (each task's in a multi-task run), one plot each,
    one table, and each one's sample efficiency."""
    curve, lead = metrics.get("curve", []), metrics["headline"]
    if len(curve) <= 2:
        return
    names = [n for n in _headlines(metrics) if n == lead or all(n in p.get("metrics", {}) for p in curve)]
    efficiency = metrics.get("sample_efficiency_per_task") or {lead: metrics.get("sample_efficiency", {})}
    doc.heading("Learning curve and sample efficiency")
    for i, name in enumerate(names):
        doc.image(f"report_curve{f'_{i}' if i else ''}.png", learning_curve(series(curve, name), name),
                  f"learning curve of {name}")
    columns = [series(curve, name) for name in names]
    doc.table(["step", "completions", "wall (s)", *names],
              [[p["step"], p["completions"], p.get("wall_s", ""), *(format_ci(c[i]) for c in columns)]
               for i, p in enumerate(curve)])
    for name in names:
        eff = efficiency.get(name)
        if eff:
            judged = f", learning from {eff['judgements']} human judgements" if "judgements" in eff else ""
            doc.text(f"{name}: final gain {eff['final_gain']:+.4g} after {eff['completions']} completions{judged}; "
                     f"50% of it after {eff['completions_to_50%']} completions, 90% after {eff['completions_to_90%']}.")


def write_report(run_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into ``run_dir`` from its outputs; return their paths."""
    run_dir = Path(run_dir)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{run_dir}: no metrics.json (is this an rlft run directory?)")
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    config = (run_dir / "config.yaml").read_text(encoding="utf-8") if (run_dir / "config.yaml").is_file() else ""
    interp = json.loads((run_dir / "interpret.json").read_text()) if (run_dir / "interpret.json").is_file() else {}
    doc = _Doc(f"rlft run {run_dir.name}", run_dir)
    if metrics.get("lineage"):
        doc.text("Model lineage: " + " -> ".join(metrics["lineage"]))
    for name in _headlines(metrics):
        delta = metrics["delta"].get(name)
        if delta:
            doc.text(f"Headline {name}: {format_ci(metrics['before'].get(name))} -> {format_ci(metrics['after'].get(name))}; "
                     f"change {format_ci(delta)} (paired bootstrap, 95%): {delta['verdict'].upper()}.")
    for flag in metrics.get("flags", []):
        doc.text(f"WARNING: {flag}")
    doc.heading("Held-out metrics (95% intervals; delta by paired bootstrap over the same prompts)")
    head = ["metric", "before", "after", "delta", "verdict"]
    doc.table(head, _metric_rows(metrics, quality=False))
    doc.heading("Language quality")
    doc.text("Perplexity of the completions under the frozen base model, distinct-n, repetition and length.")
    doc.table(head, _metric_rows(metrics, quality=True))
    doc.heading("Training rewards per component")
    doc.image("report_rewards.png", reward_curves(_read_jsonl(run_dir / "train_log.jsonl")), "training rewards")
    _learning_curves(doc, metrics)
    _interpretability(doc, interp)
    _samples(doc, _read_jsonl(run_dir / "samples.jsonl"))
    if config:
        doc.heading("Config")
        doc.raw(f"```yaml\n{config}```\n", f"<details><summary>config.yaml</summary><pre>{html.escape(config)}</pre></details>")
    md_path, html_path = run_dir / "report.md", run_dir / "report.html"
    md_path.write_text("\n".join(doc.md) + "\n", encoding="utf-8")
    html_path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>rlft {html.escape(run_dir.name)}"
                         f"</title><style>{_STYLE}</style></head><body>{''.join(doc.html)}</body></html>\n",
                         encoding="utf-8")
    return md_path, html_path


def compare_runs(run_dirs: list[str | Path]) -> str:
    """A markdown table of several runs side by side: every metric after training, with its verdict."""
    runs = [(Path(d), json.loads((Path(d) / "metrics.json").read_text(encoding="utf-8"))) for d in run_dirs]
    names = sorted({n for _, m in runs for n in m["after"]}, key=lambda n: (n.startswith("quality/"), n))
    head = ["metric", *[d.name for d, _ in runs]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        cells = []
        for _, m in runs:
            verdict = m["delta"].get(name, {}).get("verdict")
            cells.append(format_ci(m["after"].get(name)) + (f" ({verdict})" if verdict else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``python -m core.report <run dir> [<run dir> ...]``."""
    parser = argparse.ArgumentParser(prog="python -m core.report", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories (each with a metrics.json)")
    args = parser.parse_args(argv)
    try:
        if len(args.runs) == 1:
            for path in write_report(args.runs[0]):
                print(path)
        else:
            print(compare_runs(args.runs))
    except (FileNotFoundError, json.JSONDecodeError, KeyError) as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()

"""Run reports (report.md / report.html), run comparison, and the interpretability output."""

from __future__ import annotations

import json
import shutil

import pytest

from core.report import compare_runs, main, write_report


def test_a_run_writes_a_self_contained_report(debug_run):
    out, metrics = debug_run
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    headline = metrics["headline"]
    assert f"Headline {headline}:" in md and metrics["delta"][headline]["verdict"].upper() in md
    for section in ("Held-out metrics", "Language quality", "Training rewards per component",
                    "Learning curve and sample efficiency", "What training changed", "Held-out samples", "Config"):
        assert f"## {section}" in md, section
    assert (out / "report_rewards.png").read_bytes()[:4] == b"\x89PNG"
    assert 'src="data:image/png;base64,' in page and "http://" not in page and "https://" not in page
    assert page.count('class="rlft-tokenview"') == len(json.loads((out / "interpret.json").read_text())["samples"])


def test_interpretation_lists_tokens_that_moved(debug_run):
    out, _ = debug_run
    interp = json.loads((out / "interpret.json").read_text())
    assert set(interp["top"]) == {"tokens_up", "tokens_down", "phrases_up", "phrases_down"}
    sample = interp["samples"][0]
    assert sample["tokens"] and all({"token", "base", "trained"} <= set(t) for t in sample["tokens"])
    assert "".join(t["token"] for t in sample["tokens"]).strip() in sample["completion"].strip() or sample["completion"]


def test_model_output_is_escaped_in_the_report(debug_run, tmp_path):
    src, _ = debug_run
    run_dir = tmp_path / "run"
    shutil.copytree(src, run_dir)
    row = {"stage": "after", "step": None, "prompt": "p", "completion": "<script>alert(1)</script>",
           "rewards": {"r": {"raw": 9.0, "weighted": 9.0}}, "total": 9.0}
    with open(run_dir / "samples.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    _, html_path = write_report(run_dir)
    page = html_path.read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_compare_runs_side_by_side(debug_run, tmp_path, capsys):
    src, metrics = debug_run
    other = tmp_path / "other"
    shutil.copytree(src, other)
    table = compare_runs([src, other])
    assert table.splitlines()[0] == f"| metric | {src.name} | other |"
    assert any(line.startswith(f"| {metrics['headline']} |") for line in table.splitlines())
    main([str(src), str(other)])
    assert capsys.readouterr().out.strip() == table


def test_report_of_a_directory_without_metrics_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="no metrics.json"):
        main([str(tmp_path)])


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="needs Debian's chromium and chromium-driver")
def test_the_report_renders_offline_in_a_real_browser(debug_run, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    out, _ = debug_run
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1100,1400",
                "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"):  # no network at all
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    try:
        driver.get((out / "report.html").as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]);")
        assert images and all(loaded for _, loaded in images), images
        assert driver.find_element("tag name", "h1").text.startswith("rlft run")
        assert len(driver.find_elements("css selector", ".rlft-tokenview .tok")) > 0
        assert driver.save_screenshot(str(tmp_path / "report.png"))
    finally:
        driver.quit()

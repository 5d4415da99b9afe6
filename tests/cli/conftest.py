"""CLI fixtures: a fresh working folder, token and data files, odd models (an encoder, NaN weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import calibprune.evaluation.module
import calibprune.modeling.placement
import calibprune.prune.module
import calibprune.study.runner


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch) -> Path:
    """Every CLI test runs in its own empty folder, so that ``runs/`` and relative outputs land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if any model (weights, tokenizer or streamed skeleton) is loaded, wherever models load."""

    def loader(*args, **kwargs):
        raise AssertionError(f"a model was loaded for bad input: {args}")

    for module in (calibprune.modeling.placement, calibprune.evaluation.module, calibprune.study.runner):
        monkeypatch.setattr(module, "load_model", loader)
    for module in (calibprune.prune.module, calibprune.evaluation.module, calibprune.study.runner):
        monkeypatch.setattr(module, "load_tokenizer", loader)
    monkeypatch.setattr(calibprune.modeling.placement, "build_skeleton", loader)


@pytest.fixture(scope="session")
def token_file(tmp_path_factory, tokenizer) -> Path:
    """Six random sequences of 32 tokens, one of them padded after 20 tokens."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, len(tokenizer), (6, 32), generator=generator)
    mask = torch.ones_like(ids)
    mask[3, 20:] = 0
    path = tmp_path_factory.mktemp("tokens") / "tokens.pt"
    torch.save({"input_ids": ids, "attention_mask": mask}, path)
    return path


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


@pytest.fixture(scope="session")
def eval_data_dir(tmp_path_factory) -> Path:
    """Local copies of wikitext (test) and boolq (train, test) with the hub's field names."""
    root = tmp_path_factory.mktemp("eval-data")
    _write_jsonl(
        root / "wikitext" / "test.jsonl",
        [{"text": f" The river {i} flows into the sea , past the old mill .\n"} for i in range(200)],
    )
    rows = [
        {
            "question": f"is the river {i} long",
            "passage": f"River {i} is {'long' if i % 2 else 'short'}.",
            "answer": bool(i % 2),
        }
        for i in range(12)
    ]
    _write_jsonl(root / "boolq" / "train.jsonl", rows)
    _write_jsonl(root / "boolq" / "test.jsonl", rows[:6])
    return root


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory, tokenizer) -> Path:
    """A tiny BERT (an encoder: loads as ``BertLMHeadModel`` but is not causal)."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def nan_llama_dir(tmp_path_factory, tiny_llama_dir) -> Path:
    """The tiny Llama with one NaN weight in its first MLP."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("nan-llama")
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    with torch.no_grad():
        model.model.layers[0].mlp.down_proj.weight[0, 0] = float("nan")
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_llama_dir).save_pretrained(folder)
    return folder

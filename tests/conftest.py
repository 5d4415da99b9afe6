"""Shared fixtures: tiny random causal LMs (built in-process), the embedded tokenizer, the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def tiny_config(arch: str, vocab_size: int):
    """A 2-block config of the given architecture, width 32 (fast enough for unit tests)."""
    from transformers import GPTNeoXConfig, LlamaConfig, OPTConfig, Qwen2Config

    common = dict(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=512
    )
    if arch == "llama":
        return LlamaConfig(intermediate_size=64, num_key_value_heads=2, **common)
    if arch == "qwen2":
        return Qwen2Config(intermediate_size=64, num_key_value_heads=2, **common)
    if arch == "opt":
        return OPTConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            ffn_dim=64,
            word_embed_proj_dim=32,
            max_position_embeddings=512,
        )
    if arch == "gpt_neox":
        return GPTNeoXConfig(intermediate_size=64, **common)
    raise ValueError(arch)


@pytest.fixture(scope="session")
def tokenizer():
    """The embedded model's tokenizer (its local cache is created on first use)."""
    from calibprune.modeling.loading import load_tokenizer

    return load_tokenizer("embedded")


def _save_tiny(arch: str, tokenizer, folder: Path) -> Path:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(tiny_config(arch, len(tokenizer)))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory, tokenizer) -> Path:
    """A saved 2-block random Llama with the embedded tokenizer."""
    return _save_tiny("llama", tokenizer, tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_opt_dir(tmp_path_factory, tokenizer) -> Path:
    """A saved 2-block random OPT with the embedded tokenizer."""
    return _save_tiny("opt", tokenizer, tmp_path_factory.mktemp("tiny-opt"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent")
    return SHARED_DATA


def shared_source(name: str) -> Path:
    """Folder of one source in ``../shared/data``, or skip the test when it is absent."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    return folder

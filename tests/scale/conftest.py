"""Fixtures of the scaling tests: a 4-block tiny Llama with tied embeddings, calibration tokens, a runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import tiny_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny4_dir(tmp_path_factory, tokenizer) -> Path:
    """A saved 4-block random Llama whose LM head is tied to its embeddings (like SmolLM2), fp32."""
    from transformers import AutoModelForCausalLM

    config = tiny_config("llama", len(tokenizer))
    config.num_hidden_layers = 4
    config.tie_word_embeddings = True
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    folder = tmp_path_factory.mktemp("tiny4-llama")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def calibration_tokens(tmp_path_factory, tokenizer) -> Path:
    """Six 32-token calibration sequences (one padded) as a token file."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, len(tokenizer), (6, 32), generator=generator)
    mask = torch.ones_like(ids)
    mask[3, 20:] = 0
    path = tmp_path_factory.mktemp("scale-tokens") / "tokens.pt"
    torch.save({"input_ids": ids, "attention_mask": mask}, path)
    return path


def prune_args(model_dir: Path, tokens: Path, out: Path, *extra: str) -> list[str]:
    """Arguments of ``calibprune prune`` on the test tokens (6 sequences of 32 tokens, batches of 2)."""
    return [
        "prune",
        "--model.model",
        str(model_dir),
        "--data.calibration",
        f"[{tokens}]",
        "--data.nsamples",
        "6",
        "--data.seqlen",
        "32",
        "--data.batch_size",
        "2",
        "--trainer.enable_progress_bar",
        "false",
        "--save_model",
        str(out),
        *extra,
    ]


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True):
    """Run ``python -m calibprune.cli`` in a fresh process (``tests`` importable, one thread per process)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **(env or {})}
    cmd = [sys.executable, "-m", "calibprune.cli", *args]
    result = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def saved_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a saved model folder, single file or shards."""
    tensors = {}
    for file in sorted(folder.glob("*.safetensors")):
        tensors.update(load_file(file))
    return tensors


def assert_bitwise_equal(expected: dict[str, torch.Tensor], actual: dict[str, torch.Tensor]) -> None:
    assert expected.keys() == actual.keys()
    for name, tensor in expected.items():
        assert tensor.dtype == actual[name].dtype, name
        assert torch.equal(tensor, actual[name]), name

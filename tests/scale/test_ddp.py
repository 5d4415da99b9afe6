"""Two processes (DDP on CPU with gloo) prune to the single-process model: same masks, same perplexity."""

from __future__ import annotations

import json
import math

import pytest
import torch
from transformers import AutoModelForCausalLM

from calibprune.modeling.workdir import MANIFEST, WorkDir
from tests.scale.conftest import assert_bitwise_equal, prune_args, run_cli, saved_tensors
from tests.scale.kill_callback import ENV

DDP = ["--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu"]
KILL = ["--trainer.callbacks+=tests.scale.kill_callback.KillAfterBlock"]

pytestmark = pytest.mark.multiprocess


@torch.no_grad()
def perplexity(folder) -> float:
    """Perplexity of a saved model on four fixed 32-token windows."""
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    windows = torch.randint(0, model.config.vocab_size, (4, 32), generator=torch.Generator().manual_seed(7))
    return math.exp(model(input_ids=windows, labels=windows).loss.item())


def assert_same_model(single, other) -> None:
    expected, actual = saved_tensors(single), saved_tensors(other)
    assert expected.keys() == actual.keys()
    for name, weight in expected.items():
        assert torch.equal(weight == 0, actual[name] == 0), name
        torch.testing.assert_close(weight, actual[name], rtol=1e-4, atol=1e-5)
    assert perplexity(other) == pytest.approx(perplexity(single), rel=1e-5)


@pytest.fixture(scope="module")
def runs(tiny4_dir, calibration_tokens, tmp_path_factory):
    """The single-process and the two-process model (SparseGPT: Hessians all-reduced once per block)."""
    folder = tmp_path_factory.mktemp("ddp")
    for name, extra in {"single": [], "ddp": DDP}.items():
        run_cli(prune_args(tiny4_dir, calibration_tokens, folder / name, "--method", "SparseGPT", *extra), cwd=folder)
    return folder


def test_two_processes_give_the_single_process_masks_and_perplexity(runs):
    assert_same_model(runs / "single", runs / "ddp")


def test_two_processes_streamed_killed_and_resumed_give_the_uninterrupted_model(
    runs, tiny4_dir, calibration_tokens, tmp_path
):
    options = ["--method", "SparseGPT", "--model.stream", "true", "--resume", "true", *DDP, *KILL]
    command = prune_args(tiny4_dir, calibration_tokens, tmp_path / "resumed", *options)
    killed = run_cli(command, cwd=tmp_path, env={ENV: "2"}, check=False)
    assert killed.returncode == -9
    workdir = WorkDir.next_to(tmp_path / "resumed")
    assert json.loads((workdir / MANIFEST).read_text())["next_block"] == 2
    assert {p.name for p in workdir.glob("activations-*")} == {f"activations-00002-rank{r}.safetensors" for r in (0, 1)}
    run_cli(command, cwd=tmp_path)
    assert_bitwise_equal(saved_tensors(runs / "ddp"), saved_tensors(tmp_path / "resumed"))
    assert_same_model(runs / "single", tmp_path / "resumed")

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file


def _prune(model_dir, out, calibration, *extra):
    cmd = [
        sys.executable,
        "-m",
        "calibprune.cli",
        "prune",
        "--model.model",
        str(model_dir),
        "--data.calibration",
        f"[{calibration}]",
        "--data.nsamples",
        "4",
        "--data.seqlen",
        "16",
        "--data.batch_size",
        "1",
        "--trainer.enable_progress_bar",
        "false",
        "--save_model",
        str(out),
        *extra,
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return load_file(out / "model.safetensors")


@pytest.mark.multiprocess
def test_ddp_ranks_share_rank_zero_self_generated_samples(tiny_llama_dir, tmp_path):
    """Model-generated calibration text is drawn once on rank 0 and broadcast, so ranks prune alike."""
    tokens = tmp_path / "tokens.pt"
    ddp = _prune(
        tiny_llama_dir,
        tmp_path / "ddp",
        "self",
        "--data.export_calibration",
        str(tokens),
        "--trainer.strategy",
        "ddp",
        "--trainer.devices",
        "2",
        "--trainer.accelerator",
        "cpu",
    )
    single = _prune(tiny_llama_dir, tmp_path / "single", tokens)
    assert torch.load(tokens)["input_ids"].shape == (4, 16)
    for key, weight in single.items():
        assert torch.equal(weight == 0, ddp[key] == 0), key

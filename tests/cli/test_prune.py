"""``prune`` with the nested ``--model.*``/``--data.*``/``--method.*`` options: save, report, DDP."""

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from calibprune.cli import main


def _args(model_dir, token_file, out, *extra):
    return [
        "prune",
        "--model.model",
        str(model_dir),
        "--data.calibration",
        f"[{token_file}]",
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


@pytest.mark.parametrize("method", ["Wanda", "SparseGPT", "Magnitude"])
def test_prune_command_saves_model_and_report(tiny_llama_dir, token_file, tmp_path, method):
    main(_args(tiny_llama_dir, token_file, tmp_path / "out", "--method", method, "--method.sparsity_type", "2:4"))
    report = json.loads((tmp_path / "out" / "sparsity_report.json").read_text())
    assert report["global"]["sparsity"] == 0.5
    assert all(layer["sparsity"] == 0.5 for layer in report["layers"].values())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method.sparsity_ratio", "1.0"], "--method.sparsity_ratio: must be in [0, 1)"),
        (["--data.nsamples", "0"], "--data.nsamples: must be a positive integer"),
        (["--method", "SparseGPT", "--method.sparsity_type", "4:2"], "--method.sparsity_type: N:M needs 0 < N < M"),
        (["--method.sparsity_type", "3:7"], "M=7 does not divide the input width"),
        (["--data.calibration", "[nowhere.pt]"], "token file 'nowhere.pt' does not exist"),
        (["--data.calibration", "[no_such_source]"], "--data.calibration: unknown source 'no_such_source'"),
    ],
)
def test_bad_input_is_one_line_error_with_exit_2(tiny_llama_dir, token_file, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        main(_args(tiny_llama_dir, token_file, tmp_path / "out", *extra))
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_existing_save_path_is_refused_before_work(tiny_llama_dir, token_file, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    with pytest.raises(SystemExit):
        main(_args(tiny_llama_dir, token_file, tmp_path / "out"))
    assert "--save_model" in capsys.readouterr().err


@pytest.mark.multiprocess
@pytest.mark.parametrize("method", ["Wanda", "SparseGPT"])
def test_two_process_ddp_gives_the_single_process_masks(tiny_llama_dir, token_file, tmp_path, method):
    """Each rank calibrates a shard; statistics are all-reduced once per block; masks equal one process."""
    outputs = {}
    for name, extra in {
        "single": [],
        "ddp": ["--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu"],
    }.items():
        out = tmp_path / name
        cmd = [
            sys.executable,
            "-m",
            "calibprune.cli",
            *_args(tiny_llama_dir, token_file, out, "--method", method, *extra),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        outputs[name] = load_file(out / "model.safetensors")
    for key, weight in outputs["single"].items():
        assert torch.equal(weight == 0, outputs["ddp"][key] == 0), key
        torch.testing.assert_close(weight, outputs["ddp"][key], rtol=1e-4, atol=1e-5)

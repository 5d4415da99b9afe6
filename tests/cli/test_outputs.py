"""Results as files (``--output``), evaluation on the trainer's device, and a quiet console."""

import json
import re
import subprocess
import sys

import pytest
import torch

import calibprune.evaluation.scorers.perplexity as perplexity_scorer
import calibprune.prune.comparison
from tests.cli.helpers import prune_args, run_cli
from tests.cli.test_evaluate import EVAL, _cell

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CALIBPRUNE_CACHE", str(tmp_path_factory.mktemp("cache")))


def _check_document(document: dict, command: str, columns: list[str], tasks: dict[str, list[str]]) -> None:
    """The schema of a results file: every key, type and task, lm-evaluation-harness style."""
    assert document["schema"] == 1 and document["command"] == command
    assert set(document) >= {"date", "versions", "model", "calibration", "results", "configs", "n-samples"}
    assert HEX64.match(document["model"]["fingerprint"]) and document["model"]["dtype"] == "float32"
    assert list(document["results"]) == columns
    for column in columns:
        assert set(document["results"][column]) == set(tasks)
        for task, metrics in tasks.items():
            entry = document["results"][column][task]
            assert entry["n"] == document["n-samples"][task] and entry["n"] > 0
            for metric in metrics:
                assert isinstance(entry[metric], float)
                assert entry[f"{metric}_stderr"] is None or entry[f"{metric}_stderr"] >= 0
    assert set(document["configs"]) == set(tasks)


def test_prune_writes_results_into_the_run_directory(
    capsys, in_tmp_dir, cache, tiny_llama_dir, token_file, eval_data_dir
):
    args = prune_args(
        tiny_llama_dir, token_file, "--tasks", "[wikitext, boolq]", "--data_dir", str(eval_data_dir), *EVAL
    )
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    (run_dir,) = (in_tmp_dir / "runs" / "prune").iterdir()
    document = json.loads((run_dir / "results.json").read_text())
    assert f"results      runs/prune/{run_dir.name}/results.json" in out
    _check_document(document, "prune", ["dense", "pruned"], {"wikitext": ["ppl", "nll"], "boolq": ["acc"]})
    dense, pruned = _cell(out, "wikitext", "ppl")
    assert document["results"]["dense"]["wikitext"]["ppl"] == pytest.approx(dense, abs=1e-4)
    assert document["results"]["pruned"]["wikitext"]["ppl"] == pytest.approx(pruned, abs=1e-4)
    calibration = document["calibration"]
    assert calibration["nsamples"] == 6 and calibration["seqlen"] == 32 and HEX64.match(calibration["fingerprint"])
    assert document["configs"]["wikitext"]["seqlen"] == 32 and document["configs"]["boolq"]["limit"] == 4


def test_evaluate_output_file(capsys, in_tmp_dir, tiny_llama_dir, eval_data_dir):
    code, out, err = run_cli(
        capsys,
        "evaluate",
        "--model",
        str(tiny_llama_dir),
        "--tasks",
        "[boolq, wikitext]",
        "--data_dir",
        str(eval_data_dir),
        "--limit",
        "4",
        "--seqlen",
        "32",
        "--trainer.logger",
        "false",
        "--output",
        "res/eval.json",
    )
    assert code == 0, err
    document = json.loads((in_tmp_dir / "res" / "eval.json").read_text())
    _check_document(document, "evaluate", [str(tiny_llama_dir)], {"boolq": ["acc"], "wikitext": ["ppl"]})
    assert document["calibration"] is None
    assert document["results"][str(tiny_llama_dir)]["boolq"]["acc"] == pytest.approx(
        _cell(out, "boolq", "acc")[0], abs=1e-4
    )


def _record_devices(monkeypatch) -> dict[str, list]:
    """Record the device of every evaluation trainer and of the model in every perplexity forward pass."""
    seen: dict[str, list] = {"trainer": [], "model": []}
    make_trainer, window_nll = calibprune.prune.comparison._trainer, perplexity_scorer.window_nll

    def trainer(device, progress):
        seen["trainer"].append(torch.device(device))
        return make_trainer(device, progress)

    def nll(model, batch):
        seen["model"].append(next(model.parameters()).device)
        return window_nll(model, batch)

    monkeypatch.setattr(calibprune.prune.comparison, "_trainer", trainer)
    monkeypatch.setattr(perplexity_scorer, "window_nll", nll)
    return seen


def test_evaluation_inside_prune_follows_the_trainer_accelerator(
    capsys, cache, tiny_llama_dir, token_file, eval_data_dir, monkeypatch
):
    seen = _record_devices(monkeypatch)
    for method in ("wanda", "magnitude"):
        args = prune_args(
            tiny_llama_dir,
            token_file,
            "--tasks",
            "[wikitext]",
            "--data_dir",
            str(eval_data_dir),
            "--trainer.accelerator",
            "cpu",
            "--trainer.logger",
            "false",
            "--prune_method",
            method,
            *EVAL,
        )
        code, _, err = run_cli(capsys, *args)
        assert code == 0, err
    assert seen["trainer"] and all(device.type == "cpu" for device in seen["trainer"])
    assert seen["model"] and all(device.type == "cpu" for device in seen["model"])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_prune_tasks_on_a_gpu_evaluate_on_the_gpu(
    capsys, cache, tiny_llama_dir, token_file, eval_data_dir, monkeypatch
):
    seen = _record_devices(monkeypatch)
    for method in ("wanda", "magnitude"):
        args = prune_args(
            tiny_llama_dir,
            token_file,
            "--tasks",
            "[wikitext]",
            "--data_dir",
            str(eval_data_dir),
            "--trainer.accelerator",
            "gpu",
            "--trainer.devices",
            "1",
            "--trainer.logger",
            "false",
            "--prune_method",
            method,
            *EVAL,
        )
        code, _, err = run_cli(capsys, *args)
        assert code == 0, err
    assert len(seen["trainer"]) == 4 and all(device.type == "cuda" for device in seen["trainer"])
    assert seen["model"] and all(device.type == "cuda" for device in seen["model"])


def test_console_shows_bars_and_the_summary_only(tmp_path, tiny_llama_dir, token_file, eval_data_dir):
    """A real run with its stderr in a file: no banners or library warnings, no empty predict bar, few lines."""
    cmd = [
        sys.executable,
        "-m",
        "calibprune.cli",
        *prune_args(
            tiny_llama_dir,
            token_file,
            "--tasks",
            "[wikitext]",
            "--data_dir",
            str(eval_data_dir),
            "--trainer.enable_progress_bar",
            "true",
            "--save_model",
            "out",
            *EVAL,
        ),
    ]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**__import__("os").environ, "CALIBPRUNE_CACHE": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    for noise in (
        "GPU available",
        "TPU available",
        "litlogger",
        "LeafSpec",
        "predict returned None",
        "Predicting",
        "Loading weights",
        "Seed set",
        "Warning",
    ):
        assert noise not in done.stderr, noise
    assert "calibprune prune: done" in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) <= 12, done.stderr  # a bar per stage and calibprune's own lines, not one line per redraw

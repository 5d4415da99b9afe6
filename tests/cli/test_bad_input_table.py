"""Every bad input of issue 14 (and the earlier ones): exit 2, one line naming the option, no traceback, nothing
written anywhere, and, for everything that needs no model, no model loaded.

Cases run in-process (``calibprune.cli.main``) with the model loaders replaced by a failure; a few run as real
subprocesses for the exit status and the absence of tracebacks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from jsonargparse import Namespace

from calibprune.callbacks.registry import method_names
from calibprune.command_line.checks import check_devices
from tests.cli.helpers import run_cli


@pytest.fixture(scope="module")
def files(tmp_path_factory, tokenizer) -> Path:
    """Bad token files, configs and data files, in a folder of their own."""
    root = tmp_path_factory.mktemp("bad-input")
    vocab = len(tokenizer)
    torch.save(torch.full((6, 32), vocab + 5), root / "oov.pt")
    torch.save(torch.full((6, 32), -1), root / "negative.pt")
    torch.save(torch.rand(6, 32), root / "float.pt")
    nan = torch.ones(6, 32)
    nan[0, 0] = float("nan")
    torch.save({"input_ids": nan, "attention_mask": torch.ones(6, 32)}, root / "nan.pt")
    (root / "text.pt").write_text("not a torch file")
    (root / "broken.yaml").write_text("model:\n  model: [unclosed\n  dtype: x\n")
    (root / "a_file").write_text("keep")
    (root / "thesis").mkdir()
    (root / "thesis" / "thesis.tex").write_text("years of work")
    (root / "text.jsonl").write_text('{"text": "hello world"}\n' * 20)
    return root


def _tree(*roots: Path) -> set[Path]:
    return {path for root in roots for path in root.rglob("*")}


def _prune(*extra: str) -> list[str]:
    return [
        "prune",
        "--model",
        "{model}",
        "--calibration",
        "[{tokens}]",
        "--nsamples",
        "6",
        "--seqlen",
        "32",
        "--data.batch_size",
        "2",
        "--trainer.enable_progress_bar",
        "false",
        "--save_model",
        "out",
        *extra,
    ]


def _evaluate(*extra: str) -> list[str]:
    return ["evaluate", "--model", "{model}", "--trainer.enable_progress_bar", "false", *extra]


def _study(*extra: str) -> list[str]:
    return [
        "study",
        "--model",
        "{model}",
        "--grid.calibration",
        "[{{sources: [random]}}]",
        "--grid.nsamples",
        "[2]",
        "--grid.seqlen",
        "[32]",
        "--evaluation.tasks",
        "[wikitext]",
        "--evaluation.seqlen",
        "32",
        "--output_dir",
        "study",
        *extra,
    ]


# name: (arguments, text of the error line). All of these fail before any model is loaded.
CASES: dict[str, tuple[list[str], str]] = {
    # issue 14
    "accelerator gpu without a GPU": (
        _prune("--trainer.accelerator", "gpu"),
        "--trainer.accelerator gpu: no CUDA GPU is visible on this machine",
    ),
    "ddp on gpus without a GPU": (
        _prune("--trainer.accelerator", "gpu", "--trainer.devices", "4", "--trainer.strategy", "ddp"),
        "--trainer.accelerator gpu: no CUDA GPU",
    ),
    "evaluate on a gpu without one": (_evaluate("--trainer.accelerator", "cuda"), "--trainer.accelerator cuda"),
    "devices beyond the CPU cores": (
        _prune("--trainer.accelerator", "cpu", "--trainer.devices", "999"),
        "--trainer.devices 999: this machine has",
    ),
    "token ids beyond the vocabulary": (
        _prune("--calibration", "[{files}/oov.pt]"),
        "beyond the model's vocabulary of",
    ),
    "negative token ids": (_prune("--calibration", "[{files}/negative.pt]"), "holds negative ids (-1)"),
    "float token ids": (_prune("--calibration", "[{files}/float.pt]"), "holds torch.float32 values, not integer"),
    "NaN token ids": (_prune("--calibration", "[{files}/nan.pt]"), "holds torch.float32 values, not integer"),
    "not a torch file": (_prune("--calibration", "[{files}/text.pt]"), "is not a readable torch file"),
    "save_model is a file": (
        _prune("--save_model", "{files}/a_file", "--overwrite", "true"),
        "--save_model: '{files}/a_file' is a file",
    ),
    "overwrite a foreign folder": (
        _prune("--save_model", "{files}/thesis", "--overwrite", "true"),
        "is not a model saved by calibprune (thesis.tex)",
    ),
    "save_model not writable": (_prune("--save_model", "/proc/calibprune/out"), "is not writable"),
    "sparsity_type 4:2": (
        _prune("--prune_method", "sparsegpt", "--sparsity_type", "4:2"),
        "--sparsity_type: N:M needs 0 < N < M, got '4:2'",
    ),
    "missing config": (["prune", "--config", "missing.yaml"], "--config: config file 'missing.yaml' does not exist"),
    "malformed config": (["prune", "--config", "{files}/broken.yaml"], "broken.yaml: line 3, column 8"),
    "weights": (_prune("--data.weights", "[1, 2]"), "--data.weights: 2 weights for 1 calibration sources"),
    "batch_size": (_prune("--data.batch_size", "0"), "--data.batch_size: must be a positive integer"),
    "dtype": (_prune("--model.dtype", "float8"), "--model.dtype: must be one of float32, bfloat16, float16"),
    "num_incontext on a token file": (
        _prune("--data.num_incontext", "2"),
        "--data.num_incontext: applies to task sources",
    ),
    "percdamp": (
        _prune("--prune_method", "sparsegpt", "--method.percdamp", "-1"),
        "--method.percdamp: must be a finite number >= 0",
    ),
    "percdamp before the method": (
        _prune("--method.percdamp", "-1", "--prune_method", "sparsegpt"),
        "--method.percdamp: must be a finite number >= 0",
    ),
    "text_field": (
        _prune("--calibration", "[{files}/text.jsonl]", "--data.text_field", "body"),
        "--data.text_field: 'body' is not a column",
    ),
    "eval_limit": (_prune("--tasks", "[wikitext]", "--eval_limit", "0"), "--eval_limit: must be an integer >= 1"),
    "eval_seqlen beyond the context": (
        _prune("--tasks", "[wikitext]", "--eval_seqlen", "4096"),
        "--eval_seqlen: 4096 exceeds the model's context",
    ),
    "empty calibration": (_prune("--calibration", "[]"), "--calibration: empty list"),
    "empty nested calibration": (
        _prune("--data.calibration", "[]")[:3] + _prune("--data.calibration", "[]")[5:],
        "--data.calibration: empty list",
    ),
    "empty tasks": (_prune("--tasks", "[]"), "--tasks: empty list"),
    "evaluate empty tasks": (_evaluate("--tasks", "[]"), "--tasks: empty list"),
    "rationale on a task without": (
        _evaluate("--tasks", "[boolq]", "--data.rationale", "true"),
        "--data.rationale: boolq cannot use rationales",
    ),
    "study with --data.calibration": (
        _study("--data.calibration", "[c4]"),
        "--data.calibration: not used by `calibprune study`",
    ),
    "study seeds [0, 0]": (_study("--grid.seeds", "[0, 0]"), "--grid.seeds lists 0 twice"),
    "study source twice": (
        _study("--grid.calibration", "[{{sources: [random]}}, {{sources: [random]}}]"),
        "--grid.calibration: ['random'] (icl) is listed twice",
    ),
    "study unknown task": (_study("--evaluation.tasks", "[nosuch]"), "--evaluation.tasks: unknown task 'nosuch'"),
    "study bad format": (
        _study("--grid.calibration", "[{{sources: [gsm8k], format: few}}]"),
        "--format must be one of zero-shot, icl, icl-cot",
    ),
    "output not json": (_evaluate("--output", "results.txt"), "--output: 'results.txt' is not a .json file"),
    "output is a folder": (_evaluate("--output", "{files}/thesis"), "is not a .json file"),
    "prune output without tasks": (_prune("--output", "r.json"), "--output: prune writes the results of --tasks"),
    "resume without save_model": (_prune()[:-2] + ["--resume", "true"], "--resume: needs --save_model"),
    # earlier cases (tests/cli/test_errors.py) that need no model
    "unknown method": (_prune("--prune_method", "obs"), "--prune_method: unknown method 'obs'"),
    "unknown method class": (
        _prune("--method", "Obs"),
        f"--method: invalid value; accepted: {method_names()}",
    ),
    "unknown source": (_prune("--calibration", "[c5]"), "--calibration: unknown source 'c5'"),
    "unknown format": (_prune("--format", "few-shot"), "--format must be one of zero-shot, icl, icl-cot"),
    "unknown task": (_prune("--tasks", "[wikitext, boolqq]"), "--tasks: unknown task 'boolqq'"),
    "sparsity 1": (_prune("--sparsity_ratio", "1.0"), "--sparsity_ratio: must be in [0, 1), got 1.0"),
    "sparsity not a number": (_prune("--sparsity_ratio", "half"), "--sparsity_ratio"),
    "nsamples 0": (_prune("--nsamples", "0"), "--nsamples: must be a positive integer, got 0"),
    "seqlen beyond the context": (_prune("--seqlen", "4096"), "--seqlen: 4096 exceeds the model's context of 512"),
    "token file missing": (_prune("--calibration", "[missing.pt]"), "token file 'missing.pt' does not exist"),
    "text file missing": (_prune("--calibration", "[missing.jsonl]"), "text file 'missing.jsonl' does not"),
    "CoT without rationales": (
        _prune("--calibration", "[boolq]", "--format", "icl-cot"),
        "--format icl-cot: task 'boolq' has no rationales",
    ),
    "N:M with a ratio": (_prune("--sparsity_type", "2:4", "--sparsity_ratio", "0.7"), "--sparsity_ratio: 0.7"),
    "existing save path": (_prune("--save_model", "{files}/thesis"), "already exists; pass --overwrite true"),
    "model path missing": (_prune("--model", "./no-such-model"), "--model: './no-such-model' does not exist"),
    "evaluate limit 0": (_evaluate("--limit", "0"), "--limit: must be an integer >= 1, got 0"),
    "evaluate seqlen beyond the context": (_evaluate("--seqlen", "4096"), "--seqlen: 4096 exceeds the model's"),
    "evaluate unknown task": (_evaluate("--tasks", "[nosuchtask]"), "--tasks: unknown task 'nosuchtask'"),
}


def _fill(args: list[str], model: Path, tokens: Path, files: Path) -> list[str]:
    return [arg.format(model=model, tokens=tokens, files=files) for arg in args]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_before_the_model_loads(
    capsys, in_tmp_dir, no_model_load, tiny_llama_dir, token_file, files, case
):
    args, expected = CASES[case]
    args = _fill(args, tiny_llama_dir, token_file, files)
    expected = expected.format(files=files)
    before = _tree(in_tmp_dir, files, token_file.parent)
    code, out, err = run_cli(capsys, *args)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("calibprune: error: --"), out + err
    assert expected in lines[0], lines[0]
    assert "Traceback" not in err
    assert _tree(in_tmp_dir, files, token_file.parent) == before, "bad input left files behind"


SUBPROCESS_CASES = [
    "accelerator gpu without a GPU",
    "sparsity_type 4:2",
    "malformed config",
    "NaN token ids",
    "study seeds [0, 0]",
]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_exit_status_of_the_real_command(tmp_path, tiny_llama_dir, token_file, files, case):
    args, expected = CASES[case]
    args = _fill(args, tiny_llama_dir, token_file, files)
    before = _tree(tmp_path, files)
    done = subprocess.run(
        [sys.executable, "-m", "calibprune.cli", *args], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert lines == [lines[0]] and expected.format(files=files) in lines[0], done.stdout + done.stderr
    assert _tree(tmp_path, files) == before


def test_a_torchrun_launch_beyond_the_cpu_cores_is_refused(
    capsys, in_tmp_dir, no_model_load, tiny_llama_dir, token_file, files, monkeypatch
):
    cores = os.cpu_count() or 1
    for name, value in {"LOCAL_RANK": "0", "RANK": "0", "LOCAL_WORLD_SIZE": str(cores + 1)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WORLD_SIZE", str(cores + 1))
    args = _fill(_prune("--trainer.accelerator", "cpu", "--trainer.strategy", "ddp"), tiny_llama_dir, token_file, files)
    before = _tree(in_tmp_dir, files, token_file.parent)
    code, out, err = run_cli(capsys, *args)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert code == 2, err
    assert lines == [
        f"calibprune: error: --nproc_per_node {cores + 1} (torchrun: LOCAL_WORLD_SIZE): this machine has {cores} "
        f"CPU cores; accepted: 1 to {cores} processes per node"
    ]
    assert _tree(in_tmp_dir, files, token_file.parent) == before
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(cores))
    check_devices(Namespace(accelerator="cpu"))  # as many processes as cores: accepted
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    monkeypatch.setenv("WORLD_SIZE", str(cores))
    check_devices(Namespace(accelerator="cpu"))

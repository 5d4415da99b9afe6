"""Issue 20's held-out cases about files (helper ``files``): nothing of the user's deleted or changed, one line,
exit 2 (143/130 for signals), and no model loaded where none is needed.

Each row runs in a fresh folder with the user's files made by its setup; ``find`` before and after, with every
byte of the user's files compared. Signals are sent by the process to itself at a named stage
(``tests/cli/signal_hook.py``), in a real subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from calibprune.files import records
from tests.cli.helpers import prune_args, run_cli

ROOT = Path(__file__).parents[2]


def _snapshot(*roots: Path) -> dict[str, str]:
    """Every path under ``roots`` with a digest of its bytes (folders: ``dir``)."""
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            found[str(path)] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _thesis_in(folder: Path) -> None:
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")


def _saved_model_with_notes(model, tokens, capsys) -> None:
    args = prune_args(model, tokens, "--save_model", "out", "--trainer.logger", "false")
    assert run_cli(capsys, *args)[0] == 0
    Path("out/tokenizer_notes.md").write_text("my notes on the tokenizer")


def _copy_model(model, tokens, capsys) -> None:
    shutil.copytree(model, "m")


def _truncated_model(model, tokens, capsys) -> None:
    shutil.copytree(model, "m")
    weights = Path("m/model.safetensors")
    os.truncate(weights, weights.stat().st_size // 2)


def _file(name: str, text: str = "keep") -> Callable:
    def setup(model, tokens, capsys) -> None:
        Path(name).write_text(text)

    return setup


def _folder(name: str) -> Callable:
    def setup(model, tokens, capsys) -> None:
        _thesis_in(Path(name))

    return setup


PRUNE = ["--trainer.logger", "false"]
LONG = "o" * 300
# name: (setup, arguments after ``prune_args`` or a full command, environment, exit status, text of the line,
# whether the model may load).
CASES: dict[str, tuple] = {
    "1 user out.partial with --resume": (
        _folder("out.partial"),
        ["--save_model", "out", "--resume", "true"],
        {},
        2,
        "--save_model: 'out.partial' (thesis.tex) is in the way of this run's work directory",
        False,
    ),
    "1 user out.partial with --model.stream": (
        _folder("out.partial"),
        ["--save_model", "out", "--model.stream", "true"],
        {},
        2,
        "was not made by calibprune; it is left as it is",
        False,
    ),
    "2 user .out.tmp-mybackup beside a save": (_folder(".out.tmp-mybackup"), ["--save_model", "out"], {}, 0, "", True),
    "3 --overwrite keeps a user's tokenizer_notes.md": (
        _saved_model_with_notes,
        ["--save_model", "out", "--overwrite", "true"],
        {},
        2,
        "--save_model: 'out' is not a model saved by calibprune (tokenizer_notes.md)",
        False,
    ),
    "4 export onto a user's file": (
        _file("thesis.tex", "years of work"),
        ["--data.export_calibration", "thesis.tex"],
        {},
        2,
        "--data.export_calibration: 'thesis.tex' exists and was not written by calibprune",
        False,
    ),
    "5 evaluate --output onto the model's config": (
        _copy_model,
        ["evaluate", "--model", "./m", "--output", "m/config.json", "--trainer.enable_progress_bar", "false"],
        {},
        2,
        "--output: 'm/config.json' exists and was not written by calibprune",
        False,
    ),
    "a 300-character save_model": (
        None,
        ["--save_model", LONG],
        {},
        2,
        "--save_model: '" + LONG + "' has a name too long for the file system",
        False,
    ),
    "log_dir is a file": (
        _file("logs"),
        ["--log_dir", "logs"],
        {},
        2,
        "--log_dir: 'logs' is a file",
        False,
    ),
    "export_calibration is a folder": (
        _folder("exports"),
        ["--data.export_calibration", "exports"],
        {},
        2,
        "--data.export_calibration: 'exports' is a folder",
        False,
    ),
    "CALIBPRUNE_CACHE is a file": (
        _file("cachefile"),
        ["--tasks", "[wikitext]", "--data_dir", "{eval}"],
        {"CALIBPRUNE_CACHE": "cachefile"},
        2,
        "CALIBPRUNE_CACHE: 'cachefile' is a file",
        False,
    ),
    "HOME=/dev/null": (
        None,
        ["--tasks", "[wikitext]", "--data_dir", "{eval}"],
        {"HOME": "/dev/null", "CALIBPRUNE_CACHE": None},
        2,
        "CALIBPRUNE_CACHE: '/dev/null' is a file",
        False,
    ),
    "evaluate a truncated model.safetensors": (
        _truncated_model,
        ["evaluate", "--model", "./m", "--trainer.enable_progress_bar", "false"],
        {},
        2,
        "--model: cannot load a causal LM from './m': Error while deserializing header",
        True,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_held_out_file_case(capsys, in_tmp_dir, tiny_llama_dir, token_file, eval_data_dir, monkeypatch, request, case):
    setup, extra, environment, status, expected, loads = CASES[case]
    if setup is not None:
        setup(tiny_llama_dir, token_file, capsys)
    for name, value in environment.items():
        monkeypatch.delenv(name, raising=False) if value is None else monkeypatch.setenv(name, value)
    if not loads:
        request.getfixturevalue("no_model_load")
    extra = [arg.format(eval=eval_data_dir) for arg in extra]
    logger = [] if "--log_dir" in extra else PRUNE  # a run directory only where the row is about it
    args = extra if extra[0] == "evaluate" else prune_args(tiny_llama_dir, token_file, *logger, *extra)
    before = _snapshot(in_tmp_dir, tiny_llama_dir, token_file.parent)
    code, out, err = run_cli(capsys, *args)
    after = _snapshot(in_tmp_dir, tiny_llama_dir, token_file.parent)
    assert code == status, err
    assert "Traceback" not in err
    if status == 2:
        lines = [line for line in (out + err).splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("calibprune: error: "), out + err
        assert expected in lines[0], lines[0]
        assert after == before, "a refused run changed files"
    else:
        assert {path: digest for path, digest in after.items() if path in before} == before, "user files changed"


def test_a_torn_line_is_kept_and_never_glued_to(tmp_path, caplog):
    """Case 6: a study's results.jsonl ends in a line torn by a kill; the next record starts a line of its own."""
    path = tmp_path / "results.jsonl"
    for index in range(3):
        records.append_record(path, {"kind": "cell", "id": f"cell-{index}"})
    with path.open("a") as handle:
        handle.write('{"kind": "cell", "id": "cell-3", "res')  # the kill
    records.append_record(path, {"kind": "cell", "id": "cell-4"})
    lines = path.read_text().splitlines()
    assert lines[3] == '{"kind": "cell", "id": "cell-3", "res'  # quarantined: kept as it was
    assert [record["id"] for record in records.read_records(path)] == ["cell-0", "cell-1", "cell-2", "cell-4"]
    records.read_records(path)
    assert sum("incomplete record" in message for message in caplog.messages) == 1  # reported once


# Signals: (stage, signal, extra arguments, exit status).
STAGES = {
    "loading": ("calibprune.prune.module:load_placed", "SIGTERM", [], 143),
    "building calibration samples": (
        "calibprune.datamodules.calibration:CalibrationDataModule.build_samples",
        "SIGTERM",
        [],
        143,
    ),
    "pruning without --resume": ("calibprune.prune.pipeline:PruningPipeline.prune_block", "SIGTERM", [], 143),
    "pruning, SIGINT": ("calibprune.prune.pipeline:PruningPipeline.prune_block", "SIGINT", [], 130),
    "saving": ("calibprune.prune.saving:write_json", "SIGTERM", [], 143),
    "evaluating": (
        "calibprune.evaluation.module:EvaluationModule.test_step",
        "SIGTERM",
        ["evaluate", "--model", "{model}", "--tasks", "[wikitext]", "--data_dir", "{eval}", "--limit", "2"],
        143,
    ),
}


@pytest.mark.parametrize("stage", STAGES)
def test_a_signal_in_any_stage_stops_and_removes_what_the_run_made(
    tmp_path, tiny_llama_dir, token_file, eval_data_dir, stage
):
    target, name, command, status = STAGES[stage]
    (tmp_path / "thesis.tex").write_text("years of work")
    if command:
        args = [arg.format(model=tiny_llama_dir, eval=eval_data_dir) for arg in command]
        args += ["--trainer.enable_progress_bar", "false"]
    else:
        args = prune_args(tiny_llama_dir, token_file, "--save_model", "out/model")
    before = _snapshot(tmp_path)
    environment = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "CALIBPRUNE_TEST_SIGNAL_AT": target,
        "CALIBPRUNE_TEST_SIGNAL": name,
        "CALIBPRUNE_CACHE": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.cli.signal_hook", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=environment,
    )
    assert f"signal-hook: {name}" in done.stderr, done.stderr[-3000:]
    assert done.returncode == status, done.stderr[-3000:]
    assert f"calibprune: stopped by {name}" in done.stderr
    assert "Traceback" not in done.stderr
    left = {
        path: digest for path, digest in _snapshot(tmp_path).items() if not path.startswith(str(tmp_path / "cache"))
    }
    assert left == before, "a stopped run left files behind"


def test_sigterm_with_resume_keeps_the_work_directory(tmp_path, tiny_llama_dir, token_file):
    environment = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "CALIBPRUNE_TEST_SIGNAL_AT": "calibprune.prune.pipeline:PruningPipeline.prune_block",
        "CALIBPRUNE_TEST_SIGNAL": "SIGTERM",
    }
    args = prune_args(tiny_llama_dir, token_file, "--save_model", "out", "--resume", "true")
    done = subprocess.run(
        [sys.executable, "-m", "tests.cli.signal_hook", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=environment,
    )
    assert done.returncode == signal.SIGTERM + 128, done.stderr[-3000:]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.partial"]
    assert json.loads((tmp_path / "out.partial" / "manifest.json").read_text())["next_block"] == 1

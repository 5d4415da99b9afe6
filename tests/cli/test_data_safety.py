"""Nothing lost, numbers that do not depend on how a run is set up: overwrite, locks, temp folders, windows, DDP."""

import json
import subprocess
import sys

import pytest

from calibprune.files.owner import make_folder, temp_name
from calibprune.modeling.workdir import WorkDir
from calibprune.prune.saving import save_target_lock
from tests.cli.helpers import prune_args, run_cli
from tests.cli.test_evaluate import _cell


def _one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("calibprune: error: --"), err
    return lines[0]


def test_overwrite_refuses_a_folder_calibprune_did_not_write(capsys, in_tmp_dir, tiny_llama_dir, token_file):
    (in_tmp_dir / "thesis").mkdir()
    (in_tmp_dir / "thesis" / "thesis.tex").write_text("years of work")
    code, _, err = run_cli(
        capsys, *prune_args(tiny_llama_dir, token_file, "--save_model", "thesis", "--overwrite", "true")
    )
    assert code == 2
    assert "--save_model: 'thesis' is not a model saved by calibprune (thesis.tex)" in _one_error(err)
    assert (in_tmp_dir / "thesis" / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in in_tmp_dir.iterdir()) == ["thesis"]


def test_overwrite_refuses_a_file(capsys, in_tmp_dir, tiny_llama_dir, token_file):
    (in_tmp_dir / "notes.txt").write_text("keep")
    code, _, err = run_cli(
        capsys, *prune_args(tiny_llama_dir, token_file, "--save_model", "notes.txt", "--overwrite", "true")
    )
    assert code == 2 and "--save_model: 'notes.txt' is a file" in _one_error(err)
    assert (in_tmp_dir / "notes.txt").read_text() == "keep"


def test_overwrite_replaces_a_saved_model_and_cleans_stale_temp_folders(capsys, in_tmp_dir, tiny_llama_dir, token_file):
    args = prune_args(tiny_llama_dir, token_file, "--save_model", "out", "--trainer.logger", "false")
    assert run_cli(capsys, *args)[0] == 0
    stale = make_folder(temp_name(in_tmp_dir / "out"), "save_model", kind="temp")  # what a killed save leaves
    (stale / "model.safetensors").write_bytes(b"half")
    code, _, err = run_cli(capsys, *args, "--overwrite", "true", "--sparsity_ratio", "0.25")
    assert code == 0, err
    report = json.loads((in_tmp_dir / "out" / "sparsity_report.json").read_text())
    assert report["global"]["sparsity"] == pytest.approx(0.25)
    assert sorted(p.name for p in in_tmp_dir.iterdir()) == ["out"]


@pytest.mark.parametrize("resume", ["false", "true"])
def test_second_run_on_a_locked_target_fails_and_leaves_the_live_run_alone(
    capsys, in_tmp_dir, tiny_llama_dir, token_file, resume
):
    partial = make_folder(WorkDir.next_to(in_tmp_dir / "out"), "save_model", kind="workdir")  # as a run makes it
    live = json.dumps({"fingerprint": {}, "next_block": 1, "sparsity": {}})
    (partial / "manifest.json").write_text(live)  # the live run's progress
    with save_target_lock(in_tmp_dir / "out"):
        code, _, err = run_cli(
            capsys, *prune_args(tiny_llama_dir, token_file, "--save_model", "out", "--resume", resume)
        )
    assert code == 2
    assert "--save_model: another calibprune run (pid " in _one_error(err)
    assert (partial / "manifest.json").read_text() == live
    assert sorted(p.name for p in in_tmp_dir.iterdir()) == ["out.partial"]


def test_corrupt_manifest_names_the_file(capsys, in_tmp_dir, tiny_llama_dir, token_file):
    partial = make_folder(WorkDir.next_to(in_tmp_dir / "out"), "save_model", kind="workdir")  # as a run makes it
    (partial / "manifest.json").write_text('{"fingerprint": ')
    code, _, err = run_cli(
        capsys,
        *prune_args(tiny_llama_dir, token_file, "--save_model", "out", "--resume", "true", "--trainer.logger", "false"),
    )
    assert code == 2
    line = _one_error(err)
    assert "--resume: " in line and "out.partial/manifest.json is corrupt (JSONDecodeError" in line


def test_failed_streamed_run_removes_its_work_directory(capsys, in_tmp_dir, nan_llama_dir, token_file):
    code, _, err = run_cli(
        capsys, *prune_args(nan_llama_dir, token_file, "--save_model", "out", "--model.stream", "true")
    )
    assert code == 2 and "non-finite activations" in err
    assert list(in_tmp_dir.iterdir()) == []


def test_prune_and_evaluate_share_the_default_perplexity_window(
    capsys, in_tmp_dir, tiny_llama_dir, token_file, eval_data_dir, tmp_path_factory, monkeypatch
):
    """Calibration uses 32-token sequences; both commands evaluate in 512-token windows (the model's context)."""
    monkeypatch.setenv("CALIBPRUNE_CACHE", str(tmp_path_factory.mktemp("cache")))
    code, out, err = run_cli(
        capsys,
        *prune_args(
            tiny_llama_dir,
            token_file,
            "--tasks",
            "[wikitext]",
            "--data_dir",
            str(eval_data_dir),
            "--save_model",
            "out",
            "--eval_limit",
            "2",
            "--output",
            "prune.json",
        ),
    )
    assert code == 0, err
    assert "perplexity window 512 tokens" in out
    pruned = _cell(out, "wikitext", "ppl")[1]
    assert json.loads((in_tmp_dir / "prune.json").read_text())["configs"]["wikitext"]["seqlen"] == 512
    code, out, err = run_cli(
        capsys,
        "evaluate",
        "--model",
        "out",
        "--tasks",
        "[wikitext]",
        "--data_dir",
        str(eval_data_dir),
        "--limit",
        "2",
        "--output",
        "evaluate.json",
    )
    assert code == 0, err
    assert "perplexity window 512 tokens" in out
    assert _cell(out, "wikitext", "ppl") == pytest.approx([pruned], rel=1e-5)
    assert json.loads((in_tmp_dir / "evaluate.json").read_text())["configs"]["wikitext"]["seqlen"] == 512


@pytest.mark.multiprocess
@pytest.mark.parametrize("tasks", ["[wikitext]", "[boolq]"])
def test_two_process_evaluate_scores_every_item_once(tmp_path, tiny_llama_dir, eval_data_dir, tasks):
    """3 windows (items) on 2 processes: a DistributedSampler would score 4 (one twice); the results must match."""
    documents = {}
    for name, extra in {"single": [], "ddp": ["--trainer.strategy", "ddp", "--trainer.devices", "2"]}.items():
        output = tmp_path / f"{name}.json"
        cmd = [
            sys.executable,
            "-m",
            "calibprune.cli",
            "evaluate",
            "--model",
            str(tiny_llama_dir),
            "--tasks",
            tasks,
            "--data_dir",
            str(eval_data_dir),
            "--limit",
            "3",
            "--seqlen",
            "32",
            "--data.batch_size",
            "1",
            "--trainer.accelerator",
            "cpu",
            "--trainer.logger",
            "false",
            "--trainer.enable_progress_bar",
            "false",
            "--output",
            str(output),
            *extra,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        documents[name] = json.loads(output.read_text())
    single, ddp = (next(iter(documents[name]["results"].values())) for name in ("single", "ddp"))
    task = tasks.strip("[]")
    assert single[task]["n"] == ddp[task]["n"] == 3
    for metric, value in single[task].items():
        expected = pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
        assert ddp[task][metric] == expected, metric

"""``--resume``: a run killed mid-prune and started again with the same command ends with the same model."""

from __future__ import annotations

import json

import pytest

import calibprune.prune.module
from calibprune.callbacks import Wanda
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.files.owner import make_folder
from calibprune.modeling.workdir import MANIFEST, WorkDir
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer
from tests.scale.conftest import assert_bitwise_equal, prune_args, run_cli, saved_tensors
from tests.scale.kill_callback import ENV, SIGNAL_ENV

KILL = ["--trainer.callbacks+=tests.scale.kill_callback.KillAfterBlock"]


@pytest.mark.parametrize(
    "options",
    [["--method", "Wanda"], ["--method", "SparseGPT", "--model.stream", "true"]],
    ids=["Wanda-in-memory", "SparseGPT-streamed"],
)
def test_killed_run_resumes_from_last_finished_block_to_identical_model(
    tiny4_dir, calibration_tokens, tmp_path, options
):
    run_cli(prune_args(tiny4_dir, calibration_tokens, tmp_path / "uninterrupted", *options), cwd=tmp_path)
    command = prune_args(tiny4_dir, calibration_tokens, tmp_path / "resumed", *options, "--resume", "true", *KILL)
    killed = run_cli(command, cwd=tmp_path, env={ENV: "2"}, check=False)
    assert killed.returncode == -9  # SIGKILL while block 2 was being pruned
    workdir = WorkDir.next_to(tmp_path / "resumed")
    assert json.loads((workdir / MANIFEST).read_text())["next_block"] == 2
    assert not (tmp_path / "resumed").exists()
    resumed = run_cli(command, cwd=tmp_path)
    assert "--resume: 2 of 4 blocks already pruned" in resumed.stderr
    assert_bitwise_equal(saved_tensors(tmp_path / "uninterrupted"), saved_tensors(tmp_path / "resumed"))
    assert not workdir.exists()


def test_sigterm_stops_after_the_current_block_and_the_run_resumes(tiny4_dir, calibration_tokens, tmp_path):
    run_cli(prune_args(tiny4_dir, calibration_tokens, tmp_path / "uninterrupted"), cwd=tmp_path)
    command = prune_args(tiny4_dir, calibration_tokens, tmp_path / "resumed", "--resume", "true", *KILL)
    stopped = run_cli(command, cwd=tmp_path, env={ENV: "1", SIGNAL_ENV: "SIGTERM"}, check=False)
    assert stopped.returncode == 143, stopped.stderr
    assert "SIGTERM: stopped after decoder block 1" in stopped.stderr
    assert json.loads((WorkDir.next_to(tmp_path / "resumed") / MANIFEST).read_text())["next_block"] == 2
    assert not (tmp_path / "resumed").exists()
    resumed = run_cli(command, cwd=tmp_path)
    assert "--resume: 2 of 4 blocks already pruned" in resumed.stderr
    assert_bitwise_equal(saved_tensors(tmp_path / "uninterrupted"), saved_tensors(tmp_path / "resumed"))


def _prune(model_dir, tokens, out, nsamples=6, resume=True, **options):
    trainer = PruningTrainer(callbacks=[Wanda()], enable_progress_bar=False, accelerator="cpu", devices=1)
    data = CalibrationDataModule([str(tokens)], nsamples=nsamples, seqlen=32, batch_size=2)
    return trainer.prune(PruningModule(str(model_dir), **options), data, save_model=str(out), resume=resume)


def test_run_that_died_while_saving_resumes_without_pruning_and_refuses_other_runs(
    tiny4_dir, calibration_tokens, tmp_path, monkeypatch
):
    _prune(tiny4_dir, calibration_tokens, tmp_path / "reference", resume=False)

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(calibprune.prune.module, "save_pruned_model", disk_full)
        with pytest.raises(OSError, match="disk full"):
            _prune(tiny4_dir, calibration_tokens, tmp_path / "out")
    manifest = json.loads((WorkDir.next_to(tmp_path / "out") / MANIFEST).read_text())
    assert manifest["next_block"] == 4
    with pytest.raises(ValueError, match=r"--resume: .*out.partial was written by a different run \(tokens differ\)"):
        _prune(tiny4_dir, calibration_tokens, tmp_path / "out", nsamples=4)
    _prune(tiny4_dir, calibration_tokens, tmp_path / "out")
    assert_bitwise_equal(saved_tensors(tmp_path / "reference"), saved_tensors(tmp_path / "out"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "reference"]


def test_without_resume_a_stale_work_directory_is_discarded(tiny4_dir, calibration_tokens, tmp_path):
    stale = make_folder(WorkDir.next_to(tmp_path / "out"), "save_model", kind="workdir")  # as a killed run left it
    (stale / MANIFEST).write_text(json.dumps({"fingerprint": {}, "next_block": 3, "sparsity": {}}))
    report = _prune(tiny4_dir, calibration_tokens, tmp_path / "out", resume=False, stream=True)
    assert report["global"]["sparsity"] == pytest.approx(0.5)
    assert not stale.exists()


def test_resume_needs_a_save_path():
    with pytest.raises(ValueError, match="--resume needs --save_model"):
        PruningModule().configure_run(save_model=None, resume=True)

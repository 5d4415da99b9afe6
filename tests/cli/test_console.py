"""What the user sees: warnings (SparseGPT damping retries), progress bars and the one-screen summary."""

import re

from calibprune import console
from tests.cli.helpers import prune_args, run_cli


def test_sparsegpt_damping_retry_is_shown(capsys, tiny_llama_dir, token_file):
    """Ellipses give a near-singular Hessian; with almost no damping, Cholesky fails and is retried, visibly."""
    args = prune_args(
        tiny_llama_dir,
        token_file,
        "--prune_method",
        "sparsegpt",
        "--method.percdamp",
        "1e-9",
        "--calibration",
        "[ellipses]",
        "--trainer.logger",
        "false",
    )
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "calibprune: warning: SparseGPT: Cholesky failed with damping 1e-09; retrying with 1e-08" in err


def test_one_screen_summary(capsys, in_tmp_dir, tiny_llama_dir, token_file):
    code, out, _ = run_cli(capsys, *prune_args(tiny_llama_dir, token_file, "--save_model", "out"))
    assert code == 0
    summary = out[out.index("=== calibprune prune: done") - 10 :].strip().splitlines()
    assert len(summary) <= 24 and all(len(line) <= 160 for line in summary)
    labels = [line.split()[0] for line in summary[1:-1]]
    assert labels == ["model", "device", "method", "calibration", "sparsity", "saved", "tensorboard"]
    assert re.search(r"^method +Wanda, unstructured, ratio 0\.5$", out, re.M)
    assert re.search(r"^calibration +\S+tokens\.pt: 6 sequences x 32 tokens", out, re.M)
    (run_dir,) = (in_tmp_dir / "runs" / "prune").iterdir()
    assert f"(this run: runs/prune/{run_dir.name})" in out


def test_progress_bars_over_blocks_and_batches(capsys, tiny_llama_dir, token_file, monkeypatch):
    monkeypatch.setattr(console, "interactive", lambda: True)  # a terminal: nested bars redraw in place
    args = prune_args(tiny_llama_dir, token_file, "--trainer.logger", "false")
    _, _, quiet = run_cli(capsys, *args)
    _, _, shown = run_cli(capsys, *args, "--trainer.enable_progress_bar", "true")
    assert "block 1 batches" in shown and "pruning (Wanda)" in shown
    assert "block 1 batches" not in quiet

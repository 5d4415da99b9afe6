"""Run the CLI in-process and capture its exit status and output."""

from __future__ import annotations

from calibprune.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``calibprune ARGS`` in-process; return exit status, stdout and stderr."""
    try:
        main([str(arg) for arg in args])
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code if isinstance(exit_info.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def prune_args(model_dir, token_file, *extra) -> list[str]:
    """A quick ``prune`` on six token-file sequences of 32 tokens, without progress bars."""
    return [
        "prune",
        "--model",
        str(model_dir),
        "--calibration",
        f"[{token_file}]",
        "--nsamples",
        "6",
        "--seqlen",
        "32",
        "--data.batch_size",
        "2",
        "--trainer.enable_progress_bar",
        "false",
        *extra,
    ]

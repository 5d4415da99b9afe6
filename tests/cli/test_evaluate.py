"""``prune --tasks`` (dense vs pruned, dense cached) and ``evaluate`` on a saved model, with their summaries."""

import re

import pytest

from tests.cli.helpers import prune_args, run_cli
from tests.cli.test_tensorboard import read_run, run_hparams

EVAL = ["--eval_limit", "4", "--eval_seqlen", "32", "--eval_batch_size", "4"]


@pytest.fixture
def cache(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("CALIBPRUNE_CACHE", str(folder))
    return folder


def _cell(out: str, task: str, metric: str) -> list[float]:
    """The numbers of a row of the results table (value ± stderr per column: values only)."""
    row = next(line for line in out.splitlines() if line.startswith(f"| {task} | {metric} |"))
    return [float(cell.split("±")[0]) for cell in row.strip("|").split("|")[3:]]


def test_prune_evaluates_dense_and_pruned_then_evaluate_agrees(
    capsys, in_tmp_dir, cache, tiny_llama_dir, token_file, eval_data_dir
):
    args = prune_args(
        tiny_llama_dir,
        token_file,
        "--tasks",
        "[wikitext, boolq]",
        "--data_dir",
        str(eval_data_dir),
        "--save_model",
        "out",
        *EVAL,
    )
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "| task | metric | n | dense | pruned |" in out
    dense_ppl, pruned_ppl = _cell(out, "wikitext", "ppl")
    assert dense_ppl != pruned_ppl and len(_cell(out, "boolq", "acc")) == 2
    for line in ("sparsity     50.00% of", "saved        out (safetensors", "tensorboard  tensorboard --logdir runs"):
        assert line in out
    (run_dir,) = (in_tmp_dir / "runs" / "prune").iterdir()
    events = read_run(run_dir)
    assert events.Scalars("pruned/wikitext/ppl")[0].value == pytest.approx(pruned_ppl, rel=1e-4)
    assert events.Scalars("dense/wikitext/ppl")[0].value == pytest.approx(dense_ppl, rel=1e-4)
    assert "pruned/boolq/acc" in events.Tags()["scalars"]

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
        "4",
        "--seqlen",
        "32",
        "--data.batch_size",
        "4",
    )
    assert code == 0, err
    assert _cell(out, "wikitext", "ppl") == pytest.approx([pruned_ppl], rel=1e-4)
    assert re.search(r"^sparsity +50\.00% of", out, re.M)
    (run_dir,) = (in_tmp_dir / "runs" / "evaluate").iterdir()
    events = read_run(run_dir)
    assert events.Scalars("wikitext/ppl")[-1].value == pytest.approx(pruned_ppl, rel=1e-4)
    assert run_hparams(events)["model"] == "out"


def test_dense_results_are_cached(capsys, cache, tiny_llama_dir, token_file, eval_data_dir):
    args = prune_args(
        tiny_llama_dir,
        token_file,
        "--tasks",
        "[wikitext]",
        "--data_dir",
        str(eval_data_dir),
        "--trainer.logger",
        "false",
        *EVAL,
    )
    first = run_cli(capsys, *args)
    second = run_cli(capsys, *args)
    assert "results read from the cache" not in first[2]
    assert "calibprune: wikitext: results read from the cache" in second[2]
    assert _cell(first[1], "wikitext", "ppl") == _cell(second[1], "wikitext", "ppl")


def test_skip_dense_eval(capsys, cache, tiny_llama_dir, token_file, eval_data_dir):
    args = prune_args(
        tiny_llama_dir,
        token_file,
        "--tasks",
        "[wikitext]",
        "--data_dir",
        str(eval_data_dir),
        "--skip_dense_eval",
        "true",
        "--trainer.logger",
        "false",
        *EVAL,
    )
    code, out, _ = run_cli(capsys, *args)
    assert code == 0 and "| task | metric | n | pruned |" in out


def test_evaluate_dense_model(capsys, in_tmp_dir, tiny_llama_dir, eval_data_dir):
    code, out, err = run_cli(
        capsys,
        "evaluate",
        "--model",
        str(tiny_llama_dir),
        "--tasks",
        "[boolq]",
        "--data_dir",
        str(eval_data_dir),
        "--limit",
        "4",
        "--trainer.logger",
        "false",
    )
    assert code == 0, err
    assert "calibprune evaluate: done" in out and re.search(r"^sparsity +0\.00% of", out, re.M)
    assert len(_cell(out, "boolq", "acc")) == 1
    assert list(in_tmp_dir.iterdir()) == []

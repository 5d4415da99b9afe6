"""Short flags (seed-style) and nested options set the same things, on the command line and in YAML configs."""

import functools

import pytest

from calibprune.callbacks import SparseGPT
from calibprune.callbacks.base import find_pruning_method
from calibprune.command_line.flags import expand_shorthands
from calibprune.prune.trainer import PruningTrainer
from tests.cli.helpers import run_cli


@pytest.fixture
def captured(monkeypatch):
    """Replace the pruning job by a recorder of what the CLI built (same signature, so the same options)."""
    calls = {}

    @functools.wraps(PruningTrainer.prune)
    def record(self, model, datamodule=None, **kwargs):
        calls.update(method=find_pruning_method(self.callbacks), model=model, data=datamodule, **kwargs)

    monkeypatch.setattr(PruningTrainer, "prune", record)
    return calls


def _settings(calls):
    method, data = calls["method"], calls["data"]
    return (
        type(method),
        method.pattern,
        calls["model"].model_name,
        data.calibration,
        data.nsamples,
        data.seqlen,
        data.seed,
        data.options.format,
        data.data_dir,
        calls["save_model"],
    )


def test_short_flags_equal_nested_options(capsys, captured, tmp_path):
    short = [
        "prune",
        "--model",
        "some/model",
        "--prune_method",
        "sparsegpt",
        "--sparsity_ratio",
        "0.6",
        "--sparsity_type",
        "unstructured",
        "--calibration",
        "[c4, gsm8k]",
        "--format",
        "icl-cot",
        "--nsamples",
        "16",
        "--seqlen",
        "64",
        "--seed",
        "3",
        "--data_dir",
        str(tmp_path),
        "--save_model",
        "out",
    ]
    nested = [
        "prune",
        "--model.model",
        "some/model",
        "--method",
        "SparseGPT",
        "--method.sparsity_ratio",
        "0.6",
        "--method.sparsity_type",
        "unstructured",
        "--data.calibration",
        "[c4, gsm8k]",
        "--data.format",
        "icl-cot",
        "--data.nsamples",
        "16",
        "--data.seqlen",
        "64",
        "--data.seed",
        "3",
        "--data.data_dir",
        str(tmp_path),
        "--save_model",
        "out",
    ]
    assert run_cli(capsys, *short)[0] == 0
    from_short = _settings(captured)
    assert run_cli(capsys, *nested)[0] == 0
    assert _settings(captured) == from_short
    assert from_short[0] is SparseGPT and from_short[1].ratio == 0.6 and from_short[3] == ["c4", "gsm8k"]


def test_seed_sets_sampling_and_global_seed(capsys, captured, monkeypatch):
    seeds = []
    monkeypatch.setattr("lightning.pytorch.cli.seed_everything", lambda seed, workers: seeds.append(seed) or seed)
    run_cli(capsys, "prune", "--seed", "7")
    assert captured["data"].seed == 7 and seeds == [7]


SPELLINGS = [["--method", "sparsegpt"], ["--method=SPARSEGPT"], ["--prune_method", "SparseGpt"]]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_method_names_in_any_case(capsys, captured, spelling):
    run_cli(capsys, "prune", *spelling)
    assert type(captured["method"]) is SparseGPT


def test_yaml_nested_config_and_short_override(capsys, captured, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "model:\n  model: some/model\n"
        "method:\n  class_path: calibprune.callbacks.Wanda\n"
        "  init_args:\n    sparsity_ratio: 0.3\n    use_variant: true\n"
        "data:\n  calibration: [pile]\n  nsamples: 12\n"
    )
    run_cli(capsys, "prune", "--config", str(config))
    assert captured["method"].pattern.ratio == 0.3 and captured["method"].use_variant
    assert captured["data"].calibration == ["pile"] and captured["data"].nsamples == 12
    run_cli(capsys, "prune", "--config", str(config), "--sparsity_ratio", "0.7", "--nsamples", "4")
    assert captured["method"].pattern.ratio == 0.7 and captured["data"].nsamples == 4
    run_cli(capsys, "prune", "--config", str(config), "--prune_method", "sparsegpt")  # Wanda-only option dropped
    assert type(captured["method"]) is SparseGPT and captured["method"].pattern.ratio == 0.3


def test_yaml_config_with_short_keys(capsys, captured, tmp_path):
    config = tmp_path / "short.yaml"
    config.write_text("prune_method: magnitude\nsparsity_type: '2:4'\ncalibration: [ellipses]\nseqlen: 128\n")
    run_cli(capsys, "prune", "--config", str(config))
    assert captured["method"].pattern.n == 2 and captured["data"].seqlen == 128
    assert type(captured["method"]).__name__ == "Magnitude"


def test_expand_shorthands():
    assert expand_shorthands(["prune", "--model", "org/name", "--method", "sparsegpt"]) == [
        "prune",
        "--model.model",
        "org/name",
        "--method",
        "SparseGPT",
    ]
    assert expand_shorthands(["--model=embedded"]) == ["--model.model", "embedded"]
    assert expand_shorthands(["--model", "cfg.yaml"]) == ["--model", "cfg.yaml"]
    assert expand_shorthands(["--model", "{model: embedded}"]) == ["--model", "{model: embedded}"]
    assert expand_shorthands(["--method", "calibprune.callbacks.Wanda"]) == ["--method", "calibprune.callbacks.Wanda"]
    assert expand_shorthands(["--model"]) == ["--model"]
    assert expand_shorthands(["--prune_method", "magnitude"]) == ["--method", "Magnitude"]
    assert expand_shorthands(["--prune_method=obs"]) == ["--prune_method", "obs"]


def test_prune_help_documents_every_option(capsys):
    code, out, _ = run_cli(capsys, "prune", "-h")
    assert code == 0
    for text in (
        "--prune_method",
        "--sparsity_ratio",
        "--sparsity_type",
        "--calibration",
        "--format",
        "--nsamples",
        "--seqlen",
        "--seed",
        "--tasks",
        "--save_model",
        "--overwrite",
        "--log_dir",
        "--data.num_incontext",
        "short for --method.sparsity_ratio",
        "number of calibration sequences",
        "dense and the pruned model",
    ):
        assert text in out, text


def test_evaluate_help_has_its_own_options(capsys):
    code, out, _ = run_cli(capsys, "evaluate", "-h")
    assert code == 0
    assert "--data.tasks" in out and "--tasks" in out and "--data.num_fewshot" in out
    assert "--method" not in out and "--data.calibration" not in out

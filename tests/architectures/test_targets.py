"""``--method.targets`` / ``--method.ignore``: regex (``re:``) or glob on the full name, in Python, YAML and the CLI."""

from __future__ import annotations

import json

import pytest

from calibprune.callbacks import RIA, DSnoT, SparseGPT, Wanda
from calibprune.modeling.targets import Selection
from tests.architectures.helpers import matrices, prune
from tests.cli.helpers import prune_args, run_cli


def test_pattern_rules():
    selection = Selection(targets=["re:.*self_attn", "*.mlp.down_proj"], ignore=["model.layers.1.self_attn.q_proj"])
    names = [
        "model.layers.0.self_attn.q_proj",
        "model.layers.1.self_attn.q_proj",
        "model.layers.0.mlp.down_proj",
        "model.layers.0.mlp.up_proj",
        "model.layers.10.self_attn.o_proj",
    ]
    assert selection.select(names) == [names[0], names[2], names[4]]
    assert not Selection(targets=["self_attn"]).selects(names[0])  # no wildcard: the exact name only
    assert Selection(targets=["re:model\\.layers\\.(0|1)\\."]).select(names) == names[:4]


@pytest.mark.parametrize("method", [Wanda, SparseGPT, RIA, DSnoT])
def test_ignored_matrices_stay_dense_and_coverage_says_so(arch_dir, arch_tokens, method):
    folder = arch_dir("llama")
    module = prune(folder, method(sparsity_ratio=0.5, ignore=["re:.*self_attn", "model.layers.1.*"]), arch_tokens)
    for name, weight in matrices(module.model).items():
        dense = "self_attn" in name or name.startswith("model.layers.1.")
        assert (float((weight == 0).float().mean()) == 0.0) if dense else (weight == 0).float().mean() == 0.5, name
    assert set(module.report["layers"]) == {f"model.layers.0.mlp.{p}_proj" for p in ("gate", "up", "down")}
    coverage = module.report["coverage"]
    assert coverage["not_pruned"]["excluded by --method.targets/--method.ignore"] > coverage["pruned_weights"]


def test_targets_choose_first_and_last_blocks(arch_dir, arch_tokens):
    module = prune(arch_dir("gpt2"), Wanda(0.5, targets=["re:transformer\\.h\\.(0|1)\\.mlp\\."]), arch_tokens)
    assert set(module.report["layers"]) == {f"transformer.h.{b}.mlp.{p}" for b in (0, 1) for p in ("c_fc", "c_proj")}


@pytest.mark.parametrize(("option", "pattern"), [("targets", "*q_proj_typo"), ("ignore", "re:model\\.layers\\.7\\.")])
def test_a_pattern_matching_nothing_is_an_error_naming_the_option(arch_dir, arch_tokens, option, pattern):
    with pytest.raises(ValueError, match=f"--method.{option}: '.*' matches no weight matrix"):
        prune(arch_dir("llama"), Wanda(0.5, **{option: [pattern]}), arch_tokens)


def test_cli_and_yaml(capsys, tmp_path, monkeypatch, arch_dir, arch_tokens):
    monkeypatch.chdir(tmp_path)
    args = prune_args(
        arch_dir("llama"),
        arch_tokens,
        "--prune_method",
        "wanda",
        "--method.ignore",
        "[re:.*self_attn, re:.*down_proj]",
        "--save_model",
        "cli",
    )
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    layers = json.loads((tmp_path / "cli" / "sparsity_report.json").read_text())["layers"]
    assert sorted(layers) == sorted(f"model.layers.{b}.mlp.{p}_proj" for b in (0, 1) for p in ("gate", "up"))
    config = tmp_path / "method.yaml"
    config.write_text(
        "method:\n  class_path: calibprune.callbacks.Wanda\n  init_args:\n"
        "    targets: ['*.mlp.*']\n    ignore: ['model.layers.0.*']\n"
    )
    code, _, err = run_cli(
        capsys, *prune_args(arch_dir("llama"), arch_tokens, "--config", str(config), "--save_model", "yaml")
    )
    assert code == 0, err
    layers = json.loads((tmp_path / "yaml" / "sparsity_report.json").read_text())["layers"]
    assert sorted(layers) == sorted(f"model.layers.1.mlp.{p}_proj" for p in ("gate", "up", "down"))
    code, _, err = run_cli(
        capsys, *prune_args(arch_dir("llama"), arch_tokens, "--method.targets", "[nothing]", "--save_model", "bad")
    )
    assert code == 2 and "--method.targets: 'nothing' matches no weight matrix" in err
    assert not (tmp_path / "bad").exists()

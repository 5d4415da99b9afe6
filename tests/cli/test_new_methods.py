"""RIA and DSnoT from the command line: chosen by name in any case, their own options, OWL, bad values."""

from __future__ import annotations

import json

import pytest
import yaml

from calibprune.callbacks import RIA, DSnoT
from calibprune.errors import OptionError
from tests.cli.helpers import prune_args, run_cli


@pytest.mark.parametrize(
    "extra",
    [
        ["--prune_method", "ria", "--method.sparsity_type", "2:4", "--method.alpha", "1.0"],
        ["--method", "RIA", "--method.per_outneuron", "true"],
        ["--prune_method", "dsnot", "--method.sparsity_type", "4:8"],
        ["--method", "DSnoT", "--method.initial", "sparsegpt", "--method.skip_layer", "null"],
    ],
)
def test_prune_with_the_new_methods_saves_an_exactly_sparse_model(capsys, tiny_llama_dir, token_file, tmp_path, extra):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, *prune_args(tiny_llama_dir, token_file, "--save_model", out, *extra))
    assert code == 0, err
    report = json.loads((out / "sparsity_report.json").read_text())
    assert report["global"]["sparsity"] == 0.5
    assert {layer["sparsity"] for layer in report["layers"].values()} == {0.5}


def test_ria_whole_matrix_with_owl_spreads_the_block_ratios(capsys, tiny_llama_dir, token_file, tmp_path):
    out = tmp_path / "owl"
    extra = ["--method", "RIA", "--method.owl", "true", "--method.owl_lambda", "0.1", "--save_model", out]
    code, _, err = run_cli(capsys, *prune_args(tiny_llama_dir, token_file, *extra))
    assert code == 0, err
    report = json.loads((out / "sparsity_report.json").read_text())
    ratios = report["block_sparsity"] if "block_sparsity" in report else report["method"]["block_sparsity"]
    assert len(set(ratios)) == 2 and sum(ratios) / 2 == pytest.approx(0.5)


def test_dsnot_with_owl(capsys, tiny_llama_dir, token_file, tmp_path):
    extra = ["--prune_method", "dsnot", "--method.owl", "true", "--save_model", tmp_path / "dsnot-owl"]
    code, _, err = run_cli(capsys, *prune_args(tiny_llama_dir, token_file, *extra))
    assert code == 0, err


BAD_VALUES = [
    (["--prune_method", "dsnot", "--method.initial", "obs"], "initial", "unknown initial method 'obs'"),
    (["--prune_method", "dsnot", "--method.max_cycle_time", "-1"], "max_cycle_time", "must be an integer >= 0"),
    (["--prune_method", "dsnot", "--method.update_threshold", "inf"], "update_threshold", "must be a finite number"),
    (["--prune_method", "ria", "--method.alpha", "nan"], "alpha", "must be a finite number"),
    (
        ["--prune_method", "ria", "--method.per_outneuron", "true", "--method.sparsity_type", "2:4"],
        "per_outneuron",
        "applies to unstructured sparsity only",
    ),
]


@pytest.mark.parametrize(("extra", "parameter", "problem"), BAD_VALUES)
def test_bad_values_raise_an_option_error_naming_the_parameter(extra, parameter, problem):
    options = dict(zip(extra[2::2], extra[3::2], strict=True))
    cls = RIA if extra[1] == "ria" else DSnoT
    kwargs = {k.removeprefix("--method."): v if ":" in v else yaml.safe_load(v) for k, v in options.items()}
    with pytest.raises(OptionError) as caught:
        cls(**kwargs)
    assert caught.value.parameter == parameter and problem in caught.value.problem


@pytest.mark.parametrize(("extra", "parameter", "problem"), BAD_VALUES)
def test_bad_values_stop_the_cli_with_exit_2_before_any_work(
    capsys, tiny_llama_dir, token_file, tmp_path, extra, parameter, problem
):
    """One line, exit 2, nothing written. (The line names the flag once the parameter->flag mapping is in main.)"""
    code, _, err = run_cli(capsys, *prune_args(tiny_llama_dir, token_file, "--save_model", tmp_path / "x", *extra))
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x").exists()

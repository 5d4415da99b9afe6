"""Issue 20, "wrong or no option named": each bad value is one line naming the option as the user typed it.

Exit 2, one line that names the flag as typed (short, nested, ``--config`` for a key of a file) and what it
accepts, nothing written, no model loaded. Same style as ``test_bad_input_table.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from calibprune.callbacks.registry import method_names
from tests.cli.helpers import run_cli


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Config files with unknown and repeated keys, a folder named like a data file."""
    root = tmp_path_factory.mktemp("held-out-flags")
    (root / "typo.yaml").write_text("model:\n  modle: x\n")
    (root / "top.yaml").write_text("sparsity: 0.5\n")
    (root / "twice.yaml").write_text("data:\n  nsamples: 6\n  nsamples: 7\n")
    (root / "x.jsonl").mkdir()
    return root


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
        "--trainer.enable_progress_bar",
        "false",
        *extra,
    ]


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


# name: (arguments, texts the error line holds)
CASES: dict[str, tuple[list[str], list[str]]] = {
    "layer_sparsity value out of range": (
        _prune("--method.layer_sparsity", "[0.5, 1.5]"),
        ["--method.layer_sparsity: ratio 1 is 1.5", "accepted: ratios in [0, 1)"],
    ),
    "owl_m infinite": (
        _prune("--method.owl", "true", "--method.owl_m", ".inf"),
        ["--method.owl_m: must be a finite number > 0, got inf"],
    ),
    "owl_m infinite without owl": (_prune("--method.owl_m", ".inf"), ["--method.owl_m: must be a finite number"]),
    "owl_lambda NaN": (_prune("--method.owl_lambda", ".nan"), ["--method.owl_lambda: must be in [0, 1), got nan"]),
    "percdamp inf as text": (
        _prune("--prune_method", "sparsegpt", "--method.percdamp", "inf"),
        ["--method.percdamp: expected a finite number, got inf (SparseGPT)"],
    ),
    "percdamp infinite": (
        _prune("--prune_method", "sparsegpt", "--method.percdamp", ".inf"),
        ["--method.percdamp: must be a finite number >= 0, got inf"],
    ),
    "blocksize 0": (
        _prune("--prune_method", "sparsegpt", "--method.blocksize", "0"),
        ["--method.blocksize: must be a positive integer, got 0"],
    ),
    "init_args typo": (
        _prune("--method.init_args.owll", "true"),
        ["--method.owll: not an option of Wanda; accepted:", "owl_m", "sparsity_ratio", "use_variant"],
    ),
    "owl with magnitude": (
        _prune("--prune_method", "magnitude", "--method.owl", "true"),
        ["--method.owl:", "Magnitude"],
    ),
    "sparsity_ratio NaN": (_prune("--sparsity_ratio", ".nan"), ["--sparsity_ratio: must be in [0, 1), got nan"]),
    "nested sparsity_ratio named nested": (
        _prune("--method.sparsity_ratio", "1.0"),
        ["--method.sparsity_ratio: must be in [0, 1), got 1.0"],
    ),
    "seed -1": (_prune("--seed", "-1"), ["--seed: must be an integer in [0, 2**32 - 1], got -1"]),
    "nested seed -1": (_prune("--data.seed", "-1"), ["--data.seed: must be an integer in [0, 2**32 - 1]"]),
    "save_model empty": (_prune("--save_model", ""), ["--save_model: empty path; accepted: a folder path"]),
    "unknown key in a config": (
        _prune("--config", "{files}/typo.yaml"),
        ["--config: key 'model.modle' is not an option of calibprune prune; accepted: --model.model?", "--model.dtype"],
    ),
    "unknown top-level key in a config": (
        _prune("--config", "{files}/top.yaml"),
        ["--config: key 'sparsity' is not an option of calibprune prune; accepted:", "--sparsity_ratio"],
    ),
    "unknown nested flag": (
        _prune("--data.seqlenn", "3"),
        ["--data.seqlenn: not an option of calibprune prune; accepted: --data.seqlen?", "--data.nsamples"],
    ),
    "key twice in a config": (
        _prune("--config", "{files}/twice.yaml"),
        ["--config: {files}/twice.yaml: line 3, column 3: key 'nsamples' is given twice"],
    ),
    "unknown study key": (
        _study("--grid.seedz", "[0]"),
        ["--grid.seedz: not an option of calibprune study; accepted: --grid.seeds?"],
    ),
    "a folder named like a data file": (
        _prune("--calibration", "[{files}/x.jsonl]"),
        ["--calibration: '{files}/x.jsonl' is a folder, not a .jsonl file; accepted:"],
    ),
    "weights NaN": (
        _prune("--calibration", "[{tokens}, {tokens}]", "--data.weights", "[.nan, 1]"),
        ["--data.weights: nan in [nan, 1.0] is not a finite number >= 0; accepted:"],
    ),
    "weights infinite": (
        _prune("--calibration", "[{tokens}, {tokens}]", "--data.weights", "[.inf, 1]"),
        ["--data.weights: inf in [inf, 1.0] is not a finite number >= 0"],
    ),
    "nsamples beyond any run": (
        _prune("--nsamples", "10000000000"),
        ["--nsamples: 10000000000 x seqlen 32 = 3.2e+11 calibration tokens", "accepted: 1 to 4194304 sequences"],
    ),
    "nested nsamples beyond any run": (
        _prune()[:5] + _prune("--data.nsamples", "10000000000")[7:],
        ["--data.nsamples: 10000000000 x seqlen 32"],
    ),
    "N:M ratio contradiction named as typed": (
        _prune("--sparsity_type", "2:4", "--method.sparsity_ratio", "0.7"),
        ["--method.sparsity_ratio: 0.7 contradicts --sparsity_type 2:4", "leave --method.sparsity_ratio out"],
    ),
    "study method option": (
        _study("--grid.methods", "[{{method: SparseGPT, options: {{percdamp: -1}}}}]"),
        ["--grid.methods: SparseGPT 50%: percdamp: must be a finite number >= 0, got -1"],
    ),
    "study unknown method": (
        _study("--grid.methods", "[{{method: Obs}}]"),
        [f"--grid.methods: Obs 50%: method: unknown method 'Obs'; accepted: {method_names()}"],
    ),
}


def _tree(*roots: Path) -> set[Path]:
    return {path for root in roots for path in root.rglob("*")}


@pytest.mark.parametrize("case", CASES)
def test_held_out_bad_values_name_the_flag_as_typed(
    capsys, in_tmp_dir, no_model_load, tiny_llama_dir, token_file, files, case
):
    args, expected = CASES[case]
    args = [arg.format(model=tiny_llama_dir, tokens=token_file, files=files) for arg in args]
    before = _tree(in_tmp_dir, files, token_file.parent)
    code, out, err = run_cli(capsys, *args)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("calibprune: error: --"), out + err
    for text in expected:
        assert text.format(files=files) in lines[0], lines[0]
    assert "Traceback" not in err
    assert _tree(in_tmp_dir, files, token_file.parent) == before, "bad input left files behind"

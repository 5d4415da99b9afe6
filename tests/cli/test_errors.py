"""Bad input: one line naming the option and what it accepts, exit status 2, no traceback, nothing on disk."""

import json

import pytest

from calibprune.callbacks.registry import method_names, pruning_methods
from tests.cli.helpers import prune_args, run_cli


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    """Malformed, empty and filtered-to-nothing data files, and a local gsm8k copy."""
    root = tmp_path_factory.mktemp("bad-files")
    (root / "bad.jsonl").write_text('{"text": "fine"}\n{"text": broken\n')
    (root / "bad.csv").write_text('text,n\n"fine",1\n"unterminated,2\nx,y,z,w\n')
    (root / "empty.jsonl").write_text("")
    (root / "gsm8k").mkdir()
    rows = [{"question": f"Q{i}?", "answer": f"Step one.\nStep two: {i}.\n#### {i}"} for i in range(20)]
    (root / "gsm8k" / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def assert_user_error(capsys, in_tmp_dir, args, message):
    before = sorted(in_tmp_dir.iterdir())
    code, out, err = run_cli(capsys, *args)
    errors = [line for line in err.splitlines() if line.startswith("calibprune: error:")]
    assert code == 2, err
    assert len(errors) == 1 and message in errors[0], err
    assert "Traceback" not in err
    assert sorted(in_tmp_dir.iterdir()) == before, "a failed run left files behind"


CASES = {
    "unknown method": (
        ["--prune_method", "obs"],
        f"--prune_method: unknown method 'obs'; accepted: {', '.join(pruning_methods())}",
    ),
    "unknown method class": (
        ["--method", "Obs"],
        f"--method: invalid value; accepted: {method_names()}",
    ),
    "unknown source": (["--calibration", "[c5]"], "--calibration: unknown source 'c5'; accepted: "),
    "unknown format": (["--format", "few-shot"], "--format must be one of zero-shot, icl, icl-cot"),
    "unknown task": (["--tasks", "[wikitext, boolqq]"], "--tasks: unknown task 'boolqq'; accepted: "),
    "sparsity 1": (["--sparsity_ratio", "1.0"], "--sparsity_ratio: must be in [0, 1), got 1.0"),
    "sparsity < 0": (["--sparsity_ratio", "-0.1"], "--sparsity_ratio: must be in [0, 1)"),
    "sparsity not a number": (["--sparsity_ratio", "half"], "--sparsity_ratio"),
    "N >= M": (["--sparsity_type", "4:4"], "--sparsity_type: N:M needs 0 < N < M, got '4:4'"),
    "M does not divide": (["--sparsity_type", "3:7"], "M=7 does not divide the input width 32"),
    "nsamples 0": (["--nsamples", "0"], "--nsamples: must be a positive integer, got 0"),
    "nsamples < 0": (["--nsamples", "-3"], "--nsamples: must be a positive integer, got -3"),
    "seqlen beyond context": (["--seqlen", "4096"], "--seqlen: 4096 exceeds the model's context of 512 tokens"),
    "token file missing": (["--calibration", "[missing.pt]"], "--calibration: token file 'missing.pt' does not exist"),
    "text file missing": (["--calibration", "[missing.jsonl]"], "--calibration: text file 'missing.jsonl' does not"),
    "hub unreachable": (["--calibration", "[c4]"], "pass --data_dir DIR with DIR/c4/train.jsonl"),
    "CoT without rationales": (
        ["--calibration", "[boolq]", "--format", "icl-cot"],
        "--format icl-cot: task 'boolq' has no rationales",
    ),
    "eval data unreachable": (["--tasks", "[boolq]"], "pass --data_dir DIR with DIR/boolq/"),
    "N:M with a ratio": (["--sparsity_type", "2:4", "--sparsity_ratio", "0.7"], "--sparsity_ratio: 0.7 contradicts"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_prune_option(capsys, in_tmp_dir, tiny_llama_dir, token_file, case):
    extra, message = CASES[case]
    assert_user_error(
        capsys, in_tmp_dir, prune_args(tiny_llama_dir, token_file, *extra, "--save_model", "out"), message
    )


FILE_CASES = {
    "malformed jsonl": (["--calibration", "[{root}/bad.jsonl]"], "--calibration: cannot parse a local data file"),
    "malformed csv": (["--calibration", "[{root}/bad.csv]"], "--calibration: cannot parse a local data file"),
    "empty file": (["--calibration", "[{root}/empty.jsonl]"], "--calibration: local data file"),
    "nothing left after filtering": (
        ["--calibration", "[gsm8k]", "--format", "icl-cot", "--data.num_cot_steps", "9", "--data_dir", "{root}"],
        "--data.num_cot_steps 9: no gsm8k rationale has 9 steps",
    ),
}


@pytest.mark.parametrize(("extra", "message"), FILE_CASES.values(), ids=FILE_CASES)
def test_bad_data_file(capsys, in_tmp_dir, tiny_llama_dir, token_file, bad_files, extra, message):
    extra = [arg.format(root=bad_files) for arg in extra]
    assert_user_error(
        capsys, in_tmp_dir, prune_args(tiny_llama_dir, token_file, *extra, "--save_model", "out"), message
    )


def test_missing_model_path(capsys, in_tmp_dir, token_file):
    args = prune_args("./no-such-model", token_file)
    assert_user_error(capsys, in_tmp_dir, args, "--model: './no-such-model' does not exist; accepted: a local model")


def test_hub_model_unreachable(capsys, in_tmp_dir, token_file):
    assert_user_error(
        capsys,
        in_tmp_dir,
        prune_args("nobody/no-such-model", token_file),
        "--model: cannot load a causal LM from 'nobody/no-such-model'",
    )


def test_non_decoder_model(capsys, in_tmp_dir, bert_dir, token_file):
    assert_user_error(
        capsys,
        in_tmp_dir,
        prune_args(bert_dir, token_file, "--save_model", "out"),
        "is not causal (earlier positions see later tokens); accepted: decoder-only causal LMs",
    )


def test_nan_activations_leave_no_run_behind(capsys, in_tmp_dir, nan_llama_dir, token_file):
    """The failure comes mid-run, after the TensorBoard run directory was opened: it is removed again."""
    assert_user_error(
        capsys,
        in_tmp_dir,
        prune_args(nan_llama_dir, token_file, "--save_model", "out"),
        "non-finite activations (NaN/Inf)",
    )


def test_existing_save_path(capsys, in_tmp_dir, tiny_llama_dir, token_file):
    (in_tmp_dir / "out").mkdir()
    assert_user_error(
        capsys,
        in_tmp_dir,
        prune_args(tiny_llama_dir, token_file, "--save_model", "out"),
        "--save_model: 'out' already exists; pass --overwrite true to replace it",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tasks", "[nosuchtask]"], "--tasks: unknown task 'nosuchtask'"),
        (["--limit", "0"], "--limit: must be an integer >= 1, got 0"),
        (["--seqlen", "4096"], "--seqlen: 4096 exceeds the model's context of 512 tokens"),
        (["--tasks", "[boolq]"], "pass --data_dir DIR with DIR/boolq/"),
    ],
)
def test_bad_evaluate_option(capsys, in_tmp_dir, tiny_llama_dir, extra, message):
    args = ["evaluate", "--model", str(tiny_llama_dir), "--trainer.enable_progress_bar", "false", *extra]
    assert_user_error(capsys, in_tmp_dir, args, message)


def test_evaluate_non_decoder_model(capsys, in_tmp_dir, bert_dir):
    assert_user_error(capsys, in_tmp_dir, ["evaluate", "--model", str(bert_dir)], "is not causal")

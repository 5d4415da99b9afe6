"""Input checked from the files alone (issue 20): every data case of the issue and held-out cases of each class.

Token files, text files, numbers of the data side, ``layer_sparsity`` against ``config.json`` and a study's whole
grid: exit 2, one line naming the parameter, nothing written, no model (nor tokenizer) loaded. The cases marked
held out are not in the issue: the acceptance is that unlisted cases of a class fail the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from calibprune.datamodules.sources.text_reading import read_texts
from tests.cli.helpers import run_cli
from tests.cli.test_bad_input_table import _prune, _study, _tree

pytestmark = pytest.mark.usefixtures("no_model_load")  # no model, tokenizer or skeleton is loaded


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tokenizer) -> Path:
    """Bad token files and text files, one of each kind of fault."""
    root = tmp_path_factory.mktemp("held-out-inputs")
    ids = torch.randint(0, len(tokenizer), (6, 32), generator=torch.Generator().manual_seed(0))
    torch.save({"input_ids": ids, "attention_mask": torch.zeros_like(ids)}, root / "all_padding.pt")
    one_empty = torch.ones_like(ids)
    one_empty[2] = 0
    torch.save({"input_ids": ids, "attention_mask": one_empty}, root / "one_empty_row.pt")
    torch.save(ids.reshape(2, 3, 32), root / "three_d.pt")
    torch.save(ids[0], root / "one_d.pt")
    torch.save(ids.to(torch.int32), root / "int32.pt")
    (root / "folder.pt").mkdir()
    lines = {
        "dict_text": ['{"text": "fine words"}', '{"text": {"body": "nested"}}'],
        "number_text": ['{"text": "fine words"}', '{"text": 42}'],
        "missing_text": ['{"text": "fine words"}', '{"title": "no text here"}'],
        "null_text": ['{"text": "fine words"}', '{"text": null}'],
        "list_line": ['{"text": "fine words"}', '["text", "in a list"]'],
        "bool_text": ['{"text": true}'],
        "broken_line": ['{"text": "fine words"}', '{"text": "fine words"}', '{"text": unquoted}'],
    }
    for name, rows in lines.items():
        (root / f"{name}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "latin1.txt").write_bytes("caf\u00e9 au lait\nna\u00efve r\u00e9sum\u00e9\n".encode("latin-1"))
    (root / "utf16.jsonl").write_bytes('{"text": "hello"}\n'.encode("utf-16"))
    (root / "cp1252.csv").write_bytes('text\n"it\u2019s a quote"\n'.encode("cp1252"))
    (root / "empty.txt").write_text("")
    (root / "blank.txt").write_text("\n  \n\t\n")
    (root / "binary.txt").write_bytes(b"PK\x03\x04\x00\x00binary zip header" * 20)
    (root / "ragged.csv").write_text("text,label\nfine words,1\ntoo,many,fields\n")
    (root / "list.json").write_text(json.dumps([{"text": "fine words"}, {"text": ["a", "list"]}]))
    (root / "small.jsonl").write_text('{"text": "hello world"}\n' * 3)
    (root / "x.jsonl").mkdir()
    import pandas

    pandas.DataFrame({"text": [1, 2, 3]}).to_parquet(root / "numbers.parquet")
    return root


def _study_with(calibration: str, *extra: str) -> list[str]:
    args = _study(*extra)
    args[args.index("--grid.calibration") + 1] = calibration
    return args


# name: (arguments, parameter as the user types it, text of the error line). None is loaded and none is written.
CASES: dict[str, tuple[list[str], str, str]] = {
    # the "nonsense accepted" (data side)
    "token file with an all-zero attention mask": (
        _prune("--calibration", "[{inputs}/all_padding.pt]"),
        "--calibration",
        "has an attention_mask of all 0: no real token",
    ),
    "jsonl text a dict": (
        _prune("--calibration", "[{inputs}/dict_text.jsonl]"),
        "--calibration",
        "dict_text.jsonl line 2: 'text' is an object, not a string",
    ),
    "jsonl text a number": (
        _prune("--calibration", "[{inputs}/number_text.jsonl]"),
        "--calibration",
        "number_text.jsonl line 2: 'text' is a number, not a string",
    ),
    "jsonl text missing": (
        _prune("--calibration", "[{inputs}/missing_text.jsonl]"),
        "--calibration",
        "missing_text.jsonl line 2 has no 'text' field",
    ),
    "nsamples 10000000000": (
        _prune("--calibration", "[random]", "--nsamples", "10000000000"),
        "--nsamples",
        "10000000000 x seqlen 32 = 3.2e+11 calibration tokens, beyond the 134217728 (2^27)",
    ),
    "study random+ellipses twice, once with weights [1, 1]": (
        _study_with("[{{sources: [random, ellipses]}}, {{sources: [random, ellipses], weights: [1, 1]}}]"),
        "--grid.calibration",
        "'random+ellipses [1:1]' and 'random+ellipses' are the same calibration set",
    ),
    # the "checked late"
    "token file rows": (_prune("--nsamples", "7"), "--nsamples", "7: token file '{tokens}' holds only 6 sequences"),
    "token file seqlen": (_prune("--seqlen", "16"), "--seqlen", "16: token file '{tokens}' holds sequences of 32"),
    "empty .txt": (_prune("--calibration", "[{inputs}/empty.txt]"), "--calibration", "empty.txt' is empty"),
    "binary .txt": (
        _prune("--calibration", "[{inputs}/binary.txt]"),
        "--calibration",
        "binary.txt holds binary data (a NUL byte at line 1, byte 4)",
    ),
    "layer_sparsity length": (
        _prune("--method.layer_sparsity", "[0.5, 0.5, 0.5]"),
        "--method.layer_sparsity",
        "3 ratios; the model has 2 decoder blocks",
    ),
    "weights NaN": (
        _prune("--calibration", "[{tokens}, random]", "--data.weights", "[1, .nan]"),
        "--data.weights",
        "nan in [1.0, nan] is not a finite number >= 0",
    ),
    "study seqlen beyond the context": (
        _study("--grid.seqlen", "[1024]"),
        "--grid.seqlen",
        "1024 exceeds the model's context of 512 tokens",
    ),
    "study method option error": (
        _study("--grid.methods", "[{{method: Wanda, options: {{percdamp: 0.1}}}}]"),
        "--grid.methods",
        "unexpected keyword argument 'percdamp'",
    ),
    "study token file rows": (
        _study_with("[{{sources: [{tokens}]}}]", "--grid.nsamples", "[8]"),
        "--grid.nsamples",
        "holds only 6 sequences",
    ),
    # the "wrong or no option named"
    "a folder named x.jsonl": (
        _prune("--calibration", "[{inputs}/x.jsonl]"),
        "--calibration",
        "x.jsonl' is a folder, not a .jsonl file",
    ),
    # held out: token files
    "held out: one row without a real token": (
        _prune("--calibration", "[{inputs}/one_empty_row.pt]"),
        "--calibration",
        "row 2 has no real token",
    ),
    "held out: a 3-D token tensor": (
        _prune("--calibration", "[{inputs}/three_d.pt]"),
        "--calibration",
        "is (2, 3, 32), not [n, seqlen]",
    ),
    "held out: a 1-D token tensor": (
        _prune("--calibration", "[{inputs}/one_d.pt]"),
        "--calibration",
        "is (32,), not [n, seqlen]",
    ),
    "held out: a folder named x.pt": (
        _prune("--calibration", "[{inputs}/folder.pt]"),
        "--calibration",
        "folder.pt' is a folder",
    ),
    "held out: int32 token file rows in a mixture": (
        _prune("--calibration", "[{inputs}/int32.pt, random]", "--nsamples", "14"),
        "--nsamples",
        "7: token file",
    ),
    # held out: text files
    "held out: a Latin-1 .txt": (
        _prune("--calibration", "[{inputs}/latin1.txt]"),
        "--calibration",
        "latin1.txt is not UTF-8: byte 0xe9 at line 1, column 4 (byte 3)",
    ),
    "held out: a UTF-16 .jsonl": (
        _prune("--calibration", "[{inputs}/utf16.jsonl]"),
        "--calibration",
        "utf16.jsonl is UTF-16 text (its byte-order mark), not UTF-8",
    ),
    "held out: a cp1252 .csv": (
        _prune("--calibration", "[{inputs}/cp1252.csv]"),
        "--calibration",
        "cp1252.csv is not UTF-8: byte 0x92 at line 2, column 4",
    ),
    "held out: a .txt of blank lines": (
        _prune("--calibration", "[{inputs}/blank.txt]"),
        "--calibration",
        "blank.txt' is empty",
    ),
    "held out: a jsonl line that is a list": (
        _prune("--calibration", "[{inputs}/list_line.jsonl]"),
        "--calibration",
        "list_line.jsonl: line 2 is a list, not a JSON object",
    ),
    "held out: jsonl text null": (
        _prune("--calibration", "[{inputs}/null_text.jsonl]"),
        "--calibration",
        "null_text.jsonl line 2: 'text' is null, not a string",
    ),
    "held out: jsonl text a boolean": (
        _prune("--calibration", "[{inputs}/bool_text.jsonl]"),
        "--calibration",
        "bool_text.jsonl line 1: 'text' is a boolean, not a string",
    ),
    "held out: a broken jsonl line": (
        _prune("--calibration", "[{inputs}/broken_line.jsonl]"),
        "--calibration",
        "cannot parse a local data file broken_line.jsonl: line 3, column 10",
    ),
    "held out: a ragged csv row": (
        _prune("--calibration", "[{inputs}/ragged.csv]"),
        "--calibration",
        "ragged.csv: line 3 has 3 fields, the header 2",
    ),
    "held out: a .json list with a list text": (
        _prune("--calibration", "[{inputs}/list.json]"),
        "--calibration",
        "list.json item 1: 'text' is a list, not a string",
    ),
    "held out: a parquet column of numbers": (
        _prune("--calibration", "[{inputs}/numbers.parquet]"),
        "--calibration",
        "numbers.parquet: column 'text' holds int64 values, not strings",
    ),
    "held out: a text file too small for nsamples x seqlen": (
        _prune("--calibration", "[{inputs}/small.jsonl]"),
        "--nsamples",
        "6 x seqlen 32 = 192 tokens, more than small.jsonl can hold (at most 39 tokens",
    ),
    # held out: numbers
    "held out: weights inf": (
        _prune("--calibration", "[{tokens}, random]", "--data.weights", "[.inf, 1]"),
        "--data.weights",
        "inf in [inf, 1.0] is not a finite number >= 0",
    ),
    "held out: nsamples x seqlen beyond the ceiling": (
        _prune("--calibration", "[random]", "--nsamples", "5000000"),
        "--nsamples",
        "5000000 x seqlen 32 = 1.6e+08 calibration tokens",
    ),
    "held out: layer_sparsity too short": (
        _prune("--method.layer_sparsity", "[0.5]"),
        "--method.layer_sparsity",
        "1 ratios; the model has 2 decoder blocks",
    ),
    # held out: a study's grid
    "held out: study mixture reordered with its weights": (
        _study_with(
            "[{{sources: [random, ellipses], weights: [1, 3]}}, {{sources: [ellipses, random], weights: [6, 2]}}]"
        ),
        "--grid.calibration",
        "are the same calibration set (ellipses 0.75 + random 0.25)",
    ),
    "held out: study mixture with a zero weight": (
        _study_with("[{{sources: [random]}}, {{sources: [random, ellipses], weights: [2, 0]}}]"),
        "--grid.calibration",
        "'random+ellipses [2:0]' and 'random' are the same calibration set",
    ),
    "held out: study option at its default": (
        _study_with("[{{sources: [random]}}, {{sources: [random], options: {{allow_overlap: false}}}}]"),
        "--grid.calibration",
        "are the same calibration set",
    ),
    "held out: study weights NaN": (
        _study_with("[{{sources: [random, ellipses], weights: [1, .nan]}}]"),
        "--grid.calibration",
        "weights: nan in [1.0, nan] is not a finite number",
    ),
    "held out: study jsonl text a dict": (
        _study_with("[{{sources: [{inputs}/dict_text.jsonl]}}]"),
        "--grid.calibration",
        "line 2: 'text' is an object, not a string",
    ),
    "held out: study evaluation seqlen beyond the context": (
        _study("--evaluation.seqlen", "1024"),
        "--evaluation.seqlen",
        "1024 exceeds the model's context of 512 tokens",
    ),
    "held out: study layer_sparsity length": (
        _study("--grid.methods", "[{{method: Wanda, options: {{layer_sparsity: [0.5]}}}}]"),
        "--grid.methods",
        "layer_sparsity: 1 ratios; the model has 2 decoder blocks",
    ),
    "held out: study token file seqlen in a scan": (
        _study_with(
            "[{{sources: [{tokens}], name: T}}]",
            "--grid.nsamples",
            "[4]",
            "--grid.scans",
            "[{{calibration: T, seqlen: [16]}}]",
        ),
        "--grid.seqlen",
        "16: token file",
    ),
    "held out: study one method written twice": (
        _study("--grid.methods", "[{{method: Wanda}}, {{method: calibprune.callbacks.Wanda, name: W2}}]"),
        "--grid.methods",
        "'W2' and 'Wanda 50%' are the same method",
    ),
    "held out: study method option at its default": (
        _study(
            "--grid.methods",
            "[{{method: SparseGPT}}, {{method: SparseGPT, options: {{percdamp: 0.01}}, name: S}}]",
        ),
        "--grid.methods",
        "'S' and 'SparseGPT 50%' are the same method",
    ),
    "held out: study method option typo": (
        _study("--grid.methods", "[{{method: SparseGPT, options: {{perc_damp: 0.1}}}}]"),
        "--grid.methods",
        "unexpected keyword argument 'perc_damp'",
    ),
    "held out: study nsamples 10000000000": (
        _study("--grid.nsamples", "[10000000000]"),
        "--grid.nsamples",
        "calibration tokens, beyond",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_held_out_input_fails_before_the_model_loads(capsys, in_tmp_dir, tiny_llama_dir, token_file, inputs, case):
    args, flag, expected = CASES[case]
    fill = {"model": tiny_llama_dir, "tokens": token_file, "inputs": inputs, "files": inputs}
    args = [arg.format(**fill) for arg in args]
    expected = expected.format(**fill)
    before = _tree(in_tmp_dir, inputs, token_file.parent)
    code, out, err = run_cli(capsys, *args)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert code == 2, out + err
    assert len(lines) == 1, out + err
    assert lines[0].startswith(f"calibprune: error: {flag}: "), lines[0]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in err
    assert _tree(in_tmp_dir, inputs, token_file.parent) == before, "bad input left files behind"


def test_a_csv_with_a_utf8_bom_is_read_without_it(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftext,label\nfirst words,1\nsecond words,2\n".encode())
    assert read_texts(path) == ["first words", "second words"]
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes('\ufeff{"text": "first"}\n{"text": "second"}\n'.encode())
    assert read_texts(jsonl) == ["first", "second"]


def test_a_csv_with_a_bom_passes_the_command_line_checks(capsys, in_tmp_dir, tiny_llama_dir):
    """The BOM csv is accepted: the run gets past every check and stops only where the model would load."""
    path = in_tmp_dir / "bom.csv"
    path.write_bytes(("\ufefftext\n" + "".join(f"row {i} " + "words " * 40 + "\n" for i in range(20))).encode())
    args = _prune("--calibration", f"[{path}]")
    args = [arg.format(model=tiny_llama_dir, tokens="unused") for arg in args]
    with pytest.raises(AssertionError, match="was loaded for bad input"):
        run_cli(capsys, *args)

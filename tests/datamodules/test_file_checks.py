"""The checks a source runs from its files alone, called by the command line and by the source itself."""

from __future__ import annotations

import json
import math

import pytest
import torch

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.datamodules.checks import MAX_CALIBRATION_TOKENS, check_budget, check_weights, mixture
from calibprune.datamodules.sources import SourceContext, SourceOptions, build_source
from calibprune.datamodules.sources.corpus import texts_of
from calibprune.datamodules.sources.text_file import FileSource
from calibprune.datamodules.sources.text_reading import read_texts
from calibprune.errors import OptionError
from calibprune.tasks.encoding import encode_text
from tests.conftest import shared_source


def test_the_token_bound_of_a_text_file_holds_for_the_embedded_tokenizer(tokenizer, tmp_path):
    """The bound refuses only what the tokenizer could not give: real text, code, emoji, accents, digits."""
    texts = [json.loads(line)["text"] for line in (shared_source("c4") / "train.jsonl").open()][:200]
    texts += ["1", "  leading spaces", "naïve café ☕ 😀 中文 العربية", "def f(x):\n\treturn x ** 2\n", "\u00a0" * 40]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    source = FileSource(str(path))
    eos = 1 if tokenizer.eos_token_id is not None else 0
    tokens = sum(len(encode_text(tokenizer, text)) + eos for text in texts if text.strip())
    assert tokens <= source.max_tokens()


def test_a_file_source_checks_itself_when_drawing(tokenizer, tmp_path):
    """API use (no command line) meets the same check: samples() calls check()."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "fine"}\n{"text": {"nested": 1}}\n')
    source = build_source(str(path))
    context = SourceContext(tokenizer=tokenizer, seqlen=8)
    with pytest.raises(OptionError, match=r"^calibration: d.jsonl line 2: 'text' is an object, not a string"):
        source.samples(context, 1, torch.Generator())


def test_a_token_file_source_checks_itself_when_drawing(tokenizer, tmp_path):
    path = tmp_path / "t.pt"
    torch.save(torch.randint(0, 100, (4, 16)), path)
    source = build_source(str(path))
    with pytest.raises(OptionError, match=r"^nsamples: 5: token file .* holds only 4 sequences"):
        source.samples(SourceContext(tokenizer=tokenizer, seqlen=16), 5, torch.Generator())
    with pytest.raises(OptionError, match=r"^seqlen: 8: token file .* holds sequences of 16"):
        source.samples(SourceContext(tokenizer=tokenizer, seqlen=8), 4, torch.Generator())
    assert source.samples(SourceContext(tokenizer=tokenizer, seqlen=16), 4, torch.Generator()).input_ids.shape == (
        4,
        16,
    )


def test_the_data_module_checks_each_source_for_its_share(tmp_path):
    path = tmp_path / "t.pt"
    torch.save(torch.arange(64).reshape(4, 16), path)
    CalibrationDataModule([str(path), "random"], nsamples=8, seqlen=16).check_sources(vocab_size=100)
    with pytest.raises(OptionError, match=r"^nsamples: 5: token file"):
        CalibrationDataModule([str(path), "random"], nsamples=10, seqlen=16).check_sources()
    with pytest.raises(OptionError, match=r"^calibration: token file .* holds id 63, beyond the model's vocabulary"):
        CalibrationDataModule([str(path)], nsamples=4, seqlen=16).check_sources(vocab_size=50)
    CalibrationDataModule([str(path), "random"], weights=[0, 1], nsamples=10, seqlen=16).check_sources()


@pytest.mark.parametrize("weights", [[1, math.nan], [math.inf, 1], [1, -math.inf], [0, 0], [1, True], [1]])
def test_weights_must_be_finite_non_negative_and_one_per_source(weights):
    with pytest.raises(OptionError, match=r"^weights: "):
        check_weights(weights, 2)


def test_the_calibration_budget_is_bounded():
    check_budget(MAX_CALIBRATION_TOKENS // 2048, 2048)
    with pytest.raises(OptionError, match=r"^nsamples: 65537 x seqlen 2048 = .* accepted: 1 to 65536 sequences"):
        check_budget(65537, 2048)
    with pytest.raises(OptionError, match=r"^nsamples: must be a positive integer, got True"):
        check_budget(True, 2048)


def test_mixtures_mean_their_shares_not_their_writing():
    assert mixture(["random", "ellipses"], None) == mixture(["ellipses", "random"], [3, 3])
    assert mixture(["c4", "random"], [1, 0]) == mixture(["c4"], None)
    assert mixture(["c4", "gsm8k"], [1, 2]) == mixture(["gsm8k", "c4"], [2 / 3, 1 / 3])
    assert mixture(["c4", "gsm8k"], [1, 2]) != mixture(["c4", "gsm8k"], [2, 1])


def test_corpus_records_whose_text_is_no_string_are_refused():
    assert texts_of([{"text": "a"}, {"text": None}], "text", "c4") == ["a", ""]
    with pytest.raises(OptionError, match=r"^calibration: c4 record 1: 'text' is dict, not a string"):
        texts_of([{"text": "a"}, {"text": {"x": 1}}], "text", "c4")


def test_every_text_format_strips_a_utf8_bom_and_reads_the_same_texts(tmp_path):
    bom = "\ufeff"
    files = {
        "a.txt": bom + "one text",
        "a.jsonl": bom + '{"text": "one"}\n{"text": "two"}\n',
        "a.json": bom + json.dumps([{"text": "one"}, {"text": "two"}]),
        "a.csv": bom + "text\none\ntwo\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert read_texts(tmp_path / "a.txt") == ["one text"]
    for name in ("a.jsonl", "a.json", "a.csv"):
        assert read_texts(tmp_path / name) == ["one", "two"], name


def test_json_lines_in_a_json_file_and_a_columnar_json_are_read(tmp_path):
    (tmp_path / "lines.json").write_text('{"text": "one"}\n{"text": "two"}\n')
    (tmp_path / "columns.json").write_text(json.dumps({"text": ["one", "two"]}))
    assert read_texts(tmp_path / "lines.json") == read_texts(tmp_path / "columns.json") == ["one", "two"]


def test_a_file_too_small_for_one_window_is_refused_even_with_overlap(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("hi")
    with pytest.raises(OptionError, match=r"^seqlen: 32 tokens: tiny.txt holds at most 4 tokens"):
        FileSource(str(path), SourceOptions(allow_overlap=True)).check(4, 32)

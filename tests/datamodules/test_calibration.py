import logging

import pytest
import torch

from calibprune.datamodules import CalibrationDataModule
from calibprune.datamodules.__main__ import main as preview_main
from calibprune.datamodules.calibration import split_counts
from calibprune.datamodules.preview import describe_samples


def build(tokenizer, data_dir, **kwargs):
    kwargs = {"nsamples": 6, "seqlen": 64, "data_dir": str(data_dir), **kwargs}
    datamodule = CalibrationDataModule(**kwargs)
    datamodule.connect(tokenizer)
    datamodule.setup()
    return datamodule


def test_split_counts_is_exact():
    assert split_counts(7, [1, 1, 1]) == [3, 2, 2]
    assert split_counts(10, [3, 1]) == [8, 2] and sum(split_counts(128, [0.2, 0.3, 0.5])) == 128


def test_mixture_splits_nsamples_exactly_in_source_order(tokenizer, data_dir):
    datamodule = build(tokenizer, data_dir, calibration=["c4", "ellipses", "gsm8k"], nsamples=7)
    samples = datamodule.samples
    assert samples.input_ids.shape == (7, 64)
    texts = [tokenizer.decode(row) for row in samples.input_ids]
    assert ["word" in t for t in texts[:3]] == [True] * 3
    assert all(set(t) == {"."} for t in texts[3:5]) and all("Problem" in t for t in texts[5:])


def test_same_seed_same_bytes_other_seed_other_samples(tokenizer, data_dir):
    spec = {"calibration": ["c4", "gsm8k", "random"]}
    first = build(tokenizer, data_dir, seed=1, **spec).samples
    again = build(tokenizer, data_dir, seed=1, **spec).samples
    other = build(tokenizer, data_dir, seed=2, **spec).samples
    assert torch.equal(first.input_ids, again.input_ids) and torch.equal(first.attention_mask, again.attention_mask)
    assert not torch.equal(first.input_ids, other.input_ids)


def test_export_and_reimport_exact_tokens(tokenizer, data_dir, tmp_path):
    path = tmp_path / "calib.pt"
    exported = build(tokenizer, data_dir, calibration=["gsm8k"], format="zero-shot", export_calibration=str(path))
    again = build(tokenizer, data_dir, calibration=[str(path)])
    assert torch.equal(exported.samples.input_ids, again.samples.input_ids)
    assert torch.equal(exported.samples.attention_mask, again.samples.attention_mask)
    batch = next(iter(again.predict_dataloader()))
    assert set(batch) == {"input_ids", "attention_mask"} and batch["input_ids"].shape == (6, 64)


def test_format_options_need_a_task_source():
    with pytest.raises(ValueError, match=r"format: applies to task sources, not to c4"):
        CalibrationDataModule(calibration=["c4"], format="zero-shot")
    with pytest.raises(ValueError, match="data_seqlen: 100 exceeds seqlen 64"):
        CalibrationDataModule(calibration=["c4"], seqlen=64, data_seqlen=100)


def test_show_samples_logs_decoded_text(tokenizer, data_dir, caplog):
    with caplog.at_level(logging.INFO):
        build(tokenizer, data_dir, calibration=["gsm8k"], format="zero-shot", show_samples=2)
    assert "calibration sample 2/6" in caplog.text and "calibration sample 3/6" not in caplog.text
    assert "Question: Problem" in caplog.text


def test_describe_samples_counts_padding(tokenizer, data_dir):
    samples = build(tokenizer, data_dir, calibration=["gsm8k"], format="zero-shot").samples
    text = describe_samples(samples, tokenizer, 1)
    real = int(samples.attention_mask[0].sum())
    assert text.startswith(f"--- calibration sample 1/6: {real} tokens + {64 - real} padding\n<|im_start|>Question:")


def test_preview_command_prints_samples(data_dir, capsys):
    preview_main(
        [
            "--data.calibration",
            "[ellipses]",
            "--data.seqlen",
            "16",
            "--data.nsamples",
            "2",
            "--n",
            "1",
            "--data.data_dir",
            str(data_dir),
        ]
    )
    out = capsys.readouterr().out
    assert out.startswith("--- calibration sample 1/2: 16 tokens + 0 padding\n.")

"""Acceptance: Wanda 50% on the embedded model, calibrated on real text, beats calibration on ellipses."""

import math

import pytest
import torch
from torch.nn import functional as F

from calibprune.callbacks import Wanda
from calibprune.datamodules import CalibrationDataModule
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer
from calibprune.tasks import read_jsonl
from tests.conftest import shared_source

SEQLEN, WINDOWS = 256, 16


@torch.no_grad()
def perplexity(model, ids):
    """Perplexity over consecutive ``SEQLEN`` windows of a token stream."""
    windows = ids[: WINDOWS * SEQLEN].view(WINDOWS, SEQLEN)
    logits = model(input_ids=windows, use_cache=False).logits[:, :-1].float()
    return math.exp(F.cross_entropy(logits.transpose(1, 2), windows[:, 1:]).item())


def prune_and_measure(calibration, data_dir, held_out):
    module = PruningModule(model="embedded")
    datamodule = CalibrationDataModule(calibration=[calibration], nsamples=16, seqlen=SEQLEN, data_dir=data_dir)
    trainer = PruningTrainer(callbacks=[Wanda(0.5)], accelerator="cpu", devices=1, enable_progress_bar=False)
    trainer.prune(module, datamodule)
    return perplexity(module.model, held_out)


@pytest.mark.slow
@pytest.mark.data
def test_text_calibration_beats_ellipses(tokenizer, capsys):
    folder = shared_source("c4")
    text = "\n\n".join(row["text"] for row in read_jsonl(folder / "test.jsonl"))
    held_out = torch.tensor(tokenizer(text, add_special_tokens=False)["input_ids"])
    on_text = prune_and_measure("c4", str(folder.parent), held_out)
    on_ellipses = prune_and_measure("ellipses", str(folder.parent), held_out)
    with capsys.disabled():
        print(f"\nWanda 50%, held-out C4 perplexity: calibrated on c4 {on_text:.2f}, on ellipses {on_ellipses:.2f}")
    assert on_text < on_ellipses

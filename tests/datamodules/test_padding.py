"""Padded positions never enter the statistics: appending padding leaves the Wanda masks unchanged."""

import pytest
import torch

from calibprune.callbacks import Wanda
from calibprune.datamodules import CalibrationDataModule, CalibrationSamples
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer


def pruned_masks(model_dir, token_file, seqlen, count_padding=False):
    module = PruningModule(model=str(model_dir))
    trainer = PruningTrainer(
        callbacks=[Wanda(0.5, count_padding=count_padding)], accelerator="cpu", devices=1, enable_progress_bar=False
    )
    datamodule = CalibrationDataModule(calibration=[str(token_file)], nsamples=4, seqlen=seqlen, batch_size=2)
    trainer.prune(module, datamodule)
    return {name: param != 0 for name, param in module.model.named_parameters() if param.dim() == 2}


@pytest.fixture(scope="module")
def token_files(tmp_path_factory, tokenizer):
    folder = tmp_path_factory.mktemp("tokens")
    ids = torch.randint(3, len(tokenizer), (4, 24), generator=torch.Generator().manual_seed(0))
    ids[:, 0] = tokenizer.bos_token_id
    mask = torch.ones_like(ids)
    mask[1, 16:] = 0  # one row already ends in padding
    CalibrationSamples(ids, mask).save(folder / "short.pt")
    pad = torch.full((4, 40), tokenizer.pad_token_id)
    CalibrationSamples(torch.cat([ids, pad], 1), torch.cat([mask, torch.zeros_like(pad)], 1)).save(folder / "long.pt")
    return folder / "short.pt", folder / "long.pt"


def test_appending_padding_leaves_wanda_masks_unchanged(tiny_llama_dir, token_files):
    short, long = token_files
    reference = pruned_masks(tiny_llama_dir, short, 24)
    padded = pruned_masks(tiny_llama_dir, long, 64)
    assert reference.keys() == padded.keys() and any("layers" in name for name in reference)
    for name in reference:
        assert torch.equal(reference[name], padded[name]), name


def test_counting_padding_changes_the_masks(tiny_llama_dir, token_files):
    short, long = token_files
    reference = pruned_masks(tiny_llama_dir, short, 24)
    counted = pruned_masks(tiny_llama_dir, long, 64, count_padding=True)
    assert any(not torch.equal(reference[name], counted[name]) for name in reference)

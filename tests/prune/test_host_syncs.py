"""The block loop synchronises with the device a constant number of times, whatever the number of batches.

On a GPU every ``.item()``, ``.cpu()``, ``bool(tensor)``, ``.tolist()``... waits for the device queue to drain. On
the CPU they cost nothing, but they can be counted: a whole prune of a tiny 2-block Llama with 4 and with 16
calibration batches must make the same number of such calls. Not counted: calls on a batch before it moves to
the device (``on_before_batch_transfer``, the tokens still on the CPU: they wait for nothing), and those of the
model's own forward up to its first decoder block (transformers checks the attention mask there, once per batch,
in code calibprune does not own).
"""

from __future__ import annotations

import collections

import pytest
import torch

from calibprune.callbacks import Magnitude, SparseGPT, Wanda
from calibprune.datamodules import CalibrationDataModule
from calibprune.prune import module
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer

SEQLEN, BATCH = 16, 4
SYNCING = ("item", "cpu", "tolist", "numpy", "__bool__", "__int__", "__float__", "__index__", "nonzero")


@pytest.fixture(scope="module")
def token_file(tmp_path_factory, tokenizer):
    ids = torch.randint(3, len(tokenizer), (16 * BATCH, SEQLEN), generator=torch.Generator().manual_seed(2))
    path = tmp_path_factory.mktemp("tokens") / "tokens.pt"
    torch.save({"input_ids": ids, "attention_mask": torch.ones_like(ids)}, path)
    return path


def count_syncs(monkeypatch, run) -> collections.Counter:
    """Run ``run()`` and count the calls of every tensor method that waits for a CUDA device."""
    counts: collections.Counter = collections.Counter()
    on_host = [False]
    for name in SYNCING:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            if not on_host[0]:
                counts[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    before_transfer = CalibrationDataModule.on_before_batch_transfer

    def host_side(self, batch, dataloader_idx):
        on_host[0] = True
        try:
            return before_transfer(self, batch, dataloader_idx)
        finally:
            on_host[0] = False

    monkeypatch.setattr(CalibrationDataModule, "on_before_batch_transfer", host_side)
    capture = module.capture_block_inputs

    def model_side(*args, **kwargs):
        on_host[0] = True
        try:
            return capture(*args, **kwargs)
        finally:
            on_host[0] = False

    monkeypatch.setattr(module, "capture_block_inputs", model_side)
    try:
        run()
    finally:
        monkeypatch.undo()
    return counts


def _prune_counts(monkeypatch, model_dir, token_file, method, batches: int) -> collections.Counter:
    pruning = PruningModule(model=str(model_dir))
    data = CalibrationDataModule(
        calibration=[str(token_file)], nsamples=batches * BATCH, seqlen=SEQLEN, batch_size=BATCH
    )
    trainer = PruningTrainer(accelerator="cpu", devices=1, callbacks=[method], enable_progress_bar=False)
    return count_syncs(monkeypatch, lambda: trainer.prune(pruning, data))


@pytest.mark.parametrize("cls", [Wanda, SparseGPT, Magnitude])
def test_syncs_do_not_grow_with_the_batches(monkeypatch, tiny_llama_dir, token_file, cls):
    few = _prune_counts(monkeypatch, tiny_llama_dir, token_file, cls(), 4)
    many = _prune_counts(monkeypatch, tiny_llama_dir, token_file, cls(), 16)
    print(f"{cls.__name__}: 4 batches {sum(few.values())} {dict(few)}; 16 batches {sum(many.values())} {dict(many)}")
    assert many == few

"""The block loop as a standalone object: one dispatcher, the same masks with or without a Lightning trainer."""

from __future__ import annotations

import torch
from typing_extensions import override

from calibprune.callbacks import BlockCallback, Wanda
from calibprune.datamodules import CalibrationDataModule
from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.capture import capture_block_inputs
from calibprune.prune.activations import ActivationCache
from calibprune.prune.module import PruningModule
from calibprune.prune.pipeline import PruningPipeline
from calibprune.prune.trainer import PruningTrainer

NSAMPLES, SEQLEN, BATCH = 8, 16, 4


class _Order(BlockCallback):
    """Records every block hook it hears, with what the pipeline passed."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    @override
    def on_block_start(self, trainer, pipeline, index, layers):
        self.calls.append(("start", index, trainer, pipeline))

    @override
    def on_block_batch_start(self, trainer, pipeline, index, batch):
        self.calls.append(("batch_start", index, batch.padded))

    @override
    def on_block_batch_end(self, trainer, pipeline, index):
        self.calls.append(("batch_end", index))

    @override
    def on_block_end(self, trainer, pipeline, index, layers):
        self.calls.append(("end", index))

    @override
    def on_block_pruned(self, trainer, pipeline, index, layers):
        self.calls.append(("pruned", index))


def _tokens(tokenizer, tmp_path):
    ids = torch.randint(3, len(tokenizer), (NSAMPLES, SEQLEN), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0  # one padded row: the first batch is padded, the second is not
    torch.save({"input_ids": ids, "attention_mask": mask}, tmp_path / "tokens.pt")
    return ids, mask


def test_pipeline_without_a_trainer_prunes_as_a_prune_job(tiny_llama_dir, tokenizer, tmp_path):
    ids, mask = _tokens(tokenizer, tmp_path)
    job = PruningModule(str(tiny_llama_dir))
    data = CalibrationDataModule(
        calibration=[str(tmp_path / "tokens.pt")], nsamples=NSAMPLES, seqlen=SEQLEN, batch_size=BATCH
    )
    PruningTrainer(accelerator="cpu", devices=1, callbacks=[Wanda(0.5)], enable_progress_bar=False).prune(job, data)

    alone = PruningModule(str(tiny_llama_dir))
    alone.configure_model()
    model = alone.model
    first = decoder_blocks(model)[1][0]
    batches = [
        capture_block_inputs(
            model, first, ids[i : i + BATCH], mask[i : i + BATCH], bool((mask[i : i + BATCH] == 0).any())
        )
        for i in range(0, NSAMPLES, BATCH)
    ]
    order = _Order()
    pipeline = PruningPipeline(model, Wanda(0.5), ActivationCache(batches=batches), "cpu", callbacks=[order])
    pipeline.run()

    pruned, expected = model.state_dict(), job.model.state_dict()
    for name, value in expected.items():
        assert torch.equal(pruned[name], value), name
    assert len(pipeline.activations) == 0  # cleared after the last block
    per_block = [("batch_start", 0, True), ("batch_end", 0), ("batch_start", 0, False), ("batch_end", 0)]
    assert order.calls[0] == ("start", 0, None, pipeline)
    assert order.calls[1:7] == [*per_block, ("end", 0), ("pruned", 0)]
    assert [c[0] for c in order.calls].count("start") == 2


def test_non_finite_activations_stop_before_the_block_is_pruned(tiny_llama_dir, tokenizer, tmp_path):
    ids, mask = _tokens(tokenizer, tmp_path)
    module = PruningModule(str(tiny_llama_dir))
    module.configure_model()
    model = module.model
    first = decoder_blocks(model)[1][0]
    batches = [capture_block_inputs(model, first, ids[:BATCH], mask[:BATCH])]
    batches[0].hidden[0, 0, 0] = float("nan")
    dense = {k: v.clone() for k, v in first.state_dict().items()}
    pipeline = PruningPipeline(model, Wanda(0.5), ActivationCache(batches=batches), "cpu")
    try:
        pipeline.run()
    except FloatingPointError as err:
        assert "non-finite activations" in str(err)
    else:
        raise AssertionError("no FloatingPointError")
    for name, value in first.state_dict().items():
        assert torch.equal(value, dense[name]), name


def test_no_hook_is_left_when_a_pipeline_without_trainer_fails(tiny_llama_dir, tokenizer, tmp_path):
    ids, mask = _tokens(tokenizer, tmp_path)
    module = PruningModule(str(tiny_llama_dir))
    module.configure_model()
    first = decoder_blocks(module.model)[1][0]
    batch = capture_block_inputs(module.model, first, ids[:BATCH], mask[:BATCH])
    batch.hidden[0, 0, 0] = float("inf")
    method = Wanda(0.5)
    pipeline = PruningPipeline(module.model, method, ActivationCache(batches=[batch]), "cpu")
    try:
        pipeline.run()
    except FloatingPointError:
        pass
    assert method._handles == []
    assert all(not m._forward_pre_hooks for m in module.model.modules())

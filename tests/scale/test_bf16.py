"""bf16 models prune with fp32 statistics: accumulators are fp32 and equal an fp32 computation on bf16 inputs."""

from __future__ import annotations

import pytest
import torch

from calibprune.callbacks import SparseGPT, Wanda
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.engine.wanda import wanda_mask
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer


class RecordingMixin:
    """Records every layer's (bf16) inputs and the real-token mask, then checks the statistics before pruning."""

    def on_block_start(self, trainer, pl_module, index, layers):
        super().on_block_start(trainer, pl_module, index, layers)
        self.inputs = {name: [] for name in layers}

        def record(name):
            def hook(_layer, args):
                self.inputs[name].append((args[0].detach().clone(), self.mask.bool()))

            return hook

        self.recorders = [layer.register_forward_pre_hook(record(name)) for name, layer in layers.items()]

    def on_block_batch_start(self, trainer, pl_module, index, batch):
        super().on_block_batch_start(trainer, pl_module, index, batch)
        self.mask = batch.token_mask

    def on_block_end(self, trainer, pl_module, index, layers):
        for handle in self.recorders:
            handle.remove()
        super().on_block_end(trainer, pl_module, index, layers)

    def fp32_rows(self, name):
        for inputs, mask in self.inputs[name]:
            assert inputs.dtype == torch.bfloat16
            yield inputs[mask].float()


class CheckedWanda(RecordingMixin, Wanda):
    def prune_block(self, layers, statistics):
        self.expected = {}
        for name, layer in layers.items():
            assert statistics[name].sum.dtype == torch.float32
            expected = torch.zeros(layer.in_features)
            for rows in self.fp32_rows(name):
                expected += rows.square().sum(dim=0)
            assert torch.equal(statistics[name].sum, expected), name
            self.expected[name] = wanda_mask(layer.weight, expected.sqrt(), self.pattern)
        super().prune_block(layers, statistics)
        for name, layer in layers.items():
            assert layer.weight.dtype == torch.bfloat16
            assert torch.equal(layer.weight == 0, self.expected[name]), name
        self.checked = getattr(self, "checked", 0) + len(layers)


class CheckedSparseGPT(RecordingMixin, SparseGPT):
    def prune_block(self, layers, statistics):
        for name, layer in layers.items():
            assert statistics[name].sum.dtype == torch.float32
            expected = torch.zeros(layer.in_features, layer.in_features)
            for rows in self.fp32_rows(name):
                expected.addmm_(rows.T, rows)
            torch.testing.assert_close(statistics[name].sum, expected, rtol=1e-6, atol=1e-5)
        super().prune_block(layers, statistics)
        assert all(layer.weight.dtype == torch.bfloat16 for layer in layers.values())
        self.checked = getattr(self, "checked", 0) + len(layers)


@pytest.mark.parametrize("method", [CheckedWanda, CheckedSparseGPT])
@pytest.mark.parametrize("stream", [False, True], ids=["in-memory", "streamed"])
def test_bf16_model_prunes_with_fp32_statistics(tiny4_dir, calibration_tokens, method, stream):
    callback = method()
    trainer = PruningTrainer(callbacks=[callback], enable_progress_bar=False, accelerator="cpu", devices=1)
    data = CalibrationDataModule([str(calibration_tokens)], nsamples=6, seqlen=32, batch_size=2)
    module = PruningModule(str(tiny4_dir), dtype="bfloat16", stream=stream)
    report = trainer.prune(module, data)
    assert callback.checked == 4 * 7
    assert report["global"]["sparsity"] == pytest.approx(0.5)

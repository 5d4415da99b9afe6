"""PruningInspector: what pruning did to each layer, written to the run's TensorBoard events."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from torch.nn import functional as F
from typing_extensions import override

from calibprune.callbacks.block_callback import BlockCallback
from calibprune.engine.statistics import select_tokens
from calibprune.loggers import tensorboard_logger
from calibprune.modeling.capture import BlockInputs


class PruningInspector(BlockCallback):
    """Log per-layer pruning diagnostics to TensorBoard, with the decoder block index as the step.

    Tags (``<layer>`` is a Linear layer's name inside its block, e.g. ``self_attn.q_proj``):
    ``sparsity/<layer>``; ``reconstruction_error/<layer>``, the relative error ``||(W - W')X|| / ||WX||`` of the
    pruned weights ``W'`` on calibration inputs ``X``; histograms ``activation_norms/<layer>`` (Wanda's input
    feature norms) or ``hessian_diagonal/<layer>`` (SparseGPT), once per distinct input; and text
    ``calibration/samples``, a few decoded calibration sequences. Does nothing without a TensorBoard logger.

    The figures stay on the device while the blocks are pruned and are written when prediction ends: on a GPU,
    reading each one as it comes would wait for the device once per matrix.

    Args:
        max_tokens: calibration tokens per layer kept to measure the reconstruction error (first batch, padding
            excluded).
        num_text_samples: decoded calibration sequences logged as text.
    """

    def __init__(self, max_tokens: int = 512, num_text_samples: int = 3) -> None:
        if max_tokens <= 0 or num_text_samples < 0:
            raise ValueError(
                f"PruningInspector: max_tokens must be > 0, num_text_samples >= 0; got {max_tokens}, {num_text_samples}"
            )
        self.max_tokens = max_tokens
        self.num_text_samples = num_text_samples
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._probes: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._statistics: dict[str, Any] = {}
        self._token_mask: torch.Tensor | None = None  # the real tokens of the batch running (on_block_batch_start)
        self._scalars: list[tuple[str, torch.Tensor, int]] = []  # written at the end, read at once
        self._histograms: list[tuple[str, torch.Tensor, int]] = []

    @staticmethod
    def _writer(trainer: pl.Trainer | None) -> Any:
        logger = tensorboard_logger(trainer) if trainer is not None and trainer.is_global_zero else None
        return logger.experiment if logger is not None else None

    @override
    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Log the first calibration sequences, decoded (special tokens kept, padding dropped)."""
        writer = self._writer(trainer)
        samples = getattr(trainer.datamodule, "samples", None)
        if writer is None or samples is None:
            return
        for index in range(min(self.num_text_samples, len(samples))):
            mask = samples.attention_mask[index].bool()
            text = pl_module.tokenizer.decode(samples.input_ids[index][mask].tolist(), skip_special_tokens=False)
            header = f"sample {index + 1}/{len(samples)}: {int(mask.sum())} tokens + {int((~mask).sum())} padding"
            writer.add_text("calibration/samples", f"{header}\n\n    " + text.replace("\n", "\n    "), index)

    def _probe(self, name: str, layer: Any):
        def hook(inputs: torch.Tensor, mask: torch.Tensor | None) -> None:
            if name in self._probes:  # the first batch is enough: the error is a ratio of norms
                return
            rows = select_tokens(inputs.detach(), mask)[: self.max_tokens]
            self._probes[name] = (rows, F.linear(rows, layer.weight.detach().float()))

        return hook

    @override
    def on_block_start(
        self, trainer: pl.Trainer | None, pipeline: Any, index: int, layers: dict[str, nn.Linear]
    ) -> None:
        """Start capturing each layer's dense inputs and outputs on the first calibration batch."""
        self.remove_hooks()
        self._probes, self._statistics = {}, {}
        if self._writer(trainer) is not None:

            def mask() -> torch.Tensor | None:
                return self._token_mask

            self._handles = [layer.register_input_hook(self._probe(n, layer), mask) for n, layer in layers.items()]

    @override
    def on_block_batch_start(self, trainer: pl.Trainer | None, pipeline: Any, index: int, batch: BlockInputs) -> None:
        """Probe only the real tokens of this batch."""
        self._token_mask = batch.statistics_mask

    @override
    def on_block_batch_end(self, trainer: pl.Trainer | None, pipeline: Any, index: int) -> None:
        """Keep hold of the pruning method's statistics of this block, whatever the callback order."""
        self._statistics = pipeline.method.statistics

    @override
    def on_block_end(self, trainer: pl.Trainer | None, pipeline: Any, index: int, layers: dict[str, nn.Linear]) -> None:
        """Stop capturing before the block is pruned and re-run."""
        self.remove_hooks()

    @override
    def on_block_pruned(
        self, trainer: pl.Trainer | None, pipeline: Any, index: int, layers: dict[str, nn.Linear]
    ) -> None:
        """Compute the block's sparsity, reconstruction errors and statistics histograms (kept on the device)."""
        if self._writer(trainer) is not None:
            with torch.no_grad():
                for name, layer in layers.items():
                    self._scalars.append((f"sparsity/{name}", (layer.weight == 0).float().mean(), index))
                    if name in self._probes:
                        self._scalars.append((f"reconstruction_error/{name}", self._error(name, layer), index))
                self._keep_statistics(index)
        self._probes, self._statistics = {}, {}

    @override
    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Write every block's figures, read from the device at once."""
        writer = self._writer(trainer)
        if writer is not None and self._scalars:
            values = torch.stack([value.float() for _, value, _ in self._scalars]).tolist()
            for (tag, _, step), value in zip(self._scalars, values, strict=True):
                writer.add_scalar(tag, value, step)
        if writer is not None:
            for tag, values, step in self._histograms:
                writer.add_histogram(tag, values.cpu(), step)
        self._scalars, self._histograms = [], []

    def _error(self, name: str, layer: nn.Linear) -> torch.Tensor:
        inputs, dense = self._probes[name]
        pruned = F.linear(inputs, layer.weight.detach().to(inputs.device, torch.float32))
        return (dense - pruned).norm() / dense.norm().clamp(min=1e-12)

    def _keep_statistics(self, index: int) -> None:
        seen: set[int] = set()
        for name, accumulator in self._statistics.items():
            if id(accumulator) in seen:  # q/k/v (gate/up) share one accumulator: one histogram
                continue
            seen.add(id(accumulator))
            if hasattr(accumulator, "norms"):
                self._histograms.append((f"activation_norms/{name}", accumulator.norms().float(), index))
            elif hasattr(accumulator, "hessian"):
                diagonal = torch.diagonal(accumulator.hessian()).float().clone()  # not a view: the matrix goes
                self._histograms.append((f"hessian_diagonal/{name}", diagonal, index))

    def remove_hooks(self) -> None:
        """Remove every hook this callback attached."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self.remove_hooks()

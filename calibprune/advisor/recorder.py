"""A block callback that records the Wanda input norms of every Linear layer, per sequence or in total."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch import nn
from typing_extensions import override

from calibprune.callbacks.block_callback import BlockCallback
from calibprune.engine.statistics import SquaredNormAccumulator
from calibprune.modeling.capture import BlockInputs


class NormRecorder(BlockCallback):
    """Keep ``sum_t x_tj^2`` and the token count of every Linear layer's input, blind to padding.

    The statistics are the engine's :class:`~calibprune.engine.statistics.SquaredNormAccumulator` (what Wanda
    prunes with), keyed ``"<block>.<layer>"``.

    Args:
        per_sequence: keep one accumulator per sequence (so that sequences can be resampled), not one in all.
    """

    def __init__(self, per_sequence: bool = False) -> None:
        self.per_sequence = per_sequence
        self.statistics: dict[str, list[SquaredNormAccumulator]] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._token_mask: torch.Tensor | None = None  # the real tokens of the batch running (on_block_batch_start)

    def _hook(self, key: str):
        def hook(layer: nn.Module, args: tuple) -> None:
            inputs, mask = args[0].detach(), self._token_mask
            rows = range(inputs.shape[0]) if self.per_sequence else [None]
            found = self.statistics.setdefault(key, [])
            for row in rows:
                part = inputs if row is None else inputs[row : row + 1]
                part_mask = mask if mask is None or row is None else mask[row : row + 1]
                accumulator = SquaredNormAccumulator(layer.in_features, device=inputs.device)
                accumulator.update(part, part_mask)
                if row is None and found:
                    found[0].sum += accumulator.sum
                    found[0].tokens += accumulator.tokens
                else:
                    found.append(accumulator)

        return hook

    @override
    def on_block_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, index: int, layers: dict[str, nn.Linear]
    ) -> None:
        """Attach one forward pre-hook per Linear layer of the block."""
        self.remove_hooks()
        self._handles = [
            layer.register_forward_pre_hook(self._hook(f"{index}.{name}")) for name, layer in layers.items()
        ]

    @override
    def on_block_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, index: int, batch: BlockInputs
    ) -> None:
        """Count only the real tokens of this batch."""
        self._token_mask = batch.token_mask

    @override
    def on_block_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, index: int, layers: dict[str, nn.Linear]
    ) -> None:
        """Remove the hooks."""
        self.remove_hooks()

    def remove_hooks(self) -> None:
        """Remove every hook this recorder attached."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self.remove_hooks()

    def totals(self, rows: list[int] | None = None) -> dict[str, tuple[torch.Tensor, float]]:
        """Per layer, ``(squared_sum, tokens)`` over all sequences (or the given ones, repeats counted)."""
        out = {}
        for key, accumulators in self.statistics.items():
            chosen = accumulators if rows is None else [accumulators[i] for i in rows]
            out[key] = (sum(a.sum for a in chosen), float(sum(float(a.tokens) for a in chosen)))
        return out

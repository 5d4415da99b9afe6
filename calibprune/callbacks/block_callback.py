"""Callbacks with per-decoder-block hooks, called by the sequential pruning pipeline."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from torch import nn

from calibprune.modeling.capture import BlockInputs


class BlockCallback(Callback):
    """A Lightning callback that also hears about each decoder block as it is calibrated and pruned.

    For every block, in order, the :class:`~calibprune.prune.pipeline.PruningPipeline` calls on every
    ``BlockCallback`` it was given (for a prune job: the trainer's, in the trainer's callback order):
    :meth:`on_block_start`, then :meth:`on_block_batch_start` before and :meth:`on_block_batch_end` after each
    calibration batch, then :meth:`on_block_end` (the pruning method prunes here), then :meth:`on_block_pruned`
    once the block's weights are final on every rank.

    Every hook receives ``trainer`` (the Lightning trainer; ``None`` when the pipeline runs without one, as in the
    advisor) and ``pipeline``, the pipeline running: its ``model``, ``blocks_path``, ``activations``, ``device``,
    ``method`` and ``collectives``.
    """

    def on_block_start(
        self, trainer: pl.Trainer | None, pipeline: Any, index: int, layers: dict[str, nn.Linear]
    ) -> None:
        """Called before the calibration activations run through block ``index``."""

    def on_block_batch_start(self, trainer: pl.Trainer | None, pipeline: Any, index: int, batch: BlockInputs) -> None:
        """Called before one calibration batch (on the compute device) goes through block ``index``.

        ``batch.token_mask`` marks its real tokens: what statistics hooks attached in :meth:`on_block_start`
        must count (padding excluded) while this batch runs; ``batch.statistics_mask`` is that mask, or ``None``
        when the batch has no padding (known on the host: nothing to look up on the device).
        """

    def on_block_batch_end(self, trainer: pl.Trainer | None, pipeline: Any, index: int) -> None:
        """Called after one calibration batch went through block ``index``."""

    def on_block_end(self, trainer: pl.Trainer | None, pipeline: Any, index: int, layers: dict[str, nn.Linear]) -> None:
        """Called once every calibration batch went through block ``index`` (dense weights still in place)."""

    def on_block_pruned(
        self, trainer: pl.Trainer | None, pipeline: Any, index: int, layers: dict[str, nn.Linear]
    ) -> None:
        """Called when block ``index`` holds its final pruned weights, before its outputs are recomputed."""

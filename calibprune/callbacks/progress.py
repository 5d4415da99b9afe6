"""BlockBatchProgress: a progress bar over the calibration batches run through the current decoder block."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from torch import nn
from tqdm.auto import tqdm
from typing_extensions import override

from calibprune import console
from calibprune.callbacks.block_callback import BlockCallback


class BlockBatchProgress(BlockCallback):
    """Show, under the bar over decoder blocks, one transient bar over the calibration batches of each block.

    Shown on rank zero only, only when the trainer shows progress bars (``--trainer.enable_progress_bar``), and
    only on a terminal (a log file would get one line per redraw).
    """

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    @override
    def on_block_start(
        self, trainer: pl.Trainer | None, pipeline: Any, index: int, layers: dict[str, nn.Linear]
    ) -> None:
        """Open the bar of block ``index``."""
        self._close()
        if trainer is None:  # no trainer, no progress bars asked for
            return
        batches = len(pipeline.activations)
        shown = trainer.progress_bar_callback is not None and trainer.progress_bar_callback.is_enabled
        if batches and shown and trainer.is_global_zero and console.interactive():  # in a log file: no nested bars
            self._bar = tqdm(total=batches, desc=f"block {index} batches", unit="batch", leave=False)

    @override
    def on_block_batch_end(self, trainer: pl.Trainer | None, pipeline: Any, index: int) -> None:
        """Advance the bar by one batch."""
        if self._bar is not None:
            self._bar.update(1)

    @override
    def on_block_end(self, trainer: pl.Trainer | None, pipeline: Any, index: int, layers: dict[str, nn.Linear]) -> None:
        """Close the bar once every batch went through the block."""
        self._close()

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

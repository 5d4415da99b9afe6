"""Write the run's full config (``config.yaml``) into its TensorBoard run directory, and nowhere else."""

from __future__ import annotations

import lightning.pytorch as pl
from lightning.pytorch.cli import SaveConfigCallback
from typing_extensions import override


class RunConfig(SaveConfigCallback):
    """LightningCLI's config saver that skips runs without a logger.

    Without a logger ``trainer.log_dir`` is the working directory, where a stray ``config.yaml`` is unwanted;
    with one, the config lands next to the event files, re-runnable with ``--config``.
    """

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if trainer.logger is not None:
            super().setup(trainer, pl_module, stage)

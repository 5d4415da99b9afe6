"""One TensorBoard run directory per run (``runs/<subcommand>/<timestamp>``), removed again if the run fails."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from lightning.pytorch import Trainer
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only


def run_logger(save_dir: str | Path = "runs", name: str = "prune") -> TensorBoardLogger:
    """A TensorBoard logger writing to a fresh ``<save_dir>/<name>/<YYYYmmdd-HHMMSS>[-N]`` folder.

    Lightning's placeholder ``hp_metric`` is off: the run's hyperparameters are written once, at the end, with
    its final metrics (TensorBoard keeps only the first hyperparameter record of a run).
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    version, suffix = stamp, 1
    while (Path(save_dir) / name / version).exists():
        suffix += 1
        version = f"{stamp}-{suffix}"
    return TensorBoardLogger(save_dir=str(save_dir), name=name, version=version, default_hp_metric=False)


def tensorboard_logger(trainer: Trainer) -> TensorBoardLogger | None:
    """The trainer's TensorBoard logger, if it has one."""
    return next((logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)), None)


@rank_zero_only
def discard_run(trainer: Trainer | None) -> None:
    """Close and delete the run directory of a failed run, and its parents left empty (nothing half-written)."""
    logger = tensorboard_logger(trainer) if trainer is not None else None
    if logger is None:
        return
    logger.finalize("failed")
    run_dir = Path(logger.log_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    for parent in (run_dir.parent, run_dir.parent.parent):  # <save_dir>/<name>, then <save_dir>
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()

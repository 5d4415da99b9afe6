"""One TensorBoard run directory per run (``runs/<subcommand>/<timestamp>``), removed again if the run fails."""

from __future__ import annotations

import os
import time
from pathlib import Path

from lightning.pytorch import Trainer
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from calibprune.errors import OptionError
from calibprune.files import owner

RUN_KIND = "run"  # the mark of a run directory: files calibprune writes there (results.json) it may replace


def check_log_dir(save_dir: str | Path) -> None:
    """Fail before any work when run directories cannot be created under ``save_dir`` (a file, no write access).

    Raises:
        OptionError: naming ``log_dir`` and what it accepts.
    """
    path = Path(save_dir)
    if os.path.lexists(path) and not path.is_dir():
        raise OptionError("log_dir", f"{str(path)!r} is a file", "a folder path (or --trainer.logger false)")
    owner.check_can_create(path / "prune", "log_dir", "a folder in a writable place (or --trainer.logger false)")


def run_logger(save_dir: str | Path = "runs", name: str = "prune") -> TensorBoardLogger:
    """A TensorBoard logger writing to a fresh ``<save_dir>/<name>/<YYYYmmdd-HHMMSS>[-N]`` folder.

    The folder is made (and marked) here, as scratch of the run: a failed or stopped run removes it. Lightning's
    placeholder ``hp_metric`` is off: the run's hyperparameters are written once, at the end, with its final
    metrics (TensorBoard keeps only the first hyperparameter record of a run).
    """
    check_log_dir(save_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    version, suffix = stamp, 1
    while os.path.lexists(Path(save_dir) / name / version):
        suffix += 1
        version = f"{stamp}-{suffix}"
    if rank_zero_only.rank == 0:
        owner.make_folder(Path(save_dir) / name / version, "log_dir", kind=RUN_KIND, scratch=True)
    return TensorBoardLogger(save_dir=str(save_dir), name=name, version=version, default_hp_metric=False)


def tensorboard_logger(trainer: Trainer) -> TensorBoardLogger | None:
    """The trainer's TensorBoard logger, if it has one."""
    return next((logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)), None)


@rank_zero_only
def discard_run(trainer: Trainer | None) -> None:
    """Close and delete the run directory of a failed run, and its parents this run created left empty."""
    logger = tensorboard_logger(trainer) if trainer is not None else None
    if logger is None:
        return
    logger.finalize("failed")
    run_dir = Path(logger.log_dir)
    owner.remove(run_dir, "log_dir", RUN_KIND)
    for parent in (run_dir.parent, run_dir.parent.parent):  # <save_dir>/<name>, then <save_dir>
        owner.remove_if_empty(parent)

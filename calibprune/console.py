"""A quiet console: one progress bar per stage and the summary, none of the libraries' banners and warnings."""

from __future__ import annotations

import logging
import re
import sys
import warnings

from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.utilities import rank_zero_only
from tqdm.auto import tqdm
from typing_extensions import override

# Lightning's start-up lines ("GPU available: ...", "TPU available: ...", the litlogger tip, "Seed set to 0"...);
# other messages of these loggers (e.g. ``--data.show_samples`` through ``rank_zero_info``) still show.
_BANNER_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.seed",
    "lightning.pytorch.accelerators.cuda",
    "lightning.fabric.utilities.distributed",
)
_BANNERS = re.compile(
    r"^(GPU available|TPU available|HPU available|IPU available|💡 Tip|Seed set to|"
    r"LOCAL_RANK: |Initializing distributed|-{10,}|distributed_backend=|All distributed processes "
    r"registered|You are using a CUDA device)"
)


def _not_a_banner(record: logging.LogRecord) -> bool:
    return not _BANNERS.match(record.getMessage().lstrip())


_NOISE = (
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",  # Lightning's pytree helper on recent torch
    r".*predict returned None.*",  # the predict loop keeps the activations, not predictions
    r".*`DistributedSampler`.*",
    r".*does not have many workers.*",
    r".*Total length of `DataLoader` across ranks is zero.*",
)


def interactive() -> bool:
    """Whether stderr is a terminal: progress bars redraw in place there; in a log file they would pile up."""
    return sys.stderr.isatty()


def bar_interval() -> float:
    """Seconds between a progress bar's redraws: 0.1 on a terminal; 30 in a log file, where each redraw is a line."""
    return 0.1 if interactive() else 30.0


def quiet_console() -> None:
    """Silence the banners and warnings a user need not see; keep calibprune's own log lines and errors."""
    for name in _BANNER_LOGGERS:
        logger = logging.getLogger(name)
        if _not_a_banner not in logger.filters:
            logger.addFilter(_not_a_banner)
    for pattern in _NOISE:
        warnings.filterwarnings("ignore", message=pattern)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights: 100% ..." on every model load
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass


class StageProgressBar(TQDMProgressBar):
    """Lightning's bars for the evaluation stages only: pruning shows its own bar over decoder blocks.

    The predict loop only collects the calibration inputs (a bar of a few batches that then sits empty while
    the blocks are pruned), so it gets no bar. Off when stderr is not a terminal.
    """

    def __init__(self) -> None:
        super().__init__()
        if not interactive():
            self.disable()

    @override
    def on_predict_start(self, trainer, pl_module) -> None:  # noqa: ANN001 - Lightning's hook
        """No bar while the calibration inputs are collected."""

    @override
    def on_predict_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:  # noqa: ANN001
        """No bar."""

    @override
    def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:  # noqa: ANN001
        """No bar."""

    @override
    def on_predict_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        """No bar."""


class _ConsoleHandler(logging.Handler):
    """calibprune's log records on stderr, above any progress bar; warnings say so."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        tqdm.write(f"calibprune: {prefix}{record.getMessage()}", file=sys.stderr)


def configure_console_logging() -> None:
    """Show calibprune's info and warnings (e.g. SparseGPT's damping retries) on rank zero's console."""
    logger = logging.getLogger("calibprune")
    if not any(isinstance(handler, _ConsoleHandler) for handler in logger.handlers):
        handler = _ConsoleHandler()
        handler.addFilter(lambda _record: rank_zero_only.rank == 0)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)

"""The command line's trainer: ``prune`` and ``evaluate`` of :class:`PruningTrainer`, then ``study`` and ``advise``.

The study and the advisor prune with :class:`PruningTrainer`; their jobs live here, above it, so that the prune
job never imports them.
"""

from __future__ import annotations

from typing import Any

from calibprune.advisor.options import AdviseOptions
from calibprune.callbacks.base import find_pruning_method
from calibprune.command_line.study_checks import check_study
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.job_options import takes_options
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer
from calibprune.study.commands import run_and_report
from calibprune.study.options import StudyOptions
from calibprune.study.spec import ModelEntry


class CalibpruneTrainer(PruningTrainer):
    """Lightning Trainer for one-shot pruning: predict loop for calibration, no optimiser, no checkpoints."""

    @takes_options(StudyOptions)
    def study(
        self,
        model: PruningModule,
        datamodule: CalibrationDataModule | None = None,
        run: bool = True,
        *,
        options: StudyOptions,
    ) -> None:
        """Run a calibration study: prune once per grid cell, evaluate every task, write tables and plots.

        The dense model is ``--model``; calibration sets and methods come from ``grid`` (``--data`` and ``--method``
        are not used). Finished cells are appended to ``output_dir/results*.jsonl`` and skipped when run again.

        Args:
            model: the dense model every cell starts from.
            datamodule: not used: each cell builds its own from ``grid``.
            run: run the cells (``false``: only merge the shards' results and write the report).
            options: the fields of :class:`~calibprune.study.options.StudyOptions`, one parameter (and flag) each.
        """
        spec = options.spec(ModelEntry.from_hparams(model.hparams))
        check_study(spec)  # before the dense model loads and study.json/results.jsonl are written
        run_and_report(spec, options.shard, options.report, run)

    @takes_options(AdviseOptions)
    def advise(
        self, model: PruningModule, datamodule: CalibrationDataModule | None = None, *, options: AdviseOptions
    ) -> Any:
        """Rank candidate calibration sets for a target by cheap proxies, without pruning the whole model.

        Every candidate is drawn like ``--calibration`` (``--data.nsamples``, ``--data.seqlen``, ``--data.seed``,
        ``--data.data_dir``; ``--data.calibration`` is not used) and scored against the target data on the dense
        model; the table is printed and written to ``output_dir`` (Markdown, CSV, JSON, plot). Validation of the
        proxies against full pruning and evaluation: ``docs/advisor/README.md``.

        Args:
            model: the dense model.
            datamodule: sizes, seed and data folder of the candidates' calibration samples.
            options: the options of :class:`~calibprune.advisor.options.AdviseOptions`,
                one parameter (and flag) each.
        """
        # Imported when run: the advisor's own callbacks (NormRecorder) stay out of --trainer.callbacks' help.
        from calibprune.advisor.command import run_advice

        method = find_pruning_method(self.callbacks)
        return run_advice(self, model, method, datamodule, options)

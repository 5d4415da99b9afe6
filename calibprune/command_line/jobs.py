"""The command line's trainer: ``prune`` and ``evaluate`` of :class:`PruningTrainer`, then ``study`` and ``advise``.

The study and the advisor prune with :class:`PruningTrainer`; their jobs live here, above it, so that the prune
job never imports them.
"""

from __future__ import annotations

from typing import Any

from calibprune.callbacks.base import find_pruning_method
from calibprune.command_line.study_checks import check_study
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer
from calibprune.study.commands import run_and_report
from calibprune.study.spec import AnalysisSpec, EvaluationSpec, GridSpec, ModelEntry, StudySpec


class CalibpruneTrainer(PruningTrainer):
    """Lightning Trainer for one-shot pruning: predict loop for calibration, no optimiser, no checkpoints."""

    def study(
        self,
        model: PruningModule,
        datamodule: CalibrationDataModule | None = None,
        *,
        grid: GridSpec,
        evaluation: EvaluationSpec,
        data_dir: str | None = None,
        output_dir: str = "studies/study",
        name: str = "study",
        shard: str | None = None,
        report: bool | None = None,
        run: bool = True,
        analysis: AnalysisSpec | None = None,
    ) -> None:
        """Run a calibration study: prune once per grid cell, evaluate every task, write tables and plots.

        The dense model is ``--model``; calibration sets and methods come from ``grid`` (``--data`` and ``--method``
        are not used). Finished cells are appended to ``output_dir/results*.jsonl`` and skipped when run again.

        Args:
            model: the dense model every cell starts from.
            datamodule: not used: each cell builds its own from ``grid``.
            grid: calibration sets, methods, nsamples, seqlen and seeds to cross.
            evaluation: tasks and settings every pruned model and the dense one are evaluated with.
            data_dir: local copies ``<source>/{train,test}.jsonl`` for calibration and evaluation.
            output_dir: results, report (tables, plots) and TensorBoard logs.
            name: the study's title.
            shard: ``i/n``: run only the cells whose position modulo ``n`` is ``i`` (e.g. a SLURM array task).
            report: write the report after the run (default: yes, unless ``--shard`` is given).
            run: run the cells (``false``: only merge the shards' results and write the report).
            analysis: the report's tests: reference set (default ``c4``), significance level, margins.
        """
        spec = StudySpec(
            ModelEntry.from_hparams(model.hparams),
            grid,
            evaluation,
            data_dir,
            output_dir,
            name,
            analysis or AnalysisSpec(),
        )
        check_study(spec)  # before the dense model loads and study.json/results.jsonl are written
        run_and_report(spec, shard, report, run)

    def advise(
        self,
        model: PruningModule,
        datamodule: CalibrationDataModule | None = None,
        *,
        candidates: list[str] | None = None,
        targets: list[str] | None = None,
        proxy: str = "coverage",
        all_proxies: bool = False,
        blocks: int = 2,
        target_windows: int = 16,
        target_offset: int = 0,
        bootstrap: int = 200,
        output_dir: str | None = "advice",
        overwrite: bool = False,
        plot: bool = True,
    ) -> Any:
        """Rank candidate calibration sets for a target by cheap proxies, without pruning the whole model.

        Every candidate is drawn like ``--calibration`` (``--data.nsamples``, ``--data.seqlen``, ``--data.seed``,
        ``--data.data_dir``; ``--data.calibration`` is not used) and scored against the target data on the dense
        model; the table is printed and written to ``output_dir`` (Markdown, CSV, JSON, plot). Validation of the
        proxies against full pruning and evaluation: ``docs/advisor/README.md``.

        Args:
            model: the dense model.
            datamodule: sizes, seed and data folder of the candidates' calibration samples.
            candidates: calibration sets to rank: ``--calibration`` sources, ``+`` for a mixture, ``@format`` for
                task layouts, e.g. ``[c4, pile, self, c4+gsm8k, gsm8k@zero-shot]``.
            targets: what the pruned model must serve: perplexity corpora and/or tasks, names as in ``--tasks``.
            proxy: the ranking proxy: coverage (default: the best in the validation, docs/advisor),
                reconstruction, statistics, combined (mean rank of reconstruction and statistics), diversity,
                lexical or likelihood.
            all_proxies: also measure every other proxy, for comparison (slower: by default only what ``proxy``
                needs is measured).
            blocks: decoder blocks, from the first, pruned with each candidate's statistics by the probe.
            target_windows: target sequences (perplexity windows or task prompts) of ``--data.seqlen`` tokens.
            target_offset: skip the first target windows (e.g. those a later evaluation scores).
            bootstrap: bootstrap draws over target sequences for the intervals and P(best) (0: none).
            output_dir: folder for advice.{md,csv,json,png} (empty: print only).
            overwrite: replace an advice already in ``output_dir``.
            plot: write advice.png.
        """
        # Imported when run: the advisor's own callbacks (NormRecorder) stay out of --trainer.callbacks' help.
        from calibprune.advisor.command import AdviseOptions, run_advice

        options = AdviseOptions.check(
            candidates,
            targets,
            proxy,
            all_proxies,
            blocks,
            target_windows,
            target_offset,
            bootstrap,
            output_dir,
            overwrite,
            plot,
            datamodule,
        )
        method = find_pruning_method(self.callbacks)
        return run_advice(self, model, method, datamodule, options)

"""``python -m calibprune.study run|report``: run a study grid (resumable, shardable) and write its report."""

from __future__ import annotations

import logging
import sys

from calibprune.job_options import takes_options
from calibprune.study.cells import Shard
from calibprune.study.options import StudyOptions
from calibprune.study.preflight import check_grid
from calibprune.study.report import write_report
from calibprune.study.runner import run_study
from calibprune.study.spec import ModelEntry, StudySpec

log = logging.getLogger(__name__)


def run_and_report(spec: StudySpec, shard: str | None = None, report: bool | None = None, run: bool = True) -> None:
    """Run the study's cells not yet recorded (those of ``shard``), then write its report.

    Args:
        spec: the study.
        shard: ``i/n``: run only the cells whose position modulo ``n`` is ``i``.
        report: write the report after the run (default: yes, unless sharded: merge shards with ``report``).
        run: run cells (``false``: only merge the results found and write the report).
    """
    check_grid(spec) if run else spec.validate()  # the whole grid from its files, before anything is written
    if run:
        run_study(spec, Shard.parse(shard) if shard else None)
    if report if report is not None else not shard:
        result = write_report(spec.output_dir, spec=spec)
        print(f"{spec.output_dir}/report.md: {result.cells_done}/{result.cells_expected} cells")


@takes_options(StudyOptions)
def run(model: ModelEntry, *, options: StudyOptions) -> None:
    """Run a calibration study: prune once per grid cell, evaluate every task, write tables and plots.

    Args:
        model: the dense model (``model``, ``dtype``, ``offload_activations``).
        options: the fields of :class:`~calibprune.study.options.StudyOptions`, one parameter (and flag) each.
    """
    run_and_report(options.spec(model), options.shard, options.report)


def report(output_dir: str, plots: bool = True, tensorboard: bool = True, reference: str | None = None) -> None:
    """Merge the results of every shard in a study folder and write its tables, plots and TensorBoard logs.

    Args:
        output_dir: the study's output folder (its ``results*.jsonl`` files are read).
        plots: write PNG plots (needs matplotlib).
        tensorboard: write the TensorBoard HParams view.
        reference: the calibration set the others are tested against (default: the study's, else ``c4``).
    """
    result = write_report(output_dir, plots=plots, tensorboard=tensorboard, reference=reference)
    print(f"{output_dir}/report.md: {result.cells_done}/{result.cells_expected} cells")


def main(args: list[str] | None = None) -> None:
    """Entry point of ``python -m calibprune.study``; bad input ends with a one-line error and exit status 2."""
    from jsonargparse import CLI

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        CLI([run, report], args=args, parser_mode="yaml")
    except (ValueError, FileNotFoundError) as err:
        print(f"calibprune study: error: {err}", file=sys.stderr)
        sys.exit(2)

"""Merge every results file of a study folder (all shards) and write its tables, plots and TensorBoard view."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibprune.study.aggregate import Summary, summarise
from calibprune.study.store import read_records
from calibprune.study.tables import long_csv, markdown_table, wide_csv

log = logging.getLogger(__name__)

STD_NOTE = (
    "Cells: mean over calibration seeds ± 2 sample standard deviations (ddof=1), as in the paper; "
    "no ± with a single seed. Bold: best calibration set of each method (lowest perplexity, highest accuracy). "
    "Average: mean of the accuracy rows (acc, exact_match), per seed, then over seeds."
)


@dataclass
class Report:
    """What :func:`write_report` produced.

    Attributes:
        summary: the tables' content.
        files: every file written.
        cells_done: cell records found.
        cells_expected: cells of the study's grid (``None`` when its ``study.json`` is absent).
    """

    summary: Summary
    files: list[Path]
    cells_done: int
    cells_expected: int | None


def _expected_cells(folder: Path) -> int | None:
    spec_file = folder / "study.json"
    if not spec_file.is_file():
        return None
    from calibprune.study.cells import expand_cells
    from calibprune.study.config import spec_from_dict

    return len(expand_cells(spec_from_dict(json.loads(spec_file.read_text(encoding="utf-8")))))


def _timings(records: list[dict[str, Any]]) -> str:
    cells = [r for r in records if r["kind"] == "cell"]
    if not cells:
        return ""
    prune = sum(r["timings"]["prune_s"] for r in cells)
    evaluate = sum(r["timings"]["evaluate_s"] for r in cells)
    return f"Time: {prune / 60:.1f} min pruning, {evaluate / 60:.1f} min evaluating ({len(cells)} cells).\n"


def markdown_report(summary: Summary, records: list[dict[str, Any]], done: int, expected: int | None,
                    plots: list[Path]) -> str:
    """The report's Markdown: title, progress, table, note on the statistics, plots."""
    progress = f"{done}/{expected}" if expected is not None else str(done)
    parts = [f"# {summary.name}\n", f"Cells finished: {progress}. {_timings(records)}", markdown_table(summary),
             STD_NOTE + "\n"]
    parts += [f"![{path.stem}](plots/{path.name})\n" for path in plots]
    return "\n".join(parts)


def write_report(output_dir: str | Path, plots: bool = True, tensorboard: bool = True) -> Report:
    """Read every ``results*.jsonl`` of ``output_dir`` (deduplicated by cell id) and write the report there.

    Files: ``report.md``, ``table.md``, ``table.csv`` (paper layout), ``summary.csv`` (one line per task and
    column, with the per-seed values), ``plots/*.png``, ``tensorboard/``.

    Args:
        output_dir: the study's output folder (or a folder into which shards' results files were gathered).
        plots: write PNG plots (needs matplotlib).
        tensorboard: write the TensorBoard HParams view.
    """
    folder = Path(output_dir)
    records = read_records(folder)
    if not records:
        raise FileNotFoundError(f"--output_dir: no results*.jsonl records in {str(folder)!r}")
    summary = summarise(records)
    done = sum(r["kind"] == "cell" for r in records)
    expected = _expected_cells(folder)
    files = []
    for name, text in (("table.md", markdown_table(summary)), ("table.csv", wide_csv(summary)),
                       ("summary.csv", long_csv(summary))):
        (folder / name).write_text(text, encoding="utf-8")
        files.append(folder / name)
    images: list[Path] = []
    if plots:
        from calibprune.study.plots import write_plots

        images = write_plots(summary, folder / "plots")
        files += images
    if tensorboard:
        from calibprune.study.hparams import write_hparams

        files.append(write_hparams(records, folder / "tensorboard"))
    (folder / "report.md").write_text(markdown_report(summary, records, done, expected, images), encoding="utf-8")
    files.append(folder / "report.md")
    log.info("report of %s: %s", folder, ", ".join(str(p) for p in files))
    return Report(summary, files, done, expected)

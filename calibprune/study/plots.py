"""PNG plots of a study: bars with 95% t-interval error bars and significance marks, per task and on average.

Perplexity and average accuracy get plots of their own; the reference set's bars are hatched.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from calibprune.files import owner
from calibprune.files.atomic import write_with
from calibprune.study.aggregate import AVERAGE, Row, Summary
from calibprune.study.store import PARAMETER, is_study_output
from calibprune.study.tables import Marks, marks_of

PLOTS_KIND = "plots"  # the mark of a plots folder calibprune made: its images are replaced on every report
INSTALL_HINT = "plots need matplotlib: pip install matplotlib"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    matplotlib.use("Agg")  # headless: no display on servers and SLURM nodes
    import matplotlib.pyplot as plt

    return plt


def _bars(ax: Any, row: Row, summary: Summary, marks: Marks, references: set) -> None:
    columns = [c for c in summary.columns if c.key in row.cells]
    means = [row.cells[c.key].mean for c in columns]
    errors = [row.cells[c.key].interval().half_width or 0.0 for c in columns]
    colors = ["tab:orange" if c.key in row.best else "tab:blue" for c in columns]
    bars = ax.bar(range(len(columns)), means, yerr=errors, capsize=3, color=colors)
    for bar, column, mean, error in zip(bars, columns, means, errors, strict=True):
        if column.key in references:
            bar.set_hatch("//")
            bar.set_edgecolor("black")
        comparison = marks.get((row.task, row.metric, column.key))
        if comparison is not None and comparison.marks:
            ax.annotate(
                comparison.marks,
                (bar.get_x() + bar.get_width() / 2, mean + error),
                ha="center",
                va="bottom",
                fontsize="large",
                color="tab:red" if not comparison.better else "tab:green",
            )
    if row.dense is not None:
        ax.axhline(row.dense, color="black", linestyle="--", linewidth=1, label="dense")
        ax.legend(loc="best", fontsize="small")
    ax.set_xticks(range(len(columns)), [c.title for c in columns], rotation=45, ha="right", fontsize="small")
    ax.set_title(f"{row.task} ({row.metric}{', lower is better' if row.lower_is_better else ''})")
    if row.lower_is_better and means and max(means) / max(min(means), 1e-9) > 10:
        ax.set_yscale("log")
    ax.margins(y=0.12)  # room for the marks above the tallest bar


NOTE = (
    "bars: mean over seeds; error bars: 95% t-interval; hatched: reference set; orange: best;\n"
    "* / †: differs from the reference over items / over seeds (Holm, alpha 0.05; green better, red worse)"
)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the two lines of the note
    fig.text(0.01, 0.01, NOTE, fontsize="x-small", color="dimgray")
    write_with(
        path,
        lambda tmp: fig.savefig(tmp, dpi=110, format="png"),
        PARAMETER,
        folder_kinds=(PLOTS_KIND,),
        signature=is_study_output,
    )
    return path


def write_plots(summary: Summary, folder: str | Path, comparisons: list | None = None) -> list[Path]:
    """Write ``tasks.png`` (one panel per task), ``average.png`` and ``perplexity.png`` (when present).

    Bars are means over seeds, error bars the 95% t-interval of the mean, the dashed line the dense model,
    orange the best calibration set of each method, hatched the reference set; above a bar ``*`` marks a
    difference to the reference significant over items, ``†`` over seeds (Holm), green better, red worse.
    """
    plt = _pyplot()
    marks = marks_of(comparisons)
    references = {c.b for c in comparisons or []}
    folder = owner.make_folder(folder, PARAMETER, kind=PLOTS_KIND)
    written = []
    rows = [row for row in summary.rows if row.cells]
    tasks = [row for row in rows if row.task != AVERAGE]
    width = max(6.0, 0.5 * len(summary.columns) + 2)
    if tasks:
        ncols = min(3, len(tasks))
        nrows = math.ceil(len(tasks) / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols / 1.5, 4 * nrows), squeeze=False)
        for ax, row in zip(axes.flat, tasks, strict=False):
            _bars(ax, row, summary, marks, references)
        for ax in list(axes.flat)[len(tasks) :]:
            ax.axis("off")
        written.append(_save(fig, folder / "tasks.png"))
        plt.close(fig)
    for name, wanted in (
        ("average.png", [r for r in rows if r.task == AVERAGE]),
        ("perplexity.png", [r for r in tasks if r.metric == "ppl"]),
    ):
        if wanted:
            fig, axes = plt.subplots(1, len(wanted), figsize=(width * len(wanted), 4.5), squeeze=False)
            for ax, row in zip(axes.flat, wanted, strict=True):
                _bars(ax, row, summary, marks, references)
            written.append(_save(fig, folder / name))
            plt.close(fig)
    return written

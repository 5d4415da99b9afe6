"""Tables laid out like the paper's: tasks as rows, the dense model then calibration sets as columns."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from calibprune.study.aggregate import Row, Stat, Summary

if TYPE_CHECKING:
    from calibprune.study.compare import Comparison

Marks = dict[tuple[str, str, tuple], "Comparison"]


def marks_of(comparisons: list[Comparison] | None) -> Marks:
    """Comparisons by (task, metric, compared column key), for the tables' significance marks."""
    return {(c.task, c.metric, c.a): c for c in comparisons or []}


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if metric == "ppl" else f"{value:.4f}"


def format_stat(stat: Stat | None, metric: str) -> str:
    """``mean ± h``, ``h`` the half-width of the 95% t-interval over seeds (just the mean with one seed)."""
    if stat is None:
        return "-"
    text = _fmt(stat.mean, metric)
    half = stat.interval().half_width
    return text if half is None else f"{text} ± {_fmt(half, metric)}"


def _row_cells(row: Row, summary: Summary, marks: Marks) -> list[str]:
    cells = []
    for column in summary.columns:
        text = format_stat(row.cells.get(column.key), row.metric)
        text = f"**{text}**" if column.key in row.best else text
        comparison = marks.get((row.task, row.metric, column.key))
        if comparison is not None and comparison.marks:
            text += " " + comparison.marks.replace("*", "\\*")
        cells.append(text)
    return cells


def markdown_table(summary: Summary, comparisons: list[Comparison] | None = None) -> str:
    """The study's table in Markdown: best value of each row (per method) bold, significance marks.

    ``*``: the difference to the reference column (``(ref)``) is significant over test items, ``†``: over
    seeds (each Holm-adjusted, see :mod:`calibprune.study.compare`).
    """
    marks = marks_of(comparisons)
    references = {c.b for c in comparisons or []}
    titles = [c.title + (" (ref)" if c.key in references else "") for c in summary.columns]
    header = ["Evaluation", "metric", "Dense", *titles]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * (len(header) - 2)]
    for row in summary.rows:
        cells = [row.task, row.metric, _fmt(row.dense, row.metric), *_row_cells(row, summary, marks)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _blank(value: float | None) -> float | str:
    return "" if value is None else value


def wide_csv(summary: Summary) -> str:
    """The table as CSV: ``task, metric, dense``, then mean, 95% t-interval bounds and 2 std per calibration set."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["task", "metric", "dense"]
    for column in summary.columns:
        header += [column.title, f"{column.title} ci_low", f"{column.title} ci_high", f"{column.title} 2std"]
    writer.writerow(header)
    for row in summary.rows:
        line: list = [row.task, row.metric, _blank(row.dense)]
        for column in summary.columns:
            stat = row.cells.get(column.key)
            if stat is None:
                line += ["", "", "", ""]
                continue
            interval = stat.interval()
            line += [stat.mean, _blank(interval.low), _blank(interval.high), _blank(stat.two_std)]
        writer.writerow(line)
    return out.getvalue()


def comparisons_csv(comparisons: list[Comparison]) -> str:
    """One CSV line per comparison: both columns, the difference, each test's p-value, Holm's and the verdict."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "task",
            "metric",
            "method",
            "nsamples",
            "seqlen",
            "calibration",
            "reference",
            "difference",
            "better",
            "item_test",
            "item_difference",
            "item_low",
            "item_high",
            "item_n",
            "item_p",
            "item_p_holm",
            "item_significant",
            "seed_test",
            "seed_p",
            "seed_p_holm",
            "seed_significant",
        ]
    )
    for c in comparisons:
        item, seed = c.item, c.seed
        writer.writerow(
            [
                c.task,
                c.metric,
                c.a[0],
                c.a[2],
                c.a[3],
                c.a_title,
                c.b_title,
                c.difference,
                c.better,
                item.test if item else "",
                item.difference if item else "",
                _blank(item.low if item else None),
                _blank(item.high if item else None),
                item.n if item else "",
                item.p_value if item else "",
                _blank(c.item_p_holm),
                c.item_significant,
                seed.test if seed else "",
                seed.p_value if seed else "",
                _blank(c.seed_p_holm),
                c.seed_significant,
            ]
        )
    return out.getvalue()


def long_csv(summary: Summary) -> str:
    """One CSV line per (task, column): axes, number of seeds, mean, sample std, 2 std, values, best."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "task",
            "metric",
            "method",
            "calibration",
            "nsamples",
            "seqlen",
            "n_seeds",
            "mean",
            "std",
            "two_std",
            "ci_low",
            "ci_high",
            "values",
            "best",
            "dense",
        ]
    )
    for row in summary.rows:
        for column in summary.columns:
            stat = row.cells.get(column.key)
            if stat is None:
                continue
            std = "" if stat.std is None else stat.std
            two_std = "" if stat.two_std is None else stat.two_std
            values = ";".join(repr(v) for v in stat.values)
            interval = stat.interval()
            writer.writerow(
                [
                    row.task,
                    row.metric,
                    *column.key,
                    len(stat.values),
                    stat.mean,
                    std,
                    two_std,
                    _blank(interval.low),
                    _blank(interval.high),
                    values,
                    column.key in row.best,
                    _blank(row.dense),
                ]
            )
    return out.getvalue()

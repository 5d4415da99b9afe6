"""Tables laid out like the paper's: tasks as rows, the dense model then calibration sets as columns."""

from __future__ import annotations

import csv
import io

from calibprune.study.aggregate import Row, Stat, Summary


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if metric == "ppl" else f"{value:.4f}"


def format_stat(stat: Stat | None, metric: str) -> str:
    """``mean ± 2std`` (or just the mean with one seed)."""
    if stat is None:
        return "-"
    text = _fmt(stat.mean, metric)
    return text if stat.two_std is None else f"{text} ± {_fmt(stat.two_std, metric)}"


def _row_cells(row: Row, summary: Summary) -> list[str]:
    cells = []
    for column in summary.columns:
        text = format_stat(row.cells.get(column.key), row.metric)
        cells.append(f"**{text}**" if column.key in row.best else text)
    return cells


def markdown_table(summary: Summary) -> str:
    """The study's table in Markdown; the best value of each row (per method) is bold."""
    header = ["Evaluation", "metric", "Dense", *(c.title for c in summary.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * (len(header) - 2)]
    for row in summary.rows:
        cells = [row.task, row.metric, _fmt(row.dense, row.metric), *_row_cells(row, summary)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def wide_csv(summary: Summary) -> str:
    """The table as CSV: ``task, metric, dense``, then a mean and a ``±2std`` column per calibration set."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["task", "metric", "dense"]
    for column in summary.columns:
        header += [column.title, f"{column.title} 2std"]
    writer.writerow(header)
    for row in summary.rows:
        line: list = [row.task, row.metric, "" if row.dense is None else row.dense]
        for column in summary.columns:
            stat = row.cells.get(column.key)
            line += ["", ""] if stat is None else [stat.mean, "" if stat.two_std is None else stat.two_std]
        writer.writerow(line)
    return out.getvalue()


def long_csv(summary: Summary) -> str:
    """One CSV line per (task, column): axes, number of seeds, mean, sample std, 2 std, values, best."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["task", "metric", "method", "calibration", "nsamples", "seqlen", "n_seeds", "mean", "std",
                     "two_std", "values", "best", "dense"])
    for row in summary.rows:
        for column in summary.columns:
            stat = row.cells.get(column.key)
            if stat is None:
                continue
            std = "" if stat.std is None else stat.std
            two_std = "" if stat.two_std is None else stat.two_std
            values = ";".join(repr(v) for v in stat.values)
            writer.writerow([row.task, row.metric, *column.key, len(stat.values), stat.mean, std, two_std, values,
                             column.key in row.best, "" if row.dense is None else row.dense])
    return out.getvalue()

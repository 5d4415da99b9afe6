"""Summarise a study's records: one row per task, one column per calibration set, mean and spread over seeds.

Each cell holds the mean over seeds and its 95% Student-t confidence interval (``mean ± t_{0.975, n-1} s/sqrt(n)``,
``s`` the sample standard deviation, ``ddof=1``); the paper's ``± 2 std`` stays available. Neither exists with a
single seed.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from calibprune.evaluation.results import LOWER_IS_BETTER
from calibprune.study.stats import Interval, t_interval

# The metric shown for a task, in order of preference (the others stay in the long CSV).
PRIMARY_METRICS = ("ppl", "acc", "exact_match", "bleu")
# Rows averaged into the "Average" row: the accuracies of the paper's tables.
ACCURACY_METRICS = frozenset({"acc", "exact_match"})
AXES = ("method", "calibration", "nsamples", "seqlen")
AVERAGE = "Average"


@dataclass
class Stat:
    """One table cell: a metric's values over seeds.

    Attributes:
        values: one value per seed, in seed order.
    """

    values: list[float]

    @property
    def mean(self) -> float:
        """Mean over seeds."""
        return statistics.fmean(self.values)

    @property
    def std(self) -> float | None:
        """Sample standard deviation over seeds (ddof=1); ``None`` with one seed."""
        return statistics.stdev(self.values) if len(self.values) > 1 else None

    @property
    def two_std(self) -> float | None:
        """Twice :attr:`std`, the paper's ``±``."""
        return None if self.std is None else 2 * self.std

    def interval(self, confidence: float = 0.95) -> Interval:
        """Student-t confidence interval of the mean over seeds (no bounds with one seed)."""
        return t_interval(self.values, confidence)


@dataclass
class Column:
    """A group of cells that differ only by seed (e.g. ``Wanda 50% / c4``).

    Attributes:
        key: values of the axes (method, calibration, nsamples, seqlen).
        title: the axes that vary in the study, joined.
        group: the method title (best values are marked within a group).
    """

    key: tuple
    title: str
    group: str


@dataclass
class Row:
    """One (task, metric) of the table.

    Attributes:
        task: task name (or ``Average``).
        metric: metric name.
        dense: the dense model's value.
        cells: statistics by column key.
        best: keys of the best column of each group.
    """

    task: str
    metric: str
    dense: float | None
    cells: dict[tuple, Stat] = field(default_factory=dict)
    best: set[tuple] = field(default_factory=set)

    @property
    def lower_is_better(self) -> bool:
        """Whether smaller values are better (perplexity)."""
        return self.metric in LOWER_IS_BETTER


@dataclass
class Summary:
    """The tables of a study.

    Attributes:
        name: study title.
        columns: in grid order.
        rows: one per task, then ``Average`` when there are several accuracy rows.
        varying: the axes that vary between columns.
    """

    name: str
    columns: list[Column]
    rows: list[Row]
    varying: list[str]


def _primary(results: list[dict[str, Any]]) -> dict[str, str]:
    metrics: dict[str, list[str]] = {}
    for result in results:
        metrics.setdefault(result["task"], []).append(result["metric"])
    chosen = {}
    for task, names in metrics.items():
        preferred = [m for m in PRIMARY_METRICS if m in names]
        chosen[task] = preferred[0] if preferred else names[0]
    return chosen


def _values(record: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {(r["task"], r["metric"]): r["value"] for r in record["results"]}


def _mark_best(row: Row, columns: list[Column]) -> None:
    for group in dict.fromkeys(column.group for column in columns):
        keys = [c.key for c in columns if c.group == group and c.key in row.cells]
        if keys:
            pick = min if row.lower_is_better else max
            best = pick(row.cells[k].mean for k in keys)
            row.best.update(k for k in keys if math.isclose(row.cells[k].mean, best, rel_tol=1e-12))  # ties: all


def _average_row(rows: list[Row], by_seed: dict[tuple, dict[Any, dict]], dense: dict | None) -> Row | None:
    accuracy = [row for row in rows if row.metric in ACCURACY_METRICS]
    if len(accuracy) < 2:  # the average of one task is that task's row
        return None
    wanted = [(row.task, row.metric) for row in accuracy]

    def mean_of(values: dict) -> float | None:
        return statistics.fmean(values[k] for k in wanted) if all(k in values for k in wanted) else None

    average = Row(AVERAGE, "acc", mean_of(dense) if dense else None)
    for key, seeds in by_seed.items():
        means = [m for m in (mean_of(seeds[s]) for s in sorted(seeds, key=str)) if m is not None]
        if means:
            average.cells[key] = Stat(means)
    return average


def _usual_size(cells: list[dict[str, Any]]) -> tuple[Any, Any] | None:
    """The ``(nsamples, seqlen)`` held by most columns, which their titles leave out; ``None`` if none has a majority.

    A scan (C4 also at 16 x 1024) is titled ``C4 / 16 x 1024`` beside plain ``C4``; a grid crossing every set
    with several sizes titles every column with its size.
    """
    sizes = Counter(key[2:] for key in {tuple(r["labels"][axis] for axis in AXES) for r in cells})
    if not sizes:
        return None
    size, count = sizes.most_common(1)[0]
    return size if 2 * count > sum(sizes.values()) else None


def summarise(records: list[dict[str, Any]], name: str | None = None) -> Summary:
    """Lay the records of a study out as the paper's tables.

    Args:
        records: dense and cell records (e.g. :func:`~calibprune.study.store.read_records`).
        name: the study's title (default: the records' ``study`` field).
    """
    cells = sorted((r for r in records if r["kind"] == "cell"), key=lambda r: r["index"])
    dense_records = [r for r in records if r["kind"] == "dense"]
    dense = _values(dense_records[-1]) if dense_records else None
    varying = [axis for axis in AXES if len({str(r["labels"][axis]) for r in cells}) > 1]
    shown = [axis for axis in ("method", "calibration") if axis in varying] or ["calibration"]
    usual_size = _usual_size(cells)
    columns: dict[tuple, Column] = {}
    by_seed: dict[tuple, dict[Any, dict]] = {}
    for record in cells:
        labels = record["labels"]
        key = tuple(labels[axis] for axis in AXES)
        uncalibrated = labels["nsamples"] is None  # a method that reads no calibration data (Magnitude)
        title = " / ".join(str(labels[axis]) for axis in shown if not (uncalibrated and axis == "calibration"))
        if uncalibrated:
            title += " (no calibration)"
        elif (labels["nsamples"], labels["seqlen"]) != usual_size:
            title += f" / {labels['nsamples']} x {labels['seqlen']}"
        columns.setdefault(key, Column(key, title, labels["method"]))
        by_seed.setdefault(key, {})[labels["seed"]] = _values(record)
    ordered = list(columns.values())
    primary = _primary([r for record in [*dense_records, *cells] for r in record["results"]])
    rows = []
    for task, metric in primary.items():
        row = Row(task, metric, dense.get((task, metric)) if dense else None)
        for key, seeds in by_seed.items():
            values = [seeds[s][(task, metric)] for s in sorted(seeds, key=str) if (task, metric) in seeds[s]]
            if values:
                row.cells[key] = Stat(values)
        rows.append(row)
    average = _average_row(rows, by_seed, dense)
    rows += [average] if average is not None else []
    for row in rows:
        _mark_best(row, ordered)
    study = name or (records[-1].get("study") if records else None) or "study"  # the newest title, if renamed
    return Summary(study, ordered, rows, varying)

"""Paired comparisons of two calibration sets: over the same test items, and over seeds; Holm per family.

Two tests per comparison of column ``a`` with column ``b`` on one row (task and metric) of the table:

- **over items** (test-set noise): each item's value (0/1 correctness, or a perplexity window's mean NLL) is
  averaged over the column's seeds, then ``a`` and ``b`` are compared on the same items: McNemar's exact test
  when both are single-seed 0/1 values, else a paired bootstrap of the mean difference. The ``Average`` row
  resamples items within each task (stratified) and compares the average of the task means. Perplexity rows
  compare mean NLL (a perplexity ratio of ``exp(difference)``).
- **over seeds** (calibration-sampling noise): the per-seed values of the row, a paired t-test when both columns
  ran the same seeds, else Welch's t-test; none with fewer than two seeds a side, or without any spread.

A family (one row, one method group, one nsamples/seqlen setting, one kind of test) is corrected with Holm's
step-down procedure; a difference is *significant* when its adjusted p-value is below ``alpha``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from calibprune.study import stats
from calibprune.study.aggregate import ACCURACY_METRICS, AVERAGE, AXES, Row, Summary

BINARY_METRICS = ACCURACY_METRICS | {"acc_norm"}


@dataclass
class ItemData:
    """Per-seed values and per-item values of every column, read from the cell records.

    Attributes:
        values: column key -> seed -> (task, metric) -> value.
        items: column key -> seed -> (task, metric) -> per-item values (where recorded).
    """

    values: dict[tuple, dict[Any, dict[tuple[str, str], float]]] = field(default_factory=dict)
    items: dict[tuple, dict[Any, dict[tuple[str, str], list[float]]]] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> ItemData:
        """Collect the values of every cell record, keyed as the summary's columns."""
        data = cls()
        for record in records:
            if record["kind"] != "cell":
                continue
            key = tuple(record["labels"][axis] for axis in AXES)
            seed = record["labels"]["seed"]
            results = record["results"]
            data.values.setdefault(key, {})[seed] = {(r["task"], r["metric"]): r["value"] for r in results}
            data.items.setdefault(key, {})[seed] = {
                (r["task"], r["metric"]): r["per_item"] for r in results if r.get("per_item")
            }
        return data

    def seed_values(self, key: tuple, wanted: list[tuple[str, str]]) -> dict[Any, float]:
        """Seed -> the mean of the ``wanted`` (task, metric) values (one of them: that value)."""
        out = {}
        for seed, values in self.values.get(key, {}).items():
            if all(w in values for w in wanted):
                out[seed] = statistics.fmean(values[w] for w in wanted)
        return out

    def item_means(self, key: tuple, wanted: tuple[str, str]) -> tuple[list[float], int] | None:
        """Each item's value averaged over the column's seeds, and the number of seeds; ``None`` if unrecorded."""
        per_seed = [items.get(wanted) for items in self.items.get(key, {}).values()]
        if not per_seed or any(p is None for p in per_seed) or len({len(p) for p in per_seed}) != 1:
            return None
        return [statistics.fmean(column) for column in zip(*per_seed, strict=True)], len(per_seed)


@dataclass
class Comparison:
    """Column ``a`` against column ``b`` on one row.

    Attributes:
        task: the row's task (or ``Average``).
        metric: the row's metric.
        a: key of the compared column.
        b: key of the column it is compared with (e.g. the reference set).
        a_title: title of ``a``.
        b_title: title of ``b``.
        lower_is_better: the row's direction.
        difference: ``mean(a) - mean(b)`` of the row's values over seeds.
        item: the test over items (``None`` without per-item values).
        seed: the test over seeds (``None`` with fewer than two seeds a side).
        item_p_holm: Holm-adjusted p-value of ``item`` within its family.
        seed_p_holm: Holm-adjusted p-value of ``seed`` within its family.
        alpha: significance level.
    """

    task: str
    metric: str
    a: tuple
    b: tuple
    a_title: str
    b_title: str
    lower_is_better: bool
    difference: float
    item: stats.TestResult | None = None
    seed: stats.TestResult | None = None
    item_p_holm: float | None = None
    seed_p_holm: float | None = None
    alpha: float = 0.05

    @property
    def better(self) -> bool:
        """Whether ``a``'s mean is better than ``b``'s (lower perplexity, higher accuracy)."""
        return self.difference < 0 if self.lower_is_better else self.difference > 0

    @property
    def item_significant(self) -> bool:
        """The item test's Holm-adjusted p-value is below ``alpha``."""
        return self.item_p_holm is not None and self.item_p_holm < self.alpha

    @property
    def seed_significant(self) -> bool:
        """The seed test's Holm-adjusted p-value is below ``alpha``."""
        return self.seed_p_holm is not None and self.seed_p_holm < self.alpha

    @property
    def significant(self) -> bool:
        """Significant by every test that could be run (at least one)."""
        tests = [(self.item, self.item_significant), (self.seed, self.seed_significant)]
        ran = [flag for test, flag in tests if test is not None]
        return bool(ran) and all(ran)

    @property
    def marks(self) -> str:
        """``*`` significant over items, ``†`` over seeds (Holm-adjusted)."""
        return ("*" if self.item_significant else "") + ("†" if self.seed_significant else "")


def _wanted(row: Row, summary: Summary) -> list[tuple[str, str]]:
    if row.task != AVERAGE:
        return [(row.task, row.metric)]
    return [(r.task, r.metric) for r in summary.rows if r.task != AVERAGE and r.metric in ACCURACY_METRICS]


def _item_test(
    data: ItemData, wanted: list[tuple[str, str]], a: tuple, b: tuple, metric: str, resamples: int, seed: int
) -> stats.TestResult | None:
    pairs = [(data.item_means(a, w), data.item_means(b, w)) for w in wanted]
    if any(x is None or y is None or len(x[0]) != len(y[0]) for x, y in pairs):
        return None
    if len(pairs) == 1:
        (xs, x_seeds), (ys, y_seeds) = pairs[0]
        if metric in BINARY_METRICS and x_seeds == y_seeds == 1:
            return stats.mcnemar_exact(xs, ys)
        return stats.paired_bootstrap(xs, ys, resamples=resamples, seed=seed)
    return stats.paired_bootstrap([x[0] for x, _ in pairs], [y[0] for _, y in pairs], resamples=resamples, seed=seed)


def _seed_test(data: ItemData, wanted: list[tuple[str, str]], a: tuple, b: tuple) -> stats.TestResult | None:
    xs, ys = data.seed_values(a, wanted), data.seed_values(b, wanted)
    if len(xs) < 2 or len(ys) < 2:
        return None
    if set(xs) == set(ys):
        seeds = sorted(xs, key=str)
        result = stats.paired_t_test([xs[s] for s in seeds], [ys[s] for s in seeds])
    else:
        result = stats.welch_t_test(list(xs.values()), list(ys.values()))
    # No spread at all over seeds (e.g. deterministic ellipses against a set stuck on one answer): the t statistic
    # is undefined, so there is no seed test rather than a p-value of 0.
    return None if result.low == result.high else result


def compare(
    summary: Summary,
    data: ItemData,
    row: Row,
    a: tuple,
    b: tuple,
    resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    wanted: list[tuple[str, str]] | None = None,
) -> Comparison:
    """Compare columns ``a`` and ``b`` on ``row`` (unadjusted p-values; see :func:`adjust`).

    ``wanted``: the (task, metric) pairs averaged by the row (default: the row's own, or every accuracy row
    for ``Average``).
    """
    titles = {c.key: c.title for c in summary.columns}
    wanted = wanted or _wanted(row, summary)
    return Comparison(
        row.task,
        row.metric,
        a,
        b,
        titles[a],
        titles[b],
        row.lower_is_better,
        row.cells[a].mean - row.cells[b].mean,
        item=_item_test(data, wanted, a, b, row.metric, resamples, seed),
        seed=_seed_test(data, wanted, a, b),
        alpha=alpha,
    )


def adjust(family: list[Comparison]) -> list[Comparison]:
    """Holm-adjust the item and the seed p-values of one family of comparisons, in place; return it."""
    for kind in ("item", "seed"):
        tested = [c for c in family if getattr(c, kind) is not None]
        for comparison, p in zip(tested, stats.holm([getattr(c, kind).p_value for c in tested]), strict=True):
            setattr(comparison, f"{kind}_p_holm", p)
    return family


def find_reference(summary: Summary, records: list[dict[str, Any]], reference: str) -> set[str]:
    """Calibration titles that stand for ``reference``: its title, or a set of just that source in ICL format."""
    titles = set()
    for record in records:
        if record["kind"] != "cell" or not record.get("params", {}).get("calibration"):
            continue
        calibration = record["params"]["calibration"]
        plain = (
            calibration.get("sources") == [reference]
            and not calibration.get("options")
            and not calibration.get("weights")
        )
        if record["labels"]["calibration"] == reference or plain:
            titles.add(record["labels"]["calibration"])
    return titles | ({reference} & {c.key[1] for c in summary.columns})


def reference_comparisons(
    summary: Summary, records: list[dict[str, Any]], reference: str = "c4", alpha: float = 0.05, resamples: int = 2000
) -> list[Comparison]:
    """Every column against the reference set of its method and nsamples/seqlen setting, Holm per family."""
    data = ItemData.from_records(records)
    titles = find_reference(summary, records, reference)
    out = []
    for row in summary.rows:
        groups: dict[tuple, list[tuple]] = {}
        for column in summary.columns:
            if column.key in row.cells:
                groups.setdefault((column.key[0], *column.key[2:]), []).append(column.key)
        for keys in groups.values():
            refs = [k for k in keys if k[1] in titles]
            if not refs:
                continue
            family = [compare(summary, data, row, k, refs[0], resamples, alpha=alpha) for k in keys if k != refs[0]]
            out += adjust(family)
    return out

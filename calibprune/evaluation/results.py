"""Evaluation results: one record per (task, metric), and a dense-vs-pruned table."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

# The metric a task is ranked by: higher is better for all but perplexity and NLL.
LOWER_IS_BETTER = frozenset({"ppl", "nll"})


@dataclass(frozen=True)
class TaskResult:
    """One metric of one task.

    Attributes:
        task: task or corpus name (``wikitext``, ``boolq``, a file path, ``harness:<name>``).
        metric: ``ppl`` and ``nll`` (perplexity corpora), ``acc`` and ``acc_norm`` (multiple choice),
            ``exact_match`` (arithmetic), ``bleu`` (translation, 0-100), or an lm-evaluation-harness metric.
        value: the metric's value.
        stderr: its standard error: sample std / sqrt(n) for means; for ``nll`` over the per-window mean NLLs;
            for ``ppl`` the delta-method ``ppl * stderr(nll)``; ``None`` for corpus BLEU or below two items.
        n: items scored (test examples, or windows of ``seqlen`` tokens for perplexity).
        num_fewshot: exemplars per prompt (``None`` for perplexity).
        per_item: one value per scored item, in item order, from which ``value`` is computed (0/1 correctness
            for ``acc``/``acc_norm``/``exact_match``, each window's mean token NLL for ``nll``/``ppl``), for
            paired tests between models on the same items; ``None`` where not recorded (e.g. corpus BLEU).
    """

    task: str
    metric: str
    value: float
    stderr: float | None
    n: int
    num_fewshot: int | None = None
    per_item: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


def mean_metric(results: list[TaskResult], metric: str = "acc") -> float:
    """Unweighted mean of ``metric`` over the tasks that report it (e.g. the multiple-choice average).

    Raises:
        ValueError: when no result has that metric.
    """
    values = [r.value for r in results if r.metric == metric]
    if not values:
        raise ValueError(f"no result reports the metric {metric!r}")
    return sum(values) / len(values)


def _cell(result: TaskResult | None) -> str:
    if result is None:
        return "-"
    if result.stderr is None or math.isnan(result.stderr):
        return f"{result.value:.4f}"
    return f"{result.value:.4f} ± {result.stderr:.4f}"


def results_table(columns: dict[str, list[TaskResult]]) -> str:
    """A Markdown table with one row per (task, metric) and one column per model (e.g. dense, pruned).

    Args:
        columns: results by column title, e.g. ``{"dense": [...], "wanda 50%": [...]}``.
    """
    rows: dict[tuple[str, str], dict[str, TaskResult]] = {}
    for title, results in columns.items():
        for result in results:
            rows.setdefault((result.task, result.metric), {})[title] = result
    lines = [
        "| task | metric | n | " + " | ".join(columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for (task, metric), cells in rows.items():
        n = next(iter(cells.values())).n
        lines.append(f"| {task} | {metric} | {n} | " + " | ".join(_cell(cells.get(t)) for t in columns) + " |")
    return "\n".join(lines)

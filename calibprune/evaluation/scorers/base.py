"""Base class of scorers: turn one task's batches into torchmetrics updates, then into results."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from torch import nn

from calibprune.evaluation.metrics import mean_and_stderr
from calibprune.evaluation.requests import EvaluationPlan
from calibprune.evaluation.results import TaskResult


class Scorer(nn.Module, ABC):
    """Scores the batches of one task; its torchmetrics metrics are submodules (moved and reduced with it).

    Args:
        plan: the task's evaluation plan (name, kind, settings).
    """

    def __init__(self, plan: EvaluationPlan) -> None:
        super().__init__()
        self.task = plan.name
        self.settings = dict(plan.settings)
        self.num_fewshot = plan.num_fewshot

    @abstractmethod
    def update(self, model: nn.Module, tokenizer: Any, batch: Any, max_length: int | None) -> None:
        """Score one batch and update the metrics."""

    @abstractmethod
    def results(self) -> list[TaskResult]:
        """The task's results from everything scored so far."""

    def result(self, metric: str, per_item: list[float]) -> TaskResult:
        """A result record of this task: the mean of ``per_item`` and its standard error, values included."""
        return TaskResult(self.task, metric, *mean_and_stderr(per_item), self.num_fewshot, per_item)

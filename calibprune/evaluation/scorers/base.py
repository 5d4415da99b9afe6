"""Base class of scorers: turn one task's batches into torchmetrics updates, then into results."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from torch import nn

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

    def result(self, metric: str, value: float, stderr: float | None, n: int) -> TaskResult:
        """A result record of this task."""
        return TaskResult(self.task, metric, value, stderr, n, self.num_fewshot)

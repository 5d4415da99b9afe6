"""Multiple choice and classification: the choice of highest log-likelihood, as lm-evaluation-harness scores it."""

from __future__ import annotations

from typing import Any

import torch
from typing_extensions import override

from calibprune.evaluation.loglikelihood import choice_logprobs
from calibprune.evaluation.metrics import MeanWithStderr
from calibprune.evaluation.requests import ChoiceRequest, EvaluationPlan
from calibprune.evaluation.results import TaskResult
from calibprune.evaluation.scorers.base import Scorer
from calibprune.tasks.encoding import pad_id


def choice_correct(
    logprobs: torch.Tensor, choice_chars: tuple[int, ...], label: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Whether the most likely choice is the gold one: raw (``acc``) and per character (``acc_norm``)."""
    chars = torch.tensor(choice_chars, dtype=logprobs.dtype, device=logprobs.device)
    acc = logprobs.argmax() == label
    acc_norm = (logprobs / chars).argmax() == label
    return acc, acc_norm


class ChoiceScorer(Scorer):
    """Accuracy and length-normalised accuracy; all choices of an item are scored in the same forward pass."""

    def __init__(self, plan: EvaluationPlan) -> None:
        super().__init__(plan)
        self.acc = MeanWithStderr()
        self.acc_norm = MeanWithStderr()

    @override
    def update(
        self, model: torch.nn.Module, tokenizer: Any, batch: list[ChoiceRequest], max_length: int | None
    ) -> None:
        """Score every choice of every item of the batch (each context runs once)."""
        items = [(request.context, list(request.continuations)) for request in batch]
        for request, scores in zip(batch, choice_logprobs(model, items, pad_id(tokenizer), max_length), strict=True):
            acc, acc_norm = choice_correct(scores, request.choice_chars, request.label)
            self.acc.update(acc)
            self.acc_norm.update(acc_norm)

    @override
    def results(self) -> list[TaskResult]:
        """``acc`` and ``acc_norm`` records."""
        return [self.result("acc", *self.acc.compute()), self.result("acc_norm", *self.acc_norm.compute())]

"""Multiple choice and classification: the choice of highest log-likelihood, as lm-evaluation-harness scores it."""

from __future__ import annotations

from typing import Any

import torch
from typing_extensions import override

from calibprune.evaluation.loglikelihood import choice_logprobs
from calibprune.evaluation.metrics import PerItemValues
from calibprune.evaluation.requests import ChoiceRequest, EvaluationPlan
from calibprune.evaluation.results import TaskResult
from calibprune.evaluation.scorers.base import Scorer
from calibprune.tasks.encoding import pad_id


def choice_correct(
    logprobs: torch.Tensor, choice_chars: tuple[int, ...], label: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Whether the most likely choice is the gold one: raw (``acc``) and per character (``acc_norm``).

    As lm-evaluation-harness: ``argmax(lls)`` and ``argmax(lls / len(choice))``, ties to the first choice.
    """
    chars = torch.tensor(choice_chars, dtype=torch.float64, device=logprobs.device)
    acc = logprobs.argmax() == label
    acc_norm = (logprobs.double() / chars).argmax() == label
    return acc, acc_norm


class ChoiceScorer(Scorer):
    """Accuracy and length-normalised accuracy; all choices of an item are scored in the same forward pass.

    Every item's choice log-likelihoods are kept too (:attr:`logprobs`, in item order) for comparisons with
    lm-evaluation-harness and between scoring paths.
    """

    def __init__(self, plan: EvaluationPlan) -> None:
        super().__init__(plan)
        self.acc = PerItemValues()
        self.acc_norm = PerItemValues()
        self.choice_logprobs: dict[int, list[float]] = {}

    @override
    def update(
        self, model: torch.nn.Module, tokenizer: Any, batch: list[ChoiceRequest], max_length: int | None
    ) -> None:
        """Score every choice of every item of the batch (each context runs once)."""
        items = [(request.context, list(request.continuations)) for request in batch]
        for request, scores in zip(batch, choice_logprobs(model, items, pad_id(tokenizer), max_length), strict=True):
            acc, acc_norm = choice_correct(scores, request.choice_chars, request.label)
            self.acc.update([request.index], acc.reshape(1))
            self.acc_norm.update([request.index], acc_norm.reshape(1))
            self.choice_logprobs[request.index] = scores.tolist()

    @property
    def logprobs(self) -> list[list[float]]:
        """The summed log-likelihood of every choice of every item scored on this process, in item order."""
        return [self.choice_logprobs[index] for index in sorted(self.choice_logprobs)]

    @override
    def results(self) -> list[TaskResult]:
        """``acc`` and ``acc_norm`` records, with each item's 0/1 correctness."""
        return [self.result(name, getattr(self, name).compute()) for name in ("acc", "acc_norm")]

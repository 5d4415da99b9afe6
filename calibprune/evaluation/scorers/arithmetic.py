"""Arithmetic word problems: greedy generation, final-number extraction, numeric comparison."""

from __future__ import annotations

from typing import Any

import torch
from typing_extensions import override

from calibprune.evaluation.answers import numbers_match, parse_number
from calibprune.evaluation.generation import greedy_generate
from calibprune.evaluation.metrics import PerItemValues
from calibprune.evaluation.requests import EvaluationPlan, GenerationRequest
from calibprune.evaluation.results import TaskResult
from calibprune.evaluation.scorers.base import Scorer
from calibprune.tasks.base import EXEMPLAR_SEPARATOR

# A continuation ends where the next exemplar would start.
ARITHMETIC_STOPS = (EXEMPLAR_SEPARATOR, "\nQuestion:")


class ArithmeticScorer(Scorer):
    """Exact match of the final number (relative tolerance 1e-4).

    Generates at most ``max_new_tokens`` (default 256 with chain-of-thought exemplars, else 32).
    """

    def __init__(self, plan: EvaluationPlan) -> None:
        super().__init__(plan)
        requested = self.settings.get("max_new_tokens")
        self.max_new_tokens = requested or (256 if self.settings.get("rationale") else 32)
        self.exact_match = PerItemValues()
        self.generations: dict[int, str] = {}

    @override
    def update(
        self, model: torch.nn.Module, tokenizer: Any, batch: list[GenerationRequest], max_length: int | None
    ) -> None:
        """Generate the answers of the batch and compare their final numbers with the gold ones."""
        prompts = [request.prompt for request in batch]
        texts = greedy_generate(model, tokenizer, prompts, self.max_new_tokens, ARITHMETIC_STOPS, max_length)
        correct = [numbers_match(parse_number(t), float(r.target)) for t, r in zip(texts, batch, strict=True)]
        self.generations.update((request.index, text) for request, text in zip(batch, texts, strict=True))
        self.exact_match.update([r.index for r in batch], torch.tensor(correct, dtype=torch.float64))

    @property
    def texts(self) -> list[str]:
        """The generated answer of every item scored on this process (cut at its stop sequence), in item order."""
        return [self.generations[index] for index in sorted(self.generations)]

    @override
    def results(self) -> list[TaskResult]:
        """The ``exact_match`` record, with each item's 0/1 correctness."""
        return [self.result("exact_match", self.exact_match.compute())]

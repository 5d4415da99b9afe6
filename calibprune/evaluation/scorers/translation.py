"""Translation: greedy generation of one line, corpus BLEU with torchmetrics' SacreBLEU (13a tokeniser)."""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics import SumMetric
from torchmetrics.text import SacreBLEUScore
from typing_extensions import override

from calibprune.evaluation.generation import greedy_generate
from calibprune.evaluation.requests import EvaluationPlan, GenerationRequest
from calibprune.evaluation.results import TaskResult
from calibprune.evaluation.scorers.base import Scorer

# A translation is one line.
TRANSLATION_STOPS = ("\n",)


class TranslationScorer(Scorer):
    """Corpus BLEU (0-100) of the greedy translations; ``max_new_tokens`` defaults to 128."""

    def __init__(self, plan: EvaluationPlan) -> None:
        super().__init__(plan)
        self.max_new_tokens = self.settings.get("max_new_tokens") or 128
        self.bleu = SacreBLEUScore(tokenize="13a")
        self.count = SumMetric()

    @override
    def update(
        self, model: torch.nn.Module, tokenizer: Any, batch: list[GenerationRequest], max_length: int | None
    ) -> None:
        """Translate the batch and add it to the corpus statistics."""
        prompts = [request.prompt for request in batch]
        texts = greedy_generate(model, tokenizer, prompts, self.max_new_tokens, TRANSLATION_STOPS, max_length)
        self.bleu.update([t.strip() for t in texts], [[str(r.target)] for r in batch])
        self.count.update(len(batch))

    @override
    def results(self) -> list[TaskResult]:
        """The ``bleu`` record (no standard error and no per-item values: BLEU is a corpus statistic)."""
        bleu, n = 100.0 * float(self.bleu.compute()), int(self.count.compute())
        return [TaskResult(self.task, "bleu", bleu, None, n, self.num_fewshot)]

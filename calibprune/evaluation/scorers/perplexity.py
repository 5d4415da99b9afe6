"""Perplexity of a corpus: summed NLL over non-overlapping windows of equal length."""

from __future__ import annotations

import math
from typing import Any

import torch
from typing_extensions import override

from calibprune.evaluation.metrics import PerItemValues, mean_and_stderr
from calibprune.evaluation.perplexity import window_nll
from calibprune.evaluation.requests import EvaluationPlan
from calibprune.evaluation.results import TaskResult
from calibprune.evaluation.scorers.base import Scorer


class PerplexityScorer(Scorer):
    """``ppl = exp(total NLL / predicted tokens)``; standard errors come from the per-window mean NLLs.

    Every window predicts the same ``seqlen - 1`` tokens, so the token-weighted mean NLL is the plain mean of
    the per-window means: ``nll = mean(per_item)`` and ``ppl = exp(nll)``, recomputable from ``per_item``.
    """

    def __init__(self, plan: EvaluationPlan) -> None:
        super().__init__(plan)
        self.window_nll = PerItemValues()
        self.tokens_per_window: set[int] = set()

    @override
    def update(
        self, model: torch.nn.Module, tokenizer: Any, batch: tuple[torch.Tensor, torch.Tensor], max_length: int | None
    ) -> None:
        """Score ``(indices, windows)``: a ``[batch, seqlen]`` tensor of windows and their positions in the corpus."""
        indices, windows = batch
        nll, tokens = window_nll(model, windows)
        self.tokens_per_window.update(int(t) for t in tokens)
        self.window_nll.update(indices, nll.double() / tokens.double())

    @override
    def results(self) -> list[TaskResult]:
        """``ppl`` and ``nll`` (mean per token) records, with each window's mean token NLL."""
        if len(self.tokens_per_window) > 1:
            raise RuntimeError(f"{self.task}: windows of unequal length {sorted(self.tokens_per_window)}")
        per_window = self.window_nll.compute()
        nll, nll_stderr, n = mean_and_stderr(per_window)
        ppl = math.exp(nll)
        ppl_stderr = None if nll_stderr is None else ppl * nll_stderr  # delta method
        return [
            TaskResult(self.task, "ppl", ppl, ppl_stderr, n, self.num_fewshot, per_window),
            TaskResult(self.task, "nll", nll, nll_stderr, n, self.num_fewshot, per_window),
        ]

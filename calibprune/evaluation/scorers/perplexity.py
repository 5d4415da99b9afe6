"""Perplexity of a corpus: summed NLL over non-overlapping windows."""

from __future__ import annotations

import math
from typing import Any

import torch
from typing_extensions import override

from calibprune.evaluation.metrics import MeanWithStderr, TokenPerplexity
from calibprune.evaluation.perplexity import window_nll
from calibprune.evaluation.requests import EvaluationPlan
from calibprune.evaluation.results import TaskResult
from calibprune.evaluation.scorers.base import Scorer


class PerplexityScorer(Scorer):
    """``ppl = exp(total NLL / predicted tokens)``; the standard error comes from the per-window mean NLLs."""

    def __init__(self, plan: EvaluationPlan) -> None:
        super().__init__(plan)
        self.perplexity = TokenPerplexity()
        self.window_nll = MeanWithStderr()

    @override
    def update(self, model: torch.nn.Module, tokenizer: Any, batch: torch.Tensor, max_length: int | None) -> None:
        """Score a ``[batch, seqlen]`` tensor of windows."""
        nll, tokens = window_nll(model, batch)
        self.perplexity.update(nll, tokens)
        self.window_nll.update(nll / tokens)

    @override
    def results(self) -> list[TaskResult]:
        """``nll`` (mean per token) and ``ppl`` records."""
        ppl = float(self.perplexity.compute())
        nll, nll_stderr, n = self.window_nll.compute()
        ppl_stderr = None if nll_stderr is None else ppl * nll_stderr
        return [self.result("ppl", ppl, ppl_stderr, n), self.result("nll", math.log(ppl), nll_stderr, n)]

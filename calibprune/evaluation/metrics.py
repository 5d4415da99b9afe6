"""torchmetrics metrics of the evaluation: a mean with its standard error, and token-level perplexity."""

from __future__ import annotations

import math

import torch
from torchmetrics import Metric


class MeanWithStderr(Metric):
    """Mean of per-item scores and its standard error (sample standard deviation / sqrt(n)).

    States are sums (fp64), so the metric reduces exactly across devices and batches.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total_sq", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, values: torch.Tensor) -> None:
        """Add a batch of per-item scores (e.g. 0/1 correctness)."""
        values = values.detach().to(torch.float64).flatten()
        self.total += values.sum()
        self.total_sq += values.square().sum()
        self.count += values.numel()

    def compute(self) -> tuple[float, float | None, int]:
        """``(mean, stderr, n)``; the standard error is ``None`` below two items."""
        n = int(self.count)
        if n == 0:
            raise ValueError("no item was scored (empty test split, or --limit 0)")
        mean = float(self.total) / n
        if n < 2:
            return mean, None, n
        variance = max(float(self.total_sq) - n * mean * mean, 0.0) / (n - 1)
        return mean, math.sqrt(variance / n), n


class TokenPerplexity(Metric):
    """``exp(total NLL / total predicted tokens)``: torchmetrics' ``Perplexity`` from summed log-likelihoods.

    Summing per-token negative log-likelihoods computed with ``log_softmax`` in fp32 gives the same value
    as ``torchmetrics.text.Perplexity`` without materialising softmax probabilities of the whole vocabulary.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("nll", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("tokens", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, nll_sum: torch.Tensor, token_count: torch.Tensor) -> None:
        """Add summed NLLs and the number of predicted tokens they cover."""
        self.nll += nll_sum.detach().to(torch.float64).sum()
        self.tokens += token_count.detach().long().sum()

    def compute(self) -> torch.Tensor:
        """The perplexity over every token seen."""
        return torch.exp(self.nll / self.tokens)

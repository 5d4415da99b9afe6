"""Ranks, rank correlations, bootstrap intervals and hit rates: how predicted orderings are compared and combined."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, lowest value first; ties get the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson correlation of the (tie-averaged) ranks."""
    return pearson(ranks(x), ranks(y))


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation; ``nan`` when either side is constant."""
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"correlation needs two sequences of the same length >= 2, got {len(x)} and {len(y)}")
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan


def kendall(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b (ties counted as in Kendall, 1945)."""
    concordant = discordant = ties_x = ties_y = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denominator if denominator else math.nan


def top_k_hit(predicted: Sequence[float], truth: Sequence[float], k: int) -> bool:
    """Whether the truly best item (lowest ``truth``) is among the ``k`` best predicted (lowest ``predicted``)."""
    best = min(range(len(truth)), key=lambda i: truth[i])
    chosen = sorted(range(len(predicted)), key=lambda i: predicted[i])[:k]
    return best in chosen


def percentile_interval(samples: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap samples (``nan`` ones dropped)."""
    kept = sorted(s for s in samples if not math.isnan(s))
    if not kept:
        return math.nan, math.nan
    q = torch.tensor(kept, dtype=torch.float64)
    low, high = torch.quantile(q, torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64))
    return float(low), float(high)


def rank_average(scores: dict[str, Sequence[float]], weights: dict[str, float] | None = None) -> list[float]:
    """Combine several proxies' scores (lower: better) by the weighted mean of their ranks.

    Args:
        scores: per proxy, one score per candidate.
        weights: per proxy, its weight (default: equal).
    """
    if not scores:
        raise ValueError("rank_average needs at least one proxy")
    weights = weights or {name: 1.0 for name in scores}
    total = sum(weights[name] for name in scores)
    per_proxy = {name: ranks(list(values)) for name, values in scores.items()}
    count = len(next(iter(per_proxy.values())))
    return [sum(weights[name] * per_proxy[name][i] for name in scores) / total for i in range(count)]


def best_probability(samples: torch.Tensor) -> torch.Tensor:
    """Per candidate, the fraction of bootstrap draws in which it has the lowest score.

    Args:
        samples: ``[draws, candidates]`` bootstrap scores (lower: better).
    """
    winners = samples.argmin(dim=1)
    return torch.bincount(winners, minlength=samples.shape[1]).double() / samples.shape[0]

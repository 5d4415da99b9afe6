"""Wanda (Sun et al., 2023): score |W_ij| * ||X_j||_2, pruned per output row."""

from __future__ import annotations

import torch

from calibprune.engine.masks import n_m_mask, row_mask
from calibprune.engine.sparsity import SparsityPattern


def wanda_scores(weight: torch.Tensor, input_norms: torch.Tensor) -> torch.Tensor:
    """Wanda importance ``|W| * ||X_j||_2`` in fp32, broadcasting the input norms over rows."""
    return weight.detach().float().abs() * input_norms.float().reshape(1, -1)


def wanda_mask(
    weight: torch.Tensor,
    input_norms: torch.Tensor,
    pattern: SparsityPattern,
    use_variant: bool = False,
) -> torch.Tensor:
    """Wanda prune mask for one Linear weight ``[out, in]`` given the L2 norm of each input feature.

    Args:
        weight: the layer's weight.
        input_norms: ``||X_j||_2`` over all calibration tokens, shape ``[in]``.
        pattern: unstructured ratio or N:M groups.
        use_variant: for unstructured sparsity, Wanda's variant with a per-row cumulative-sum threshold
            whose alpha is found by bisection.
    """
    scores = wanda_scores(weight, input_norms)
    if pattern.structured:
        return n_m_mask(scores, pattern.n, pattern.m)
    if use_variant:
        return wanda_variant_mask(scores, pattern.ratio)
    return row_mask(scores, pattern.ratio)


def _mask_for_alpha(scores: torch.Tensor, sorted_scores: torch.Tensor, cumsum: torch.Tensor, alpha: float):
    """Per row, prune the smallest scores whose cumulative sum stays within ``alpha`` of the row total."""
    limit = scores.sum(dim=1, keepdim=True) * alpha
    count = (cumsum <= limit).sum(dim=1, keepdim=True)
    thresholds = torch.gather(sorted_scores, 1, (count - 1).clamp(min=0))
    thresholds = torch.where(count > 0, thresholds, torch.full_like(thresholds, -float("inf")))
    mask = scores <= thresholds
    return mask, mask.float().mean().item()


def wanda_variant_mask(scores: torch.Tensor, ratio: float, tolerance: float = 1e-3) -> torch.Tensor:
    """Wanda's variant: bisection on alpha in [0, 0.8] until the layer sparsity is within ``tolerance``."""
    sorted_scores = torch.sort(scores, dim=-1, stable=True)[0]
    cumsum = torch.cumsum(sorted_scores, dim=1)
    alpha, low, high = 0.4, 0.0, 0.8
    mask, sparsity = _mask_for_alpha(scores, sorted_scores, cumsum, alpha)
    while abs(sparsity - ratio) > tolerance and high - low >= tolerance:
        if sparsity > ratio:
            alpha, high = (alpha + low) / 2.0, alpha
        else:
            alpha, low = (alpha + high) / 2.0, alpha
        mask, sparsity = _mask_for_alpha(scores, sorted_scores, cumsum, alpha)
    return mask

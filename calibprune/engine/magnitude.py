"""Magnitude pruning: score |W_ij|, compared across the whole matrix."""

from __future__ import annotations

import torch

from calibprune.engine.masks import matrix_mask, n_m_mask
from calibprune.engine.sparsity import SparsityPattern


def magnitude_mask(weight: torch.Tensor, pattern: SparsityPattern) -> torch.Tensor:
    """Mask of the lowest-magnitude weights: per matrix when unstructured, per group for N:M."""
    scores = weight.detach().float().abs()
    if pattern.structured:
        return n_m_mask(scores, pattern.n, pattern.m)
    return matrix_mask(scores, pattern.ratio)

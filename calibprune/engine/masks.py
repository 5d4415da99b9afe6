"""Boolean prune masks (True = pruned) from score matrices of shape [rows, columns]."""

from __future__ import annotations

import torch


def row_mask(scores: torch.Tensor, ratio: float) -> torch.Tensor:
    """Prune the ``int(columns * ratio)`` lowest scores of every row (Wanda's per-output comparison group)."""
    k = int(scores.shape[1] * ratio)
    mask = torch.zeros_like(scores, dtype=torch.bool)
    if k:
        idx = torch.sort(scores, dim=-1, stable=True)[1][:, :k]
        mask.scatter_(1, idx, True)
    return mask


def matrix_mask(scores: torch.Tensor, ratio: float) -> torch.Tensor:
    """Prune the ``int(numel * ratio)`` lowest scores of the whole matrix (magnitude / SparseGPT blocks)."""
    k = int(scores.numel() * ratio)
    mask = torch.zeros(scores.numel(), dtype=torch.bool, device=scores.device)
    if k:
        idx = torch.sort(scores.flatten(), stable=True)[1][:k]
        mask[idx] = True
    return mask.view_as(scores)


def n_m_mask(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Prune the ``n`` lowest scores in every group of ``m`` consecutive columns of each row."""
    rows, cols = scores.shape
    if cols % m:
        raise ValueError(f"N:M group size M={m} does not divide the {cols} columns")
    groups = scores.reshape(rows, cols // m, m)
    idx = torch.topk(groups, n, dim=-1, largest=False)[1]
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, idx, True)
    return mask.reshape(rows, cols)

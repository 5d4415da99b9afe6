"""Boolean prune masks (True = pruned) from score matrices of shape [rows, columns]."""

from __future__ import annotations

import torch


def lowest_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Mark the ``k`` lowest scores of every row; ties at the threshold go to the lowest column indices.

    The same entries as the first ``k`` of a stable sort, found by selection (``kthvalue``) instead of a
    sort: every score below the row's k-th smallest value, then the first equal ones until ``k``.
    """
    mask = torch.zeros_like(scores, dtype=torch.bool)
    if k <= 0:
        return mask
    threshold = torch.kthvalue(scores, k, dim=-1, keepdim=True).values
    torch.lt(scores, threshold, out=mask)
    missing = k - mask.sum(dim=-1, keepdim=True)
    ties = scores == threshold
    if torch.equal(ties.sum(dim=-1, keepdim=True), missing):  # the usual case: every tie is needed
        return mask.logical_or_(ties)
    return mask | (ties & (ties.cumsum(dim=-1) <= missing))


def row_mask(scores: torch.Tensor, ratio: float) -> torch.Tensor:
    """Prune the ``int(columns * ratio)`` lowest scores of every row (Wanda's per-output comparison group)."""
    return lowest_k(scores, int(scores.shape[1] * ratio))


def matrix_mask(scores: torch.Tensor, ratio: float) -> torch.Tensor:
    """Prune the ``int(numel * ratio)`` lowest scores of the whole matrix (magnitude / SparseGPT blocks)."""
    return lowest_k(scores.reshape(1, -1), int(scores.numel() * ratio)).view_as(scores)


def n_m_mask(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Prune the ``n`` lowest scores in every group of ``m`` consecutive columns of each row."""
    rows, cols = scores.shape
    if cols % m:
        raise ValueError(f"N:M group size M={m} does not divide the {cols} columns")
    groups = scores.reshape(rows, cols // m, m)
    idx = torch.topk(groups, n, dim=-1, largest=False)[1]
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, idx, True)
    return mask.reshape(rows, cols)

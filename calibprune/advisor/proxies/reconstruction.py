"""Reconstruction error of the target's hidden states after pruning the first blocks with a candidate's statistics."""

from __future__ import annotations

import torch


def relative_error(dense: torch.Tensor, pruned: torch.Tensor, token_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sequence relative squared error ``||H' - H||^2 / ||H||^2`` over real tokens (fp32).

    Args:
        dense: hidden states of the dense blocks, ``[batch, seq, hidden]``.
        pruned: hidden states of the pruned blocks on the same inputs, same shape.
        token_mask: 1 for real tokens, 0 for padding, ``[batch, seq]``; ``None`` keeps every position.

    Returns:
        ``[batch]`` relative errors.
    """
    dense, pruned = dense.float(), pruned.float()
    weight = torch.ones(dense.shape[:2], device=dense.device) if token_mask is None else token_mask.float()
    error = ((pruned - dense).square().sum(-1) * weight).sum(-1)
    scale = (dense.square().sum(-1) * weight).sum(-1)
    return error / scale.clamp_min(torch.finfo(torch.float32).tiny)

"""RIA (Zhang et al., ICLR 2024, "Plug-and-Play"): relative importance times activations.

The score of weight ``W_ij`` is ``(|W_ij| / sum_k |W_kj| + |W_ij| / sum_k |W_ik|) * ||X_j||_2 ** alpha``: its
share of its input channel's and of its output row's absolute weight, times a power of the input feature's
norm. As in the authors' ``prune_ria`` (biomedical-cybernetics/Relative-importance-and-activation-pruning,
``lib/prune.py``), unstructured sparsity compares the whole matrix (``--per_outneuron``: each row, Wanda's
group) and N:M compares each group of M consecutive input weights of a row.
"""

from __future__ import annotations

import torch

from calibprune.engine.masks import matrix_mask, n_m_mask, row_mask
from calibprune.engine.sparsity import SparsityPattern


def ria_scores(weight: torch.Tensor, input_norms: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    """RIA importance in fp32, in the authors' order of operations (bit-identical to theirs on fp32 weights).

    Args:
        weight: the layer's weight ``[out, in]``.
        input_norms: ``||X_j||_2`` of every input feature, shape ``[in]`` (any common scale: it changes no mask).
        alpha: exponent of the activation norm (the authors' ``--a``, default 0.5).
    """
    magnitude = weight.detach().float().abs()
    relative = magnitude / magnitude.sum(dim=0) + magnitude / magnitude.sum(dim=1).reshape(-1, 1)
    return relative * input_norms.float().reshape(1, -1) ** alpha


def ria_mask(
    weight: torch.Tensor,
    input_norms: torch.Tensor,
    pattern: SparsityPattern,
    alpha: float = 0.5,
    per_row: bool = False,
) -> torch.Tensor:
    """RIA prune mask (True = pruned) for one weight ``[out, in]``.

    Unstructured sparsity prunes exactly ``int(numel * ratio)`` weights of the matrix (``per_row``:
    ``int(in * ratio)`` of every row). The authors' matrix-wide threshold ``scores <= sorted[int(numel * ratio)]``
    also prunes the weight at that position, one more than the ratio; we keep the ratio exact, as our
    SparseGPT does with the same threshold of its reference code.

    Args:
        weight: the layer's weight.
        input_norms: ``||X_j||_2`` over all calibration tokens, shape ``[in]``.
        pattern: unstructured ratio or N:M groups.
        alpha: exponent of the activation norm.
        per_row: compare the weights of each output row only (the authors' ``--per_outneuron``).
    """
    scores = ria_scores(weight, input_norms, alpha)
    if pattern.structured:
        return n_m_mask(scores, pattern.n, pattern.m)
    if per_row:
        return row_mask(scores, pattern.ratio)
    return matrix_mask(scores, pattern.ratio)

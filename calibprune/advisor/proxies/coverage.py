"""Activation-space representativeness and diversity of a candidate (after COLA, He et al., NeurIPS 2025).

COLA finds that calibration data is good when, in the model's activation space, it *represents* the data the
compressed model must serve and is *diverse*. The two scores here measure exactly that on hidden states.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def coverage_distance(candidate: torch.Tensor, target: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """For every target activation, the cosine distance to its nearest candidate activation.

    Args:
        candidate: ``[n, hidden]`` activations of the candidate's real tokens.
        target: ``[m, hidden]`` activations of the target's real tokens.
        chunk: target rows compared at a time (bounds memory).

    Returns:
        ``[m]`` distances ``1 - max_i cos(t, c_i)``; their mean is the candidate's coverage gap (lower: better).
    """
    cand = F.normalize(candidate.float(), dim=-1)
    parts = []
    for start in range(0, target.shape[0], chunk):
        rows = F.normalize(target[start : start + chunk].float(), dim=-1)
        parts.append(1.0 - (rows @ cand.T).max(dim=1).values)
    return torch.cat(parts)


def effective_rank(activations: torch.Tensor) -> float:
    """``exp`` of the entropy of the normalised singular values of the centred activations (Roy & Vetterli, 2007).

    Args:
        activations: ``[n, hidden]`` activations of a candidate's real tokens.
    """
    centred = activations.double() - activations.double().mean(dim=0, keepdim=True)
    singular = torch.linalg.svdvals(centred)
    p = singular / singular.sum().clamp_min(1e-30)
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))

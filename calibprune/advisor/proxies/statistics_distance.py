"""Distance between a candidate's Wanda input norms and the target's, layer by layer."""

from __future__ import annotations

import torch


def normalised_log_norms(squared_sum: torch.Tensor, tokens: float) -> torch.Tensor:
    """``log ||X_j||`` per input feature, centred over features (Wanda's masks are blind to a layer-wide scale).

    Args:
        squared_sum: ``sum_t x_tj^2`` per input feature (``SquaredNormAccumulator.sum``).
        tokens: the number of tokens summed.
    """
    rms = (squared_sum.double() / max(float(tokens), 1.0)).clamp_min(1e-30).sqrt()
    logs = rms.log()
    return logs - logs.mean()


def log_norm_distance(candidate: torch.Tensor, target: torch.Tensor) -> float:
    """Root-mean-square difference of two layers' centred log input norms (0: the same Wanda scores' ordering).

    Args:
        candidate: ``normalised_log_norms`` of the candidate's statistics.
        target: the same for the target data.
    """
    return float((candidate - target).square().mean().sqrt())


Statistics = dict[str, tuple[torch.Tensor, float]]  # per layer: (squared_sum, tokens)


def mean_distance(candidate: Statistics, target: Statistics) -> float:
    """The mean of :func:`log_norm_distance` over the layers both statistics cover.

    Args:
        candidate: per layer, ``(squared_sum, tokens)`` of the candidate.
        target: per layer, ``(squared_sum, tokens)`` of the target.
    """
    names = [name for name in candidate if name in target]
    if not names:
        raise ValueError("no layer in common between the candidate's and the target's statistics")
    distances = [
        log_norm_distance(normalised_log_norms(*candidate[name]), normalised_log_norms(*target[name])) for name in names
    ]
    return sum(distances) / len(distances)

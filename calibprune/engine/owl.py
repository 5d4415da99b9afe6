"""OWL (Yin et al., 2024): outlier-weighted layer-wise sparsity from the Wanda scores of each decoder block.

For block ``l``, the layerwise outlier distribution ``D_l`` is the fraction of the Wanda scores
``|W_ij| * ||X_j||`` of all its matrices (taken together) that exceed ``M`` times their mean. Blocks with more
outliers are pruned less: as in the authors' code, the ``D_l`` are mapped linearly onto a range of width
``2 * lambda``, ``n_l = 2 * lambda * (D_l - min D) / (max D - min D)``, and the block's density is
``1 - S + n_l - mean(n)``; its sparsity is therefore ``S_l = S - (n_l - mean(n))``, whose mean is exactly the
target ``S`` (spread ``max S_l - min S_l = 2 * lambda``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from calibprune.errors import OptionError


def outlier_ratio(scores: Sequence[torch.Tensor], m: float) -> float:
    """``D_l``: the fraction of a block's scores (all its matrices together) greater than ``m`` times their mean."""
    total = sum(s.numel() for s in scores)
    if total == 0:
        raise ValueError("OWL: a decoder block with no weights to score")
    mean = sum(float(s.double().sum()) for s in scores) / total
    return sum(int((s.double() > m * mean).sum()) for s in scores) / total


def owl_sparsities(outlier_ratios: Sequence[float], target: float, lam: float) -> list[float]:
    """Each block's sparsity from its outlier ratio: mean exactly ``target``, spread ``2 * lam``.

    Raises:
        OptionError: naming ``owl_lambda``, when a block's sparsity would leave [0, 1) (it is too large).
    """
    ratios = torch.tensor(list(outlier_ratios), dtype=torch.float64)
    low, high = float(ratios.min()), float(ratios.max())
    if high == low:  # no block stands out: uniform sparsity
        return [float(target)] * len(ratios)
    spread = (ratios - low) * (2.0 * lam / (high - low))
    sparsities = float(target) - (spread - spread.mean())
    if float(sparsities.min()) < 0 or float(sparsities.max()) >= 1:
        raise OptionError(
            "owl_lambda",
            f"{lam:g} gives block sparsities {float(sparsities.min()):.3f} to {float(sparsities.max()):.3f}, "
            f"outside [0, 1) around the target {target:g}",
            "a lower owl_lambda",
            mentions=("owl_lambda",),
        )
    return sparsities.tolist()

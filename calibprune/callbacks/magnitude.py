"""Magnitude pruning callback: no calibration data needed."""

from __future__ import annotations

from typing import Any

from torch import nn
from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.magnitude import magnitude_mask


class Magnitude(PruningMethod):
    """Prune the smallest-magnitude weights of each Linear layer (per matrix; per group for N:M).

    Args:
        sparsity_ratio: fraction of weights pruned in every Linear layer, in [0, 1) (default 0.5; N/M with N:M).
        sparsity_type: ``unstructured`` or ``N:M`` (e.g. ``2:4``, ``4:8``).
        count_padding: unused (magnitude pruning reads no calibration data).
    """

    needs_calibration = False

    @override
    def prune_block(self, layers: dict[str, nn.Linear], statistics: dict[str, Any]) -> None:
        for layer in layers.values():
            self.apply_mask(layer, magnitude_mask(layer.weight, self.pattern))

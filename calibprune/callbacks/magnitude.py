"""Magnitude pruning callback: no calibration data needed."""

from __future__ import annotations

from typing import Any

from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.magnitude import magnitude_mask
from calibprune.modeling.prunable import PrunableWeight


class Magnitude(PruningMethod):
    """Prune the smallest-magnitude weights of each weight matrix (per matrix; per group for N:M).

    Args:
        sparsity_ratio: fraction of weights pruned in every matrix, in [0, 1) (default 0.5; N/M with N:M).
        sparsity_type: ``unstructured`` or ``N:M`` (e.g. ``2:4``, ``4:8``).
        count_padding: unused (magnitude pruning reads no calibration data).
        targets: patterns of the matrices to prune (default: all); ``re:REGEX`` or a glob on the full name.
        ignore: patterns of matrices left dense, e.g. ``[re:.*self_attn, model.layers.0.*]``.
        layer_sparsity: one sparsity ratio per decoder block (their mean replaces ``sparsity_ratio``).
    """

    needs_calibration = False

    def __init__(
        self,
        sparsity_ratio: float | None = None,
        sparsity_type: str = "unstructured",
        count_padding: bool = False,
        targets: list[str] | None = None,
        ignore: list[str] | None = None,
        layer_sparsity: list[float] | None = None,
    ) -> None:
        super().__init__(sparsity_ratio, sparsity_type, count_padding, targets, ignore, layer_sparsity)

    @override
    def prune_block(self, layers: dict[str, PrunableWeight], statistics: dict[str, Any]) -> None:
        for layer in layers.values():
            self.apply_mask(layer, magnitude_mask(layer.weight, self.active_pattern))

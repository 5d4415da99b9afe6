"""Wanda callback: collects input-feature norms per layer and prunes |W|·‖X‖ per output row."""

from __future__ import annotations

from torch import nn
from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.statistics import SquaredNormAccumulator
from calibprune.engine.wanda import wanda_mask


class Wanda(PruningMethod):
    """Prune by weight magnitude times input activation norm (Sun et al., 2023), row by row.

    Args:
        sparsity_ratio: fraction of weights pruned in every Linear layer, in [0, 1) (default 0.5; N/M with N:M).
        sparsity_type: ``unstructured`` or ``N:M`` (e.g. ``2:4``, ``4:8``).
        count_padding: count padded positions in the statistics, as the seed repo did.
        use_variant: Wanda's variant (unstructured only): per-row cumulative-sum threshold with alpha
            found by bisection; layer sparsity is then within 0.001 of the ratio.
    """

    def __init__(
        self,
        sparsity_ratio: float | None = None,
        sparsity_type: str = "unstructured",
        count_padding: bool = False,
        use_variant: bool = False,
    ) -> None:
        super().__init__(sparsity_ratio, sparsity_type, count_padding)
        if use_variant and self.pattern.structured:
            raise ValueError("--use_variant applies to unstructured sparsity only, not --sparsity_type N:M")
        self.use_variant = use_variant

    @override
    def new_accumulator(self, layer: nn.Linear) -> SquaredNormAccumulator:
        return SquaredNormAccumulator(layer.in_features, device=layer.weight.device)

    @override
    def prune_block(self, layers: dict[str, nn.Linear], statistics: dict[str, SquaredNormAccumulator]) -> None:
        for name, layer in layers.items():
            norms = statistics[name].norms()
            self.apply_mask(layer, wanda_mask(layer.weight, norms, self.pattern, self.use_variant))

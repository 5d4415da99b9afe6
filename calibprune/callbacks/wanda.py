"""Wanda callback: collects input-feature norms per layer and prunes |W|·‖X‖ per output row."""

from __future__ import annotations

from typing import Any

from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.statistics import SquaredNormAccumulator
from calibprune.engine.wanda import wanda_mask
from calibprune.errors import OptionError
from calibprune.modeling.prunable import PrunableWeight


class Wanda(PruningMethod):
    """Prune by weight magnitude times input activation norm (Sun et al., 2023), row by row.

    Args:
        use_variant: Wanda's variant (unstructured only): per-row cumulative-sum threshold with alpha
            found by bisection; layer sparsity is then within 0.001 of the ratio.
        *args: the options every method shares, in :class:`~calibprune.callbacks.base.PruningMethod`'s order
            (``Wanda(0.5)``), or by name in ``**kwargs``.
        **kwargs: the options every method shares (:class:`~calibprune.callbacks.base.PruningMethod`).
    """

    def __init__(self, *args: Any, use_variant: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if use_variant and self.pattern.structured:
            raise OptionError(
                "use_variant",
                f"applies to unstructured sparsity only, not sparsity_type {self.pattern}",
                "false with N:M",
                mentions=("sparsity_type",),
            )
        self.use_variant = use_variant

    @override
    def new_accumulator(self, layer: PrunableWeight) -> SquaredNormAccumulator:
        return SquaredNormAccumulator(layer.in_features, device=layer.weight.device)

    @override
    def prune_block(self, layers: dict[str, PrunableWeight], statistics: dict[str, SquaredNormAccumulator]) -> None:
        for name, layer in layers.items():
            norms = statistics[name].norms()
            self.apply_mask(layer, wanda_mask(layer.weight, norms, self.active_pattern, self.use_variant))

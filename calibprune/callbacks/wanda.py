"""Wanda callback: collects input-feature norms per layer and prunes |W|·‖X‖ per output row."""

from __future__ import annotations

from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.statistics import SquaredNormAccumulator
from calibprune.engine.wanda import wanda_mask
from calibprune.errors import OptionError
from calibprune.modeling.prunable import PrunableWeight


class Wanda(PruningMethod):
    """Prune by weight magnitude times input activation norm (Sun et al., 2023), row by row.

    Args:
        sparsity_ratio: fraction of weights pruned in every matrix, in [0, 1) (default 0.5; N/M with N:M).
        sparsity_type: ``unstructured`` or ``N:M`` (e.g. ``2:4``, ``4:8``).
        count_padding: count padded positions in the statistics, as the seed repo did.
        use_variant: Wanda's variant (unstructured only): per-row cumulative-sum threshold with alpha
            found by bisection; layer sparsity is then within 0.001 of the ratio.
        targets: patterns of the matrices to prune (default: all); ``re:REGEX`` or a glob on the full name.
        ignore: patterns of matrices left dense, e.g. ``[re:.*self_attn, model.layers.0.*]``.
        layer_sparsity: one sparsity ratio per decoder block (their mean replaces ``sparsity_ratio``).
        owl: OWL's outlier-weighted block ratios (Yin et al., 2024), mean ``sparsity_ratio``.
        owl_m: OWL's outlier threshold M: scores above M times the block's mean Wanda score are outliers.
        owl_lambda: OWL's lambda: the block ratios spread over 2 lambda around ``sparsity_ratio``.
    """

    def __init__(
        self,
        sparsity_ratio: float | None = None,
        sparsity_type: str = "unstructured",
        count_padding: bool = False,
        use_variant: bool = False,
        targets: list[str] | None = None,
        ignore: list[str] | None = None,
        layer_sparsity: list[float] | None = None,
        owl: bool = False,
        owl_m: float = 5.0,
        owl_lambda: float = 0.08,
    ) -> None:
        super().__init__(
            sparsity_ratio, sparsity_type, count_padding, targets, ignore, layer_sparsity, owl, owl_m, owl_lambda
        )
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

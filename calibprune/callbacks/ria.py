"""RIA callback: collects input-feature norms per layer (as Wanda) and prunes by relative importance."""

from __future__ import annotations

import math

from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.ria import ria_mask
from calibprune.engine.statistics import SquaredNormAccumulator
from calibprune.errors import OptionError
from calibprune.modeling.prunable import PrunableWeight


class RIA(PruningMethod):
    """Prune by relative importance times activations (Zhang et al., ICLR 2024), the whole matrix compared.

    The authors' optional channel permutation for N:M (heuristic channel reallocation and linear sum
    assignment) is not implemented: their mask is N:M only in permuted column order.

    Args:
        alpha: exponent of the input feature norm ``||X_j||_2`` in the score (the authors' ``--a``).
        per_outneuron: compare the weights of each output row (Wanda's group) instead of the whole matrix
            (unstructured sparsity only).
    """

    def __init__(self, *, alpha: float = 0.5, per_outneuron: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not math.isfinite(alpha):
            raise OptionError("alpha", f"must be a finite number, got {alpha!r}", "a finite number, e.g. 0.5")
        if per_outneuron and self.pattern.structured:
            raise OptionError(
                "per_outneuron", "applies to unstructured sparsity only, not N:M", "false with an N:M sparsity_type"
            )
        self.alpha = float(alpha)
        self.per_outneuron = per_outneuron

    @override
    def new_accumulator(self, layer: PrunableWeight) -> SquaredNormAccumulator:
        return SquaredNormAccumulator(layer.in_features, device=layer.weight.device)

    @override
    def prune_block(self, layers: dict[str, PrunableWeight], statistics: dict[str, SquaredNormAccumulator]) -> None:
        for name, layer in layers.items():
            norms = statistics[name].norms()
            mask = ria_mask(layer.weight, norms, self.active_pattern, self.alpha, self.per_outneuron)
            self.apply_mask(layer, mask)

"""DSnoT callback: an initial mask (Wanda, SparseGPT's saliency or magnitude) refined by DSnoT's swaps."""

from __future__ import annotations

import math

from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.dsnot import DSnoTSettings, DSnoTStatistics, dsnot_mask, sparsegpt_saliency
from calibprune.engine.masks import n_m_mask, row_mask
from calibprune.engine.wanda import wanda_scores
from calibprune.errors import OptionError
from calibprune.modeling.prunable import PrunableWeight

INITIAL_METHODS = ("wanda", "sparsegpt", "magnitude")


class DSnoT(PruningMethod):
    """Refine an initial prune mask without training (Zhang et al., ICLR 2024), row by row.

    As in the authors' code, the initial mask is chosen per output row (unstructured) or per group of M
    (N:M) from the initial method's scores, the refined mask is applied to the original weights (with
    ``sparsegpt``, its saliency ``W^2 / [H^-1]_jj^2`` chooses the initial mask; no OBS weight update follows),
    and by default only the attention matrices are refined (``skip_layer: mlp``).

    Args:
        initial: the initial method: ``wanda``, ``sparsegpt`` or ``magnitude``.
        max_cycle_time: swaps tried per output row at most.
        update_threshold: a row stops once the absolute expected reconstruction error of its output is within this.
        pow_of_var_regrowing: power of the input variance dividing the regrowing score (0: no division).
        without_same_sign: unstructured only: let a swap flip the sign of the error (the authors' default).
        skip_layer: matrices whose name within the block starts with this component (``mlp`` in
            ``mlp.down_proj``) keep their initial mask; ``null`` refines every matrix.
        skip_sub_layer: likewise for the second component (``q_proj`` in ``self_attn.q_proj``).
    """

    def __init__(
        self,
        *,
        initial: str = "wanda",
        max_cycle_time: int = 50,
        update_threshold: float = 0.1,
        pow_of_var_regrowing: float = 1.0,
        without_same_sign: bool = True,
        skip_layer: str | None = "mlp",
        skip_sub_layer: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if initial not in INITIAL_METHODS:
            raise OptionError("initial", f"unknown initial method {initial!r}", ", ".join(INITIAL_METHODS))
        if isinstance(max_cycle_time, bool) or not isinstance(max_cycle_time, int) or max_cycle_time < 0:
            raise OptionError("max_cycle_time", f"must be an integer >= 0, got {max_cycle_time!r}", "e.g. 50")
        for name, value in (("update_threshold", update_threshold), ("pow_of_var_regrowing", pow_of_var_regrowing)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise OptionError(name, f"must be a finite number >= 0, got {value!r}", "a finite number >= 0")
        self.initial = initial
        self.settings = DSnoTSettings(
            max_cycle_time, float(update_threshold), float(pow_of_var_regrowing), without_same_sign
        )
        self.skip_layer, self.skip_sub_layer = skip_layer, skip_sub_layer

    @override
    def new_accumulator(self, layer: PrunableWeight) -> DSnoTStatistics:
        return DSnoTStatistics(layer.in_features, device=layer.weight.device, hessian=self.initial == "sparsegpt")

    def skipped(self, name: str) -> bool:
        """Whether the matrix ``name`` (within its block) keeps its initial mask."""
        parts = name.split(".")
        return parts[0] == self.skip_layer or (len(parts) > 1 and parts[1] == self.skip_sub_layer)

    @override
    def prune_block(self, layers: dict[str, PrunableWeight], statistics: dict[str, DSnoTStatistics]) -> None:
        pattern = self.active_pattern
        for name, layer in layers.items():
            stats = statistics[name]
            wanda = wanda_scores(layer.weight, stats.norms())
            if self.initial == "wanda":
                initial = wanda
            elif self.initial == "sparsegpt":
                initial = sparsegpt_saliency(layer.weight, stats.hessian())
            else:
                initial = layer.weight.detach().float().abs()
            if self.skipped(name) and pattern.structured:
                mask = n_m_mask(initial, pattern.n, pattern.m)
            elif self.skipped(name):
                mask = row_mask(initial, pattern.ratio)
            else:
                mask = dsnot_mask(layer.weight, initial, wanda, stats.mean(), stats.variance(), pattern, self.settings)
            self.apply_mask(layer, mask)

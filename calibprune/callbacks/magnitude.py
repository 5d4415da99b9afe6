"""Magnitude pruning callback: no calibration data needed."""

from __future__ import annotations

from typing import Any

from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.magnitude import magnitude_mask
from calibprune.modeling.prunable import PrunableWeight


class Magnitude(PruningMethod):
    """Prune the smallest-magnitude weights of each weight matrix (per matrix; per group for N:M).

    Its options are those every method shares (:class:`~calibprune.callbacks.base.PruningMethod`); OWL, which
    reads calibration statistics, is refused.
    """

    needs_calibration = False

    @override
    def prune_block(self, layers: dict[str, PrunableWeight], statistics: dict[str, Any]) -> None:
        for layer in layers.values():
            self.apply_mask(layer, magnitude_mask(layer.weight, self.active_pattern))

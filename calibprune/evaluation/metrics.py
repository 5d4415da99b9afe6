"""torchmetrics metrics of the evaluation: per-item values."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torchmetrics import Metric


class PerItemValues(Metric):
    """Every item's value with its item index, returned in item order (whatever the batch order or device).

    States are concatenated (``dist_reduce_fx="cat"``), so items scored on several devices come back whole.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("indices", [], dist_reduce_fx="cat")
        self.add_state("values", [], dist_reduce_fx="cat")

    def update(self, indices: torch.Tensor | list[int], values: torch.Tensor) -> None:
        """Add the values of the items ``indices`` (one value per index)."""
        values = values.detach().to(torch.float64).flatten()
        indices = torch.as_tensor(indices, dtype=torch.long, device=values.device).flatten()
        if indices.numel() != values.numel():
            raise ValueError(f"{indices.numel()} item indices for {values.numel()} values")
        self.indices.append(indices)
        self.values.append(values)

    def compute(self) -> list[float]:
        """The values sorted by item index.

        Raises:
            ValueError: when an item index was recorded twice.
        """
        if isinstance(self.values, list) and not self.values:  # after a multi-device sync the states are tensors
            return []
        indices = torch.cat(self.indices) if isinstance(self.indices, list) else self.indices
        values = torch.cat(self.values) if isinstance(self.values, list) else self.values
        order = torch.argsort(indices)
        if torch.unique(indices).numel() != indices.numel():
            raise ValueError("an item was scored twice")
        return values[order].tolist()


def mean_and_stderr(values: Sequence[float]) -> tuple[float, float | None, int]:
    """``(mean, stderr, n)`` of per-item values: exact-sum mean, sample std / sqrt(n) (``None`` below two).

    The mean is ``math.fsum(values) / n``, so anyone holding the per-item values recomputes it bit for bit.

    Raises:
        ValueError: when there is no value.
    """
    n = len(values)
    if n == 0:
        raise ValueError("no item was scored (empty test split, or --limit 0)")
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None, n
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(variance / n), n

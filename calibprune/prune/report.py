"""Per-matrix and global sparsity of a pruned model's decoder blocks, and their coverage.

The zeros of every matrix are counted on the device and read back to the host in one transfer for all of them:
on a GPU each separate read would wait for the device.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.plan import PruningPlan


def zero_count(weight: torch.Tensor) -> torch.Tensor:
    """The number of zeros of a weight matrix, as a tensor on its device (not read back)."""
    return (weight == 0).sum()


def matrix_sparsity(weight) -> dict[str, Any]:
    """Zeros, size and sparsity of one weight matrix."""
    return matrix_entries({"": (zero_count(weight), weight.numel())})[""]


def matrix_entries(counts: dict[str, tuple[torch.Tensor | int, int]]) -> dict[str, dict[str, Any]]:
    """Zeros, size and sparsity of named matrices from their zero counts (on any device) and sizes, read at once.

    Args:
        counts: by name, ``(zeros, numel)``; ``zeros`` a tensor from :func:`zero_count` or an ``int``.
    """
    by_device: dict[torch.device, list[str]] = {}
    for name, (zeros, _) in counts.items():
        if isinstance(zeros, torch.Tensor):
            by_device.setdefault(zeros.device, []).append(name)
    read: dict[str, int] = {}
    for names in by_device.values():  # one read per device (one in practice)
        read.update(zip(names, torch.stack([counts[name][0] for name in names]).tolist(), strict=True))
    entries = {}
    for name, (zeros, numel) in counts.items():
        value = read.get(name, zeros)
        entries[name] = {"zeros": value, "numel": numel, "sparsity": value / max(numel, 1)}
    return entries


def sparsity_report(model: nn.Module, plan: PruningPlan | None = None) -> dict[str, Any]:
    """Zeros, size and sparsity of every matrix the plan prunes (default: every prunable one), overall, and coverage.

    ``coverage`` is the pruned matrices' weights over all weights of the decoder blocks, with what the rest is
    (routers, norms and biases, matrices left out by targets/ignore).
    """
    plan = plan or PruningPlan.build(model)
    _, blocks = decoder_blocks(model)
    counts = {}
    for index, block in enumerate(blocks):
        for name, prunable in plan.layers(index, block).items():
            counts[f"{plan.path}.{index}.{name}"] = (zero_count(prunable.weight), prunable.weight.numel())
    return summarise(matrix_entries(counts), plan)


def summarise(layers: dict[str, dict[str, Any]], plan: PruningPlan) -> dict[str, Any]:
    """The report from per-matrix entries: ``layers``, ``global`` (over them) and ``coverage``."""
    zeros = sum(layer["zeros"] for layer in layers.values())
    total = sum(layer["numel"] for layer in layers.values())
    return {
        "layers": layers,
        "global": {"zeros": zeros, "numel": total, "sparsity": zeros / max(total, 1)},
        "coverage": plan.coverage(),
    }

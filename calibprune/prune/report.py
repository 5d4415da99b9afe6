"""Per-matrix and global sparsity of a pruned model's decoder blocks, and their coverage."""

from __future__ import annotations

from typing import Any

from torch import nn

from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.plan import PruningPlan


def matrix_sparsity(weight) -> dict[str, Any]:
    """Zeros, size and sparsity of one weight matrix."""
    zeros, numel = int((weight == 0).sum()), weight.numel()
    return {"zeros": zeros, "numel": numel, "sparsity": zeros / max(numel, 1)}


def sparsity_report(model: nn.Module, plan: PruningPlan | None = None) -> dict[str, Any]:
    """Zeros, size and sparsity of every matrix the plan prunes (default: every prunable one), overall, and coverage.

    ``coverage`` is the pruned matrices' weights over all weights of the decoder blocks, with what the rest is
    (routers, norms and biases, matrices left out by targets/ignore).
    """
    plan = plan or PruningPlan.build(model)
    _, blocks = decoder_blocks(model)
    layers = {}
    for index, block in enumerate(blocks):
        for name, prunable in plan.layers(index, block).items():
            layers[f"{plan.path}.{index}.{name}"] = matrix_sparsity(prunable.weight)
    return summarise(layers, plan)


def summarise(layers: dict[str, dict[str, Any]], plan: PruningPlan) -> dict[str, Any]:
    """The report from per-matrix entries: ``layers``, ``global`` (over them) and ``coverage``."""
    zeros = sum(layer["zeros"] for layer in layers.values())
    total = sum(layer["numel"] for layer in layers.values())
    return {
        "layers": layers,
        "global": {"zeros": zeros, "numel": total, "sparsity": zeros / max(total, 1)},
        "coverage": plan.coverage(),
    }

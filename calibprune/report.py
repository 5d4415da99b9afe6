"""Per-layer and global sparsity of a pruned model's decoder Linear layers."""

from __future__ import annotations

from typing import Any

from torch import nn

from calibprune.modeling.blocks import decoder_blocks, linear_layers


def sparsity_report(model: nn.Module) -> dict[str, Any]:
    """Zeros, size and sparsity of every Linear layer in the decoder blocks, and over all of them."""
    path, blocks = decoder_blocks(model)
    layers, zeros, total = {}, 0, 0
    for index, block in enumerate(blocks):
        for name, layer in linear_layers(block).items():
            z, n = int((layer.weight == 0).sum()), layer.weight.numel()
            layers[f"{path}.{index}.{name}"] = {"zeros": z, "numel": n, "sparsity": z / n}
            zeros, total = zeros + z, total + n
    return {"layers": layers, "global": {"zeros": zeros, "numel": total, "sparsity": zeros / max(total, 1)}}

"""One statistics pass over the dense model: every block's Wanda input norms, before anything is pruned.

OWL needs the outlier ratios of all blocks before the first one is pruned. As in the authors' code, they come
from the dense model's activations: each block is run on the calibration inputs with its dense weights and its
outputs feed the next block. The first block's inputs are kept aside and restored afterwards, so the sequential
pruning pass that follows starts from exactly the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch

from calibprune.engine.statistics import SquaredNormAccumulator
from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.capture import run_block
from calibprune.modeling.plan import PruningPlan
from calibprune.modeling.prunable import PrunableWeight

T = TypeVar("T")


@torch.no_grad()
def dense_pass(
    pipeline: Any,
    plan: PruningPlan,
    visit: Callable[[int, dict[str, PrunableWeight], dict[str, torch.Tensor]], T],
    count_padding: bool = False,
) -> list[T]:
    """Run the dense model block by block; return ``visit(index, matrices, input_norms)`` of every block.

    ``input_norms`` are ``||X_j||`` of each matrix to prune on the dense model's activations: fp32, padding
    excluded unless ``count_padding``, summed over ranks once per block. ``visit`` runs while the block is on
    the device (a streamed block's weights are gone afterwards). ``pipeline`` is the
    :class:`~calibprune.prune.pipeline.PruningPipeline` about to prune (its model, activations, placement, device
    and collectives).
    """
    _, blocks = decoder_blocks(pipeline.model)
    activations = pipeline.activations
    saved = activations.hidden_states()
    state: dict[str, Any] = {"mask": None}
    results = []
    try:
        for index, block in enumerate(blocks):
            pipeline.placement.onload(index, block, pipeline.device)
            layers = plan.layers(index, block)
            accumulators = {
                name: SquaredNormAccumulator(p.in_features, device=pipeline.device) for name, p in layers.items()
            }
            handles = [
                p.register_input_hook(
                    lambda x, mask, acc=accumulators[name]: acc.update(x.detach(), mask),
                    lambda: None if count_padding else state["mask"],
                )
                for name, p in layers.items()
            ]
            try:
                for inputs in activations:
                    on_device = activations.on_device(inputs, pipeline.device)
                    state["mask"] = on_device.statistics_mask
                    inputs.hidden = run_block(block, on_device).to(inputs.hidden.device)
            finally:
                for handle in handles:
                    handle.remove()
            reduce = pipeline.collectives.reduce
            norms = {name: reduce(acc.sum, "sum").sqrt() for name, acc in accumulators.items()}
            results.append(visit(index, layers, norms))
            pipeline.placement.offload(index, block)
    finally:
        for inputs, hidden in zip(activations, saved, strict=True):
            inputs.hidden = hidden
    return results

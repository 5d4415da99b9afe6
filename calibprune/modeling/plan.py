"""The pruning plan: every decoder block's matrices to prune, checked and listed before anything is pruned."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.prunable import PrunableWeight, block_weights
from calibprune.modeling.targets import Selection

log = logging.getLogger(__name__)

EXCLUDED = "excluded by --method.targets/--method.ignore"


@dataclass
class PruningPlan:
    """Which matrices of which decoder block are pruned, and how much of the blocks' weights that covers.

    Attributes:
        path: dotted name of the decoder blocks (``model.layers``).
        names: per block, the names (inside the block) of the matrices to prune.
        kinds: per block, the number of matrices of each kind (``linear``, ``conv1d``, ``expert``) to prune.
        sizes: per block, the number of weights in its matrices to prune.
        pruned_weights: weights in the matrices to prune, over all blocks.
        block_weights: every parameter of the decoder blocks.
        kept: weights of the blocks not pruned, by reason.
        unknown: matrices of kinds calibprune does not know how to prune, by full name (a plan built with
            ``strict=False`` only, e.g. to measure the sparsity of a model ``evaluate`` reads).
        strict: unknown kinds of weights are errors (every plan that prunes).
    """

    path: str
    names: list[list[str]]
    kinds: list[dict[str, int]]
    sizes: list[int]
    pruned_weights: int
    block_weights: int
    kept: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    strict: bool = True

    @classmethod
    def build(cls, model: nn.Module, selection: Selection | None = None, strict: bool = True) -> PruningPlan:
        """Discover every block's matrices, apply targets/ignore, and check that nothing is silently skipped.

        Args:
            model: the causal LM.
            selection: ``--method.targets``/``--method.ignore``.
            strict: refuse what cannot be pruned; ``False`` (a report, nothing pruned): list unknown kinds of
                weights in :attr:`unknown` and accept blocks with nothing to prune.

        Raises:
            ValueError: when ``strict``, a block has an unknown kind of weight matrix or nothing to prune; or a
                pattern matched nothing.
        """
        selection = selection or Selection()
        path, blocks = decoder_blocks(model)
        names, kinds, sizes, pruned, total, kept, unknown = [], [], [], 0, 0, {}, []
        for index, block in enumerate(blocks):
            found = block_weights(block, f"decoder block {path}.{index}", strict)
            unknown += [f"{path}.{index}.{name}" for name in found.unknown]
            if not found.prunable and strict:
                raise ValueError(
                    f"--model: decoder block {path}.{index} ({type(block).__name__}) has no weight "
                    "matrix calibprune can prune (nn.Linear, Conv1D, fused MoE experts)"
                )
            chosen = [p for p in found.prunable if selection.selects(f"{path}.{index}.{p.name}")]
            names.append([p.name for p in chosen])
            counts: dict[str, int] = {}
            for p in chosen:
                counts[p.kind] = counts.get(p.kind, 0) + 1
            kinds.append(counts)
            size = sum(p.numel() for p in chosen)
            sizes.append(size)
            pruned, total = pruned + size, total + found.total
            excluded = sum(p.numel() for p in found.prunable) - size
            for reason, count in {**found.kept, EXCLUDED: excluded}.items():
                kept[reason] = kept.get(reason, 0) + count
        selection.check_all_used()
        if not any(names) and strict:
            raise ValueError("--method.targets/--method.ignore: no weight matrix is left to prune")
        return cls(path, names, kinds, sizes, pruned, total, {k: v for k, v in kept.items() if v}, unknown, strict)

    def layers(self, index: int, block: nn.Module) -> dict[str, PrunableWeight]:
        """Block ``index``'s matrices to prune (re-discovered: a streamed block's parameters are new objects)."""
        found = {p.name: p for p in block_weights(block, f"decoder block {self.path}.{index}", self.strict).prunable}
        return {name: found[name] for name in self.names[index]}

    def coverage(self) -> dict[str, Any]:
        """Pruned weights over all weights of the decoder blocks, what the others are, and unknown kinds if any."""
        coverage = {
            "pruned_weights": self.pruned_weights,
            "block_weights": self.block_weights,
            "fraction": self.pruned_weights / max(self.block_weights, 1),
            "not_pruned": dict(self.kept),
        }
        if self.unknown:
            coverage["unknown_weights"] = list(self.unknown)
        return coverage

    def log(self) -> None:
        """List, before pruning, what every block will have pruned (one line per block, one for coverage)."""
        for index, counts in enumerate(self.kinds):
            described = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing"
            log.info(
                "block %d: %d matrices to prune (%s), %s weights",
                index,
                len(self.names[index]),
                described,
                f"{self.sizes[index]:,}",
            )
        kept = "; ".join(f"{reason}: {n:,}" for reason, n in self.kept.items())
        log.info(
            "coverage: %s of %s decoder-block weights pruned (%.1f%%)%s",
            f"{self.pruned_weights:,}",
            f"{self.block_weights:,}",
            100 * self.pruned_weights / max(self.block_weights, 1),
            f"; not pruned: {kept}" if kept else "",
        )

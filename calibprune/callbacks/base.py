"""Base class of pruning-method callbacks: own the statistics hooks of one decoder block at a time."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from torch import nn
from typing_extensions import override

from calibprune.callbacks.block_callback import BlockCallback
from calibprune.engine.sparsity import SparsityPattern


class PruningMethod(BlockCallback):
    """Prunes the Linear layers of each decoder block; subclasses say how.

    The :class:`~calibprune.module.PruningModule` calls, for every decoder block in order,
    :meth:`on_block_start` (attach statistics hooks), runs the calibration activations through the block,
    then :meth:`on_block_end` (reduce statistics across ranks, prune, remove hooks).

    Args:
        sparsity_ratio: fraction of weights pruned in every Linear layer, in [0, 1) (default 0.5; with
            ``N:M`` it is N/M, and a different explicit value is an error).
        sparsity_type: ``unstructured`` or ``N:M`` (e.g. ``2:4``, ``4:8``: N pruned in every M consecutive
            input weights of a row; the ratio is then N/M).
        count_padding: count padded positions in the statistics, as the seed repo did (off: padding is
            excluded through the attention mask).
    """

    needs_calibration = True

    def __init__(
        self,
        sparsity_ratio: float | None = None,
        sparsity_type: str = "unstructured",
        count_padding: bool = False,
    ) -> None:
        self.pattern = resolve_pattern(sparsity_type, sparsity_ratio)
        self.count_padding = count_padding
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._accumulators: dict[str, Any] = {}
        self._seen: list[tuple[torch.Tensor, Any]] = []

    # ---- statistics -------------------------------------------------------------------------------------------
    def new_accumulator(self, layer: nn.Linear) -> Any:
        """A fresh fp32 statistics accumulator for ``layer`` (methods that calibrate must override)."""
        raise NotImplementedError

    def _hook(self, name: str, pl_module: pl.LightningModule):
        def hook(layer: nn.Module, args: tuple) -> None:
            inputs = args[0]
            for seen_input, accumulator in self._seen:
                if seen_input is inputs:  # q/k/v (gate/up) read the same tensor: one set of statistics
                    self._accumulators.setdefault(name, accumulator)
                    return
            accumulator = self._accumulators.get(name)
            if accumulator is None:
                accumulator = self._accumulators[name] = self.new_accumulator(layer)
            mask = None if self.count_padding else pl_module.active_token_mask
            accumulator.update(inputs.detach(), mask)
            self._seen.append((inputs, accumulator))

        return hook

    @override
    def on_block_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, index: int, layers: dict[str, nn.Linear]
    ) -> None:
        """Check the layers fit the pattern and attach one statistics hook (on the input) per Linear layer."""
        for name, layer in layers.items():
            self.pattern.check_width(layer.in_features, name)
        self._accumulators = {}
        if self.needs_calibration:
            self._handles = [
                layer.register_forward_pre_hook(self._hook(name, pl_module)) for name, layer in layers.items()
            ]

    @override
    def on_block_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, index: int) -> None:
        """Forget the input tensors of the batch just run (they only identify shared inputs within a batch)."""
        self._seen = []

    @override
    def on_block_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, index: int, layers: dict[str, nn.Linear]
    ) -> None:
        """Remove hooks, reduce statistics across ranks once, and prune every layer of the block in place."""
        self.remove_hooks()
        reduced: dict[int, Any] = {}
        for accumulator in self._accumulators.values():
            if id(accumulator) not in reduced:
                accumulator.sum = trainer.strategy.reduce(accumulator.sum, reduce_op="sum")
                accumulator.tokens = trainer.strategy.reduce(accumulator.tokens, reduce_op="sum")
                reduced[id(accumulator)] = accumulator
        self.prune_block(layers, self._accumulators)
        self._accumulators = {}

    def prune_block(self, layers: dict[str, nn.Linear], statistics: dict[str, Any]) -> None:
        """Prune the block's layers in place given their (shared) input statistics."""
        raise NotImplementedError

    def remove_hooks(self) -> None:
        """Remove every hook this callback attached."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._seen = []

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self.remove_hooks()

    @staticmethod
    def apply_mask(layer: nn.Linear, mask: torch.Tensor, weight: torch.Tensor | None = None) -> None:
        """Write ``weight`` (default: the current one) into ``layer`` with the masked entries set to zero.

        In place: the pruned weights take the dense ones' memory (no second copy of the model, also when the
        dense weights are pages of a memory-mapped checkpoint).
        """
        target = layer.weight.data
        if weight is not None:
            target.copy_(weight)
        target.masked_fill_(mask.to(target.device), 0)


def resolve_pattern(sparsity_type: str, sparsity_ratio: float | None) -> SparsityPattern:
    """The sparsity pattern of ``--sparsity_type`` and ``--sparsity_ratio`` (``None``: not given).

    Unstructured sparsity defaults to 0.5. ``N:M`` fixes the ratio to N/M: an explicit ratio must agree with it
    (``--sparsity_ratio 0.5 --sparsity_type 2:4``, the seed's habit, does), any other is an error.
    """
    if sparsity_type == "unstructured":
        return SparsityPattern.parse(sparsity_type, 0.5 if sparsity_ratio is None else sparsity_ratio)
    structured = SparsityPattern.parse(sparsity_type, 0.0)
    if sparsity_ratio is not None:
        SparsityPattern.parse("unstructured", sparsity_ratio)  # a ratio outside [0, 1) is reported as such first
        if abs(float(sparsity_ratio) - structured.ratio) > 1e-9:
            raise ValueError(
                f"--sparsity_ratio {sparsity_ratio:g} contradicts --sparsity_type {sparsity_type} "
                f"(which prunes {structured.ratio:g}); leave --sparsity_ratio out"
            )
    return structured


def find_pruning_method(callbacks: list[Callback]) -> PruningMethod:
    """The one :class:`PruningMethod` among a trainer's callbacks."""
    methods = [cb for cb in callbacks if isinstance(cb, PruningMethod)]
    if len(methods) != 1:
        raise ValueError(
            f"--method: exactly one pruning method is needed (Wanda, SparseGPT or Magnitude), got {len(methods)}"
        )
    return methods[0]

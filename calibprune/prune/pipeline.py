"""PruningPipeline: the sequential block loop, one object whatever calls it (the Lightning module, the advisor)."""

from __future__ import annotations

import logging
import signal
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from calibprune.callbacks.base import PruningMethod
from calibprune.callbacks.block_callback import BlockCallback
from calibprune.console import bar_interval
from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.capture import BlockInputs, linear_call_order, run_block, run_block_until
from calibprune.modeling.placement import Resident
from calibprune.modeling.plan import PruningPlan
from calibprune.modeling.prunable import PrunableWeight
from calibprune.prune.activations import ActivationCache
from calibprune.prune.checkpoint import RunCheckpoint
from calibprune.prune.collectives import SingleProcess

log = logging.getLogger(__name__)


class PruningPipeline:
    """Calibrate, prune and propagate through every decoder block of a model, in order.

    For every block (from the first one a resumed run has not finished): the placement brings it to the device,
    the block callbacks hear :meth:`~calibprune.callbacks.block_callback.BlockCallback.on_block_start`, every
    calibration batch runs through it (only as far as its last matrix's input) between ``on_block_batch_start``
    and ``on_block_batch_end``, then ``on_block_end`` (the method prunes), rank 0's weights are broadcast,
    ``on_block_pruned``, and the pruned block's outputs become the next block's inputs. The hooks receive
    ``(trainer, pipeline, ...)``: the Lightning trainer (``None`` without one) and this pipeline (its model,
    activations, device, collectives).

    On the device the loop waits for the host a fixed number of times per block, whatever the batches and
    matrices: non-finite activations are flagged on the device and checked once per block.

    Args:
        model: the model to prune in place.
        method: the pruning method (also among ``callbacks``; added first when it is not).
        activations: what the first block to prune receives, for every calibration batch.
        device: the compute device.
        callbacks: the block callbacks, called in this order.
        placement: where the weights live (resident, onloaded, streamed).
        collectives: sums, barriers and broadcasts across processes (default: one process).
        checkpoint: the run's work directory (default: none).
        identity: the model's name and dtype, part of a resumable run's fingerprint.
        trainer: the Lightning trainer, passed to the hooks (``None`` without one).
    """

    def __init__(
        self,
        model: nn.Module,
        method: PruningMethod,
        activations: ActivationCache,
        device: torch.device | str,
        callbacks: Sequence[BlockCallback] = (),
        placement: Resident | None = None,
        collectives: SingleProcess | None = None,
        checkpoint: RunCheckpoint | None = None,
        identity: dict[str, Any] | None = None,
        trainer: Any = None,
    ) -> None:
        self.model, self.method, self.activations = model, method, activations
        self.device = torch.device(device)
        self.callbacks = list(callbacks) if method in callbacks else [method, *callbacks]
        self.placement = placement or Resident()
        self.collectives = collectives or SingleProcess()
        self.checkpoint = checkpoint or RunCheckpoint()
        self.identity = identity or {}
        self.trainer = trainer
        self.blocks_path, self.blocks = decoder_blocks(model)
        self.plan = PruningPlan.build(model, method.selection)
        self._last_linear: dict[tuple[str, ...], str] = {}
        self._finite = torch.ones((), dtype=torch.bool, device=self.device)

    def call(self, hook: str, *args: Any) -> None:
        """Call ``hook(trainer, pipeline, *args)`` of every block callback, in order (the one dispatcher)."""
        for callback in self.callbacks:
            getattr(callback, hook)(self.trainer, self, *args)

    @torch.no_grad()
    def run(self) -> dict[str, Any]:
        """Prune every decoder block in order; return the method's facts for the sparsity report."""
        if self.collectives.is_global_zero:
            self.plan.log()
        self.method.prepare(self, self.plan)  # before any block is restored or pruned: OWL reads the dense model
        start = self.checkpoint.start(
            self.collectives,
            self.identity,
            self.method,
            self.blocks_path,
            self.blocks,
            self.placement,
            self.activations,
        )
        bar = tqdm(
            range(start, len(self.blocks)),
            desc=f"pruning ({type(self.method).__name__})",
            initial=start,
            total=len(self.blocks),
            disable=not self.collectives.is_global_zero,
            mininterval=bar_interval(),
            maxinterval=bar_interval(),
        )
        try:
            for index in bar:
                self.prune_block(index)
                if self.collectives.received_sigterm and index + 1 < len(self.blocks):
                    _stop_on_sigterm(index, self.checkpoint.path is not None)
        except BaseException as exception:
            if self.trainer is None:  # a trainer tells its callbacks itself
                self.call("on_exception", exception)
            raise
        report = self.method.report()
        self.activations.clear()
        return report

    def prune_block(self, index: int) -> None:
        """Calibrate and prune block ``index``, then replace the activations by its pruned outputs."""
        block = self.blocks[index]
        self.placement.onload(index, block, self.device)
        layers = self.plan.layers(index, block)
        self.call("on_block_start", index, layers)
        if self.method.needs_calibration:
            for inputs in self.activations:
                batch = self.activations.on_device(inputs, self.device)
                self.call("on_block_batch_start", index, batch)
                self._collect(block, layers, batch)
                self.call("on_block_batch_end", index)
            self._check_finite()  # before the method prunes on them
        self.call("on_block_end", index, layers)
        self.collectives.broadcast_weights({id(p.parameter): p.parameter for p in layers.values()}.values())
        self.call("on_block_pruned", index, layers)
        if index + 1 < len(self.blocks):
            for inputs in self.activations:
                hidden = self._run(block, self.activations.on_device(inputs, self.device))
                inputs.hidden = hidden.to(inputs.hidden.device)
            self._check_finite()
        if self.placement.keeps_sparsity():
            self.checkpoint.record_sparsity(self.blocks_path, index, layers)
        self.checkpoint.finish_block(
            self.collectives, self.blocks_path, index, block, len(self.blocks), self.activations
        )
        self.placement.offload(index, block)

    def _collect(self, block: nn.Module, layers: dict[str, PrunableWeight], on_device: BlockInputs) -> None:
        """Run the block (batch on the device) for its statistics only, up to the input of the last matrix it calls.

        Which matrix that is comes from one full run of the first block with these matrix names.
        """
        modules = {name: layer.module for name, layer in layers.items()}
        key = tuple(layers)
        if key in self._last_linear:
            run_block_until(block, on_device, modules[self._last_linear[key]])
            return
        order, out = linear_call_order(block, on_device, modules)
        self._flag_finite(out)
        if order:
            self._last_linear[key] = order[-1]

    def _run(self, block: nn.Module, on_device: BlockInputs) -> torch.Tensor:
        out = run_block(block, on_device)
        self._flag_finite(out)
        return out

    def _flag_finite(self, out: torch.Tensor) -> None:
        """Note on the device whether ``out`` is finite (read once per block, not once per batch)."""
        self._finite &= torch.isfinite(out).all().to(self._finite.device)

    def _check_finite(self) -> None:
        if not bool(self._finite):
            raise FloatingPointError("non-finite activations (NaN/Inf) in the calibration forward pass")


def _stop_on_sigterm(index: int, resumable: bool) -> None:
    """Leave after a finished block when the job was sent SIGTERM (Lightning only records it; e.g. preemption)."""
    hint = "run the same command again to continue" if resumable else "pass --resume true to make runs resumable"
    log.warning("SIGTERM: stopped after decoder block %d; %s", index, hint)
    raise SystemExit(128 + signal.SIGTERM)

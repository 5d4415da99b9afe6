"""PruningModule: a causal LM pruned block by block on the calibration stream of the predict loop."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_only
from tqdm.auto import tqdm
from typing_extensions import override

from calibprune.callbacks.base import PruningMethod, find_pruning_method
from calibprune.callbacks.block_callback import BlockCallback
from calibprune.console import bar_interval
from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.capture import (
    BlockInputs,
    capture_block_inputs,
    linear_call_order,
    run_block,
    run_block_until,
)
from calibprune.modeling.heap import reuse_freed_memory
from calibprune.modeling.loading import EMBEDDED_MODEL, load_model, load_tokenizer
from calibprune.modeling.placement import Onloaded, Resident, Streamed
from calibprune.modeling.plan import PruningPlan
from calibprune.modeling.prunable import PrunableWeight
from calibprune.modeling.safetensors_io import SafetensorsCheckpoint
from calibprune.modeling.streaming import (
    build_skeleton,
    checkpoint_folder,
    materialise_outside_blocks,
    outside_block_tensors,
)
from calibprune.prune.activations import ActivationCache
from calibprune.prune.checkpoint import RunCheckpoint
from calibprune.prune.report import sparsity_report, summarise
from calibprune.prune.saving import save_pruned_model, save_sharded_model

log = logging.getLogger(__name__)


class PruningModule(pl.LightningModule):
    """A Hugging Face causal LM to prune, block by block.

    ``trainer.predict`` feeds the calibration stream through the model up to its first decoder block
    and keeps those inputs; at the end of the epoch every block is calibrated (statistics hooks of the
    :class:`~calibprune.callbacks.PruningMethod` callback on), pruned, and re-run with its pruned weights
    to produce the inputs of the next block. The activations between blocks are an
    :class:`~calibprune.prune.activations.ActivationCache`; the work directory of streamed and resumable runs
    (and their fingerprint) a :class:`~calibprune.prune.checkpoint.RunCheckpoint`. Each calibration batch reaches
    the :class:`~calibprune.callbacks.block_callback.BlockCallback` hooks through ``on_block_batch_start``.

    Args:
        model: Hugging Face hub id or local path of a causal LM (``.gguf`` files too), or ``embedded`` for
            the bundled SmolLM2-135M-Instruct.
        dtype: weights dtype: float32, bfloat16 or float16 (statistics are always fp32).
        offload_activations: keep calibration activations on the CPU between blocks (bounded device memory).
        onload: keep the weights on the CPU and move one decoder block at a time to the compute device
            (a model larger than the GPU).
        stream: read each decoder block from the safetensors checkpoint when it is pruned and write it
            back pruned, so only one block is ever in memory (a model larger than RAM); implies ``onload``.
            The pruned model is then only on disk (``--save_model``).
    """

    def __init__(
        self,
        model: str = EMBEDDED_MODEL,
        dtype: str = "float32",
        offload_activations: bool = False,
        onload: bool = False,
        stream: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model_name = model
        self.dtype_name = dtype
        self.onload = onload or stream
        self.stream = stream
        self.model: torch.nn.Module | None = None
        self.tokenizer: Any = None
        self.placement: Resident = Resident()
        self.activations = ActivationCache(offload_activations)
        self.run_checkpoint = RunCheckpoint()
        self.plan: PruningPlan | None = None
        self.blocks_path = ""
        self.method_report: dict[str, Any] = {}
        self._last_linear: dict[tuple[str, ...], str] = {}

    @override
    def configure_model(self) -> None:
        """Load the model and tokenizer once (idempotent); streamed, only the weights outside the blocks."""
        if self.model is None:
            if self.stream:
                folder = checkpoint_folder(self.model_name)
                checkpoint = SafetensorsCheckpoint(folder)
                model = build_skeleton(folder, self.dtype_name)
                materialise_outside_blocks(model, checkpoint)
                self.placement = Streamed(checkpoint, decoder_blocks(model)[0])
            else:
                model = load_model(self.model_name, self.dtype_name)
                decoder_blocks(model)  # fail early on a model without decoder blocks
                self.placement = Onloaded() if self.onload else Resident()
            if self.onload:
                # Not a registered submodule: the strategy's move to the device must leave the weights on the CPU.
                self.__dict__["model"] = model
            else:
                self.model = model
        if self.tokenizer is None:
            self.tokenizer = load_tokenizer(self.model_name)

    def configure_run(self, save_model: str | None = None, resume: bool = False) -> None:
        """Choose where finished blocks are written: ``<save_model>.partial`` when streaming or resuming.

        Args:
            save_model: the folder the pruned model will be saved to.
            resume: checkpoint every finished block and continue an interrupted run of the same job.
        """
        self.run_checkpoint.configure(save_model, resume, self.stream)

    def discard_workdir(self) -> None:
        """Delete the work directory of a failed run that cannot be resumed (rank 0; scratch folders too)."""
        self.run_checkpoint.discard()

    @property
    def max_length(self) -> int | None:
        """The model's context length, when its config states one."""
        return getattr(self.model.config, "max_position_embeddings", None)

    @override
    def on_predict_start(self) -> None:
        """Forget the calibration tokens of any earlier run; keep freed activation memory for reuse."""
        self.run_checkpoint.forget_tokens()
        reuse_freed_memory()

    @override
    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Keep what the first decoder block receives for this calibration batch."""
        if "input_ids" not in batch:  # magnitude pruning: a placeholder batch, no calibration
            return
        _, blocks = decoder_blocks(self.model)
        home = self.placement.home(self.device)
        ids, mask = batch["input_ids"].to(home), batch["attention_mask"].to(home)
        self.run_checkpoint.record_tokens(ids, mask)
        self.activations.add(capture_block_inputs(self.model, blocks[0], ids, mask), self.device)

    @override
    def on_predict_epoch_end(self) -> None:
        """Prune every decoder block in order once the calibration inputs are collected."""
        method = find_pruning_method(self.trainer.callbacks)
        if self.trainer.world_size > 1 and method.needs_calibration:
            local = torch.tensor(len(self.activations), device=self.device)
            fewest = self.trainer.strategy.reduce(local, reduce_op="min")
            if int(fewest) == 0:
                world = self.trainer.world_size
                raise ValueError(f"--data.nsamples must be at least the number of processes ({world})")
        self.prune_blocks(method)

    @torch.no_grad()
    def prune_blocks(self, method: PruningMethod) -> None:
        """Calibrate, prune and propagate through every decoder block, in order (from the last finished one)."""
        hooks = [cb for cb in self.trainer.callbacks if isinstance(cb, BlockCallback)]
        path, blocks = decoder_blocks(self.model)
        self.plan, self.blocks_path = PruningPlan.build(self.model, method.selection), path
        if _is_rank_zero():
            self.plan.log()
        method.prepare(self, self.plan)  # before any block is restored or pruned: OWL reads the dense model
        identity = {"model": self.model_name, "dtype": self.dtype_name}
        start = self.run_checkpoint.start(
            self.trainer, identity, method, path, blocks, self.placement.streamed, self.activations
        )
        bar = tqdm(
            range(start, len(blocks)),
            desc=f"pruning ({type(method).__name__})",
            initial=start,
            total=len(blocks),
            disable=not _is_rank_zero(),
            mininterval=bar_interval(),
            maxinterval=bar_interval(),
        )
        for index in bar:
            block = blocks[index]
            self.placement.onload(index, block, self.device)
            layers = self.plan.layers(index, block)
            for hook in hooks:
                hook.on_block_start(self.trainer, self, index, layers)
            if method.needs_calibration:
                for inputs in self.activations:
                    batch = self.activations.on_device(inputs, self.device)
                    for hook in hooks:
                        hook.on_block_batch_start(self.trainer, self, index, batch)
                    self._collect(block, layers, batch)
                    for hook in hooks:
                        hook.on_block_batch_end(self.trainer, self, index)
            for hook in hooks:
                hook.on_block_end(self.trainer, self, index, layers)
            _broadcast_weights({id(p.parameter): p.parameter for p in layers.values()}.values())
            for hook in hooks:
                hook.on_block_pruned(self.trainer, self, index, layers)
            if index + 1 < len(blocks):
                for inputs in self.activations:
                    inputs.hidden = self._run(block, self.activations.on_device(inputs, self.device)).to(
                        inputs.hidden.device
                    )
            if self.placement.streamed:
                self.run_checkpoint.record_sparsity(path, index, self.plan.layers(index, block))
            self.run_checkpoint.finish_block(self.trainer, path, index, block, len(blocks), self.activations)
            self.placement.offload(index, block)
            if self.trainer.received_sigterm and index + 1 < len(blocks):
                _stop_on_sigterm(index, self.run_checkpoint.path is not None)
        self.method_report = method.report()
        self.activations.clear()

    def _collect(self, block: torch.nn.Module, layers: dict[str, PrunableWeight], on_device: BlockInputs) -> None:
        """Run the block (batch on the device) for its statistics only, up to the input of the last matrix it calls.

        Which matrix that is comes from one full run of the first block with these matrix names.
        """
        modules = {name: layer.module for name, layer in layers.items()}
        key = tuple(layers)
        if key in self._last_linear:
            run_block_until(block, on_device, modules[self._last_linear[key]])
            return
        order, out = linear_call_order(block, on_device, modules)
        _check_finite(out)
        if order:
            self._last_linear[key] = order[-1]

    def _run(self, block: torch.nn.Module, on_device: BlockInputs) -> torch.Tensor:
        out = run_block(block, on_device)
        _check_finite(out)
        return out

    # ---- results -------------------------------------------------------------------------------------------
    def sparsity_report(self) -> dict[str, Any]:
        """Zeros, size and sparsity of every pruned matrix, over all of them, coverage, and the method's facts."""
        plan = self.plan or PruningPlan.build(self.model)
        if self.placement.streamed:
            report = summarise(dict(self.run_checkpoint.sparsity), plan)
        else:
            report = sparsity_report(self.model, plan)
        return {**report, **self.method_report}

    def save_pruned(self, path: str | Path, report: dict[str, Any], overwrite: bool = False) -> Path:
        """Save the pruned model to ``path`` (atomically), then delete the run's work directory."""
        if self.placement.streamed:
            _, blocks = decoder_blocks(self.model)
            shards = self.run_checkpoint.block_files(len(blocks))
            rest = outside_block_tensors(self.model, self.placement.checkpoint)
            saved = save_sharded_model(self.model, self.tokenizer, shards, rest, path, report, overwrite)
        else:
            saved = save_pruned_model(self.model, self.tokenizer, path, report, overwrite)
        self.run_checkpoint.saved()
        return saved


def _broadcast_weights(parameters) -> None:
    """Make every rank hold rank 0's pruned weights (guards against last-bit differences between processes)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        for parameter in parameters:
            torch.distributed.broadcast(parameter.data, src=0)


def _is_rank_zero() -> bool:
    return rank_zero_only.rank == 0


def _stop_on_sigterm(index: int, resumable: bool) -> None:
    """Leave after a finished block when the job was sent SIGTERM (Lightning only records it; e.g. preemption)."""
    hint = "run the same command again to continue" if resumable else "pass --resume true to make runs resumable"
    log.warning("SIGTERM: stopped after decoder block %d; %s", index, hint)
    raise SystemExit(128 + signal.SIGTERM)


def _check_finite(out: torch.Tensor) -> None:
    if not torch.isfinite(out).all():
        raise FloatingPointError("non-finite activations (NaN/Inf) in the calibration forward pass")

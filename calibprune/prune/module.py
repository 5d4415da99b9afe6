"""PruningModule: a causal LM pruned block by block on the calibration stream of the predict loop."""

from __future__ import annotations

import hashlib
import logging
import signal
import tempfile
from dataclasses import asdict, is_dataclass
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
from calibprune.modeling.workdir import Progress, WorkDir
from calibprune.prune.report import matrix_sparsity, sparsity_report, summarise
from calibprune.prune.saving import save_pruned_model, save_sharded_model

log = logging.getLogger(__name__)


class PruningModule(pl.LightningModule):
    """A Hugging Face causal LM to prune, block by block.

    ``trainer.predict`` feeds the calibration stream through the model up to its first decoder block
    and keeps those inputs; at the end of the epoch every block is calibrated (statistics hooks of the
    :class:`~calibprune.callbacks.PruningMethod` callback on), pruned, and re-run with its pruned weights
    to produce the inputs of the next block.

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
        self.offload_activations = offload_activations
        self.onload = onload or stream
        self.stream = stream
        self.model: torch.nn.Module | None = None
        self.tokenizer: Any = None
        self.placement: Resident = Resident()
        self.active_token_mask: torch.Tensor | None = None
        self.calibration: list[BlockInputs] = []
        self.resume = False
        self.workdir: WorkDir | None = None
        self.layer_sparsity: dict[str, dict[str, Any]] = {}
        self.plan: PruningPlan | None = None
        self.blocks_path = ""
        self.method_report: dict[str, Any] = {}
        self._workdir_path: Path | None = None
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._tokens = hashlib.sha256()
        self._fingerprint: dict[str, Any] = {}
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
        if resume and not save_model:
            raise ValueError("--resume needs --save_model: finished blocks are kept in <save_model>.partial")
        self.resume = resume
        if save_model and (resume or self.stream):
            self._workdir_path = WorkDir.next_to(save_model)
        elif self.stream:
            self._scratch = tempfile.TemporaryDirectory(prefix="calibprune-stream-")
            self._workdir_path = Path(self._scratch.name)

    def discard_workdir(self) -> None:
        """Delete the work directory of a failed run that cannot be resumed (rank 0; scratch folders too)."""
        if self._scratch is not None:
            self._scratch.cleanup()
        elif self._workdir_path is not None and rank_zero_only.rank == 0:
            WorkDir(self._workdir_path).remove()

    @property
    def max_length(self) -> int | None:
        """The model's context length, when its config states one."""
        return getattr(self.model.config, "max_position_embeddings", None)

    @override
    def on_predict_start(self) -> None:
        """Forget the calibration tokens of any earlier run; keep freed activation memory for reuse."""
        self._tokens = hashlib.sha256()
        reuse_freed_memory()

    @override
    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Keep what the first decoder block receives for this calibration batch."""
        if "input_ids" not in batch:  # magnitude pruning: a placeholder batch, no calibration
            return
        _, blocks = decoder_blocks(self.model)
        home = self.placement.home(self.device)
        ids, mask = batch["input_ids"].to(home), batch["attention_mask"].to(home)
        self._tokens.update(ids.cpu().numpy().tobytes() + mask.cpu().numpy().tobytes())
        inputs = capture_block_inputs(self.model, blocks[0], ids, mask)
        self.calibration.append(inputs.to("cpu" if self.offload_activations else self.device))

    @override
    def on_predict_epoch_end(self) -> None:
        """Prune every decoder block in order once the calibration inputs are collected."""
        method = find_pruning_method(self.trainer.callbacks)
        if self.trainer.world_size > 1 and method.needs_calibration:
            local = torch.tensor(len(self.calibration), device=self.device)
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
        start = self._start(method, path, blocks)
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
                for inputs in self.calibration:
                    self._collect(block, layers, inputs)
                    for hook in hooks:
                        hook.on_block_batch_end(self.trainer, self, index)
            for hook in hooks:
                hook.on_block_end(self.trainer, self, index, layers)
            _broadcast_weights({id(p.parameter): p.parameter for p in layers.values()}.values())
            for hook in hooks:
                hook.on_block_pruned(self.trainer, self, index, layers)
            if index + 1 < len(blocks):
                for inputs in self.calibration:
                    inputs.hidden = self._run(block, inputs).to(inputs.hidden.device)
            self._finish_block(path, index, block, len(blocks))
            self.placement.offload(index, block)
            if self.trainer.received_sigterm and index + 1 < len(blocks):
                _stop_on_sigterm(index, self._workdir_path is not None)
        self.method_report = method.report()
        self.active_token_mask = None
        self.calibration = []

    def _on_device(self, inputs: BlockInputs) -> BlockInputs:
        """The batch on the compute device, its real-token mask made visible to the statistics hooks."""
        on_device = inputs.to(self.device) if self.offload_activations else inputs
        self.active_token_mask = on_device.token_mask
        return on_device

    def _collect(self, block: torch.nn.Module, layers: dict[str, PrunableWeight], inputs: BlockInputs) -> None:
        """Run the block for its statistics only, up to the input of the last matrix it calls.

        Which matrix that is comes from one full run of the first block with these matrix names.
        """
        on_device = self._on_device(inputs)
        modules = {name: layer.module for name, layer in layers.items()}
        key = tuple(layers)
        if key in self._last_linear:
            run_block_until(block, on_device, modules[self._last_linear[key]])
            return
        order, out = linear_call_order(block, on_device, modules)
        _check_finite(out)
        if order:
            self._last_linear[key] = order[-1]

    def _run(self, block: torch.nn.Module, inputs: BlockInputs) -> torch.Tensor:
        out = run_block(block, self._on_device(inputs))
        _check_finite(out)
        return out

    # ---- work directory: streamed blocks and resume --------------------------------------------------------
    def _start(self, method: PruningMethod, path: str, blocks: torch.nn.ModuleList) -> int:
        """Open the work directory and restore an interrupted run's progress; return the first block to prune."""
        self.layer_sparsity = {}
        if self._workdir_path is None:
            return 0
        self.workdir = WorkDir(self._workdir_path, self.trainer.global_rank)
        self._fingerprint = self._run_fingerprint(method, len(blocks))
        progress = self.workdir.progress(self._fingerprint) if self.resume else None
        if progress is None:
            self.workdir.reset()
            self.trainer.strategy.barrier("calibprune-workdir")
            return 0
        log.info("--resume: %d of %d blocks already pruned in %s", progress.next_block, len(blocks), self.workdir.path)
        if not self.placement.streamed:
            for index in range(progress.next_block):
                prefix = f"{path}.{index}."
                state = self.workdir.read_block(index)
                blocks[index].load_state_dict({name[len(prefix) :]: value for name, value in state.items()})
        if progress.next_block < len(blocks):
            saved = self.workdir.read_activations(progress.next_block)
            if len(saved) != len(self.calibration):
                raise RuntimeError(f"--resume: {len(saved)} saved batches, {len(self.calibration)} calibration batches")
            for inputs, hidden in zip(self.calibration, saved, strict=True):
                inputs.hidden = hidden.to(inputs.hidden.device)
        self.layer_sparsity = dict(progress.sparsity)
        return progress.next_block

    def _finish_block(self, path: str, index: int, block: torch.nn.Module, count: int) -> None:
        """Write the pruned block (streaming or resume) and, with resume, the activations to continue from."""
        if self.placement.streamed:
            for name, layer in self.plan.layers(index, block).items():
                self.layer_sparsity[f"{path}.{index}.{name}"] = matrix_sparsity(layer.weight)
        if self.workdir is None:
            return
        self.workdir.write_block(index, {f"{path}.{index}.{name}": t for name, t in block.state_dict().items()})
        if self.resume:
            if index + 1 < count:
                self.workdir.write_activations(index + 1, [inputs.hidden for inputs in self.calibration])
            self.trainer.strategy.barrier("calibprune-checkpoint")
            self.workdir.write_manifest(self._fingerprint, Progress(index + 1, self.layer_sparsity))

    def _run_fingerprint(self, method: PruningMethod, blocks: int) -> dict[str, Any]:
        """What must match for a saved run to be continued: model, method, process count and calibration tokens."""
        tokens = [self._tokens.hexdigest()]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            tokens = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(tokens, self._tokens.hexdigest())
        settings = {k: asdict(v) if is_dataclass(v) else v for k, v in vars(method).items() if not k.startswith("_")}
        settings = {k: v for k, v in settings.items() if isinstance(v, (bool, int, float, str, dict))}
        return {
            "model": self.model_name,
            "dtype": self.dtype_name,
            "blocks": blocks,
            "tokens": tokens,
            "method": {"class": f"{type(method).__module__}.{type(method).__qualname__}", **settings},
        }

    # ---- results -------------------------------------------------------------------------------------------
    def sparsity_report(self) -> dict[str, Any]:
        """Zeros, size and sparsity of every pruned matrix, over all of them, coverage, and the method's facts."""
        plan = self.plan or PruningPlan.build(self.model)
        if self.placement.streamed:
            report = summarise(dict(self.layer_sparsity), plan)
        else:
            report = sparsity_report(self.model, plan)
        return {**report, **self.method_report}

    def save_pruned(self, path: str | Path, report: dict[str, Any], overwrite: bool = False) -> Path:
        """Save the pruned model to ``path`` (atomically), then delete the run's work directory."""
        if self.placement.streamed:
            _, blocks = decoder_blocks(self.model)
            shards = [self.workdir.block_file(index) for index in range(len(blocks))]
            rest = outside_block_tensors(self.model, self.placement.checkpoint)
            saved = save_sharded_model(self.model, self.tokenizer, shards, rest, path, report, overwrite)
        else:
            saved = save_pruned_model(self.model, self.tokenizer, path, report, overwrite)
        if self.workdir is not None and self._scratch is None:
            self.workdir.remove()
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

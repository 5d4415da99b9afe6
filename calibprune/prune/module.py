"""PruningModule: a causal LM pruned block by block on the calibration stream of the predict loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from typing_extensions import override

from calibprune.callbacks.base import PruningMethod, find_pruning_method
from calibprune.callbacks.block_callback import BlockCallback
from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.capture import capture_block_inputs
from calibprune.modeling.heap import reuse_freed_memory
from calibprune.modeling.loading import EMBEDDED_MODEL, load_tokenizer, resolve_dtype
from calibprune.modeling.placement import Resident, load_placed
from calibprune.modeling.plan import PruningPlan
from calibprune.modeling.streaming import outside_block_tensors
from calibprune.prune.activations import ActivationCache
from calibprune.prune.checkpoint import RunCheckpoint
from calibprune.prune.collectives import TrainerCollectives
from calibprune.prune.pipeline import PruningPipeline
from calibprune.prune.report import sparsity_report, summarise
from calibprune.prune.saving import save_pruned_model, save_sharded_model


class PruningModule(pl.LightningModule):
    """A Hugging Face causal LM to prune, block by block.

    The Lightning face of the :class:`~calibprune.prune.pipeline.PruningPipeline`: ``trainer.predict`` feeds the
    calibration stream through the model up to its first decoder block and keeps those inputs; at the end of the
    epoch the pipeline calibrates (statistics hooks of the :class:`~calibprune.callbacks.PruningMethod` callback
    on), prunes and re-runs every block to produce the inputs of the next one. The activations between blocks are an
    :class:`~calibprune.prune.activations.ActivationCache`; the work directory of streamed and resumable runs
    (and their fingerprint) a :class:`~calibprune.prune.checkpoint.RunCheckpoint`. Each calibration batch reaches
    the :class:`~calibprune.callbacks.block_callback.BlockCallback` hooks through ``on_block_batch_start``.

    Args:
        model: Hugging Face hub id or local path of a causal LM (``.gguf`` files too), or ``embedded`` for
            the bundled SmolLM2-135M-Instruct.
        dtype: weights dtype: ``auto`` (the checkpoint's own, as ``from_pretrained(dtype="auto")``; float32 for a
            GGUF file or a config stating none), float32, bfloat16 or float16 (statistics are always fp32).
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
        dtype: str = "auto",
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

    @override
    def configure_model(self) -> None:
        """Load the model and tokenizer once (idempotent); streamed, only the weights outside the blocks."""
        if self.model is None:
            self.dtype_name = resolve_dtype(self.model_name, self.dtype_name)  # what ran: in the summary and results
            model, self.placement = load_placed(self.model_name, self.dtype_name, self.onload, self.stream)
            if self.onload:
                # Not a registered submodule: the strategy's move to the device must leave the weights on the CPU.
                self.__dict__["model"] = model
            else:
                self.model = model
        if self.tokenizer is None:
            self.tokenizer = load_tokenizer(self.model_name)

    def use_model(self, model: torch.nn.Module, tokenizer: Any) -> None:
        """Prune ``model`` (already loaded, resident) instead of loading one: a study prunes the model it holds."""
        self.model, self.tokenizer, self.placement = model, tokenizer, Resident()

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
    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        """Keep what the first decoder block receives for this calibration batch.

        A batch may say on the host whether it holds padding (``padded``) and give its tokens' bytes
        (``token_bytes``); without them they are read from the device.
        """
        if "input_ids" not in batch:  # magnitude pruning: a placeholder batch, no calibration
            return
        _, blocks = decoder_blocks(self.model)
        home = self.placement.home(self.device)
        ids, mask = batch["input_ids"].to(home), batch["attention_mask"].to(home)
        if "token_bytes" in batch:  # read on the host before the batch moved (CalibrationDataModule)
            self.run_checkpoint.record_token_bytes(batch["token_bytes"])
        else:
            self.run_checkpoint.record_tokens(ids, mask)
        inputs = capture_block_inputs(self.model, blocks[0], ids, mask, batch.get("padded", True))
        self.activations.add(inputs, self.device)

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

    def pipeline(self, method: PruningMethod) -> PruningPipeline:
        """The block loop over this module's model, activations, placement and run checkpoint.

        The trainer's block callbacks hear its hooks; its strategy provides the collectives.
        """
        return PruningPipeline(
            self.model,
            method,
            self.activations,
            self.device,
            callbacks=[cb for cb in self.trainer.callbacks if isinstance(cb, BlockCallback)],
            placement=self.placement,
            collectives=TrainerCollectives(self.trainer),
            checkpoint=self.run_checkpoint,
            identity={"model": self.model_name, "dtype": self.dtype_name},
            trainer=self.trainer,
        )

    def prune_blocks(self, method: PruningMethod) -> None:
        """Calibrate, prune and propagate through every decoder block, in order (from the last finished one)."""
        pipeline = self.pipeline(method)
        self.plan, self.blocks_path = pipeline.plan, pipeline.blocks_path
        self.method_report = pipeline.run()

    # ---- results -------------------------------------------------------------------------------------------
    def sparsity_report(self) -> dict[str, Any]:
        """Zeros, size and sparsity of every pruned matrix, over all of them, coverage, and the method's facts."""
        plan = self.plan or PruningPlan.build(self.model)
        if self.placement.streamed:
            report = summarise(self.run_checkpoint.sparsity, plan)
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

"""PruningModule: a causal LM pruned block by block on the calibration stream of the predict loop."""

from __future__ import annotations

import logging
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_only
from tqdm.auto import tqdm
from typing_extensions import override

from calibprune.callbacks.base import PruningMethod, find_pruning_method
from calibprune.callbacks.block_callback import BlockCallback
from calibprune.modeling.blocks import decoder_blocks, linear_layers
from calibprune.modeling.capture import BlockInputs, capture_block_inputs, run_block
from calibprune.modeling.loading import EMBEDDED_MODEL, load_model, load_tokenizer

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
    """

    def __init__(self, model: str = EMBEDDED_MODEL, dtype: str = "float32", offload_activations: bool = False) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model_name = model
        self.dtype_name = dtype
        self.offload_activations = offload_activations
        self.model: torch.nn.Module | None = None
        self.tokenizer: Any = None
        self.active_token_mask: torch.Tensor | None = None
        self.calibration: list[BlockInputs] = []

    @override
    def configure_model(self) -> None:
        """Load the model and tokenizer once (idempotent)."""
        if self.model is None:
            self.model = load_model(self.model_name, self.dtype_name)
            decoder_blocks(self.model)  # fail early on a model without decoder blocks
        if self.tokenizer is None:
            self.tokenizer = load_tokenizer(self.model_name)

    @property
    def max_length(self) -> int | None:
        """The model's context length, when its config states one."""
        return getattr(self.model.config, "max_position_embeddings", None)

    @override
    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Keep what the first decoder block receives for this calibration batch."""
        _, blocks = decoder_blocks(self.model)
        inputs = capture_block_inputs(self.model, blocks[0], batch["input_ids"], batch["attention_mask"])
        self.calibration.append(inputs.to("cpu") if self.offload_activations else inputs)

    @override
    def on_predict_epoch_end(self) -> None:
        """Prune every decoder block in order once the calibration inputs are collected."""
        if self.trainer.world_size > 1:
            local = torch.tensor(len(self.calibration), device=self.device)
            fewest = self.trainer.strategy.reduce(local, reduce_op="min")
            if int(fewest) == 0:
                world = self.trainer.world_size
                raise ValueError(f"--data.nsamples must be at least the number of processes ({world})")
        self.prune_blocks(find_pruning_method(self.trainer.callbacks))

    @torch.no_grad()
    def prune_blocks(self, method: PruningMethod) -> None:
        """Calibrate, prune and propagate through every decoder block, in order."""
        hooks = [cb for cb in self.trainer.callbacks if isinstance(cb, BlockCallback)]
        _, blocks = decoder_blocks(self.model)
        bar = tqdm(range(len(blocks)), desc=f"pruning ({type(method).__name__})", disable=not _is_rank_zero())
        for index in bar:
            block = blocks[index]
            layers = linear_layers(block)
            for hook in hooks:
                hook.on_block_start(self.trainer, self, index, layers)
            if method.needs_calibration:
                for inputs in self.calibration:
                    self._run(block, inputs)
                    for hook in hooks:
                        hook.on_block_batch_end(self.trainer, self, index)
            for hook in hooks:
                hook.on_block_end(self.trainer, self, index, layers)
            _broadcast_weights(layers.values())
            for hook in hooks:
                hook.on_block_pruned(self.trainer, self, index, layers)
            if index + 1 < len(blocks):
                for inputs in self.calibration:
                    inputs.hidden = self._run(block, inputs).to(inputs.hidden.device)
        self.active_token_mask = None
        self.calibration = []

    def _run(self, block: torch.nn.Module, inputs: BlockInputs) -> torch.Tensor:
        on_device = inputs.to(self.device) if self.offload_activations else inputs
        self.active_token_mask = on_device.token_mask
        out = run_block(block, on_device)
        if not torch.isfinite(out).all():
            raise FloatingPointError("non-finite activations (NaN/Inf) in the calibration forward pass")
        return out


def _broadcast_weights(layers) -> None:
    """Make every rank hold rank 0's pruned weights (guards against last-bit differences between processes)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        for layer in layers:
            torch.distributed.broadcast(layer.weight.data, src=0)


def _is_rank_zero() -> bool:
    return rank_zero_only.rank == 0

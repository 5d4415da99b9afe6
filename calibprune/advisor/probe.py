"""The model side of the proxies: the first ``k`` decoder blocks, run dense, and pruned with a candidate's data.

Everything goes through the engine's own pieces: :func:`~calibprune.modeling.capture.capture_block_inputs` for
the inputs of the first block, the pruning method's statistics hooks and the
:class:`~calibprune.prune.pipeline.PruningPipeline` (on the first ``k`` blocks only) for the pruning, and the
engine's accumulators for the statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from calibprune.advisor.recorder import NormRecorder
from calibprune.callbacks.base import PruningMethod
from calibprune.callbacks.block_callback import BlockCallback
from calibprune.datamodules.samples import CalibrationSamples
from calibprune.evaluation.forward import causal_lm_forward, position_ids
from calibprune.modeling.blocks import decoder_blocks, linear_layers
from calibprune.modeling.capture import BlockInputs, capture_block_inputs, run_block
from calibprune.prune.activations import ActivationCache
from calibprune.prune.collectives import SingleProcess, TrainerCollectives
from calibprune.prune.module import PruningModule
from calibprune.prune.pipeline import PruningPipeline


@contextmanager
def first_blocks(model: nn.Module, count: int) -> Iterator[nn.ModuleList]:
    """Make the model's stack of decoder blocks its first ``count`` blocks for the duration (then restore it)."""
    path, blocks = decoder_blocks(model)
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    short = nn.ModuleList(list(blocks)[:count])
    setattr(parent, name, short)
    try:
        yield short
    finally:
        setattr(parent, name, blocks)


class BlockProbe:
    """Runs data through the first ``blocks`` decoder blocks of a loaded model, dense or pruned by a candidate.

    Args:
        module: the loaded :class:`~calibprune.prune.module.PruningModule` (its model is restored after every probe).
        blocks: how many decoder blocks, from the first, are probed.
        batch_size: sequences per forward pass.
    """

    def __init__(self, module: PruningModule, blocks: int, batch_size: int = 8) -> None:
        _, all_blocks = decoder_blocks(module.model)
        if not 1 <= blocks <= len(all_blocks):
            raise ValueError(f"--blocks must be in [1, {len(all_blocks)}] for this model, got {blocks}")
        self.module, self.blocks, self.batch_size = module, blocks, batch_size
        self._dense = [{k: v.detach().clone() for k, v in b.state_dict().items()} for b in list(all_blocks)[:blocks]]

    @torch.no_grad()
    def inputs(self, samples: CalibrationSamples) -> list[BlockInputs]:
        """What the first decoder block receives for every batch of ``samples``."""
        model = self.module.model
        _, blocks = decoder_blocks(model)
        device = self.module.device
        return [
            capture_block_inputs(
                model,
                blocks[0],
                samples.input_ids[i : i + self.batch_size].to(device),
                samples.attention_mask[i : i + self.batch_size].to(device),
            )
            for i in range(0, len(samples), self.batch_size)
        ]

    @torch.no_grad()
    def run(self, inputs: list[BlockInputs], recorder: NormRecorder | None = None) -> list[torch.Tensor]:
        """The hidden states after the first blocks as they are now; ``recorder`` hears every Linear input."""
        _, blocks = decoder_blocks(self.module.model)
        hidden = [batch.hidden for batch in inputs]
        for index in range(self.blocks):
            block = blocks[index]
            if recorder is not None:
                recorder.on_block_start(None, self.module, index, linear_layers(block))
            for i, batch in enumerate(inputs):
                current = BlockInputs(hidden[i], batch.kwargs, batch.token_mask)
                if recorder is not None:
                    recorder.on_block_batch_start(None, self.module, index, current)
                hidden[i] = run_block(block, current)
            if recorder is not None:
                recorder.on_block_end(None, self.module, index, linear_layers(block))
        return hidden

    @torch.no_grad()
    def prune(self, inputs: list[BlockInputs], trainer, method: PruningMethod) -> None:
        """Prune the first blocks in place with the engine's block loop, calibrated on ``inputs``.

        Args:
            inputs: what the first block receives (left as they are: the loop works on copies).
            trainer: the trainer whose block callbacks also hear the loop's hooks, or ``None`` (the method only).
            method: the pruning method.
        """
        batches = [BlockInputs(b.hidden.clone(), b.kwargs, b.token_mask, b.padded) for b in inputs]
        callbacks = [cb for cb in trainer.callbacks if isinstance(cb, BlockCallback)] if trainer is not None else []
        with first_blocks(self.module.model, self.blocks):
            pipeline = PruningPipeline(
                self.module.model,
                method,
                ActivationCache(batches=batches),
                self.module.device,
                callbacks=callbacks,
                collectives=TrainerCollectives(trainer) if trainer is not None else SingleProcess(),
                trainer=trainer,
            )
            pipeline.run()

    @torch.no_grad()
    def restore(self) -> None:
        """Write the dense weights back into the probed blocks."""
        _, blocks = decoder_blocks(self.module.model)
        for block, state in zip(blocks, self._dense, strict=False):
            block.load_state_dict(state)


@torch.no_grad()
def sequence_log_probs(module: PruningModule, samples: CalibrationSamples, batch_size: int = 8) -> torch.Tensor:
    """The dense model's log-probabilities of every real next token of ``samples``."""
    from calibprune.advisor.proxies.likelihood import token_log_probs

    parts = []
    for i in range(0, len(samples), batch_size):
        ids = samples.input_ids[i : i + batch_size].to(module.device)
        mask = samples.attention_mask[i : i + batch_size].to(module.device)
        logits, _ = causal_lm_forward(module.model, ids, mask, position_ids(mask))
        parts.append(token_log_probs(logits, ids, mask).cpu())
    return torch.cat(parts)

"""Where a model's weights live while it is pruned, and how one decoder block reaches the compute device.

A placement owns what differs between them, so that the block loop does not branch on it: moving a block to the
device and back, what must be kept of a block once it is gone (a streamed block's sparsity), and how a resumed run
restores the blocks it already pruned.
"""

from __future__ import annotations

import torch
from torch import nn

from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.heap import return_freed_memory
from calibprune.modeling.loading import load_model, resolve_dtype
from calibprune.modeling.safetensors_io import SafetensorsCheckpoint
from calibprune.modeling.streaming import (
    build_skeleton,
    checkpoint_folder,
    materialise,
    materialise_outside_blocks,
    release,
)


class Resident:
    """The whole model sits on the compute device (the strategy moved it there): nothing to move."""

    streamed = False

    def home(self, device: torch.device) -> torch.device:
        """Device of the weights outside the decoder blocks (where the first block's inputs are captured)."""
        return device

    def onload(self, index: int, block: nn.Module, device: torch.device) -> None:
        """Make block ``index`` ready to run on ``device``."""

    def offload(self, index: int, block: nn.Module) -> None:
        """Give back the device memory of block ``index`` once it is pruned and its outputs computed."""

    def restore(self, block: nn.Module, state: dict[str, torch.Tensor]) -> None:
        """Put a resumed run's saved pruned weights (``state``, names inside the block) into ``block``."""
        block.load_state_dict(state)

    def keeps_sparsity(self) -> bool:
        """Whether a block's sparsity must be recorded when it is finished (it will not be in memory later)."""
        return False


class Onloaded(Resident):
    """Weights stay on the CPU; one decoder block at a time visits the compute device."""

    def home(self, device: torch.device) -> torch.device:
        """The CPU: embeddings and the LM head never leave it."""
        return torch.device("cpu")

    def onload(self, index: int, block: nn.Module, device: torch.device) -> None:
        """Move block ``index`` to ``device``."""
        block.to(device)

    def offload(self, index: int, block: nn.Module) -> None:
        """Move block ``index`` back to the CPU."""
        block.to("cpu")
        return_freed_memory()


class Streamed(Onloaded):
    """Block weights stay on disk: read when the block is pruned, dropped (back to ``meta``) afterwards.

    Args:
        checkpoint: the dense model's safetensors checkpoint.
        blocks_path: dotted name of the model's decoder blocks (``model.layers``).
    """

    streamed = True

    def __init__(self, checkpoint: SafetensorsCheckpoint, blocks_path: str) -> None:
        self.checkpoint = checkpoint
        self.blocks_path = blocks_path

    def onload(self, index: int, block: nn.Module, device: torch.device) -> None:
        """Read block ``index``'s dense weights from the checkpoint straight into ``device`` memory."""
        materialise(block, f"{self.blocks_path}.{index}.", self.checkpoint, device)

    def offload(self, index: int, block: nn.Module) -> None:
        """Free block ``index``'s weights (its pruned copy is on disk by then)."""
        release(block)
        return_freed_memory()

    def restore(self, block: nn.Module, state: dict[str, torch.Tensor]) -> None:
        """Nothing: a streamed block is read from the work directory when the model is saved, never held."""

    def keeps_sparsity(self) -> bool:
        """Yes: the block's weights are released once it is finished."""
        return True


def load_placed(name: str, dtype: str, onload: bool = False, stream: bool = False) -> tuple[nn.Module, Resident]:
    """Load a model to prune and say where its weights live.

    Args:
        name: hub id, local path (``.gguf`` too) or ``embedded``.
        dtype: weights dtype (see :func:`~calibprune.modeling.loading.load_model`).
        onload: keep the weights on the CPU, one decoder block at a time on the device.
        stream: read each decoder block from the safetensors checkpoint only when it is pruned (implies onload);
            only the weights outside the blocks are loaded here.
    """
    if stream:
        folder = checkpoint_folder(name)
        checkpoint = SafetensorsCheckpoint(folder)
        model = build_skeleton(folder, resolve_dtype(str(folder), dtype))
        materialise_outside_blocks(model, checkpoint)
        return model, Streamed(checkpoint, decoder_blocks(model)[0])
    model = load_model(name, dtype)
    decoder_blocks(model)  # fail early on a model without decoder blocks
    return model, Onloaded() if onload else Resident()

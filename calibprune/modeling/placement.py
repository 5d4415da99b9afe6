"""Where a model's weights live while it is pruned, and how one decoder block reaches the compute device."""

from __future__ import annotations

import torch
from torch import nn

from calibprune.modeling.heap import return_freed_memory
from calibprune.modeling.safetensors_io import SafetensorsCheckpoint
from calibprune.modeling.streaming import materialise, release


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

"""The calibration activations between decoder blocks: what the next block receives, for every batch."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from calibprune.modeling.capture import BlockInputs


class ActivationCache:
    """What the next decoder block receives for every calibration batch, kept on the device or on the CPU.

    Filled by the predict loop (the first block's inputs), then advanced one block at a time: each batch's hidden
    states are replaced by the block's outputs once the block is pruned.

    Args:
        offload: keep the activations on the CPU between blocks (each batch moves to the device when it runs).
        batches: first-block inputs captured elsewhere (the advisor's probe), kept as they are.
    """

    def __init__(self, offload: bool = False, batches: list[BlockInputs] | None = None) -> None:
        self.offload = offload
        self.batches: list[BlockInputs] = list(batches or [])

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[BlockInputs]:
        return iter(self.batches)

    def add(self, inputs: BlockInputs, device: torch.device) -> None:
        """Keep one batch's first-block inputs (on the CPU when offloading, else on ``device``)."""
        self.batches.append(inputs.to("cpu" if self.offload else device))

    def on_device(self, inputs: BlockInputs, device: torch.device) -> BlockInputs:
        """The batch on the compute device (a copy when offloaded; the batch itself otherwise)."""
        return inputs.to(device) if self.offload else inputs

    def hidden_states(self) -> list[torch.Tensor]:
        """Every batch's hidden states, in order (what a resumable run saves after a block)."""
        return [inputs.hidden for inputs in self.batches]

    def restore(self, hidden: list[torch.Tensor]) -> None:
        """Replace every batch's hidden states by saved ones (a resumed run continues from them).

        Raises:
            RuntimeError: when the saved batches are not as many as the calibration batches.
        """
        if len(hidden) != len(self.batches):
            raise RuntimeError(f"--resume: {len(hidden)} saved batches, {len(self.batches)} calibration batches")
        for inputs, saved in zip(self.batches, hidden, strict=True):
            inputs.hidden = saved.to(inputs.hidden.device)

    def clear(self) -> None:
        """Forget every batch (after the last block)."""
        self.batches = []

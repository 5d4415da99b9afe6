"""A run's work directory: finished blocks (streamed or resumable runs), and what a resumed run must match."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_only
from torch import nn

from calibprune.callbacks.base import PruningMethod
from calibprune.files.owner import temporary_folder
from calibprune.modeling.placement import Resident
from calibprune.modeling.prunable import PrunableWeight
from calibprune.modeling.workdir import Progress, WorkDir
from calibprune.prune.activations import ActivationCache
from calibprune.prune.collectives import SingleProcess
from calibprune.prune.report import matrix_entries, zero_count

log = logging.getLogger(__name__)


class RunCheckpoint:
    """Where a run's pruned blocks go, and the fingerprint a resumed run must match to continue from them.

    A streamed run writes every pruned block to its work directory (``<save_model>.partial``, or a scratch
    folder without ``--save_model``); a resumable run (``--resume``) also writes, after every block, the
    activations to continue from and a manifest with its fingerprint (model, dtype, blocks, method, process
    count, calibration tokens) and progress. Any other run has no work directory.

    Attributes:
        resume: checkpoint every finished block and continue an interrupted run of the same job.
        path: the work directory (``None``: none).
        workdir: the open work directory, once the pruning started.
    """

    def __init__(self) -> None:
        self.resume = False
        self.path: Path | None = None
        self.workdir: WorkDir | None = None
        self._sparsity: dict[str, dict[str, Any]] = {}
        self._zeros: dict[str, tuple[torch.Tensor, int]] = {}  # counted on the device, read with the report
        self._scratch: Path | None = None
        self._tokens = hashlib.sha256()
        self._fingerprint: dict[str, Any] = {}

    def configure(self, save_model: str | None, resume: bool, stream: bool) -> None:
        """Choose the work directory: ``<save_model>.partial`` when streaming or resuming, else a scratch folder.

        Raises:
            ValueError: ``--resume`` without ``--save_model``.
        """
        if resume and not save_model:
            raise ValueError("--resume needs --save_model: finished blocks are kept in <save_model>.partial")
        self.resume = resume
        if save_model and (resume or stream):
            self.path = WorkDir.next_to(save_model)
        elif stream:
            self._scratch = self.path = temporary_folder("calibprune-stream", "workdir")

    def discard(self) -> None:
        """Delete the work directory of a failed run that cannot be resumed (rank 0; scratch folders too)."""
        if self._scratch is not None:
            WorkDir(self._scratch).remove()
        elif self.path is not None and rank_zero_only.rank == 0:
            WorkDir(self.path).remove()

    def forget_tokens(self) -> None:
        """Start a new digest of the calibration tokens (a new predict loop)."""
        self._tokens = hashlib.sha256()

    def record_tokens(self, ids: torch.Tensor, mask: torch.Tensor) -> None:
        """Add one calibration batch's token ids and padding mask to the digest of the run's fingerprint.

        From a device the bytes wait for it: :meth:`record_token_bytes` takes them read on the host.
        """
        self._tokens.update(ids.cpu().numpy().tobytes() + mask.cpu().numpy().tobytes())

    def record_token_bytes(self, data: bytes) -> None:
        """Add one calibration batch's token ids and mask, read as bytes on the host, to the digest."""
        self._tokens.update(data)

    def tokens_digest(self) -> str:
        """The SHA-256 of this process's calibration tokens and masks, in order (the calibration's fingerprint)."""
        return self._tokens.hexdigest()

    def start(
        self,
        collectives: SingleProcess,
        identity: dict[str, Any],
        method: PruningMethod,
        path: str,
        blocks: nn.ModuleList,
        placement: Resident,
        activations: ActivationCache,
    ) -> int:
        """Open the work directory and restore an interrupted run's progress; return the first block to prune.

        Args:
            collectives: the processes' rank and barriers.
            identity: the model's name and dtype, part of the fingerprint.
            method: the pruning method, part of the fingerprint.
            path: the decoder blocks' module path (``model.layers``).
            blocks: the decoder blocks (the placement restores the saved ones into them).
            placement: where the weights live (a streamed model's blocks stay on disk).
            activations: the calibration activations, set to those entering the first block to prune.
        """
        self._sparsity, self._zeros = {}, {}
        if self.path is None:
            return 0
        self.workdir = WorkDir(self.path, collectives.global_rank)
        self._fingerprint = self._run_fingerprint(identity, method, len(blocks))
        progress = self.workdir.progress(self._fingerprint) if self.resume else None
        if progress is None:
            self.workdir.reset()
            collectives.barrier("calibprune-workdir")
            return 0
        log.info("--resume: %d of %d blocks already pruned in %s", progress.next_block, len(blocks), self.workdir.path)
        for index in range(progress.next_block):
            prefix = f"{path}.{index}."
            state = self.workdir.read_block(index)
            placement.restore(blocks[index], {name[len(prefix) :]: value for name, value in state.items()})
        if progress.next_block < len(blocks):
            activations.restore(self.workdir.read_activations(progress.next_block))
        self._sparsity = dict(progress.sparsity)
        return progress.next_block

    def record_sparsity(self, path: str, index: int, layers: dict[str, PrunableWeight]) -> None:
        """Count the zeros of block ``index``'s matrices on the device (a streamed block is gone afterwards)."""
        for name, layer in layers.items():
            self._zeros[f"{path}.{index}.{name}"] = (zero_count(layer.weight), layer.weight.numel())

    @property
    def sparsity(self) -> dict[str, dict[str, Any]]:
        """Zeros, size and sparsity of every matrix recorded so far (the device counts read at once)."""
        if self._zeros:
            self._sparsity.update(matrix_entries(self._zeros))
            self._zeros = {}
        return dict(self._sparsity)

    def finish_block(
        self,
        collectives: SingleProcess,
        path: str,
        index: int,
        block: nn.Module,
        count: int,
        activations: ActivationCache,
    ) -> None:
        """Write the pruned block and, with resume, the activations to continue from and the progress."""
        if self.workdir is None:
            return
        self.workdir.write_block(index, {f"{path}.{index}.{name}": t for name, t in block.state_dict().items()})
        if self.resume:
            if index + 1 < count:
                self.workdir.write_activations(index + 1, activations.hidden_states())
            collectives.barrier("calibprune-checkpoint")
            self.workdir.write_manifest(self._fingerprint, Progress(index + 1, self.sparsity))

    def block_files(self, count: int) -> list[Path]:
        """The safetensors files of the ``count`` pruned blocks written to the work directory."""
        return [self.workdir.block_file(index) for index in range(count)]

    def saved(self) -> None:
        """The pruned model is saved: delete the work directory (a scratch folder goes with the run)."""
        if self.workdir is not None and self._scratch is None:
            self.workdir.remove()

    def _run_fingerprint(self, identity: dict[str, Any], method: PruningMethod, blocks: int) -> dict[str, Any]:
        """What must match for a saved run to be continued: model, method, process count and calibration tokens."""
        tokens = [self.tokens_digest()]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            tokens = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(tokens, self.tokens_digest())
        settings = {k: asdict(v) if is_dataclass(v) else v for k, v in vars(method).items() if not k.startswith("_")}
        settings = {k: v for k, v in settings.items() if isinstance(v, (bool, int, float, str, dict))}
        return {
            **identity,
            "blocks": blocks,
            "tokens": tokens,
            "method": {"class": f"{type(method).__module__}.{type(method).__qualname__}", **settings},
        }

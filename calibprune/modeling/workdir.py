"""A run's work directory: pruned decoder blocks on disk, and what a killed run needs to continue (``--resume``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from calibprune.errors import OptionError
from calibprune.files import owner
from calibprune.files.atomic import write_json
from calibprune.modeling.safetensors_io import read_shard, write_shard

MANIFEST = "manifest.json"
KIND = "workdir"  # the mark of a work directory: only a folder carrying it is emptied, continued or deleted
PARAMETER = "save_model"


@dataclass
class Progress:
    """How far an interrupted run got.

    Attributes:
        next_block: index of the first decoder block still to prune (all blocks before it are on disk).
        sparsity: zeros and size of every finished Linear layer, as in the sparsity report.
    """

    next_block: int
    sparsity: dict[str, dict[str, Any]] = field(default_factory=dict)


class WorkDir:
    """Folder of one run's finished blocks: where streaming writes them, and where ``--resume`` finds them.

    Layout: ``block-00003.safetensors`` holds block 3's pruned weights under their model names (so it is
    also a shard of the saved model); ``activations-00004-rank0.safetensors`` the inputs of block 4 on
    rank 0, one tensor per calibration batch; ``manifest.json`` the run's fingerprint, the next block to
    prune and the finished layers' sparsity. The manifest is written last and atomically, so it only
    ever names complete files.

    Args:
        path: the folder (created when missing).
        rank: this process's global rank; rank 0 writes blocks and the manifest, each rank its activations.
    """

    def __init__(self, path: str | Path, rank: int = 0) -> None:
        self.path = Path(path)
        self.rank = rank

    @staticmethod
    def next_to(save_model: str | Path) -> Path:
        """The work directory of a run saving to ``save_model``: ``<save_model>.partial``.

        Raises:
            OptionError: naming ``save_model`` when that path exists and is not a work directory calibprune made
                (it would be continued, emptied or deleted).
        """
        save_model = Path(save_model)
        path = save_model.with_name(save_model.name + ".partial")
        if path.exists() and not owner.owns(path, KIND):
            entries = sorted(entry.name for entry in path.iterdir()) if path.is_dir() else []
            shown = f" ({', '.join(entries[:3])}{', ...' if len(entries) > 3 else ''})" if entries else ""
            raise OptionError(
                PARAMETER,
                f"{str(path)!r}{shown} is in the way of this run's work directory and was not made by calibprune; "
                "it is left as it is",
                "another save_model, or move that path away",
            )
        return path

    def reset(self) -> None:
        """Start from an empty, marked folder (rank 0 only; other ranks wait at a barrier before writing)."""
        if self.rank == 0:
            owner.remove(self.path, PARAMETER, KIND)
            owner.make_folder(self.path, PARAMETER, kind=KIND)

    def remove(self) -> None:
        """Delete the folder and everything in it (only a work directory calibprune made)."""
        owner.remove(self.path, PARAMETER, KIND)

    def block_file(self, index: int) -> Path:
        """The safetensors file of block ``index``'s pruned weights."""
        return self.path / f"block-{index:05d}.safetensors"

    def write_block(self, index: int, tensors: dict[str, torch.Tensor]) -> None:
        """Persist block ``index``'s pruned weights (rank 0 only: every rank holds the same ones)."""
        if self.rank == 0:
            write_shard(self.block_file(index), tensors)

    def read_block(self, index: int) -> dict[str, torch.Tensor]:
        """Block ``index``'s pruned weights, on the CPU."""
        return read_shard(self.block_file(index))

    def _activations_file(self, next_block: int, rank: int) -> Path:
        return self.path / f"activations-{next_block:05d}-rank{rank}.safetensors"

    def write_activations(self, next_block: int, hidden: list[torch.Tensor]) -> None:
        """Persist this rank's inputs of block ``next_block``, one tensor per calibration batch."""
        write_shard(self._activations_file(next_block, self.rank), {f"batch.{i:06d}": h for i, h in enumerate(hidden)})

    def read_activations(self, next_block: int) -> list[torch.Tensor]:
        """This rank's saved inputs of block ``next_block``, in batch order, on the CPU."""
        tensors = read_shard(self._activations_file(next_block, self.rank))
        return [tensors[name] for name in sorted(tensors)]

    def write_manifest(self, fingerprint: dict[str, Any], progress: Progress) -> None:
        """Record ``progress`` (rank 0, once every rank's files are written), then drop older activations."""
        if self.rank != 0:
            return
        manifest = {"fingerprint": fingerprint, "next_block": progress.next_block, "sparsity": progress.sparsity}
        write_json(self.path / MANIFEST, manifest, PARAMETER, indent=1, folder_kinds=(KIND,))
        for file in self.path.glob("activations-*-rank*.safetensors"):
            if int(file.name.split("-")[1]) < progress.next_block:
                owner.remove(file, PARAMETER, KIND)

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest of an interrupted run (``None`` when there is none); checked before the model loads.

        Raises:
            ValueError: naming ``--resume`` and the file when it is unreadable.
        """
        manifest_file = self.path / MANIFEST
        if not manifest_file.is_file():
            return None
        try:
            manifest = json.loads(manifest_file.read_text())
            return {key: manifest[key] for key in ("fingerprint", "next_block", "sparsity")}
        except (ValueError, KeyError, TypeError) as err:  # JSONDecodeError is a ValueError
            detail = f"{type(err).__name__}: {err}".splitlines()[0]
            raise ValueError(
                f"--resume: {manifest_file} is corrupt ({detail}); delete {self.path}, or run without --resume "
                "to start over"
            ) from None

    def progress(self, fingerprint: dict[str, Any]) -> Progress | None:
        """The progress recorded by an interrupted run of the same job, or ``None`` when there is none.

        Raises:
            ValueError: if the folder belongs to a different job (model, method, data or process count), or its
                manifest is unreadable.
        """
        manifest = self.read_manifest()
        if manifest is None:
            return None
        if manifest["fingerprint"] != fingerprint:
            old = manifest["fingerprint"]
            keys = sorted(k for k in {*old, *fingerprint} if old.get(k) != fingerprint.get(k))
            raise ValueError(
                f"--resume: {self.path} was written by a different run ({', '.join(keys)} differ); "
                "delete it, or run without --resume to start over"
            )
        return Progress(manifest["next_block"], manifest["sparsity"])

"""Read tensors by name from a safetensors checkpoint (single file or sharded) and write shards atomically."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from calibprune.files.atomic import write_with

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
SHARD_METADATA = {"format": "pt"}  # transformers refuses shards without it
SHARD_FOLDERS = ("workdir", "temp")  # shards are written into a work directory or a model's temp folder


class SafetensorsCheckpoint:
    """The tensors of a Hugging Face checkpoint folder, read one group at a time (never the whole model).

    Args:
        folder: a folder holding ``model.safetensors`` or ``model.safetensors.index.json`` and its shards.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        index, single = self.folder / INDEX_FILE, self.folder / SINGLE_FILE
        if index.is_file():
            weight_map = json.loads(index.read_text())["weight_map"]
            self.files = {name: self.folder / file for name, file in weight_map.items()}
        elif single.is_file():
            with safe_open(single, framework="pt") as handle:
                self.files = dict.fromkeys(handle.keys(), single)
        else:
            raise FileNotFoundError(
                f"--model.stream: {self.folder} holds no {SINGLE_FILE} or {INDEX_FILE}; streaming reads safetensors"
            )

    def __contains__(self, name: str) -> bool:
        return name in self.files

    def read(self, names: Iterable[str]) -> dict[str, torch.Tensor]:
        """Load the named tensors onto the CPU, opening each file once and closing it straight after."""
        by_file: dict[Path, list[str]] = {}
        for name in names:
            if name not in self.files:
                raise KeyError(f"--model.stream: tensor {name!r} is not in the checkpoint {self.folder}")
            by_file.setdefault(self.files[name], []).append(name)
        tensors = {}
        for file, members in by_file.items():
            # A closed handle unmaps the file: its pages stop counting towards the resident set.
            with safe_open(file, framework="pt", device="cpu") as handle:
                tensors.update({name: handle.get_tensor(name) for name in members})
        return tensors


def write_shard(path: Path, tensors: dict[str, torch.Tensor]) -> int:
    """Write ``tensors`` (moved to the CPU) to the safetensors file ``path`` atomically; return its byte size.

    ``path`` lies in a work directory or a model's temp folder (an existing shard there is replaced).
    """
    cpu = {name: tensor.detach().to("cpu").contiguous() for name, tensor in tensors.items()}
    write_with(path, lambda tmp: save_file(cpu, tmp, metadata=SHARD_METADATA), "save_model", folder_kinds=SHARD_FOLDERS)
    return sum(tensor.numel() * tensor.element_size() for tensor in cpu.values())


def read_shard(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of one safetensors file, on the CPU."""
    with safe_open(path, framework="pt", device="cpu") as handle:
        return {name: handle.get_tensor(name) for name in handle.keys()}

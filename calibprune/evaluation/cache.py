"""JSON cache of evaluation results, so that a study evaluates its dense model once per task and settings."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from calibprune.errors import OptionError
from calibprune.evaluation.results import TaskResult
from calibprune.files import owner
from calibprune.files.atomic import write_json
from calibprune.modeling.loading import cache_root, resolve_model_path

# Bump when scoring changes in a way that changes results, so that stale entries are never read.
CACHE_VERSION = 2
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
CACHE_KIND = "cache"  # the mark of a cache folder: its entries may be replaced
CACHE_PARAMETER = "CALIBPRUNE_CACHE"  # the environment variable (default ``~/.cache/calibprune``)


def check_cache_root() -> Path:
    """Fail before any model loads when the cache folder cannot be created or written (a file, ``HOME=/dev/null``).

    Raises:
        OptionError: naming ``CALIBPRUNE_CACHE`` and what it accepts.
    """
    root = cache_root()
    accepted = "a writable folder (set CALIBPRUNE_CACHE, or HOME)"
    if os.path.lexists(root) and not root.is_dir():
        raise OptionError(CACHE_PARAMETER, f"{str(root)!r} is a file", accepted)
    if root.is_dir():
        if not owner.writable_folder(root):
            raise OptionError(CACHE_PARAMETER, f"{str(root)!r} is not writable", accepted)
        return root
    owner.check_can_create(root, CACHE_PARAMETER, accepted)
    return root


def is_cache_entry(path: Path) -> bool:
    """Whether ``path`` holds an entry :class:`ResultCache` wrote (a cache folder of an older calibprune)."""
    entry = json.loads(path.read_text(encoding="utf-8"))
    return isinstance(entry, dict) and set(entry) == {"description", "results"}


def path_fingerprint(name_or_path: str) -> str:
    """Identity of a saved model: its resolved path and the name, size and mtime of every weight file.

    A hub id that is not a local folder is identified by the id alone.
    """
    path = Path(resolve_model_path(name_or_path))
    files = [path] if path.is_file() else sorted(p for p in path.glob("*") if p.name.endswith(WEIGHT_SUFFIXES))
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.is_file()]
    return hashlib.sha256(
        json.dumps([str(path.resolve()) if path.exists() else name_or_path, stats]).encode()
    ).hexdigest()


@torch.no_grad()
def weights_fingerprint(model: torch.nn.Module) -> str:
    """Identity of an in-memory model: SHA-256 of every parameter and buffer (names, dtypes, shapes, bytes).

    Pruning changes it, so a pruned model never reads the dense model's entries.
    """
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class ResultCache:
    """Results stored as ``<folder>/<key>.json``, one file per (model, task, settings).

    Args:
        folder: where entries are written (default ``$CALIBPRUNE_CACHE/evaluation``).
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        if folder is None:
            check_cache_root()
        self.folder = Path(folder) if folder is not None else cache_root() / "evaluation"

    @staticmethod
    def key(model_id: str, task: str, settings: dict[str, Any]) -> str:
        """SHA-256 of the model identity, task, settings and cache version."""
        payload = {"version": CACHE_VERSION, "model": model_id, "task": task, "settings": settings}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def get(self, key: str) -> list[TaskResult] | None:
        """The stored results of ``key``, or ``None``."""
        path = self.folder / f"{key}.json"
        if not path.is_file():
            return None
        return [TaskResult.from_dict(r) for r in json.loads(path.read_text(encoding="utf-8"))["results"]]

    def put(self, key: str, results: list[TaskResult], description: dict[str, Any]) -> None:
        """Store ``results`` atomically, with a readable ``description`` of what they are."""
        owner.make_folder(self.folder, CACHE_PARAMETER, kind=CACHE_KIND)
        entry = {"description": description, "results": [r.to_dict() for r in results]}
        write_json(
            self.folder / f"{key}.json",
            entry,
            CACHE_PARAMETER,
            indent=1,
            folder_kinds=(CACHE_KIND,),
            signature=is_cache_entry,
        )

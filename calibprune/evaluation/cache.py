"""JSON cache of evaluation results, so that a study evaluates its dense model once per task and settings."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from calibprune.evaluation.results import TaskResult
from calibprune.modeling.loading import cache_root, resolve_model_path

# Bump when scoring changes in a way that changes results, so that stale entries are never read.
CACHE_VERSION = 2
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


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
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = {"description": description, "results": [r.to_dict() for r in results]}
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", dir=self.folder)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entry, handle, indent=1, default=str)
        os.replace(tmp, self.folder / f"{key}.json")

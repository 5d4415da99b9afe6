"""Write a pruned model as a Hugging Face directory, atomically (temp dir, then rename)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from calibprune.modeling.safetensors_io import INDEX_FILE, write_shard

REPORT_NAME = "sparsity_report.json"


def check_save_path(path: str | Path, overwrite: bool = False) -> Path:
    """Fail early, before any work, when the save path exists and ``overwrite`` is off."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"--save_model: {str(path)!r} already exists; pass --overwrite true to replace it")
    return path


@contextmanager
def _atomic_dir(path: str | Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temp folder next to ``path`` that replaces ``path`` if the block succeeds, and vanishes if not."""
    path = check_save_path(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
        tmp.chmod(0o755)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_pruned_model(
    model: Any, tokenizer: Any, path: str | Path, report: dict[str, Any], overwrite: bool = False
) -> Path:
    """Save model (safetensors), config, tokenizer and the sparsity report to ``path``; all or nothing."""
    with _atomic_dir(path, overwrite) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / REPORT_NAME).write_text(json.dumps(report, indent=2))
    return Path(path)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # same file system: no second copy of the weights on disk
    except OSError:
        shutil.copyfile(source, target)


def save_sharded_model(
    model: Any,
    tokenizer: Any,
    block_shards: list[Path],
    rest: dict[str, torch.Tensor],
    path: str | Path,
    report: dict[str, Any],
    overwrite: bool = False,
) -> Path:
    """Save a streamed model: one shard per pruned decoder block plus one for the rest, with its index.

    Args:
        model: the model skeleton (its config and generation config are saved).
        tokenizer: the model's tokenizer.
        block_shards: safetensors files of the pruned blocks, in block order, under their model names.
        rest: the weights outside the decoder blocks (embeddings, final norm, LM head unless tied).
        path: the output folder, loadable with ``AutoModelForCausalLM.from_pretrained``.
        report: the sparsity report, saved as ``sparsity_report.json``.
        overwrite: replace ``path`` if it exists.
    """
    count = len(block_shards) + 1
    names = [f"model-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]
    with _atomic_dir(path, overwrite) as tmp:
        weight_map: dict[str, str] = {}
        total = write_shard(tmp / names[-1], rest)
        weight_map.update(dict.fromkeys(rest, names[-1]))
        for source, name in zip(block_shards, names[:-1], strict=True):
            _link_or_copy(source, tmp / name)
            keys, size = _shard_contents(tmp / name)
            weight_map.update(dict.fromkeys(keys, name))
            total += size
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        (tmp / INDEX_FILE).write_text(json.dumps(index, indent=2))
        model.config.save_pretrained(tmp)
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / REPORT_NAME).write_text(json.dumps(report, indent=2))
    return Path(path)


def _shard_contents(file: Path) -> tuple[list[str], int]:
    """Tensor names and payload bytes of a safetensors file, from its header (8-byte length, then JSON)."""
    with open(file, "rb") as handle:
        header_size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(header_size))
    keys = [key for key in header if key != "__metadata__"]
    return keys, file.stat().st_size - 8 - header_size

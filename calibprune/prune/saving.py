"""Write a pruned model as a Hugging Face directory, atomically (temp dir, then rename)."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_only

from calibprune.files.atomic import atomic_folder, check_folder, link_or_copy, write_json
from calibprune.files.lock import hold_lock
from calibprune.modeling.safetensors_io import INDEX_FILE, write_shard

REPORT_NAME = "sparsity_report.json"
PARAMETER = "save_model"
KIND = "model"  # the mark of a folder written by ``save_pruned_model``: ``overwrite`` replaces nothing else


def check_save_path(path: str | Path, overwrite: bool = False) -> Path:
    """Fail early, before any work, when the save path cannot be written or would replace what it must not.

    ``overwrite`` replaces only a model folder calibprune saved (marked, holding only the files it wrote);
    a file, or a folder holding anything else, is refused.

    Raises:
        OptionError: naming ``save_model`` and what it accepts.
    """
    return check_folder(path, PARAMETER, KIND, overwrite)


def target_lock(save_model: str | Path | None) -> AbstractContextManager[None]:
    """:func:`save_target_lock` on ``save_model``, taken by rank zero only (``nullcontext`` without a target)."""
    if save_model is None or rank_zero_only.rank != 0:
        return nullcontext()
    return save_target_lock(save_model)


def save_target_lock(path: str | Path) -> AbstractContextManager[None]:
    """Hold ``.<name>.lock`` next to ``path`` for a whole run, so that two runs never write the same target.

    Taking it also removes the marked temp folders of an unfinished save that a killed run left there.

    Raises:
        OptionError: naming ``save_model`` when another live run holds the lock.
    """
    return hold_lock(path, PARAMETER)


def save_pruned_model(
    model: Any, tokenizer: Any, path: str | Path, report: dict[str, Any], overwrite: bool = False
) -> Path:
    """Save model (safetensors), config, tokenizer and the sparsity report to ``path``; all or nothing."""
    with atomic_folder(path, PARAMETER, KIND, overwrite) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / REPORT_NAME, report, PARAMETER)
    return Path(path)


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
    with atomic_folder(path, PARAMETER, KIND, overwrite) as tmp:
        weight_map: dict[str, str] = {}
        total = write_shard(tmp / names[-1], rest)
        weight_map.update(dict.fromkeys(rest, names[-1]))
        for source, name in zip(block_shards, names[:-1], strict=True):
            link_or_copy(source, tmp / name)
            keys, size = _shard_contents(tmp / name)
            weight_map.update(dict.fromkeys(keys, name))
            total += size
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        write_json(tmp / INDEX_FILE, index, PARAMETER)
        model.config.save_pretrained(tmp)
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / REPORT_NAME, report, PARAMETER)
    return Path(path)


def _shard_contents(file: Path) -> tuple[list[str], int]:
    """Tensor names and payload bytes of a safetensors file, from its header (8-byte length, then JSON)."""
    with open(file, "rb") as handle:
        header_size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(header_size))
    keys = [key for key in header if key != "__metadata__"]
    return keys, file.stat().st_size - 8 - header_size

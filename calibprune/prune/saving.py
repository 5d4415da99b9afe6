"""Write a pruned model as a Hugging Face directory, atomically (temp dir, then rename)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_only

from calibprune.modeling.safetensors_io import INDEX_FILE, write_shard

REPORT_NAME = "sparsity_report.json"


# What ``save_pretrained`` and calibprune write into a saved model's folder; ``--overwrite`` replaces nothing else.
_SAVED_NAMES = re.compile(
    r"^(config\.json|generation_config\.json|sparsity_report\.json|model(-\d{5}-of-\d{5})?\.safetensors"
    r"|model\.safetensors\.index\.json|tokenizer.*|special_tokens_map\.json|vocab\.(json|txt)|merges\.txt"
    r"|added_tokens\.json|chat_template\.(jinja|json)|spiece\.model)$"
)


def check_save_path(path: str | Path, overwrite: bool = False) -> Path:
    """Fail early, before any work, when the save path cannot be written or would replace what it must not.

    ``--overwrite true`` replaces only a model folder written by calibprune (its files and
    ``sparsity_report.json``); a file, or a folder holding anything else, is refused.

    Raises:
        FileExistsError: naming ``--save_model`` and what it accepts.
        PermissionError: when the folder that would hold it is not writable.
    """
    path = Path(path)
    if path.is_file() or (path.exists() and not path.is_dir()):
        raise FileExistsError(f"--save_model: {str(path)!r} is a file; accepted: a folder path")
    if path.exists() and not overwrite:
        raise FileExistsError(f"--save_model: {str(path)!r} already exists; pass --overwrite true to replace it")
    if path.exists():
        entries = sorted(entry.name for entry in path.iterdir())
        foreign = [name for name in entries if not _SAVED_NAMES.match(name) or not (path / name).is_file()]
        if foreign or (entries and REPORT_NAME not in entries):
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "") if foreign else f"no {REPORT_NAME}"
            raise FileExistsError(
                f"--save_model: {str(path)!r} is not a model saved by calibprune ({shown}); --overwrite true "
                "replaces only such a folder: choose another path"
            )
    parent = next(p for p in [path.absolute().parent, *path.absolute().parents] if p.exists())
    if not parent.is_dir():
        raise FileExistsError(f"--save_model: {str(parent)!r} is a file; accepted: a folder path")
    if not writable(parent):
        raise PermissionError(f"--save_model: {str(parent)!r} is not writable; accepted: a path in a writable folder")
    return path


def writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried: permission bits say little to root or on /proc)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        probe = tempfile.mkdtemp(prefix=".calibprune-probe-", dir=folder)
    except OSError:
        return False
    os.rmdir(probe)
    return True


def target_lock(save_model: str | Path | None) -> AbstractContextManager[None]:
    """:func:`save_target_lock` on ``save_model``, taken by rank zero only (``nullcontext`` without a target)."""
    if save_model is None or rank_zero_only.rank != 0:
        return nullcontext()
    return save_target_lock(save_model)


def _lock_file(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


@contextmanager
def save_target_lock(path: str | Path) -> Iterator[None]:
    """Hold ``.<name>.lock`` next to ``path`` for a whole run, so that two runs never write the same target.

    Taking it also removes what a killed run left there: temp folders of an unfinished save.

    Raises:
        FileExistsError: naming ``--save_model`` when another live run holds the lock.
    """
    path = Path(path)
    path.absolute().parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_file(path)
    while True:
        handle = open(lock, "a+")  # noqa: SIM115 - held until the run ends
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise FileExistsError(
                f"--save_model: another calibprune run (pid {holder}) is writing to {str(path)!r}; wait for it, "
                "or choose another path"
            ) from None
        if lock.exists() and os.stat(lock).st_ino == os.fstat(handle.fileno()).st_ino:
            break  # not a lock file its previous holder removed meanwhile
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        for stale in path.absolute().parent.glob(f".{path.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        yield
    finally:
        lock.unlink(missing_ok=True)
        handle.close()


@contextmanager
def _atomic_dir(path: str | Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temp folder next to ``path`` that replaces ``path`` if the block succeeds, and vanishes if not."""
    path = check_save_path(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
        tmp.chmod(0o755)
        if path.exists():  # a calibprune model (checked above): moved aside, replaced, then deleted
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-old-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
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

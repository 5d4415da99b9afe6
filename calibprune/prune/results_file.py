"""``--output FILE.json``: a run's evaluation results as a file, in the layout of lm-evaluation-harness's results.

Layout (``schema`` 1)::

    {"schema": 1, "command": "prune", "date": "...", "versions": {"calibprune": ..., "torch": ...},
     "model": {"name": ..., "dtype": ..., "fingerprint": ...},
     "calibration": {"sources": [...], "nsamples": ..., "seqlen": ..., "seed": ..., "fingerprint": ...} | null,
     "results": {"<column>": {"<task>": {"<metric>": value, "<metric>_stderr": stderr, "n": items,
                                         "num_fewshot": k}}},
     "configs": {"<task>": {every setting the task's results depend on}},
     "n-samples": {"<task>": items}}

The columns are ``dense`` and ``pruned`` for ``prune --tasks``, the model's name for ``evaluate``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer

from calibprune.evaluation.cache import path_fingerprint
from calibprune.evaluation.results import TaskResult
from calibprune.loggers import tensorboard_logger
from calibprune.prune.saving import writable

SCHEMA = 1
DEFAULT_NAME = "results.json"


def check_output_path(output: str | None) -> None:
    """Fail before any work when ``--output`` cannot be written: not ``.json``, a folder, or an unwritable place.

    Raises:
        ValueError: naming ``--output`` and what it accepts.
    """
    if output is None:
        return
    path = Path(output)
    if path.suffix.lower() != ".json":
        raise ValueError(f"--output: {output!r} is not a .json file; accepted: a path ending in .json")
    if path.is_dir():
        raise ValueError(f"--output: {output!r} is a folder; accepted: a .json file path")
    parent = next(p for p in [path.absolute().parent, *path.absolute().parents] if p.exists())
    if not parent.is_dir() or not writable(parent):
        raise ValueError(f"--output: {str(parent)!r} is not a writable folder; accepted: a writable .json path")


def model_entry(module: Any) -> dict[str, Any]:
    """Name, dtype and fingerprint (path, weight files' sizes and times; the id for a hub model) of a run's model."""
    name = str(module.model_name)
    return {"name": name, "dtype": module.dtype_name, "fingerprint": path_fingerprint(name)}


def calibration_entry(module: Any, datamodule: Any) -> dict[str, Any] | None:
    """The calibration settings and the SHA-256 of the exact calibration tokens (``None`` without calibration)."""
    if datamodule is None:
        return None
    checkpoint = getattr(module, "run_checkpoint", None)
    return {
        "sources": list(datamodule.calibration),
        "weights": list(datamodule.weights),
        "nsamples": datamodule.nsamples,
        "seqlen": datamodule.seqlen,
        "seed": datamodule.seed,
        "fingerprint": checkpoint.tokens_digest() if checkpoint is not None else None,
    }


def results_document(
    command: str,
    columns: dict[str, list[TaskResult]],
    configs: dict[str, dict[str, Any]],
    model: dict[str, Any],
    calibration: dict[str, Any] | None,
) -> dict[str, Any]:
    """The results file's content (see the module's docstring)."""
    import torch

    import calibprune

    results: dict[str, dict[str, dict[str, Any]]] = {}
    samples: dict[str, int] = {}
    for column, rows in columns.items():
        for row in rows:
            entry = results.setdefault(column, {}).setdefault(row.task, {"n": row.n, "num_fewshot": row.num_fewshot})
            entry[row.metric] = row.value
            entry[f"{row.metric}_stderr"] = row.stderr
            samples[row.task] = row.n
    return {
        "schema": SCHEMA,
        "command": command,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {"calibprune": getattr(calibprune, "__version__", None), "torch": torch.__version__},
        "model": model,
        "calibration": calibration,
        "results": results,
        "configs": configs,
        "n-samples": samples,
    }


def write_results(
    trainer: Trainer,
    output: str | None,
    command: str,
    columns: dict[str, list[TaskResult]],
    configs: dict[str, dict[str, Any]],
    model: dict[str, Any],
    calibration: dict[str, Any] | None,
) -> Path | None:
    """Write the results file (rank zero) to ``output``, or to the run directory; return its path (or ``None``)."""
    if output is None:
        logger = tensorboard_logger(trainer)
        if logger is None:
            return None
        output = str(Path(logger.log_dir) / DEFAULT_NAME)
    if not trainer.is_global_zero:
        return Path(output)
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = results_document(command, columns, configs, model, calibration)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    with os.fdopen(handle, "w") as file:
        json.dump(document, file, indent=2, default=str)
    os.replace(tmp, path)
    return path

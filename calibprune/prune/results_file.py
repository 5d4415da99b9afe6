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
import time
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer

from calibprune.errors import OptionError
from calibprune.evaluation.cache import path_fingerprint
from calibprune.evaluation.results import TaskResult
from calibprune.files.atomic import check_file, write_json
from calibprune.loggers import RUN_KIND, tensorboard_logger

SCHEMA = 1
DEFAULT_NAME = "results.json"
ACCEPTED = "a new .json path, or a results file calibprune wrote"


def is_results_file(path: Path) -> bool:
    """Whether ``path`` holds a results file calibprune wrote (the only file ``--output`` replaces)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return (
        isinstance(document, dict) and document.get("schema") == SCHEMA and "calibprune" in document.get("versions", {})
    )


def check_output_path(output: str | None) -> None:
    """Fail before any work when ``--output`` cannot be written.

    Refused: not ``.json``, a folder, an unwritable place, an existing file that is not a results file calibprune
    wrote.

    Raises:
        OptionError: naming ``output`` and what it accepts.
    """
    if output is None:
        return
    path = Path(output)
    if path.suffix.lower() != ".json":
        raise OptionError("output", f"{output!r} is not a .json file", "a path ending in .json")
    check_file(path, "output", ACCEPTED, signature=is_results_file)


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
    document = results_document(command, columns, configs, model, calibration)
    return write_json(
        output, document, "output", folder_kinds=(RUN_KIND,), signature=is_results_file, accepted=ACCEPTED
    )

"""TensorBoard HParams view of a study: one run per cell, its axes as hyperparameters, its metrics as values."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from calibprune.files import owner
from calibprune.study.aggregate import ACCURACY_METRICS, PRIMARY_METRICS
from calibprune.study.store import PARAMETER, is_study_output

VIEW_KIND = "view"  # the mark of a folder generated anew from the records on every report


def cell_hparams(record: dict[str, Any]) -> dict[str, Any]:
    """The cell's axes as TensorBoard hyperparameters (strings, numbers and booleans only)."""
    params, labels = record["params"], record["labels"]
    method = params["method"]
    calibration = params["calibration"] or {}
    return {
        "method": labels["method"],
        "sparsity_ratio": float(method["sparsity_ratio"]),
        "sparsity_type": method["sparsity_type"],
        "calibration": labels["calibration"],
        "format": calibration.get("format", "-"),
        "nsamples": labels["nsamples"] or 0,
        "seqlen": labels["seqlen"] or 0,
        "seed": labels["seed"] if labels["seed"] is not None else -1,
    }


def cell_metrics(record: dict[str, Any]) -> dict[str, float]:
    """``<task>/<metric>`` for the shown metrics, plus ``average/acc`` over the accuracy metrics."""
    metrics = {
        f"{r['task']}/{r['metric']}": float(r["value"]) for r in record["results"] if r["metric"] in PRIMARY_METRICS
    }
    accuracies = [r["value"] for r in record["results"] if r["metric"] in ACCURACY_METRICS]
    if accuracies:
        metrics["average/acc"] = statistics.fmean(accuracies)
    return metrics


def write_hparams(records: list[dict[str, Any]], folder: str | Path) -> Path:
    """Rewrite ``folder`` with one HParams run per cell (``tensorboard --logdir folder``, tab HPARAMS)."""
    from torch.utils.tensorboard import SummaryWriter

    folder = Path(folder)
    owner.remove(folder, PARAMETER, VIEW_KIND, signature=is_study_output)  # generated anew, never appended to
    owner.make_folder(folder, PARAMETER, kind=VIEW_KIND)
    cells = sorted((r for r in records if r["kind"] == "cell"), key=lambda r: r["index"])
    with SummaryWriter(log_dir=str(folder)) as writer:
        for record in cells:
            writer.add_hparams(cell_hparams(record), cell_metrics(record), run_name=record["id"])
    return folder

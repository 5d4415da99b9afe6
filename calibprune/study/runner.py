"""Run a study: the dense model is loaded and evaluated once; every cell prunes a fresh copy once and is evaluated.

Results are appended to ``<output_dir>/results*.jsonl`` as each cell finishes; cells already recorded in any
results file of the folder are skipped, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from calibprune.study import backend
from calibprune.study.cells import Cell, Shard, dense_id, expand_cells
from calibprune.study.spec import StudySpec
from calibprune.study.store import append_record, finished_ids, results_path

log = logging.getLogger(__name__)


class DenseModel:
    """The dense model in memory, with a CPU copy of its weights to restore before every cell.

    Reloading weights from memory is much cheaper than from disk, and the same tensors go into every cell.

    Args:
        spec: the study (its ``model`` entry says what to load).
    """

    def __init__(self, spec: StudySpec) -> None:
        from calibprune.module import PruningModule

        module = PruningModule(spec.model.model, spec.model.dtype, spec.model.offload_activations)
        module.configure_model()
        self.model, self.tokenizer = module.model, module.tokenizer
        self.model.eval()
        self.weights = {name: t.detach().to("cpu", copy=True) for name, t in self.model.state_dict().items()}

    @torch.no_grad()
    def restore(self) -> None:
        """Write the dense weights back into the model (undoing the previous cell's pruning)."""
        self.model.load_state_dict(self.weights)

    def cache_id(self, spec: StudySpec) -> str:
        """Identity of the dense model in the evaluation cache: its saved files and dtype."""
        from calibprune.evaluation.cache import path_fingerprint

        return f"{path_fingerprint(spec.model.model)}:{spec.model.dtype}"


def _write_spec(spec: StudySpec) -> None:
    """Keep the study's spec beside its results (atomically: shards may write it at the same time)."""
    folder = Path(spec.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".study.", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(spec), handle, indent=1, default=str)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a plain, shareable result file
    os.replace(tmp, folder / "study.json")


def _record(kind: str, record_id: str, spec: StudySpec, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "id": record_id, "study": spec.name, "host": socket.gethostname(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **fields}


def _evaluate_dense(spec: StudySpec, dense: DenseModel, path: Path) -> None:
    from calibprune.evaluation.cache import ResultCache

    start = time.perf_counter()
    results = backend.evaluate(
        dense.model, dense.tokenizer, spec.evaluation, data_dir=spec.data_dir,
        cache=ResultCache(), model_id=dense.cache_id(spec),
    )
    seconds = time.perf_counter() - start
    append_record(path, _record("dense", dense_id(spec), spec, model=asdict(spec.model), results=results,
                                timings={"evaluate_s": seconds}))
    log.info("dense model evaluated (%.1f s)", seconds)


def run_cell(spec: StudySpec, dense: DenseModel, cell: Cell, path: Path) -> dict[str, Any]:
    """Restore the dense weights, prune once, evaluate every task once, append the record; return it."""
    dense.restore()
    start = time.perf_counter()
    sparsity = backend.prune_cell(dense.model, dense.tokenizer, cell)
    pruned = time.perf_counter()
    results = backend.evaluate(dense.model, dense.tokenizer, spec.evaluation, data_dir=spec.data_dir)
    done = time.perf_counter()
    record = _record(
        "cell", cell.cell_id, spec, index=cell.index, labels=cell.labels(), params=cell.params(),
        sparsity=sparsity, results=results, timings={"prune_s": pruned - start, "evaluate_s": done - pruned},
    )
    append_record(path, record)
    log.info("%s done (prune %.1f s, evaluate %.1f s)", cell.describe(), pruned - start, done - pruned)
    return record


def run_study(spec: StudySpec, shard: Shard | None = None) -> list[dict[str, Any]]:
    """Run the cells of ``spec`` (of one shard) not yet recorded in its output folder.

    Args:
        spec: the study.
        shard: run only this shard's cells, writing to its own results file.

    Returns:
        The records written by this call.
    """
    spec.validate()
    _write_spec(spec)
    cells = expand_cells(spec)
    mine = shard.select(cells) if shard is not None else cells
    done = finished_ids(spec.output_dir)
    todo = [cell for cell in mine if cell.cell_id not in done]
    need_dense = dense_id(spec) not in done
    log.info("study %s: %d cells, %d in this shard, %d to run", spec.name, len(cells), len(mine), len(todo))
    if not todo and not need_dense:
        return []
    path = results_path(spec.output_dir, shard)
    if todo:
        todo = _skip_unavailable(spec, todo, path)
    dense = DenseModel(spec)
    if need_dense:
        _evaluate_dense(spec, dense, path)
    return [run_cell(spec, dense, cell, path) for cell in todo]


def _skip_unavailable(spec: StudySpec, todo: list[Cell], path: Path) -> list[Cell]:
    """Check the cells' calibration data; record a ``skipped`` line for cells whose data is unavailable.

    Skipped cells do not count as finished: the next run checks them again (e.g. once a copy is available).
    """
    from calibprune.modeling.loading import load_tokenizer
    from calibprune.study.preflight import check_calibration

    found = check_calibration(todo, load_tokenizer(spec.model.model), spec.data_dir)
    runnable = []
    for cell in todo:
        title = cell.calibration.label if cell.calibration is not None else None
        if title in found.unavailable:
            append_record(path, _record("skipped", cell.cell_id, spec, index=cell.index, labels=cell.labels(),
                                        params=cell.params(), reason=found.unavailable[title]))
        else:
            runnable.append(cell)
    return runnable

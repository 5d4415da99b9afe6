"""Run a study: the dense model is loaded and evaluated once; every cell prunes a fresh copy once and is evaluated.

Results are appended to ``<output_dir>/results*.jsonl`` as each cell finishes; cells already recorded in any
results file of the folder are skipped, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from calibprune.evaluation.cache import ResultCache, check_cache_root, path_fingerprint
from calibprune.files import owner
from calibprune.files.atomic import write_json
from calibprune.modeling.loading import load_model, load_tokenizer
from calibprune.study import backend
from calibprune.study.cells import Cell, Shard, dense_id, expand_cells
from calibprune.study.preflight import check_calibration
from calibprune.study.spec import StudySpec
from calibprune.study.store import (
    PARAMETER,
    STUDY_KIND,
    append_record,
    finished_ids,
    is_study_output,
    read_records,
    results_path,
)

log = logging.getLogger(__name__)


class DenseModel:
    """The dense model in memory, with a CPU copy of its weights to restore before every cell.

    Reloading weights from memory is much cheaper than from disk, and the same tensors go into every cell.

    Args:
        spec: the study (its ``model`` entry says what to load).
    """

    def __init__(self, spec: StudySpec) -> None:
        self.model = load_model(spec.model.model, spec.model.dtype)
        self.tokenizer = load_tokenizer(spec.model.model)
        self.weights = {name: t.detach().to("cpu", copy=True) for name, t in self.model.state_dict().items()}

    @torch.no_grad()
    def restore(self) -> None:
        """Write the dense weights back into the model (undoing the previous cell's pruning)."""
        self.model.load_state_dict(self.weights)

    def cache_id(self, spec: StudySpec) -> str:
        """Identity of the dense model in the evaluation cache: its saved files and dtype."""
        return f"{path_fingerprint(spec.model.model)}:{spec.model.dtype}"


def _write_spec(spec: StudySpec) -> None:
    """Keep the study's spec beside its results (atomically: shards may write it at the same time)."""
    folder = owner.make_folder(spec.output_dir, PARAMETER, kind=STUDY_KIND)
    write_json(
        folder / "study.json", asdict(spec), PARAMETER, indent=1, folder_kinds=(STUDY_KIND,), signature=is_study_output
    )


def _record(kind: str, record_id: str, spec: StudySpec, **fields: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": record_id,
        "study": spec.name,
        "host": socket.gethostname(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **fields,
    }


class _Partials:
    """Tasks already evaluated for one cell (or the dense model), recorded as ``partial`` lines as they finish.

    A cell killed mid-evaluation resumes after its last finished task: it is pruned again (the same seed gives
    the same pruned model) and evaluates only the tasks left. Partial lines never count as a finished cell.
    """

    def __init__(self, spec: StudySpec, owner: str, path: Path) -> None:
        self.spec, self.owner, self.path = spec, owner, path
        self.done: dict[str, list[dict[str, Any]]] = {}
        self.seconds: dict[str, float] = {}
        for record in read_records(spec.output_dir, partial=True):
            if record["kind"] == "partial" and record.get("owner") == owner:
                self.done[record["task"]] = record["results"]
                self.seconds[record["task"]] = record["timings"]["evaluate_s"]

    def record(self, task: str, results: list[dict[str, Any]], seconds: float) -> None:
        """Append one finished task."""
        self.seconds[task] = seconds
        append_record(
            self.path,
            _record(
                "partial",
                f"{self.owner}/{task}",
                self.spec,
                owner=self.owner,
                task=task,
                results=results,
                timings={"evaluate_s": seconds},
            ),
        )

    def evaluate(self, dense: DenseModel, **kwargs: Any) -> list[dict[str, Any]]:
        """Evaluate the tasks not yet recorded; return every task's results."""
        if self.done:
            log.info("%s: %d tasks already evaluated, resuming", self.owner, len(self.done))
        return backend.evaluate(
            dense.model,
            dense.tokenizer,
            self.spec.evaluation,
            data_dir=self.spec.data_dir,
            done=self.done,
            on_task=self.record,
            **kwargs,
        )


def _evaluate_dense(spec: StudySpec, dense: DenseModel, path: Path) -> None:
    partials = _Partials(spec, dense_id(spec), path)
    results = partials.evaluate(dense, cache=ResultCache(), model_id=dense.cache_id(spec))
    seconds = sum(partials.seconds.values())
    append_record(
        path,
        _record(
            "dense",
            dense_id(spec),
            spec,
            model=asdict(spec.model),
            results=results,
            timings={"evaluate_s": seconds, "tasks_s": partials.seconds},
        ),
    )
    log.info("dense model evaluated (%.1f s)", seconds)


def run_cell(spec: StudySpec, dense: DenseModel, cell: Cell, path: Path) -> dict[str, Any]:
    """Restore the dense weights, prune once, evaluate every task once, append the record; return it.

    Each finished task is recorded at once (``partial``), so that a killed cell resumes after its last task.
    """
    dense.restore()
    start = time.perf_counter()
    sparsity = backend.prune_cell(dense.model, dense.tokenizer, cell)
    pruned = time.perf_counter()
    partials = _Partials(spec, cell.cell_id, path)
    results = partials.evaluate(dense)
    evaluate_s = sum(partials.seconds.values())
    record = _record(
        "cell",
        cell.cell_id,
        spec,
        index=cell.index,
        labels=cell.labels(),
        params=cell.params(),
        sparsity=sparsity,
        results=results,
        timings={"prune_s": pruned - start, "evaluate_s": evaluate_s, "tasks_s": partials.seconds},
    )
    append_record(path, record)
    log.info("%s done (prune %.1f s, evaluate %.1f s)", cell.describe(), pruned - start, evaluate_s)
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
    check_cache_root()  # before study.json is written and the dense model loads
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
    found = check_calibration(todo, load_tokenizer(spec.model.model), spec.data_dir)
    runnable = []
    for cell in todo:
        title = cell.calibration.label if cell.calibration is not None else None
        if title in found.unavailable:
            append_record(
                path,
                _record(
                    "skipped",
                    cell.cell_id,
                    spec,
                    index=cell.index,
                    labels=cell.labels(),
                    params=cell.params(),
                    reason=found.unavailable[title],
                ),
            )
        else:
            runnable.append(cell)
    return runnable

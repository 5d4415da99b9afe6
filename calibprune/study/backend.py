"""The two calls a study makes: prune a model in memory for one cell, and evaluate a model on the study's tasks.

The runner looks both up here at call time, so that tests (and other engines) can swap them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lightning.pytorch import seed_everything
from torch import nn

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.evaluation.api import evaluate_model
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer
from calibprune.study.cells import Cell
from calibprune.study.spec import EvaluationSpec


def prune_cell(model: nn.Module, tokenizer: Any, cell: Cell) -> dict[str, Any]:
    """Prune ``model`` in place as the cell says (method, calibration set, nsamples, seqlen, seed).

    Args:
        model: the dense model, already in memory (its weights are overwritten).
        tokenizer: its tokenizer.
        cell: the grid cell.

    Returns:
        The global entry of the sparsity report (``sparsity``, parameter counts).
    """
    spec = cell.spec
    module = PruningModule(spec.model.model, spec.model.dtype, spec.model.offload_activations)
    module.use_model(model, tokenizer)
    method = cell.method.build()
    datamodule = None
    if cell.calibration is not None:
        seed_everything(cell.seed, verbose=False)
        datamodule = CalibrationDataModule(
            calibration=list(cell.calibration.sources),
            weights=cell.calibration.weights,
            nsamples=cell.nsamples,
            seqlen=cell.seqlen,
            batch_size=spec.grid.batch_size,
            seed=cell.seed,
            data_dir=spec.data_dir,
            format=cell.calibration.format,
            **cell.calibration.options,
        )
    trainer = PruningTrainer(callbacks=[method], devices=1, enable_progress_bar=False)
    return trainer.prune(module, datamodule)["global"]


def evaluate(
    model: nn.Module,
    tokenizer: Any,
    evaluation: EvaluationSpec,
    *,
    data_dir: str | None,
    cache: Any = None,
    model_id: str | None = None,
    done: dict[str, list[dict[str, Any]]] | None = None,
    on_task: Callable[[str, list[dict[str, Any]], float], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate an in-memory model on every task of the study, one task at a time.

    Args:
        model: the dense or pruned model.
        tokenizer: its tokenizer.
        evaluation: tasks and their settings.
        data_dir: local copies of the tasks' data.
        cache: a :class:`~calibprune.evaluation.ResultCache` (the dense model's results), or ``None``.
        model_id: identity of the model in the cache.
        done: results already recorded, by task (an interrupted cell resumes after its last finished task).
        on_task: called with ``(task, results, seconds)`` as each task finishes (to record it at once).

    Returns:
        One dict per (task, metric): ``task``, ``metric``, ``value``, ``stderr``, ``n``, ``num_fewshot``,
        ``per_item``.
    """
    results = dict(done or {})
    for task in evaluation.tasks:
        if task in results:
            continue
        start = time.perf_counter()
        found = evaluate_model(
            model,
            tokenizer,
            [task],
            evaluation.options(data_dir, task),
            cache=cache,
            model_id=model_id,
        )
        results[task] = [result.to_dict() for result in found]
        if on_task is not None:
            on_task(task, results[task], time.perf_counter() - start)
    return [result for task in evaluation.tasks for result in results.get(task, [])]

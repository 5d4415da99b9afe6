"""Plain-function entry points: evaluate a model in memory on many tasks, with a cache of earlier results."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from lightning.pytorch import Trainer
from torch import nn

from calibprune.evaluation.cache import ResultCache, weights_fingerprint
from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.evaluation.harness import HARNESS_PREFIX, evaluate_harness
from calibprune.evaluation.module import EvaluationModule
from calibprune.evaluation.options import DEFAULT_WINDOW, EvaluationOptions
from calibprune.evaluation.results import TaskResult

log = logging.getLogger(__name__)


def run_evaluation(
    module: EvaluationModule, datamodule: EvaluationDataModule, trainer: Trainer | None = None
) -> list[TaskResult]:
    """Load the model if needed, link the tokenizer to the datamodule and run the Lightning test loop.

    Args:
        module: the model to evaluate.
        datamodule: the tasks to evaluate it on.
        trainer: the trainer to run (default: one device, inference mode, no logger, no checkpoints).
    """
    module.configure_model()
    datamodule.connect(module.tokenizer, module.max_length)
    trainer = trainer or Trainer(
        devices=1,
        inference_mode=True,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
    )
    trainer.test(module, datamodule=datamodule, verbose=False)
    return module.results


def evaluate_model(
    model: nn.Module,
    tokenizer: Any,
    tasks: list[str] | tuple[str, ...] = ("wikitext",),
    options: EvaluationOptions | None = None,
    *,
    cache: ResultCache | None = None,
    model_id: str | None = None,
    trainer: Trainer | None = None,
    **settings: Any,
) -> list[TaskResult]:
    """Evaluate an in-memory model (dense or already pruned) on many tasks without reloading or re-pruning it.

    Tasks are those of :class:`~calibprune.datamodules.EvaluationDataModule` plus ``harness:<task>`` for any
    lm-evaluation-harness task. With a ``cache``, a task whose (model, task, settings) entry exists is read
    instead of evaluated, and every new result is stored.

    Args:
        model: the causal LM.
        tokenizer: its tokenizer (with a pad token).
        tasks: corpora and tasks to evaluate.
        options: how they are evaluated (default: :class:`EvaluationOptions` with a 2048-token perplexity window).
        cache: where results are looked up and stored; ``None`` for no cache.
        model_id: identity of the model in cache keys (e.g. :func:`~calibprune.evaluation.cache.path_fingerprint`
            of its path); default: a hash of its weights.
        trainer: the Lightning trainer for the test loop.
        **settings: fields of :class:`EvaluationOptions` that replace those of ``options``, e.g. ``limit=10``.

    Returns:
        The results of every task, in ``tasks`` order (lm-evaluation-harness tasks last).
    """
    options = replace(options or EvaluationOptions(seqlen=DEFAULT_WINDOW), **settings)
    harness = [name.removeprefix(HARNESS_PREFIX) for name in tasks if name.startswith(HARNESS_PREFIX)]
    ours = [name for name in tasks if not name.startswith(HARNESS_PREFIX)]
    results: list[TaskResult] = []
    if ours:
        results += _evaluate_ours(model, tokenizer, ours, options, cache, model_id, trainer)
    if harness:
        results += evaluate_harness(
            model,
            tokenizer,
            harness,
            batch_size=options.batch_size,
            limit=options.limit,
            num_fewshot=options.num_fewshot,
            seed=options.seed,
        )
    return results


def _evaluate_ours(
    model: nn.Module,
    tokenizer: Any,
    tasks: list[str],
    options: EvaluationOptions,
    cache: ResultCache | None,
    model_id: str | None,
    trainer: Trainer | None,
) -> list[TaskResult]:
    """Read cached tasks, evaluate the others in one test run, store their results."""
    datamodule = EvaluationDataModule.from_options(tasks, options)
    by_task: dict[str, list[TaskResult]] = {}
    keys: dict[str, str] = {}
    if cache is not None:
        model_id = model_id or weights_fingerprint(model)
        for name in tasks:
            keys[name] = cache.key(model_id, name, datamodule.settings(name))
            cached = cache.get(keys[name])
            if cached is not None:
                log.info("%s: results read from the cache (%s)", name, cache.folder)
                by_task[name] = cached
    missing = [name for name in tasks if name not in by_task]
    if missing:
        module = EvaluationModule.from_model(model, tokenizer)
        results = run_evaluation(module, EvaluationDataModule.from_options(missing, options), trainer)
        for name in missing:
            by_task[name] = [r for r in results if r.task == name]
            if cache is not None:
                cache.put(keys[name], by_task[name], {"model": model_id, "task": name, **datamodule.settings(name)})
    return [result for name in tasks for result in by_task[name]]

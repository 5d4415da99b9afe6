"""Plain-function entry points: evaluate a model in memory on many tasks, with a cache of earlier results."""

from __future__ import annotations

import logging
from typing import Any

from lightning.pytorch import Trainer
from torch import nn

from calibprune.datamodules.evaluation import EvaluationDataModule
from calibprune.evaluation.cache import ResultCache, weights_fingerprint
from calibprune.evaluation.harness import HARNESS_PREFIX, evaluate_harness
from calibprune.evaluation.module import EvaluationModule
from calibprune.evaluation.results import TaskResult

log = logging.getLogger(__name__)

# The nine downstream tasks of the study's accuracy tables.
STUDY_TASKS = ("gsm8k", "svamp", "mawps", "esnli", "anli_r1", "anli_r3", "commonsense_qa", "race", "winogrande")


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
    *,
    data_dir: str | None = None,
    seqlen: int = 2048,
    batch_size: int = 8,
    limit: int | None = None,
    num_fewshot: int | None = None,
    seed: int = 0,
    rationale: bool = False,
    max_new_tokens: int | None = None,
    shared_exemplars: bool = False,
    cache: ResultCache | None = None,
    model_id: str | None = None,
    trainer: Trainer | None = None,
) -> list[TaskResult]:
    """Evaluate an in-memory model (dense or already pruned) on many tasks without reloading or re-pruning it.

    Tasks are those of :class:`~calibprune.datamodules.EvaluationDataModule` plus ``harness:<task>`` for any
    lm-evaluation-harness task. With a ``cache``, a task whose (model, task, settings) entry exists is read
    instead of evaluated, and every new result is stored.

    Args:
        model: the causal LM.
        tokenizer: its tokenizer (with a pad token).
        tasks: corpora and tasks to evaluate.
        data_dir: folder with local copies ``<task>/{train,test}.jsonl``.
        seqlen: tokens per perplexity window.
        batch_size: windows or items per forward pass.
        limit: first items (or windows) of each task.
        num_fewshot: exemplars per prompt (``None``: each task's default).
        seed: exemplar seed.
        rationale: chain-of-thought exemplars for arithmetic tasks.
        max_new_tokens: most generated tokens per answer (``None``: per-kind default).
        shared_exemplars: the same exemplars for every item of a task (its prompt prefix runs once per batch).
        cache: where results are looked up and stored; ``None`` for no cache.
        model_id: identity of the model in cache keys (e.g. :func:`~calibprune.evaluation.cache.path_fingerprint`
            of its path); default: a hash of its weights.
        trainer: the Lightning trainer for the test loop.

    Returns:
        The results of every task, in ``tasks`` order (lm-evaluation-harness tasks last).
    """
    harness = [name.removeprefix(HARNESS_PREFIX) for name in tasks if name.startswith(HARNESS_PREFIX)]
    ours = [name for name in tasks if not name.startswith(HARNESS_PREFIX)]
    options = dict(
        seqlen=seqlen,
        batch_size=batch_size,
        limit=limit,
        num_fewshot=num_fewshot,
        seed=seed,
        rationale=rationale,
        max_new_tokens=max_new_tokens,
        data_dir=data_dir,
        shared_exemplars=shared_exemplars,
    )
    results: list[TaskResult] = []
    if ours:
        results += _evaluate_ours(model, tokenizer, ours, options, cache, model_id, trainer)
    if harness:
        results += evaluate_harness(
            model, tokenizer, harness, batch_size=batch_size, limit=limit, num_fewshot=num_fewshot, seed=seed
        )
    return results


def _evaluate_ours(
    model: nn.Module,
    tokenizer: Any,
    tasks: list[str],
    options: dict[str, Any],
    cache: ResultCache | None,
    model_id: str | None,
    trainer: Trainer | None,
) -> list[TaskResult]:
    """Read cached tasks, evaluate the others in one test run, store their results."""
    datamodule = EvaluationDataModule(tasks=tasks, **options)
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
        results = run_evaluation(module, EvaluationDataModule(tasks=missing, **options), trainer)
        for name in missing:
            by_task[name] = [r for r in results if r.task == name]
            if cache is not None:
                cache.put(keys[name], by_task[name], {"model": model_id, "task": name, **datamodule.settings(name)})
    return [result for name in tasks for result in by_task[name]]

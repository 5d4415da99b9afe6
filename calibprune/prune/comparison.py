"""Dense vs pruned inside ``prune``: the same tasks and settings before and after pruning, dense results cached."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch import Trainer

from calibprune.console import StageProgressBar
from calibprune.errors import OptionError
from calibprune.evaluation.api import evaluate_model
from calibprune.evaluation.cache import ResultCache, path_fingerprint
from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.evaluation.options import EvaluationOptions
from calibprune.evaluation.results import TaskResult

# ``prune``'s names of the evaluation options (the evaluation datamodule's errors name ``limit``...).
EVAL_PARAMETERS = {"limit": "eval_limit", "seqlen": "eval_seqlen", "batch_size": "eval_batch_size"}


class DenseVsPruned:
    """Evaluate a model in memory before and after it is pruned, without reloading it.

    The constructor checks every task name, so that a typo fails before any work.

    Args:
        tasks: perplexity corpora and downstream tasks.
        options: how they are evaluated (``seqlen`` ``None``: 2048, or the model's context if shorter).
        cache: where the dense model's results are looked up and stored (``None``: the default cache folder).
        device: where the model is evaluated (the pruning trainer's device; default: where the model is).
        names: the caller's names of the evaluation options, for its errors, e.g. ``{"limit": "eval_limit"}``.
    """

    def __init__(
        self,
        tasks: list[str],
        options: EvaluationOptions | None = None,
        cache: ResultCache | None = None,
        device: torch.device | None = None,
        names: dict[str, str] | None = None,
    ) -> None:
        self.tasks = list(tasks)
        self.names = dict(names or {})
        try:
            self._datamodule = EvaluationDataModule.from_options(self.tasks, options or EvaluationOptions())
        except OptionError as err:
            raise renamed(err, self.names) from None
        self.cache = cache or ResultCache()
        self.device = device

    @property
    def options(self) -> EvaluationOptions:
        """How the tasks are evaluated (the perplexity window is known after :meth:`fit_window`)."""
        return self._datamodule.options

    def fit_window(self, max_length: int | None) -> None:
        """Fix the perplexity window once the model's context is known (the default, or a check of ``seqlen``)."""
        try:
            self._datamodule.connect(None, max_length)
        except OptionError as err:
            raise renamed(err, self.names) from None

    def settings(self, task: str) -> dict[str, Any]:
        """Every option the results of ``task`` depend on."""
        return self._datamodule.settings(task)

    def describe(self) -> str:
        """The evaluation line of the summary: tasks, perplexity window, limit."""
        return self.options.describe(self.tasks)

    def dense(self, model: torch.nn.Module, tokenizer: Any, name: str, dtype: str, progress: bool) -> list[TaskResult]:
        """Results of the dense model ``name`` loaded in ``dtype``, read from the cache when already known."""
        model_id = f"{path_fingerprint(name)}:{dtype}"
        trainer = _trainer(self.device or _device_of(model), progress)
        return evaluate_model(
            model, tokenizer, self.tasks, self.options, cache=self.cache, model_id=model_id, trainer=trainer
        )

    def pruned(self, model: torch.nn.Module, tokenizer: Any, progress: bool) -> list[TaskResult]:
        """Results of the pruned model in memory."""
        trainer = _trainer(self.device or _device_of(model), progress)
        return evaluate_model(model, tokenizer, self.tasks, self.options, trainer=trainer)


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _trainer(device: torch.device, progress: bool) -> Trainer:
    """A one-device test-loop trainer on ``device``, quiet but for its progress bar."""
    return Trainer(
        accelerator="cpu" if device.type == "cpu" else device.type,
        devices=[device.index or 0] if device.type == "cuda" else 1,
        inference_mode=True,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        callbacks=[StageProgressBar()] if progress else None,
    )


def renamed(err: OptionError, names: dict[str, str]) -> OptionError:
    """``err`` about the caller's name of its parameter (``limit`` is ``prune``'s ``eval_limit``)."""
    return err.renamed(names[err.parameter]) if err.parameter in names else err

"""Dense vs pruned inside ``prune``: the same tasks and settings before and after pruning, dense results cached."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch import Trainer

from calibprune.datamodules.evaluation import EvaluationDataModule
from calibprune.evaluation.api import evaluate_model
from calibprune.evaluation.cache import ResultCache, path_fingerprint
from calibprune.evaluation.results import TaskResult


class DenseVsPruned:
    """Evaluate a model in memory before and after it is pruned, without reloading it.

    The constructor checks every task name and option, so that a typo fails before any work.

    Args:
        tasks: perplexity corpora and downstream tasks.
        seqlen: tokens per perplexity window.
        batch_size: windows or items per forward pass.
        limit: first items (or windows) of each task.
        data_dir: folder with local copies ``<task>/{train,test}.jsonl``.
        seed: seed of the few-shot exemplar draw.
        cache: where the dense model's results are looked up and stored (``None``: the default cache folder).
    """

    def __init__(
        self,
        tasks: list[str],
        seqlen: int = 2048,
        batch_size: int = 8,
        limit: int | None = None,
        data_dir: str | None = None,
        seed: int = 0,
        cache: ResultCache | None = None,
    ) -> None:
        self.tasks = list(tasks)
        self.options: dict[str, Any] = dict(seqlen=seqlen, batch_size=batch_size, limit=limit, data_dir=data_dir,
                                            seed=seed)
        EvaluationDataModule(tasks=self.tasks, **self.options)
        self.cache = cache or ResultCache()

    def dense(self, model: torch.nn.Module, tokenizer: Any, name: str, dtype: str, progress: bool) -> list[TaskResult]:
        """Results of the dense model ``name`` loaded in ``dtype``, read from the cache when already known."""
        model_id = f"{path_fingerprint(name)}:{dtype}"
        trainer = _trainer(model, progress)
        return evaluate_model(model, tokenizer, self.tasks, cache=self.cache, model_id=model_id, trainer=trainer,
                              **self.options)

    def pruned(self, model: torch.nn.Module, tokenizer: Any, progress: bool) -> list[TaskResult]:
        """Results of the pruned model in memory."""
        return evaluate_model(model, tokenizer, self.tasks, trainer=_trainer(model, progress), **self.options)


def _trainer(model: torch.nn.Module, progress: bool) -> Trainer:
    """A one-device test-loop trainer on the model's device, quiet but for its progress bar."""
    device = next(model.parameters()).device
    return Trainer(
        accelerator="cpu" if device.type == "cpu" else device.type,
        devices=[device.index or 0] if device.type == "cuda" else 1,
        inference_mode=True,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
    )

"""EvaluationModule: scores a causal LM, dense or pruned, on the evaluation stream of the test loop."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from typing_extensions import override

from calibprune.evaluation.results import TaskResult
from calibprune.evaluation.scorers import SCORERS
from calibprune.modeling.heap import reuse_freed_memory
from calibprune.modeling.loading import EMBEDDED_MODEL, load_model, load_tokenizer


class EvaluationModule(pl.LightningModule):
    """A causal LM evaluated by ``trainer.test`` on an :class:`~calibprune.datamodules.EvaluationDataModule`.

    One scorer per task (perplexity, multiple choice, arithmetic, translation) turns the task's batches into
    torchmetrics updates; :attr:`results` holds the records after the test epoch.

    Args:
        model: Hugging Face hub id or local path of a causal LM (a pruned model saved by ``prune``), or
            ``embedded`` for the bundled SmolLM2-135M-Instruct.
        dtype: weights dtype: float32, bfloat16 or float16.
    """

    def __init__(self, model: str = EMBEDDED_MODEL, dtype: str = "float32") -> None:
        super().__init__()
        self.model_name, self.dtype_name = model, dtype
        self.model: nn.Module | None = None
        self.tokenizer: Any = None
        self.scorers = nn.ModuleList()
        self.results: list[TaskResult] = []

    @classmethod
    def from_model(cls, model: nn.Module, tokenizer: Any) -> EvaluationModule:
        """Wrap a model already in memory (e.g. just pruned) so that it is evaluated without reloading."""
        module = cls(model=getattr(model, "name_or_path", "in-memory"))
        module.model, module.tokenizer = model, tokenizer
        return module

    @override
    def configure_model(self) -> None:
        """Load the model and tokenizer once (idempotent)."""
        if self.model is None:
            self.model = load_model(self.model_name, self.dtype_name)
        if self.tokenizer is None:
            self.tokenizer = load_tokenizer(self.model_name)

    @property
    def max_length(self) -> int | None:
        """The model's context length, when its config states one."""
        return getattr(getattr(self.model, "config", None), "max_position_embeddings", None)

    @override
    def setup(self, stage: str) -> None:
        """Build one scorer per task of the datamodule's plans (Lightning sets the datamodule up first)."""
        self.scorers = nn.ModuleList([SCORERS[plan.kind](plan) for plan in self.trainer.datamodule.plans])

    @override
    def on_test_start(self) -> None:
        """Keep freed activation memory on the heap for the next batch (no page faults per batch)."""
        reuse_freed_memory()

    @override
    def test_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Score one batch of task ``dataloader_idx``."""
        self.scorers[dataloader_idx].update(self.model, self.tokenizer, batch, self.max_length)

    @override
    def on_test_epoch_end(self) -> None:
        """Compute every task's results and log their values."""
        self.results = [result for scorer in self.scorers for result in scorer.results()]
        for result in self.results:
            self.log(f"{result.task}/{result.metric}", torch.tensor(result.value), add_dataloader_idx=False)

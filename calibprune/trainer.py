"""PruningTrainer: a Lightning Trainer whose job is ``prune`` (no ``fit``)."""

from __future__ import annotations

import json
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.utilities import rank_zero_info

from calibprune.callbacks.base import find_pruning_method
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.module import PruningModule
from calibprune.report import sparsity_report
from calibprune.saving import check_save_path, save_pruned_model


class PruningTrainer(Trainer):
    """Lightning Trainer for one-shot pruning: predict loop for calibration, no optimiser, no checkpoints."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("inference_mode", False)  # the pruning pass writes weights in place
        kwargs.setdefault("logger", False)
        kwargs.setdefault("enable_checkpointing", False)
        kwargs.setdefault("enable_model_summary", False)
        super().__init__(*args, **kwargs)

    def prune(
        self,
        model: PruningModule,
        datamodule: CalibrationDataModule | None = None,
        save_model: str | None = None,
        overwrite: bool = False,
    ) -> dict[str, Any]:
        """Calibrate and prune the model, print its sparsity report and optionally save it.

        Args:
            model: the model to prune.
            datamodule: the calibration stream (not needed by magnitude pruning).
            save_model: write the pruned model (safetensors, config, tokenizer, sparsity report) to this
                directory, loadable with ``AutoModelForCausalLM.from_pretrained``.
            overwrite: replace ``save_model`` if it exists.
        """
        if save_model:
            check_save_path(save_model, overwrite)
        model.configure_model()
        method = find_pruning_method(self.callbacks)
        if method.needs_calibration:
            if datamodule is None:
                raise ValueError(f"--data: {type(method).__name__} needs calibration data")
            datamodule.connect(model.tokenizer, model.model, model.max_length)
            self.predict(model, datamodule=datamodule, return_predictions=False)
        else:
            model.trainer = self
            model.prune_blocks(method)
        report = sparsity_report(model.model)
        if save_model and self.is_global_zero:
            save_pruned_model(model.model, model.tokenizer, save_model, report, overwrite)
        rank_zero_info(json.dumps(report["global"]))
        return report

"""PruningTrainer: a Lightning Trainer whose job is ``prune`` (no ``fit``)."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader

from calibprune.callbacks.base import find_pruning_method
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.evaluation.api import run_evaluation
from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.evaluation.module import EvaluationModule
from calibprune.evaluation.results import TaskResult
from calibprune.job_options import takes_options
from calibprune.modeling.plan import PruningPlan
from calibprune.prune.checks import check_causal_lm, check_prune_job
from calibprune.prune.comparison import EVAL_PARAMETERS, DenseVsPruned
from calibprune.prune.module import PruningModule
from calibprune.prune.options import PruneOptions
from calibprune.prune.report import sparsity_report
from calibprune.prune.results_file import calibration_entry, check_output_path, model_entry, write_results
from calibprune.prune.saving import target_lock
from calibprune.prune.summary import RunSummary


class PruningTrainer(Trainer):
    """Lightning Trainer for one-shot pruning: predict loop for calibration, no optimiser, no checkpoints."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("inference_mode", False)  # the pruning pass writes weights in place
        kwargs.setdefault("logger", False)
        kwargs.setdefault("enable_checkpointing", False)
        kwargs.setdefault("enable_model_summary", False)
        super().__init__(*args, **kwargs)

    @takes_options(PruneOptions)
    def prune(
        self, model: PruningModule, datamodule: CalibrationDataModule | None = None, *, options: PruneOptions
    ) -> dict[str, Any]:
        """Calibrate and prune the model, optionally evaluate it (dense vs pruned) and save it; print a summary.

        Args:
            model: the model to prune.
            datamodule: the calibration stream (not needed by magnitude pruning).
            options: the options of :class:`~calibprune.prune.options.PruneOptions`,
                one parameter (and flag) each.
        """
        summary = RunSummary("prune")
        method = find_pruning_method(self.callbacks)
        check_prune_job(model, datamodule, method, options)
        comparison = self._comparison(datamodule, options) if options.tasks else None
        model.configure_run(options.save_model, options.resume)
        with target_lock(options.save_model):
            try:
                return self._prune(model, datamodule, method, summary, comparison, options)
            except BaseException:
                if not options.resume:  # a resumable run keeps its finished blocks; any other leaves nothing
                    model.discard_workdir()
                raise

    def _prune(
        self,
        model: PruningModule,
        datamodule: CalibrationDataModule | None,
        method: Any,
        summary: RunSummary,
        comparison: DenseVsPruned | None,
        options: PruneOptions,
    ) -> dict[str, Any]:
        model.configure_model()
        if method.needs_calibration:  # checks --seqlen against the model's context before any forward pass
            datamodule.connect(model.tokenizer, model.model, model.max_length)
        if not model.stream:  # streamed blocks stay on disk: no trial forward pass
            check_causal_lm(model.model, repr(model.model_name))
        summary.describe_model(model.model_name, model.model)
        summary.facts["device"] = f"{self.strategy.root_device}, {model.dtype_name} weights, fp32 statistics"
        summary.describe_method(method)
        if comparison is not None:
            comparison.fit_window(model.max_length)
            summary.facts["evaluation"] = comparison.describe()
        progress = self.progress_bar_callback is not None
        columns: dict[str, list[TaskResult]] = {}
        if comparison is not None and not options.skip_dense_eval:
            columns["dense"] = comparison.dense(
                model.model, model.tokenizer, model.model_name, model.dtype_name, progress
            )
            summary.add_results("dense", columns["dense"])
        if method.needs_calibration:
            summary.describe_calibration(datamodule)
            self.predict(model, datamodule=datamodule, return_predictions=False)
        else:  # through the strategy too: the model goes to the trainer's device and ranks stay in step
            self.predict(model, dataloaders=without_calibration(self.world_size), return_predictions=False)
        report = model.sparsity_report()
        summary.add_sparsity(report)
        if comparison is not None:
            columns["pruned"] = comparison.pruned(model.model, model.tokenizer, progress)
            summary.add_results("pruned", columns["pruned"])
        if options.save_model and self.is_global_zero:
            model.save_pruned(options.save_model, report, options.overwrite)
            summary.facts["saved"] = f"{options.save_model} (safetensors, config, tokenizer, sparsity_report.json)"
        if comparison is not None:
            settings = {task: comparison.settings(task) for task in comparison.tasks}
            written = write_results(
                self,
                options.output,
                "prune",
                columns,
                settings,
                model_entry(model),
                calibration_entry(model, datamodule if method.needs_calibration else None),
            )
            if written is not None:
                summary.facts["results"] = str(written)
        summary.finish(self)
        return report

    def _comparison(self, datamodule: CalibrationDataModule | None, options: PruneOptions) -> DenseVsPruned:
        if self.world_size > 1:
            raise ValueError(
                "--tasks: evaluation inside prune runs in one process; save the model with --save_model "
                "and run `calibprune evaluate --model DIR` instead"
            )
        evaluation = options.evaluation(datamodule.data_dir if datamodule is not None else None)
        return DenseVsPruned(options.tasks, evaluation, device=self.strategy.root_device, names=EVAL_PARAMETERS)

    def evaluate(
        self, model: EvaluationModule, datamodule: EvaluationDataModule, output: str | None = None
    ) -> list[TaskResult]:
        """Evaluate a dense or saved pruned model on perplexity corpora and downstream tasks; print a summary.

        Args:
            model: the model to evaluate: a hub id, a local folder (e.g. written by ``prune --save_model``) or
                ``embedded``.
            datamodule: the tasks and how they are evaluated.
            output: write the results (per task: metric, value, stderr, n, settings; the model's fingerprint) to
                this JSON file (default: ``results.json`` in the run directory).
        """
        check_output_path(output)
        summary = RunSummary("evaluate")
        model.configure_model()
        check_causal_lm(model.model, repr(model.model_name))
        datamodule.options = options = datamodule.options.fit_window(model.max_length)
        summary.describe_model(model.model_name, model.model)
        summary.hparams.update(
            tasks=datamodule.tasks,
            seqlen=options.seqlen,
            limit=options.limit,
            num_fewshot=options.num_fewshot,
            seed=options.seed,
        )
        summary.facts["evaluation"] = options.describe(datamodule.tasks)
        connector = self._accelerator_connector
        sampler, connector.use_distributed_sampler = connector.use_distributed_sampler, False
        try:  # the datamodule shards the items itself, each exactly once (a DistributedSampler repeats some)
            results = run_evaluation(model, datamodule, trainer=self)
        finally:
            connector.use_distributed_sampler = sampler
        summary.add_sparsity(sparsity_report(model.model, PruningPlan.build(model.model, strict=False)))
        summary.add_results(str(model.model_name), results, prefix="")
        settings = {task: datamodule.settings(task) for task in datamodule.tasks}
        written = write_results(
            self, output, "evaluate", {str(model.model_name): results}, settings, model_entry(model), None
        )
        if written is not None:
            summary.facts["results"] = str(written)
        summary.finish(self)
        return results


def without_calibration(world_size: int) -> DataLoader:
    """One placeholder batch per process: the predict loop of a method that needs no calibration data."""
    return DataLoader([{"placeholder": torch.zeros(1)}] * world_size, batch_size=1)

"""End of a run: a one-screen summary on the console, final metrics and hyperparameters in TensorBoard."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.utilities import rank_zero_only
from torch import nn

from calibprune.callbacks.base import PruningMethod
from calibprune.datamodules.sources.task import TaskSource
from calibprune.evaluation.results import TaskResult, results_table
from calibprune.loggers import tensorboard_logger
from calibprune.modeling.blocks import decoder_blocks


@dataclass
class RunSummary:
    """What a run did, gathered as it goes and shown once at the end.

    Attributes:
        command: the subcommand (``prune``, ``evaluate``).
        started: ``time.monotonic()`` at the start.
        facts: labelled lines (``model``, ``method``, ``calibration``, ``sparsity``, ``saved``...), in order.
        hparams: flat hyperparameters logged to TensorBoard with the final metrics.
        columns: evaluation results per column title (``dense``, ``pruned``).
        metrics: final scalar metrics (``sparsity/global``, ``pruned/wikitext/ppl``...).
    """

    command: str
    started: float = field(default_factory=time.monotonic)
    facts: dict[str, str] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, list[TaskResult]] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def describe_model(self, name: str, model: nn.Module) -> None:
        """Add the model line (name, class, decoder blocks, parameters)."""
        _, blocks = decoder_blocks(model)
        params = sum(p.numel() for p in model.parameters())
        described = f"{type(model).__name__}, {len(blocks)} decoder blocks, {params / 1e6:,.1f}M parameters"
        self.facts["model"] = f"{name} ({described})"
        self.hparams["model"] = name

    def describe_method(self, method: PruningMethod) -> None:
        """Add the method line and its hyperparameters."""
        pattern = method.pattern
        sparsity_type = f"{pattern.n}:{pattern.m}" if pattern.structured else "unstructured"
        self.facts["method"] = f"{type(method).__name__}, {sparsity_type}, ratio {pattern.ratio:g}"
        self.hparams.update(method=type(method).__name__, sparsity_ratio=pattern.ratio, sparsity_type=sparsity_type)

    def describe_calibration(self, datamodule: Any) -> None:
        """Add the calibration line and the datamodule's settings as hyperparameters."""
        hparams = calibration_hparams(datamodule)
        self.hparams.update(hparams)
        layout = f", format {hparams['format']}" if any(isinstance(s, TaskSource) for s in datamodule.sources) else ""
        self.facts["calibration"] = (
            f"{', '.join(hparams['calibration'])}: {hparams['nsamples']} sequences x {hparams['seqlen']} tokens"
            f"{layout}, seed {hparams['seed']}"
        )

    def add_results(self, title: str, results: list[TaskResult], prefix: str | None = None) -> None:
        """Add a column of evaluation results; their values become metrics ``<prefix>/<task>/<metric>``.

        Args:
            title: the column's title (``dense``, ``pruned``, a model name).
            results: the column's results.
            prefix: metric name prefix (default ``title``; ``""`` for none).
        """
        self.columns[title] = results
        prefix = title if prefix is None else prefix
        self.metrics.update({"/".join(filter(None, (prefix, r.task, r.metric))): float(r.value) for r in results})

    def add_sparsity(self, report: dict[str, Any]) -> None:
        """Add the global sparsity line and metric from a :func:`~calibprune.prune.report.sparsity_report`."""
        overall, layers = report["global"], [layer["sparsity"] for layer in report["layers"].values()]
        self.metrics["sparsity/global"] = overall["sparsity"]
        spread = f", per layer {min(layers):.2%} to {max(layers):.2%}" if layers else ""
        coverage = report.get("coverage")
        covered = ""
        if coverage is not None:  # what the matrices are of all the blocks' weights (the rest: norms, routers...)
            self.metrics["sparsity/coverage"] = coverage["fraction"]
            covered = f"; they hold {coverage['fraction']:.1%} of the decoder-block weights"
            unknown = coverage.get("unknown_weights") or []
            if unknown:  # ``evaluate`` reads any causal LM: weights of kinds calibprune cannot prune are listed
                more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
                covered += f"; not measured (kinds calibprune cannot prune): {', '.join(unknown[:3])}{more}"
        self.facts["sparsity"] = (
            f"{overall['sparsity']:.2%} of {overall['numel']:,} weights in {len(layers)} matrices{spread}{covered}"
        )

    def render(self, run_dir: str | None = None) -> str:
        """The summary as text: facts, then the results table (one column per model)."""
        minutes, seconds = divmod(int(time.monotonic() - self.started), 60)
        title = f" calibprune {self.command}: done in {minutes}m {seconds:02d}s "
        lines = [f"{title:=^80}"]
        facts = dict(self.facts)
        if run_dir is not None:
            facts["tensorboard"] = f"tensorboard --logdir {Path(run_dir).parent.parent}  (this run: {run_dir})"
        width = max(map(len, facts), default=0)
        lines += [f"{label:<{width}}  {text}" for label, text in facts.items()]
        if self.columns:
            lines += ["", results_table(self.columns)]
        lines.append("=" * 80)
        return "\n".join(lines)

    def finish(self, trainer: Trainer) -> None:
        """Log hyperparameters with the final metrics to TensorBoard and print the summary (rank zero)."""
        logger = tensorboard_logger(trainer)
        if logger is not None:
            logger.log_hyperparams(_flat(self.hparams), self.metrics or {"sparsity/global": 0.0})
            logger.save()
        _print(self.render(logger.log_dir if logger is not None else None))


def calibration_hparams(datamodule: Any) -> dict[str, Any]:
    """The calibration settings of a :class:`~calibprune.datamodules.CalibrationDataModule` (flat)."""
    keys = ("calibration", "weights", "nsamples", "seqlen", "batch_size", "seed", "data_dir")
    options = asdict(datamodule.options) if hasattr(datamodule, "options") else {}
    return {**{key: getattr(datamodule, key, None) for key in keys}, **options}


def _flat(hparams: dict[str, Any]) -> dict[str, Any]:
    """TensorBoard takes numbers, strings and booleans: lists become comma-joined strings, None ``"none"``."""
    flat = {}
    for key, value in hparams.items():
        if isinstance(value, (list, tuple)):
            value = ",".join(map(str, value))
        flat[key] = "none" if value is None else value
    return flat


@rank_zero_only
def _print(text: str) -> None:
    print(text, flush=True)

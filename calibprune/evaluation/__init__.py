"""Evaluation of dense and pruned models: perplexity and few-shot downstream accuracy, batched.

Entry points: :func:`calibprune.evaluation.api.evaluate_model` (a model in memory, many tasks) and
:class:`calibprune.evaluation.module.EvaluationModule` with
:class:`calibprune.evaluation.datamodule.EvaluationDataModule` on Lightning's test loop. This package
imports neither, so that the datamodule can import its pure parts without a cycle.
"""

from calibprune.evaluation.cache import ResultCache, path_fingerprint, weights_fingerprint
from calibprune.evaluation.results import TaskResult, mean_metric, results_table

__all__ = ["ResultCache", "TaskResult", "mean_metric", "path_fingerprint", "results_table", "weights_fingerprint"]

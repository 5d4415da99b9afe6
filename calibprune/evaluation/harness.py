"""Optional: any lm-evaluation-harness task, run on the model in memory (``pip install lm-eval``)."""

from __future__ import annotations

from typing import Any

from lightning_utilities.core.imports import RequirementCache
from torch import nn

from calibprune.evaluation.results import TaskResult

HARNESS_PREFIX = "harness:"
_LM_EVAL_AVAILABLE = RequirementCache("lm_eval")


def harness_results(output: dict[str, Any], num_fewshot: int | None) -> list[TaskResult]:
    """Turn ``lm_eval.simple_evaluate``'s output into records, one per metric and filter (``acc``, ``acc_norm``...).

    Metric keys are ``"<metric>,<filter>"``; the filter is kept in the metric name unless it is ``none``.
    """
    records = []
    for task, metrics in output["results"].items():
        n = int(output.get("n-samples", {}).get(task, {}).get("effective", 0))
        for key, value in metrics.items():
            metric, _, filter_name = key.partition(",")
            if not filter_name or "_stderr" in metric or not isinstance(value, (int, float)):
                continue
            stderr = metrics.get(f"{metric}_stderr,{filter_name}")
            name = metric if filter_name == "none" else f"{metric}[{filter_name}]"
            stderr = float(stderr) if isinstance(stderr, (int, float)) else None
            records.append(TaskResult(f"{HARNESS_PREFIX}{task}", name, float(value), stderr, n, num_fewshot))
    return records


def evaluate_harness(
    model: nn.Module,
    tokenizer: Any,
    tasks: list[str],
    *,
    batch_size: int = 8,
    limit: int | None = None,
    num_fewshot: int | None = None,
    seed: int = 0,
) -> list[TaskResult]:
    """Run lm-evaluation-harness tasks (their own prompts and metrics) on an in-memory model.

    Args:
        model: the causal LM (dense or pruned).
        tokenizer: its tokenizer.
        tasks: lm-evaluation-harness task names, e.g. ``hellaswag``, ``arc_easy``.
        batch_size: requests per forward pass.
        limit: first items of each task.
        num_fewshot: exemplars per prompt; ``None`` uses each task's default.
        seed: seed of lm-eval's samplers.

    Raises:
        ModuleNotFoundError: with the install command, when ``lm_eval`` is missing.
    """
    if not _LM_EVAL_AVAILABLE:
        raise ModuleNotFoundError(f"--tasks harness:<name> needs lm-evaluation-harness: {_LM_EVAL_AVAILABLE.message}")
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
    output = simple_evaluate(
        model=lm,
        tasks=tasks,
        num_fewshot=num_fewshot,
        limit=limit,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )
    return harness_results(output, num_fewshot)

"""Agreement with lm-evaluation-harness: our scores and its ``HFLM``'s on identical prompts and items.

Our side runs the real evaluation path (datamodule batches, :class:`ChoiceScorer` / :class:`ArithmeticScorer`).
lm-eval's side gets the very same prompt strings (the BOS token written in front as text, which its tokenizer
call turns into the same id) through ``HFLM.loglikelihood`` and ``HFLM.generate_until``, so any difference is
a difference of scoring: tokenisation of the context/continuation split, padding, positions, truncation,
greedy decoding, stop sequences. Needs ``pip install lm-eval``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.evaluation.requests import few_shot_prompts, task_examples
from calibprune.evaluation.scorers import ArithmeticScorer, ChoiceScorer
from calibprune.evaluation.scorers.arithmetic import ARITHMETIC_STOPS
from calibprune.tasks import get_task, load_records


@dataclass
class TaskAgreement:
    """Our per-item scores and lm-eval's on the same items of one task.

    Attributes:
        task: task name.
        kind: ``multiple_choice`` (log-likelihoods) or ``arithmetic`` (generated texts).
        ours: per item, every choice's summed log-likelihood (or the generated text).
        theirs: the same from lm-eval.
        labels: gold choice per item (multiple choice), else ``None``.
    """

    task: str
    kind: str
    ours: list[Any]
    theirs: list[Any]
    labels: list[int] | None = None

    def max_abs_difference(self) -> float:
        """Largest difference of a choice's log-likelihood between the two (multiple choice only)."""
        return max(
            abs(a - b)
            for mine, other in zip(self.ours, self.theirs, strict=True)
            for a, b in zip(mine, other, strict=True)
        )

    def accuracies(self) -> tuple[float, float]:
        """Accuracy of the argmax choice, ours and lm-eval's (ties to the first choice, as numpy's argmax)."""

        def acc(scores: list[list[float]]) -> float:
            picks = [max(range(len(s)), key=lambda i, s=s: (s[i], -i)) for s in scores]
            return sum(p == g for p, g in zip(picks, self.labels, strict=True)) / len(picks)

        return acc(self.ours), acc(self.theirs)

    def identical_texts(self) -> int:
        """Items whose generated answers are identical (arithmetic only)."""
        return sum(a == b for a, b in zip(self.ours, self.theirs, strict=True))


def _ours(model: torch.nn.Module, tokenizer: Any, datamodule: EvaluationDataModule) -> ChoiceScorer | ArithmeticScorer:
    """Score the datamodule's single task on our evaluation path and return its scorer."""
    datamodule.connect(tokenizer, getattr(model.config, "max_position_embeddings", None))
    datamodule.setup()
    (plan,) = datamodule.plans
    scorer = ChoiceScorer(plan) if plan.kind == "multiple_choice" else ArithmeticScorer(plan)
    (loader,) = datamodule.test_dataloader()
    with torch.no_grad():
        for batch in loader:
            scorer.update(model, tokenizer, batch, datamodule.max_length)
    return scorer


def compare_task(
    lm: Any,
    model: torch.nn.Module,
    tokenizer: Any,
    task_name: str,
    *,
    data_dir: str | None,
    limit: int,
    num_fewshot: int,
    seed: int = 0,
    batch_size: int = 4,
    max_new_tokens: int = 32,
) -> TaskAgreement:
    """Score one task both ways on the first ``limit`` test items.

    Args:
        lm: an ``lm_eval.models.huggingface.HFLM`` wrapping ``model``.
        model: the causal LM.
        tokenizer: its tokenizer.
        task_name: a multiple-choice or arithmetic task of ours.
        data_dir: folder with local copies ``<task>/{train,test}.jsonl``.
        limit: first test items.
        num_fewshot: exemplars per prompt.
        seed: exemplar seed.
        batch_size: items per forward pass on our side.
        max_new_tokens: most generated tokens per answer (arithmetic).
    """
    from lm_eval.api.instance import Instance

    task = get_task(task_name)
    datamodule = EvaluationDataModule(
        [task_name],
        batch_size=batch_size,
        limit=limit,
        num_fewshot=num_fewshot,
        seed=seed,
        max_new_tokens=max_new_tokens,
        data_dir=data_dir,
    )
    scorer = _ours(model, tokenizer, datamodule)
    tests = task_examples(task, load_records(task, "test", data_dir, limit))
    pool = task_examples(task, load_records(task, "train", data_dir)) if num_fewshot else []
    bos = tokenizer.bos_token or ""
    prompts = [bos + prompt for prompt in few_shot_prompts(task, tests, pool, num_fewshot, seed)]
    if task.kind == "multiple_choice":
        instances = [
            Instance("loglikelihood", {}, (prompt, choice), index)
            for index, (prompt, example) in enumerate(zip(prompts, tests, strict=True))
            for choice in example.choices
        ]
        flat = [loglikelihood for loglikelihood, _ in lm.loglikelihood(instances, disable_tqdm=True)]
        theirs, start = [], 0
        for example in tests:
            theirs.append(flat[start : start + len(example.choices)])
            start += len(example.choices)
        return TaskAgreement(task_name, task.kind, scorer.logprobs, theirs, [example.label for example in tests])
    arguments = {"until": list(ARITHMETIC_STOPS), "max_gen_toks": max_new_tokens, "do_sample": False}
    instances = [Instance("generate_until", {}, (prompt, arguments), index) for index, prompt in enumerate(prompts)]
    return TaskAgreement(task_name, task.kind, scorer.texts, lm.generate_until(instances, disable_tqdm=True))

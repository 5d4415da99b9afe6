"""What is evaluated for one task: tokenised few-shot requests (choices to score or prompts to continue)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from calibprune.evaluation.loglikelihood import encode_pair
from calibprune.evaluation.prompts import draw_exemplars, exemplar_seed
from calibprune.tasks.base import Example, Task
from calibprune.tasks.encoding import bos_ids, encode_text

log = logging.getLogger(__name__)

# The space between the answer cue and a choice (lm-evaluation-harness's ``target_delimiter``).
TARGET_DELIMITER = " "


@dataclass(frozen=True)
class ChoiceRequest:
    """One multiple-choice item: the prompt's tokens and the tokens of every choice, scored by log-likelihood.

    Attributes:
        context: prompt tokens (prefix, exemplars, test question), ending with the answer cue.
        continuations: the tokens of each choice after the context.
        label: index of the gold choice.
        choice_chars: length of each choice string in characters, without the space that separates it from
            the answer cue (lm-evaluation-harness's ``acc_norm`` divides by ``len(choice)`` of ``"yes"``, its
            ``target_delimiter`` ``" "`` excluded).
        index: position of the item in the task's test split (results are reported in this order).
    """

    context: list[int]
    continuations: tuple[list[int], ...]
    label: int
    choice_chars: tuple[int, ...]
    index: int

    @property
    def length(self) -> int:
        """Tokens of the longest row this item adds to a batch."""
        return len(self.context) + max(len(c) for c in self.continuations)


@dataclass(frozen=True)
class GenerationRequest:
    """One generated item: prompt tokens, the gold answer (a number or a reference translation), its test index."""

    prompt: list[int]
    target: float | str
    index: int

    @property
    def length(self) -> int:
        """Prompt tokens."""
        return len(self.prompt)


@dataclass
class EvaluationPlan:
    """Everything one task's evaluation needs: its items and the settings that define its result.

    Attributes:
        name: the task (or corpus) name, as given in ``--tasks``.
        kind: ``perplexity``, ``multiple_choice``, ``arithmetic`` or ``translation`` (picks the scorer).
        items: perplexity windows (``[seqlen]`` tensors) or requests, longest first.
        settings: every option the result depends on (the key of the result cache).
    """

    name: str
    kind: str
    items: list[Any]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def num_fewshot(self) -> int | None:
        """Exemplars per prompt (``None`` for perplexity)."""
        return self.settings.get("num_fewshot")


def task_examples(task: Task, records: list[dict[str, Any]]) -> list[Example]:
    """Examples of the records that have a valid gold answer (e.g. SNLI's unlabelled ``-1`` rows are left out)."""
    examples, skipped = [], 0
    for record in records:
        try:
            examples.append(task.example(record))
        except (ValueError, KeyError):
            skipped += 1
    if skipped:
        log.warning("%s: %d of %d records have no valid gold answer and are left out", task.name, skipped, len(records))
    return examples


def uses_rationale(task: Task, rationale: bool) -> bool:
    """CoT exemplars apply to generated arithmetic answers; log-likelihood scoring needs answer-only exemplars."""
    return rationale and task.kind == "arithmetic"


def few_shot_prompts(
    task: Task,
    tests: list[Example],
    pool: list[Example],
    k: int,
    seed: int,
    rationale: bool = False,
    shared_exemplars: bool = False,
) -> list[str]:
    """The few-shot prompt text (no BOS) of every test example.

    Item ``i`` gets exemplars drawn with seed ``(seed, task, i)``; with ``shared_exemplars`` every item gets
    the same ones, drawn once with seed ``(seed, task, -1)`` (one fixed prompt prefix per task, as the seed
    code's fixed exemplars; its shared tokens are then computed once per batch). An item whose own question
    is among the shared exemplars gets the next exemplars of the same draw instead.

    Args:
        task: the task whose template writes the prompt.
        tests: test examples, in order.
        pool: train examples to draw exemplars from.
        k: exemplars per prompt.
        seed: run seed.
        rationale: exemplars with their chain of thought (arithmetic tasks only).
        shared_exemplars: the same exemplars for every item.
    """
    cot = uses_rationale(task, rationale)
    if cot:
        pool = [example for example in pool if example.rationale is not None]
    prompts = []
    shared = draw_exemplars(pool, k, None, exemplar_seed(seed, task.name, -1)) if shared_exemplars and k else None
    for index, example in enumerate(tests):
        if not k:
            exemplars = []
        elif shared is not None and all(e.question != example.question for e in shared):
            exemplars = shared
        else:
            item_seed = exemplar_seed(seed, task.name, -1 if shared_exemplars else index)
            exemplars = draw_exemplars(pool, k, example, item_seed)
        prompts.append(task.few_shot_text(exemplars, example, cot))
    return prompts


def build_requests(
    task: Task,
    tokenizer: Any,
    tests: list[Example],
    pool: list[Example],
    k: int,
    seed: int,
    rationale: bool = False,
    shared_exemplars: bool = False,
) -> list[ChoiceRequest | GenerationRequest]:
    """Few-shot requests for every test example, with the prompts of :func:`few_shot_prompts`.

    A prompt is one BOS, the exemplar pairs and the test question, encoded as calibration encodes task text.

    Args:
        task: the task whose template writes the prompt.
        tokenizer: the model's tokenizer.
        tests: test examples, in order (item ``i`` gets the exemplars of seed ``(seed, task, i)``).
        pool: train examples to draw exemplars from.
        k: exemplars per prompt.
        seed: run seed.
        rationale: exemplars with their chain of thought (arithmetic tasks only).
        shared_exemplars: the same exemplars for every item (see :func:`few_shot_prompts`).
    """
    bos = bos_ids(tokenizer)
    requests: list[ChoiceRequest | GenerationRequest] = []
    prompts = few_shot_prompts(task, tests, pool, k, seed, rationale, shared_exemplars)
    for index, (example, prompt) in enumerate(zip(tests, prompts, strict=True)):
        if task.kind == "multiple_choice":
            pairs = [encode_pair(tokenizer, prompt, choice) for choice in example.choices]
            requests.append(
                ChoiceRequest(
                    context=bos + pairs[0][0],
                    continuations=tuple(continuation for _, continuation in pairs),
                    label=example.label,
                    choice_chars=tuple(len(choice.removeprefix(TARGET_DELIMITER)) for choice in example.choices),
                    index=index,
                )
            )
        else:
            requests.append(GenerationRequest(encode_text(tokenizer, prompt, bos=True), example.target, index))
    return requests

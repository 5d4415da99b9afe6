"""Downstream tasks of the study: records, one prompt template per task, shared by calibration and evaluation.

A task turns a raw dataset record into an :class:`Example`, and an example into text with
:meth:`Task.question_text` and :meth:`Task.answer_text`. Calibration formats (zero-shot, ICL, ICL-CoT)
and evaluation prompts (few-shot exemplars + test question) are both built from those two methods, so
that calibration text and evaluation prompts look alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

TaskKind = Literal["multiple_choice", "arithmetic", "translation"]

# How exemplars are joined into one prompt (one BOS at the start, blank lines between exemplars).
EXEMPLAR_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class HubSpec:
    """Where the task's data lives on the Hugging Face Hub.

    Attributes:
        path: dataset id, e.g. ``openai/gsm8k``.
        name: dataset config, e.g. ``main``; ``None`` for none.
        train_split: split used for calibration and few-shot exemplars.
        test_split: split used for evaluation.
        streaming: stream the split instead of downloading it whole (very large corpora); only the first
            records are read.
        data_files: files of the dataset repository to load (e.g. one C4 shard), ``None`` for all.

    """

    path: str
    name: str | None = None
    train_split: str = "train"
    test_split: str = "test"
    streaming: bool = False
    data_files: str | None = None


@dataclass(frozen=True)
class Example:
    """One task item, independent of any prompt format.

    Attributes:
        question: the question text (with its passage/premise/options as the template needs).
        answer: the gold answer as it is written after the answer cue (a label word, a number, a sentence).
        rationale: chain-of-thought text that precedes the answer, or ``None`` when the source has none.
        choices: answer strings scored by log-likelihood for multiple-choice/classification tasks.
        label: index of the gold answer in ``choices``.
        target: numeric gold answer (arithmetic) or reference translation (translation).
        fields: the raw record, for templates that need more.

    """

    question: str
    answer: str
    rationale: str | None = None
    choices: tuple[str, ...] | None = None
    label: int | None = None
    target: float | str | None = None
    fields: dict[str, Any] = field(default_factory=dict, compare=False)


class Task(ABC):
    """A downstream task: where its records come from and how an example is written as text."""

    name: ClassVar[str]
    kind: ClassVar[TaskKind]
    hub: ClassVar[HubSpec]
    default_shots: ClassVar[int] = 5

    @abstractmethod
    def example(self, record: dict[str, Any]) -> Example:
        """Turn one raw record (hub field names) into an :class:`Example`."""

    def question_text(self, example: Example) -> str:
        """Write the prompt part of one exemplar or test item, ending with the answer cue (``Answer:``)."""
        return f"Question: {example.question}\nAnswer:"

    def answer_text(self, example: Example, rationale: bool = False) -> str:
        """Write the completion of one exemplar: `` answer``, or `` rationale The answer is answer.`` with CoT."""
        if rationale:
            if example.rationale is None:
                raise ValueError(f"--format icl-cot: task {self.name!r} has no rationale for its examples")
            rationale_text = example.rationale.strip()
            if not rationale_text.endswith((".", "!", "?")):
                rationale_text += "."
            return f" {rationale_text} The answer is {example.answer}."
        return f" {example.answer}"

    def pair_text(self, example: Example, rationale: bool = False) -> str:
        """Question and answer of one exemplar, as they appear in ICL calibration text and few-shot prompts."""
        return self.question_text(example) + self.answer_text(example, rationale)

    def few_shot_text(self, exemplars: list[Example], example: Example, rationale: bool = False) -> str:
        """Write a few-shot prompt (no BOS): exemplar pairs, then the test question, joined by blank lines."""
        pairs = [self.pair_text(exemplar, rationale) for exemplar in exemplars]
        return EXEMPLAR_SEPARATOR.join([*pairs, self.question_text(example)])

    def rationale_steps(self, example: Example) -> int:
        """Count the reasoning steps of the example's rationale (its non-empty lines); 0 without a rationale."""
        if example.rationale is None:
            return 0
        return sum(1 for line in example.rationale.splitlines() if line.strip())

    @property
    def has_rationale(self) -> bool:
        """Whether this task's examples carry a rationale (needed by the ``icl-cot`` format)."""
        return False

"""Shared template of the natural-language-inference tasks (e-SNLI, ANLI, RTE)."""

from __future__ import annotations

from typing import Any, ClassVar

from calibprune.tasks.base import Example, Task, TaskKind


class NLITask(Task):
    """Premise and hypothesis, answered with one label word scored by log-likelihood.

    Subclasses set ``labels`` (the word of every integer label) and, when they have one, ``rationale_field``.
    """

    kind: ClassVar[TaskKind] = "multiple_choice"
    labels: ClassVar[tuple[str, ...]] = ("entailment", "neutral", "contradiction")
    rationale_field: ClassVar[str | None] = None

    def example(self, record: dict[str, Any]) -> Example:
        """Map the integer label to its word; records without a valid label (-1) are an error."""
        label = int(record["label"])
        if not 0 <= label < len(self.labels):
            raise ValueError(f"{self.name}: label {label} is not one of 0..{len(self.labels) - 1}")
        rationale = (record.get(self.rationale_field) or "").strip() if self.rationale_field else ""
        question = f"Premise: {record['premise'].strip()}\nHypothesis: {record['hypothesis'].strip()}"
        return Example(
            question=question,
            answer=self.labels[label],
            rationale=rationale or None,
            choices=tuple(f" {word}" for word in self.labels),
            label=label,
            fields=record,
        )

    def question_text(self, example: Example) -> str:
        """Write ``Premise:``, ``Hypothesis:`` and ``Answer:`` lines."""
        return f"{example.question}\nAnswer:"

    @property
    def has_rationale(self) -> bool:
        """Whether the records carry an explanation usable as a chain of thought."""
        return self.rationale_field is not None

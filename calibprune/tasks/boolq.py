"""BoolQ (Clark et al., 2019): yes/no questions about a Wikipedia passage."""

from __future__ import annotations

from typing import Any, ClassVar

from calibprune.tasks.base import Example, HubSpec, Task, TaskKind


class BoolQ(Task):
    """BoolQ: passage and question, answered ``yes`` or ``no``; test split = the hub's validation split."""

    name: ClassVar[str] = "boolq"
    kind: ClassVar[TaskKind] = "multiple_choice"
    hub: ClassVar[HubSpec] = HubSpec("google/boolq", None, "train", "validation")
    default_shots: ClassVar[int] = 3

    def example(self, record: dict[str, Any]) -> Example:
        """``answer`` is a boolean: ``True`` is choice 1 (`` yes``)."""
        label = int(bool(record["answer"]))
        question = record["question"].strip()
        question = question[0].upper() + question[1:] + ("" if question.endswith("?") else "?")
        return Example(
            question=f"{record['passage'].strip()}\nQuestion: {question}",
            answer=("no", "yes")[label],
            choices=(" no", " yes"),
            label=label,
            fields=record,
        )

    def question_text(self, example: Example) -> str:
        """Write the passage, then ``Question: ...?`` and ``Answer:`` lines."""
        return f"{example.question}\nAnswer:"

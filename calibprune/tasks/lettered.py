"""Shared template of the lettered multiple-choice tasks (CommonsenseQA, RACE)."""

from __future__ import annotations

from typing import ClassVar

from calibprune.tasks.base import Example, Task, TaskKind

LETTERS = "ABCDEFGH"


class LetteredChoiceTask(Task):
    """A question with options ``A. ...`` on their own lines, answered with the letter of the right one."""

    kind: ClassVar[TaskKind] = "multiple_choice"

    def lettered_example(
        self, question: str, options: list[str], label: int, rationale: str | None, record: dict
    ) -> Example:
        """Build the example; ``question`` already holds any passage, options are appended as lettered lines."""
        if not 0 <= label < len(options):
            raise ValueError(f"{self.name}: answer index {label} is not one of the {len(options)} options")
        lines = [f"{LETTERS[i]}. {option.strip()}" for i, option in enumerate(options)]
        return Example(
            question="\n".join([question.strip(), *lines]),
            answer=LETTERS[label],
            rationale=rationale,
            choices=tuple(f" {LETTERS[i]}" for i in range(len(options))),
            label=label,
            fields=record,
        )

    def question_text(self, example: Example) -> str:
        """Write the question (and its passage), the lettered options, then ``Answer:``."""
        return f"{example.question}\nAnswer:"

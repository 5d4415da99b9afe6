"""WinoGrande (Sakaguchi et al., 2020): pronoun-resolution style fill-in-the-blank."""

from __future__ import annotations

from typing import Any, ClassVar

from calibprune.tasks.base import Example, HubSpec, Task, TaskKind


class WinoGrande(Task):
    """WinoGrande ``winogrande_xl``: which option fills ``_``; the answer is the option itself.

    The test split is the hub's validation split (the test split has no labels).
    """

    name: ClassVar[str] = "winogrande"
    kind: ClassVar[TaskKind] = "multiple_choice"
    hub: ClassVar[HubSpec] = HubSpec("allenai/winogrande", "winogrande_xl", "train", "validation")

    def example(self, record: dict[str, Any]) -> Example:
        """``answer`` is ``'1'`` or ``'2'``: the index of the right option, from one."""
        options = (record["option1"].strip(), record["option2"].strip())
        if str(record["answer"]) not in ("1", "2"):
            raise ValueError(f"winogrande: answer {record['answer']!r} is not '1' or '2'")
        label = int(record["answer"]) - 1
        question = f"{record['sentence'].strip()}\nQuestion: What does _ stand for, {options[0]} or {options[1]}?"
        return Example(
            question=question,
            answer=options[label],
            choices=tuple(f" {option}" for option in options),
            label=label,
            fields=record,
        )

    def question_text(self, example: Example) -> str:
        """Write the sentence, ``Question: What does _ stand for, A or B?`` and ``Answer:``."""
        return f"{example.question}\nAnswer:"

"""Shared behaviour of the arithmetic word-problem tasks (GSM8K, SVAMP, MAWPS)."""

from __future__ import annotations

import re
from typing import ClassVar

from calibprune.tasks.base import Example, Task, TaskKind

_OPERATOR = re.compile(r"[+\-*/]")


def format_number(value: float) -> str:
    """Write a number the way a person would: ``8`` rather than ``8.0``, ``0.25`` rather than ``0.250000``."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def count_operators(expression: str) -> int:
    """Count the arithmetic operations of an equation, used as its number of reasoning steps."""
    return len(_OPERATOR.findall(expression))


class ArithmeticTask(Task):
    """A word problem with a numeric answer; ``target`` is the answer as a float."""

    kind: ClassVar[TaskKind] = "arithmetic"
    default_shots: ClassVar[int] = 8

    @property
    def has_rationale(self) -> bool:
        """Arithmetic tasks carry a worked solution or an equation."""
        return True

    def numeric_example(self, question: str, answer: float, rationale: str | None, record: dict) -> Example:
        """Build the example of a problem whose gold answer is ``answer``."""
        text = format_number(answer)
        return Example(question=question.strip(), answer=text, rationale=rationale, target=float(answer), fields=record)

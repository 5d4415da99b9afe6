"""SVAMP (Patel et al., 2021): one-unknown word problems with their equation."""

from __future__ import annotations

from typing import Any, ClassVar

from calibprune.tasks.arithmetic import ArithmeticTask, count_operators, format_number
from calibprune.tasks.base import Example, HubSpec


class SVAMP(ArithmeticTask):
    """SVAMP: question = ``Body`` + ``Question``; rationale = the equation, e.g. ``Equation: ( 3.0 + 5.0 ) = 8``."""

    name: ClassVar[str] = "svamp"
    hub: ClassVar[HubSpec] = HubSpec("ChilleD/SVAMP")

    def example(self, record: dict[str, Any]) -> Example:
        """Join body and question as the hub's ``question_concat`` does; the equation becomes the rationale."""
        question = f"{record['Body'].strip()} {record['Question'].strip()}"
        answer = float(record["Answer"])
        rationale = f"Equation: {record['Equation'].strip()} = {format_number(answer)}"
        return self.numeric_example(question, answer, rationale, record)

    def rationale_steps(self, example: Example) -> int:
        """Count the operations of the equation."""
        return count_operators(example.fields["Equation"])

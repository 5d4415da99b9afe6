"""MAWPS (Koncel-Kedziorski et al., 2016), as ``MU-NLPC/Calc-mawps``: simple word problems."""

from __future__ import annotations

from typing import Any, ClassVar

from calibprune.tasks.arithmetic import ArithmeticTask, count_operators, format_number
from calibprune.tasks.base import Example, HubSpec


class MAWPS(ArithmeticTask):
    """MAWPS: ``question`` and ``result``; the rationale is the ``expression`` where the record has one.

    Records without an expression have no rationale and are left out of the ``icl-cot`` format.
    """

    name: ClassVar[str] = "mawps"
    hub: ClassVar[HubSpec] = HubSpec("MU-NLPC/Calc-mawps")

    def example(self, record: dict[str, Any]) -> Example:
        """Read the numeric result (``result_float`` when the hub provides it) and the optional expression."""
        value = record.get("result_float")
        answer = float(value if value is not None else str(record["result"]).replace(",", ""))
        expression = (record.get("expression") or "").strip()
        rationale = None
        if expression:
            equation = expression if "=" in expression else f"{expression} = {format_number(answer)}"
            rationale = f"Equation: {equation}"
        return self.numeric_example(record["question"], answer, rationale, record)

    def rationale_steps(self, example: Example) -> int:
        """Count the operations of the expression (0 without one)."""
        return count_operators(example.fields.get("expression") or "")

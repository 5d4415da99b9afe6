"""GSM8K (Cobbe et al., 2021): grade-school maths with worked solutions."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from calibprune.tasks.arithmetic import ArithmeticTask
from calibprune.tasks.base import Example, HubSpec

_CALCULATOR = re.compile(r"<<[^>]*>>")


class GSM8K(ArithmeticTask):
    """GSM8K ``main``: the answer follows ``####``; the solution before it is the rationale.

    The ``<<48/2=24>>`` calculator annotations are removed from the rationale; each line is one step.
    """

    name: ClassVar[str] = "gsm8k"
    hub: ClassVar[HubSpec] = HubSpec("openai/gsm8k", "main")

    def example(self, record: dict[str, Any]) -> Example:
        """Split ``answer`` into the solution text and the final number after ``####``."""
        solution, sep, final = record["answer"].rpartition("####")
        if not sep:
            raise ValueError(f"gsm8k: answer without '####': {record['answer'][:80]!r}")
        rationale = _CALCULATOR.sub("", solution).strip()
        return self.numeric_example(record["question"], float(final.strip().replace(",", "")), rationale, record)

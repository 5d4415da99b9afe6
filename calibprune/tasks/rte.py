"""RTE from SuperGLUE (Dagan et al., 2005 and sequels): two-way entailment."""

from __future__ import annotations

from typing import ClassVar

from calibprune.tasks.base import Example, HubSpec
from calibprune.tasks.nli import NLITask


class RTE(NLITask):
    """RTE: label 0 (entailment) is written ``yes``, label 1 (not_entailment) ``no``.

    The test split is SuperGLUE's validation split (the hub's test split has no labels).
    """

    name: ClassVar[str] = "rte"
    hub: ClassVar[HubSpec] = HubSpec("aps/super_glue", "rte", "train", "validation")
    labels: ClassVar[tuple[str, ...]] = ("yes", "no")

    def question_text(self, example: Example) -> str:
        """Write premise and hypothesis lines, then ``Does the premise entail the hypothesis?`` and ``Answer:``."""
        return f"{example.question}\nDoes the premise entail the hypothesis?\nAnswer:"

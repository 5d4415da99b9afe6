"""CommonsenseQA (Talmor et al., 2019): five-way commonsense questions."""

from __future__ import annotations

from typing import Any, ClassVar

from calibprune.tasks.base import Example, HubSpec
from calibprune.tasks.lettered import LetteredChoiceTask


class CommonsenseQA(LetteredChoiceTask):
    """CommonsenseQA: five labelled choices; test split = the hub's validation split (test has no labels).

    The rationale is the record's ``explanation`` (CoS-E) when present; the hub's records have none, so
    ``icl-cot`` needs a local copy with explanations.
    """

    name: ClassVar[str] = "commonsense_qa"
    hub: ClassVar[HubSpec] = HubSpec("tau/commonsense_qa", None, "train", "validation")

    def example(self, record: dict[str, Any]) -> Example:
        """Letter the five choices; the gold one is labelled ``answerKey``."""
        choices = record["choices"]
        labels = list(choices["label"])
        if record["answerKey"] not in labels:
            raise ValueError(f"commonsense_qa: answerKey {record['answerKey']!r} is not one of {labels}")
        rationale = (record.get("explanation") or "").strip() or None
        question = f"Question: {record['question'].strip()}"
        return self.lettered_example(
            question, list(choices["text"]), labels.index(record["answerKey"]), rationale, record
        )

    @property
    def has_rationale(self) -> bool:
        """CoS-E explanations, where the records carry them."""
        return True

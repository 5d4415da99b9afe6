"""RACE (Lai et al., 2017): reading comprehension from English exams."""

from __future__ import annotations

from typing import Any, ClassVar

from calibprune.tasks.base import Example, HubSpec
from calibprune.tasks.lettered import LETTERS, LetteredChoiceTask


class RACE(LetteredChoiceTask):
    """RACE (``all``: middle and high school): article, question and four options, answered with a letter."""

    name: ClassVar[str] = "race"
    hub: ClassVar[HubSpec] = HubSpec("ehovy/race", "all")
    default_shots: ClassVar[int] = 3

    def example(self, record: dict[str, Any]) -> Example:
        """``answer`` is the letter of the right option."""
        question = f"Article: {record['article'].strip()}\nQuestion: {record['question'].strip()}"
        label = LETTERS.find(str(record["answer"]).strip())
        return self.lettered_example(question, list(record["options"]), label, None, record)

"""English-to-French translation tasks (WMT14, IWSLT2017)."""

from __future__ import annotations

from typing import Any, ClassVar

from calibprune.tasks.base import Example, HubSpec, Task, TaskKind


class WMT14(Task):
    """WMT14 fr-en, translated English to French; ``target`` is the French reference.

    The training split holds 40M pairs: it is streamed and only its first records are read.
    """

    name: ClassVar[str] = "wmt14"
    kind: ClassVar[TaskKind] = "translation"
    hub: ClassVar[HubSpec] = HubSpec("wmt/wmt14", "fr-en", streaming=True)

    def example(self, record: dict[str, Any]) -> Example:
        """Read the English source and French reference of ``translation`` (``{"en": ..., "fr": ...}``)."""
        pair = record["translation"]
        english, french = pair["en"].strip(), pair["fr"].strip()
        return Example(question=english, answer=french, target=french, fields=record)

    def question_text(self, example: Example) -> str:
        """Write ``English: ...`` and ``French:`` lines."""
        return f"English: {example.question}\nFrench:"


class IWSLT(WMT14):
    """IWSLT2017 en-fr (TED talks), translated English to French."""

    name: ClassVar[str] = "iwslt"
    hub: ClassVar[HubSpec] = HubSpec("IWSLT/iwslt2017", "iwslt2017-en-fr")

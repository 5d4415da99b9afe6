"""Pre-training corpora by name (C4, Pile, OSCAR, RedPajama, WikiText): local copy first, else the hub."""

from __future__ import annotations

from pathlib import Path

from calibprune.datamodules.sources.base import SourceContext, SourceOptions
from calibprune.datamodules.sources.documents import DocumentSource
from calibprune.errors import OptionError
from calibprune.tasks.base import HubSpec
from calibprune.tasks.records import fetch_records


def texts_of(records: list[dict], field: str, where: str) -> list[str]:
    """Return the ``field`` column of ``records`` (a missing value is an empty text).

    Raises:
        OptionError: ``text_field`` when the first record lacks the column; ``calibration`` when a record's value
            is not a string (a dict's or a number's Python repr is no calibration text).
    """
    if records and field not in records[0]:
        raise OptionError(
            "text_field",
            f"{field!r} is not a column of {where}; columns: {', '.join(records[0])}",
            "one of its columns",
        )
    texts = []
    for index, record in enumerate(records):
        value = record.get(field)
        if value is not None and not isinstance(value, str):
            raise OptionError(
                "calibration",
                f"{where} record {index}: {field!r} is {type(value).__name__}, not a string",
                f"a dataset whose {field!r} column holds text",
            )
        texts.append(value or "")
    return texts


class CorpusSource(DocumentSource):
    """A named text corpus: ``<data_dir>/<name>/train.jsonl`` when present, else the hub dataset.

    Args:
        name: source name, also the folder name under ``--data_dir``.
        hub: hub id, config, split and loading mode (big corpora are streamed: their first records only).
        options: the datamodule's source options.
        text_field: column holding the text.
        ordered: rows are consecutive pieces of one text (joined in order, see :class:`DocumentSource`).
        local_fallback: local split read when ``train.jsonl`` is absent (wikitext: the shared copy holds
            only ``test.jsonl``, which is evaluation data: calibrating on it is for offline tests only).
    """

    def __init__(
        self,
        name: str,
        hub: HubSpec,
        options: SourceOptions | None = None,
        text_field: str = "text",
        ordered: bool = False,
        local_fallback: str | None = None,
    ) -> None:
        super().__init__(options, ordered)
        self.name, self.hub, self.text_field, self.local_fallback = name, hub, text_field, local_fallback

    def documents(self, context: SourceContext) -> list[str]:
        """Read the corpus's training text (local copy first)."""
        split = "train"
        if context.data_dir is not None and self.local_fallback is not None:
            folder = Path(context.data_dir) / self.name
            if not (folder / "train.jsonl").is_file() and (folder / f"{self.local_fallback}.jsonl").is_file():
                split = self.local_fallback
        records = fetch_records(self.name, split, self.hub, self.hub.train_split, context.data_dir)
        return texts_of(records, self.text_field, self.name)

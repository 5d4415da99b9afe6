"""Any text as calibration data: a local file, or a Hugging Face dataset id with a chosen text column."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from calibprune.datamodules.sources.base import SourceContext, SourceOptions
from calibprune.datamodules.sources.corpus import texts_of
from calibprune.datamodules.sources.documents import DocumentSource
from calibprune.tasks.records import STREAMING_LIMIT, DataUnavailableError

# File suffix -> ``datasets`` builder reading it (``.txt`` files are read whole, as one document).
TEXT_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
TEXT_FILE_SUFFIXES = (*TEXT_FILE_BUILDERS, ".txt")


class FileSource(DocumentSource):
    """Documents of a local ``.jsonl``/``.json``/``.csv``/``.parquet`` file (column ``--text_field``) or ``.txt``.

    Args:
        path: the file.
        options: the datamodule's source options (``text_field``, ``data_seqlen``).
    """

    def __init__(self, path: str, options: SourceOptions | None = None) -> None:
        super().__init__(options)
        self.path = Path(path)
        if self.path.suffix not in TEXT_FILE_SUFFIXES:
            raise ValueError(f"--calibration: {path!r} is not one of {', '.join(TEXT_FILE_SUFFIXES)}")

    def documents(self, context: SourceContext) -> list[str]:
        """Read the file's documents."""
        if not self.path.is_file():
            raise FileNotFoundError(f"--calibration: text file {str(self.path)!r} does not exist")
        if not self.path.read_bytes().strip():
            raise ValueError(f"--calibration: local data file {str(self.path)!r} is empty")
        if self.path.suffix == ".txt":
            return [self.path.read_text(encoding="utf-8")]
        import datasets

        table = datasets.load_dataset(TEXT_FILE_BUILDERS[self.path.suffix], data_files=str(self.path), split="train")
        return texts_of(list(table), self.options.text_field, str(self.path))


class HubTextSource(DocumentSource):
    """Documents of any Hugging Face dataset, streamed (its first records only), column ``--text_field``.

    Args:
        dataset: ``<dataset_id>`` or ``<dataset_id>:<config>``, e.g. ``allenai/c4:en``.
        options: the datamodule's source options (``text_field``, ``split``, ``data_seqlen``).
    """

    def __init__(self, dataset: str, options: SourceOptions | None = None) -> None:
        super().__init__(options)
        self.path, _, config = dataset.partition(":")
        self.config = config or None
        if not self.path:
            raise ValueError("--calibration hf:<dataset_id>[:<config>] needs a dataset id")

    def documents(self, context: SourceContext) -> list[str]:
        """Stream the first records of the chosen split."""
        where = f"{self.path}" + (f":{self.config}" if self.config else "") + f" split {self.options.split!r}"
        try:
            import datasets

            stream = datasets.load_dataset(self.path, self.config, split=self.options.split, streaming=True)
            records = [dict(record) for record in islice(stream, STREAMING_LIMIT)]
        except Exception as err:  # offline, gated, unknown id: one message whatever the cause
            raise DataUnavailableError(
                f"--calibration hf:{where}: cannot read it from the Hugging Face Hub ({type(err).__name__}: {err}); "
                "go online, or save the text to a local .jsonl/.csv/.parquet/.txt file and pass its path"
            ) from err
        return texts_of(records, self.options.text_field, f"hf:{where}")

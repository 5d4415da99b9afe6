"""Any text as calibration data: a local file, or a Hugging Face dataset id with a chosen text column."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import torch

from calibprune.datamodules.samples import CalibrationSamples
from calibprune.datamodules.sources.base import SourceContext, SourceOptions
from calibprune.datamodules.sources.corpus import texts_of
from calibprune.datamodules.sources.documents import DocumentSource
from calibprune.datamodules.sources.text_reading import TEXT_FILE_SUFFIXES, read_texts
from calibprune.errors import OptionError
from calibprune.tasks.records import STREAMING_LIMIT, DataUnavailableError

# Tokens one document can add beyond one per byte of its UTF-8 text: a prefix-space token and the EOS joining it.
_TOKENS_PER_DOCUMENT = 2


class FileSource(DocumentSource):
    """Documents of a local ``.jsonl``/``.json``/``.csv``/``.parquet`` file (column ``--text_field``) or ``.txt``.

    The file is read and every record checked by :func:`read_texts` (the command line does so before the model
    loads); its documents are kept for :meth:`samples`.

    Args:
        path: the file.
        options: the datamodule's source options (``text_field``, ``data_seqlen``).
    """

    def __init__(self, path: str, options: SourceOptions | None = None) -> None:
        super().__init__(options)
        self.path = Path(path)
        if self.path.suffix not in TEXT_FILE_SUFFIXES:
            raise OptionError("calibration", f"{path!r} is not a text file", ", ".join(TEXT_FILE_SUFFIXES))
        self._texts: list[str] | None = None

    def documents(self, context: SourceContext | None = None) -> list[str]:
        """Read (once) and check the file's documents."""
        if self._texts is None:
            self._texts = read_texts(self.path, self.options.text_field)
        return self._texts

    def max_tokens(self) -> int:
        """An upper bound of the file's tokens, from its text alone.

        Byte-level BPE and SentencePiece (with byte fallback) give at most one token per byte of UTF-8 text;
        each document may add a prefix-space token and the EOS that joins it to the next.
        """
        texts = [text for text in self.documents() if text.strip()]
        return sum(len(text.encode("utf-8")) + _TOKENS_PER_DOCUMENT for text in texts)

    def check(self, nsamples: int, seqlen: int, vocab_size: int | None = None) -> None:
        """Fail when the file is malformed (see :func:`read_texts`) or cannot hold ``nsamples`` windows."""
        texts = self.documents()
        if not any(text.strip() for text in texts):
            raise OptionError("calibration", f"{self.path.name} holds no text (every record is blank)")
        length = self.options.data_seqlen or seqlen
        bound = self.max_tokens()
        if bound < length:
            raise OptionError(
                "data_seqlen" if self.options.data_seqlen else "seqlen",
                f"{length} tokens: {self.path.name} holds at most {bound} tokens (its bytes and documents)",
                f"at most {bound} tokens per sequence from it, or a larger file",
            )
        if not self.options.allow_overlap and nsamples * length > bound:
            raise OptionError(
                "nsamples",
                f"{nsamples} x seqlen {length} = {nsamples * length} tokens, more than {self.path.name} can hold "
                f"(at most {bound} tokens: its bytes and documents)",
                f"at most {bound // length} sequences of {length} tokens from it, a larger file, or allow_overlap",
            )

    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Check the file (:meth:`check`), then draw windows as every document source does."""
        self.check(nsamples, context.seqlen)
        return super().samples(context, nsamples, generator)


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

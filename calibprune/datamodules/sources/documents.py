"""Sources of plain text documents: random non-overlapping windows cut from the concatenated documents."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch

from calibprune.datamodules.samples import CalibrationSamples
from calibprune.datamodules.sources.base import CalibrationSource, SourceContext, SourceOptions
from calibprune.datamodules.sources.packing import IndexStream, cut_windows, pad_rows
from calibprune.tasks.encoding import encode_text, pad_id

# Text joining the rows of an ordered source (wikitext rows are lines; the evaluation protocol joins them so).
ORDERED_JOINER = "\n\n"


class DocumentSource(CalibrationSource):
    """Windows of ``seqlen`` tokens (``data_seqlen`` tokens then padding) cut from concatenated documents.

    Unlike the Wanda convention (a random document long enough for one window), documents are taken in a
    random order, tokenized and concatenated with EOS between them until the stream holds enough tokens,
    then non-overlapping windows are drawn without replacement (:func:`cut_windows`), so short documents
    count too and no text is used twice. Sources whose rows are consecutive pieces of one text
    (``ordered``) are joined in their own order with blank lines instead. Windows carry no BOS.

    Args:
        options: the datamodule's source options (``data_seqlen`` is used).
        ordered: keep the rows in order and join them with blank lines (e.g. wikitext lines).
    """

    def __init__(self, options: SourceOptions | None = None, ordered: bool = False) -> None:
        self.options = options or SourceOptions()
        self.ordered = ordered

    @abstractmethod
    def documents(self, context: SourceContext) -> list[str]:
        """Return the source's documents (texts), in their stored order."""

    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Draw ``nsamples`` windows, padded to ``seqlen`` when ``data_seqlen`` is shorter."""
        length = self.options.data_seqlen or context.seqlen
        if length > context.seqlen:
            raise ValueError(f"--data_seqlen {length} exceeds --seqlen {context.seqlen}")
        texts = self.documents(context)
        if not any(text.strip() for text in texts):
            raise ValueError(f"{type(self).__name__}: the source holds no text")
        stream = self._token_stream(context.tokenizer, texts, (nsamples + 1) * length, generator)
        rows = cut_windows(stream, nsamples, length, generator)
        return pad_rows(rows, context.seqlen, pad_id(context.tokenizer))

    def _token_stream(self, tokenizer: Any, texts: list[str], wanted: int, generator: torch.Generator) -> list[int]:
        if self.ordered:
            return encode_text(tokenizer, ORDERED_JOINER.join(texts))
        texts = [text for text in texts if text.strip()]
        eos = [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]
        order, stream = IndexStream(len(texts), generator), []
        for _ in range(len(texts)):
            stream += encode_text(tokenizer, texts[order.next()]) + eos
            if len(stream) >= wanted:
                break
        return stream

"""Sources of plain text documents: random non-overlapping windows cut from the concatenated documents."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch

from calibprune.datamodules.samples import CalibrationSamples
from calibprune.datamodules.sources.base import CalibrationSource, SourceContext, SourceOptions
from calibprune.datamodules.sources.packing import IndexStream, PoolTooSmallError, cut_windows, pad_rows
from calibprune.tasks.encoding import encode_text, pad_id

# Text joining the rows of an ordered source (wikitext rows are lines; the evaluation protocol joins them so).
ORDERED_JOINER = "\n\n"


class DocumentSource(CalibrationSource):
    """Windows of ``seqlen`` tokens (``data_seqlen`` tokens then padding) cut from concatenated documents.

    Unlike the Wanda convention (a random document long enough for one window), documents are taken in a
    random order, tokenized and concatenated with EOS between them until the stream holds enough tokens,
    then non-overlapping windows are drawn without replacement (:func:`cut_windows`), so short documents
    count too and no text is used twice. A pool with fewer than ``nsamples x seqlen`` tokens is an error
    naming the source and its size (``allow_overlap``: overlapping windows instead, with a warning). Every
    corpus follows this one rule, so two corpora calibrate on the same token budget
    (``nsamples x seqlen``) cut the same way (e.g. the small Pile sample against C4). Sources whose rows
    are consecutive pieces of one text (``ordered``) are joined in their own order with blank lines
    instead. Windows carry no BOS.

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
        try:
            rows = cut_windows(stream, nsamples, length, generator, self.options.allow_overlap)
        except PoolTooSmallError as err:
            raise PoolTooSmallError(
                f"--nsamples {nsamples} x --seqlen {length}: calibration source {self.label!r} is too small: {err}"
            ) from err
        return pad_rows(rows, context.seqlen, pad_id(context.tokenizer))

    @property
    def label(self) -> str:
        """The source's name in messages."""
        return str(getattr(self, "name", None) or getattr(self, "path", None) or type(self).__name__)

    def pool_tokens(self, context: SourceContext) -> int:
        """Tokens of the whole pool as windows are cut from it (documents joined with EOS, or in order)."""
        texts = self.documents(context)
        tokenizer = context.tokenizer
        if self.ordered:
            return len(encode_text(tokenizer, ORDERED_JOINER.join(texts)))
        eos = 0 if tokenizer.eos_token_id is None else 1
        return sum(len(encode_text(tokenizer, text)) + eos for text in texts if text.strip())

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

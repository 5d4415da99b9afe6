"""Nonsense calibration data of the study: ellipses and random alphanumeric strings."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import torch

from calibprune.datamodules.samples import CalibrationSamples
from calibprune.datamodules.sources.base import CalibrationSource, SourceContext, SourceOptions
from calibprune.datamodules.sources.packing import pad_rows
from calibprune.tasks.encoding import encode_text, pad_id

ALPHANUMERIC = string.ascii_letters + string.digits


def tokens_of_at_least(tokenizer: Any, length: int, text_of: Callable[[int], str]) -> list[int]:
    """Tokenize ``text_of(chars)`` with more and more characters until it holds ``length`` tokens; keep those."""
    chars = 2 * length
    while True:
        ids = encode_text(tokenizer, text_of(chars))
        if len(ids) >= length:
            return ids[:length]
        chars *= 2


class EllipsesSource(CalibrationSource):
    """Every sequence is ``....`` repeated, tokenized, filling the window (no BOS); no randomness involved.

    Args:
        options: the datamodule's source options (``data_seqlen``).
    """

    def __init__(self, options: SourceOptions | None = None) -> None:
        self.options = options or SourceOptions()

    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Return ``nsamples`` identical rows of dots."""
        length = self.options.data_seqlen or context.seqlen
        row = tokens_of_at_least(context.tokenizer, length, lambda chars: "." * chars)
        return pad_rows([row] * nsamples, context.seqlen, pad_id(context.tokenizer))


class RandomSource(CalibrationSource):
    """Random strings of letters and digits (drawn with the seeded generator), tokenized to fill the window.

    Args:
        options: the datamodule's source options (``data_seqlen``).
    """

    def __init__(self, options: SourceOptions | None = None) -> None:
        self.options = options or SourceOptions()

    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Return ``nsamples`` rows, each from its own random string."""
        length = self.options.data_seqlen or context.seqlen

        def random_text(chars: int) -> str:
            picks = torch.randint(0, len(ALPHANUMERIC), (chars,), generator=generator).tolist()
            return "".join(ALPHANUMERIC[i] for i in picks)

        rows = [tokens_of_at_least(context.tokenizer, length, random_text) for _ in range(nsamples)]
        return pad_rows(rows, context.seqlen, pad_id(context.tokenizer))

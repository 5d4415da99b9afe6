"""What every calibration source implements, and what it is given to build samples."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch

from calibprune.datamodules.samples import CalibrationSamples


@dataclass
class SourceContext:
    """Late-bound values a source needs, linked once by the datamodule.

    Attributes:
        tokenizer: the model's tokenizer (pad token set).
        seqlen: length of every calibration sequence.
        data_dir: local folder laid out as ``<source>/{train,test}.jsonl``, or ``None`` for the hub.
        model: the model itself, for sources that generate text with it.
    """

    tokenizer: Any
    seqlen: int
    data_dir: str | None = None
    model: Any = None


class CalibrationSource(ABC):
    """A source of calibration sequences; one small class per source, registered by name."""

    @abstractmethod
    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Return exactly ``nsamples`` sequences of ``context.seqlen`` tokens, drawn with ``generator``."""

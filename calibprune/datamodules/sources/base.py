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


FORMATS = ("zero-shot", "icl", "icl-cot")


@dataclass(frozen=True)
class SourceOptions:
    """How sources read and lay out their text (the datamodule's format options).

    Attributes:
        format: layout of task sources: ``zero-shot``, ``icl`` or ``icl-cot``.
        num_incontext: task sources put exactly this many question-answer pairs in a sequence, then padding.
        num_cot_steps: ``icl-cot`` keeps only examples whose rationale has this many steps.
        data_seqlen: meaningful tokens per sequence, the rest padding (``None``: the whole sequence).
        per_example_bos: task sources start every pair with BOS and join pairs without a separator, as the
            seed repo did, instead of one BOS and blank lines between pairs.
        text_field: column holding the text of local files and ``hf:`` datasets.
        split: split read from ``hf:`` datasets.
        allow_overlap: text sources whose pool holds fewer than ``nsamples x seqlen`` tokens cut overlapping
            windows (text reused) instead of failing.
    """

    format: str = "icl"
    num_incontext: int | None = None
    num_cot_steps: int | None = None
    data_seqlen: int | None = None
    per_example_bos: bool = False
    text_field: str = "text"
    split: str = "train"
    allow_overlap: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        for flag, value in (
            ("--num_incontext", self.num_incontext),
            ("--num_cot_steps", self.num_cot_steps),
            ("--data_seqlen", self.data_seqlen),
        ):
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ValueError(f"{flag} must be a positive integer, got {value!r}")
        if self.num_cot_steps is not None and self.format != "icl-cot":
            raise ValueError(f"--num_cot_steps needs --format icl-cot, got --format {self.format}")
        if self.format == "zero-shot" and (self.num_incontext is not None or self.data_seqlen is not None):
            raise ValueError("--format zero-shot holds one question: drop --num_incontext/--data_seqlen")
        if self.num_incontext is not None and self.data_seqlen is not None:
            raise ValueError("--num_incontext and --data_seqlen both set the meaningful length: give one")

    @property
    def is_default_layout(self) -> bool:
        """Whether the task-only options (format, pairs, steps, per-example BOS) are at their defaults."""
        return (self.format, self.num_incontext, self.num_cot_steps, self.per_example_bos) == ("icl", None, None, False)


class CalibrationSource(ABC):
    """A source of calibration sequences; one small class per source, registered by name."""

    def check(self, nsamples: int, seqlen: int, vocab_size: int | None = None) -> None:  # noqa: B027 - a no-op hook
        """Fail now on what the source's files alone show it cannot give (no model, no tokenizer needed).

        Called by the command line before any model is loaded and by :meth:`samples` itself, so that no path
        skips it. Sources without files (or whose data needs the tokenizer to be judged) accept everything here.

        Args:
            nsamples: sequences this source must give.
            seqlen: tokens per sequence.
            vocab_size: the model's vocabulary (``None``: unknown yet).

        Raises:
            OptionError: naming the parameter that cannot work (``calibration``, ``nsamples``, ``seqlen``).
        """

    @abstractmethod
    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Return exactly ``nsamples`` sequences of ``context.seqlen`` tokens, drawn with ``generator``."""

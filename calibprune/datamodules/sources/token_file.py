"""Exact calibration tokens from a file (``torch.save``d LongTensor or dict)."""

from __future__ import annotations

import torch

from calibprune.datamodules.samples import CalibrationSamples
from calibprune.datamodules.sources.base import CalibrationSource, SourceContext


class TokenFileSource(CalibrationSource):
    """Calibrate on exactly the tokens stored in a file, in file order.

    Args:
        path: a ``torch.save``d LongTensor ``[n, seqlen]`` or a dict with ``input_ids`` and ``attention_mask``
            (as written by ``--export_calibration``).
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Return the first ``nsamples`` rows of the file; a file with fewer rows or another length is an error."""
        data = CalibrationSamples.load(self.path)
        if len(data) < nsamples:
            raise ValueError(f"--nsamples {nsamples}: token file {self.path!r} holds only {len(data)} sequences")
        if data.seqlen != context.seqlen:
            raise ValueError(f"--seqlen {context.seqlen}: token file {self.path!r} holds sequences of {data.seqlen}")
        return CalibrationSamples(data.input_ids[:nsamples], data.attention_mask[:nsamples])

"""Token-level helpers shared by the sources: right padding, draws without replacement, window cutting."""

from __future__ import annotations

import logging

import torch

from calibprune.datamodules.samples import CalibrationSamples

log = logging.getLogger(__name__)


def pad_rows(rows: list[list[int]], seqlen: int, pad_id: int) -> CalibrationSamples:
    """Right-pad every row to ``seqlen`` tokens; the mask is 1 on the row's tokens and 0 on the padding."""
    ids = torch.full((len(rows), seqlen), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), seqlen), dtype=torch.long)
    for i, row in enumerate(rows):
        if not 0 < len(row) <= seqlen:
            raise ValueError(f"a calibration row holds {len(row)} tokens, not 1..{seqlen}")
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return CalibrationSamples(ids, mask)


class IndexStream:
    """Indices of a pool in random order, without replacement until the pool is used up, then a new round.

    Args:
        size: number of items in the pool.
        generator: the seeded generator every draw comes from.
    """

    def __init__(self, size: int, generator: torch.Generator) -> None:
        if size <= 0:
            raise ValueError("cannot draw from an empty pool")
        self.size, self.generator = size, generator
        self.order: list[int] = []

    def next(self) -> int:
        """Return the next index."""
        if not self.order:
            self.order = torch.randperm(self.size, generator=self.generator).tolist()[::-1]
        return self.order.pop()


def cut_windows(stream: list[int], count: int, length: int, generator: torch.Generator) -> list[list[int]]:
    """Cut ``count`` windows of ``length`` tokens from a token stream, non-overlapping where it is long enough.

    The stream is split into consecutive windows after a random offset, and ``count`` of them are drawn
    without replacement. A stream too short for that gives windows at random (overlapping) starts instead.
    """
    if len(stream) < length:
        raise ValueError(f"the text holds {len(stream)} tokens, fewer than one window of {length}")
    slack = len(stream) - count * length
    if slack >= 0:
        offset = int(torch.randint(0, min(slack, length - 1) + 1, (1,), generator=generator))
        windows = (len(stream) - offset) // length
        starts = [offset + length * int(i) for i in torch.randperm(windows, generator=generator)[:count]]
    else:
        log.warning("only %d tokens for %d windows of %d: windows overlap", len(stream), count, length)
        starts = torch.randint(0, len(stream) - length + 1, (count,), generator=generator).tolist()
    return [stream[start : start + length] for start in starts]

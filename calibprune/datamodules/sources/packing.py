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

    ``rounds`` counts the passes started over the pool (above 1: items were drawn again).

    Args:
        size: number of items in the pool.
        generator: the seeded generator every draw comes from.
    """

    def __init__(self, size: int, generator: torch.Generator) -> None:
        if size <= 0:
            raise ValueError("cannot draw from an empty pool")
        self.size, self.generator = size, generator
        self.order: list[int] = []
        self.rounds = 0

    def next(self) -> int:
        """Return the next index."""
        if not self.order:
            self.rounds += 1
            self.order = torch.randperm(self.size, generator=self.generator).tolist()[::-1]
        return self.order.pop()


class PoolTooSmallError(ValueError):
    """The text holds fewer than ``nsamples x seqlen`` tokens and overlapping windows were not allowed."""


def cut_windows(
    stream: list[int], count: int, length: int, generator: torch.Generator, allow_overlap: bool = False
) -> list[list[int]]:
    """Cut ``count`` windows of ``length`` tokens from a token stream, never overlapping unless allowed.

    The stream is split into consecutive windows after a random offset, and ``count`` of them are drawn
    without replacement. A stream shorter than ``count * length`` is an error (:class:`PoolTooSmallError`),
    or, with ``allow_overlap``, gives windows at random (overlapping) starts, with a warning.
    """
    if len(stream) < length:
        raise PoolTooSmallError(f"the text holds {len(stream)} tokens, fewer than one window of {length}")
    slack = len(stream) - count * length
    if slack < 0 and not allow_overlap:
        raise PoolTooSmallError(
            f"the text holds {len(stream)} tokens, fewer than {count} x {length} = {count * length} for "
            "non-overlapping windows; lower --nsamples/--seqlen, or pass --data.allow_overlap true to reuse text"
        )
    if slack >= 0:
        offset = int(torch.randint(0, min(slack, length - 1) + 1, (1,), generator=generator))
        windows = (len(stream) - offset) // length
        starts = [offset + length * int(i) for i in torch.randperm(windows, generator=generator)[:count]]
    else:
        log.warning("only %d tokens for %d windows of %d: windows overlap", len(stream), count, length)
        starts = torch.randint(0, len(stream) - length + 1, (count,), generator=generator).tolist()
    return [stream[start : start + length] for start in starts]

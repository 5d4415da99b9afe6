"""Lexical diversity of a candidate's tokens (after ZipCal, Monaco et al., 2026: diverse, Zipf-spread vocabulary)."""

from __future__ import annotations

import math
from collections import Counter

import torch


def real_tokens(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> list[int]:
    """The real (non-padding) token ids of every sequence, concatenated in order."""
    return input_ids[attention_mask.bool()].tolist()


def moving_type_token_ratio(tokens: list[int], window: int = 256) -> float:
    """Moving-average type-token ratio (Covington & McFall, 2010): mean distinct/total over sliding windows.

    A plain type-token ratio falls with length; the moving average does not, so sets of different real lengths
    compare. Fewer tokens than ``window``: the plain ratio.

    Args:
        tokens: token ids in order.
        window: tokens per window.
    """
    if not tokens:
        return 0.0
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    counts = Counter(tokens[:window])
    total = len(counts)
    for i in range(window, len(tokens)):
        counts[tokens[i]] += 1
        old = tokens[i - window]
        counts[old] -= 1
        if counts[old] == 0:
            del counts[old]
        total += len(counts)
    return total / (len(tokens) - window + 1) / window


def zipf_exponent(tokens: list[int]) -> float:
    """The Zipf exponent ``s`` of ``frequency ~ rank^-s``: least-squares slope of log frequency on log rank.

    Returns ``nan`` with fewer than two distinct tokens.
    """
    frequencies = sorted(Counter(tokens).values(), reverse=True)
    if len(frequencies) < 2:
        return math.nan
    x = torch.log(torch.arange(1, len(frequencies) + 1, dtype=torch.float64))
    y = torch.log(torch.tensor(frequencies, dtype=torch.float64))
    x_c, y_c = x - x.mean(), y - y.mean()
    return float(-(x_c * y_c).sum() / (x_c * x_c).sum())

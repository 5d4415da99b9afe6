"""Perplexity protocol of Wanda/SparseGPT: non-overlapping windows of ``seqlen`` tokens, tail dropped."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from calibprune.evaluation.forward import causal_lm_forward


def split_windows(token_ids: torch.Tensor, seqlen: int, max_windows: int | None = None) -> torch.Tensor:
    """Cut a 1-D token stream into ``[n, seqlen]`` non-overlapping windows, dropping the incomplete tail.

    Args:
        token_ids: the tokenised corpus.
        seqlen: tokens per window.
        max_windows: keep only the first windows (C4's protocol keeps 256).
    """
    token_ids = token_ids.flatten()
    count = token_ids.numel() // seqlen
    if count == 0:
        raise ValueError(f"--seqlen {seqlen} exceeds the {token_ids.numel()} tokens of the evaluation text")
    if max_windows is not None:
        count = min(count, max_windows)
    return token_ids[: count * seqlen].view(count, seqlen)


@torch.no_grad()
def window_nll(model: torch.nn.Module, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed next-token negative log-likelihood (fp32) of every window, and its number of predicted tokens.

    Every token but the first of a window is predicted from the tokens before it in the same window, as
    in the Wanda/SparseGPT evaluation (``seqlen - 1`` predictions per window).
    """
    attention_mask = torch.ones_like(windows)
    positions = torch.arange(windows.shape[1], device=windows.device).expand_as(windows)
    logits, _ = causal_lm_forward(model, windows, attention_mask, positions)
    # One window at a time: an fp32 copy of [batch, seqlen, vocab] logits would dwarf the model's activations.
    nll = torch.stack(
        [
            F.cross_entropy(row[:-1].float(), targets[1:], reduction="sum")
            for row, targets in zip(logits, windows, strict=True)
        ]
    )
    return nll, torch.full_like(nll, windows.shape[1] - 1)

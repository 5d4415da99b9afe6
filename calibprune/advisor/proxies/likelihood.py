"""How close a candidate is to the model's own distribution: Min-K% token log-probability (after Ji et al., ICLR 2025).

Ji et al. find that calibration text resembling the model's training data (e.g. text it generates itself)
prunes better; Min-K% Prob (Shi et al., ICLR 2024) measures that resemblance from the model's token
log-probabilities: the mean of the lowest ``k`` percent.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def token_log_probs(logits: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of every real next token (fp32), concatenated over the batch.

    A token counts when it and the token before it are real (a prediction from padding is not the model's).
    """
    logp = F.log_softmax(logits[:, :-1].float(), dim=-1)
    picked = logp.gather(-1, input_ids[:, 1:, None]).squeeze(-1)
    keep = attention_mask[:, 1:].bool() & attention_mask[:, :-1].bool()
    return picked[keep]


def min_k_percent(log_probs: torch.Tensor, k: float = 0.2) -> float:
    """Mean of the lowest ``k`` fraction of token log-probabilities (at least one token).

    Args:
        log_probs: token log-probabilities.
        k: fraction in (0, 1].
    """
    if not 0 < k <= 1:
        raise ValueError(f"--min_k must be in (0, 1], got {k}")
    if log_probs.numel() == 0:
        return -math.inf
    count = max(1, int(k * log_probs.numel()))
    return float(torch.topk(log_probs.double(), count, largest=False).values.mean())

"""Batched log-likelihood of continuations given a context, tokenised as lm-evaluation-harness does."""

from __future__ import annotations

from typing import Any

import torch

from calibprune.evaluation.forward import causal_lm_forward, left_pad, position_ids


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of a context and of its continuation, as lm-evaluation-harness splits them.

    Trailing whitespace of the context moves to the continuation; the continuation's tokens are those of
    ``context + continuation`` after the context's own tokens, so a token merged across the boundary
    belongs to the continuation. No special tokens are added (the caller prepends the prompt prefix).
    """
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    context_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    return list(context_ids), list(whole[len(context_ids) :])


def model_input(context: list[int], continuation: list[int], max_length: int | None = None) -> list[int]:
    """The tokens fed to the model: context and continuation without the last token, left-truncated to fit."""
    tokens = (context + continuation)[:-1]
    return tokens if max_length is None else tokens[-max_length:]


@torch.no_grad()
def continuation_logprobs(
    model: torch.nn.Module,
    pairs: list[tuple[list[int], list[int]]],
    pad_id: int,
    max_length: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Score every (context, continuation) pair of a batch in one forward pass.

    The batch is left-padded so that all continuations end at the last position; only the logits of the
    last ``max(len(continuation))`` positions are computed.

    Args:
        model: a causal LM.
        pairs: token ids of (context, continuation); the context holds any BOS and must not be empty.
        pad_id: id written at padded positions (never attended to, never scored).
        max_length: the model's context length; longer inputs lose their first tokens.

    Returns:
        The sum of the continuation tokens' log-probabilities (fp32) and whether every continuation token is
        the model's greedy choice, one value per pair.
    """
    lengths = [len(continuation) for _, continuation in pairs]
    if max_length is not None and max(lengths) > max_length:
        raise ValueError(f"a continuation of {max(lengths)} tokens exceeds the model's context of {max_length}")
    device = next(model.parameters()).device
    input_ids, attention_mask = left_pad([model_input(c, x, max_length) for c, x in pairs], pad_id, device)
    keep = max(max(lengths), 1)
    logits, _ = causal_lm_forward(model, input_ids, attention_mask, position_ids(attention_mask), keep)
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    targets = torch.zeros((len(pairs), keep), dtype=torch.long, device=device)
    scored = torch.zeros((len(pairs), keep), dtype=torch.bool, device=device)
    for row, (_, continuation) in enumerate(pairs):
        if continuation:
            targets[row, keep - len(continuation) :] = torch.tensor(continuation, device=device)
            scored[row, keep - len(continuation) :] = True
    token_logprobs = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    sums = torch.where(scored, token_logprobs, torch.zeros_like(token_logprobs)).sum(-1)
    greedy = ((logprobs.argmax(-1) == targets) | ~scored).all(-1)
    return sums, greedy

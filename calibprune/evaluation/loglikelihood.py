"""Batched log-likelihood of the choices of multiple-choice items, tokenised as lm-evaluation-harness does."""

from __future__ import annotations

from typing import Any

import torch

from calibprune.evaluation.forward import causal_lm_forward, prefill


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of a context and of its continuation, as lm-evaluation-harness splits them.

    Trailing whitespace of the context moves to the continuation; the continuation's tokens are those of
    ``context + continuation`` after the context's own tokens, so a token merged across the boundary
    belongs to the continuation. No special tokens are added (the caller prepends the BOS).
    """
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    context_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    return list(context_ids), list(whole[len(context_ids) :])


def _right_pad(sequences: list[list[int]], width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.zeros((len(sequences), width), dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


@torch.no_grad()
def choice_logprobs(
    model: torch.nn.Module,
    items: list[tuple[list[int], list[list[int]]]],
    pad_id: int,
    max_length: int | None = None,
    share_prefix: bool = True,
) -> list[torch.Tensor]:
    """Sum of the log-probabilities of every continuation of every item, given the item's context.

    Each context runs once (left-padded batch, key/value cache kept); the cache rows are then repeated
    for the item's continuations, which run together right-padded after it. The result equals scoring
    ``(context + continuation)[:-1]`` row by row, as lm-evaluation-harness does, at the cost of one
    context per item instead of one per choice.

    Args:
        model: a causal LM.
        items: per item, the context's token ids (BOS included, not empty) and each continuation's token ids.
        pad_id: id written at padded positions (never attended to, never scored).
        max_length: the model's context length; longer inputs lose their first context tokens.
        share_prefix: run the tokens that every context of the batch starts with once (see
            :func:`~calibprune.evaluation.forward.prefill`).

    Returns:
        One fp32 tensor per item with one summed log-probability per continuation.
    """
    device = next(model.parameters()).device
    longest = [max(len(c) for c in continuations) for _, continuations in items]
    if max_length is not None and max(longest) > max_length:
        raise ValueError(f"a continuation of {max(longest)} tokens exceeds the model's context of {max_length}")
    contexts = [
        ctx if max_length is None else ctx[-(max_length - n + 1) :] for (ctx, _), n in zip(items, longest, strict=True)
    ]
    last_logits, cache, attention_mask, positions = prefill(model, contexts, pad_id, share_prefix)
    owner = torch.tensor([i for i, (_, conts) in enumerate(items) for _ in conts], device=device)
    continuations = [c for _, conts in items for c in conts]
    # The last context position predicts each continuation's first token.
    first_tokens, has_first = _right_pad([c[:1] for c in continuations], 1, device)
    first = torch.log_softmax(last_logits[owner, -1].float(), dim=-1).gather(-1, first_tokens)
    scores = (first * has_first).sum(-1)
    width = max(len(c) for c in continuations) - 1
    if width > 0:  # the continuations' own tokens predict their next ones
        cache.batch_select_indices(owner)
        inputs, input_mask = _right_pad([c[:-1] for c in continuations], width, device)
        targets, scored = _right_pad([c[1:] for c in continuations], width, device)
        steps = positions[owner, -1:] + 1 + torch.arange(width, device=device)
        mask = torch.cat([attention_mask[owner], input_mask], dim=-1)
        logits, _ = causal_lm_forward(model, inputs, mask, steps, use_cache=True, cache=cache)
        token_logprobs = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        scores = scores + (token_logprobs * scored).sum(-1)
    return list(scores.split([len(conts) for _, conts in items]))

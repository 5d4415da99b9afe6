"""Left-padded batches and one causal-LM forward pass that works across transformers versions."""

from __future__ import annotations

import inspect
from typing import Any

import torch


def left_pad(sequences: list[list[int]], pad_id: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
    """Left-pad token lists into ``input_ids`` and ``attention_mask`` of shape ``[batch, longest]``.

    Left padding makes every row end at the last position, so continuations and generated tokens of all
    rows line up at the right edge of the batch.
    """
    width = max(len(seq) for seq in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        if seq:
            input_ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
            attention_mask[row, width - len(seq) :] = 1
    return input_ids.to(device), attention_mask.to(device)


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that count real tokens only, so a left-padded row sees the positions of an unpadded one."""
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)


def _parameters(model: torch.nn.Module) -> set[str]:
    return set(inspect.signature(model.forward).parameters)


def cache_argument(model: torch.nn.Module) -> str:
    """Name of the key/value cache argument and output: ``cache`` (transformers ≥ 5.x) or ``past_key_values``."""
    return "cache" if "cache" in _parameters(model) else "past_key_values"


def causal_lm_forward(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    positions: torch.Tensor,
    logits_to_keep: int = 0,
    use_cache: bool = False,
    cache: Any = None,
) -> tuple[torch.Tensor, Any]:
    """Run the model and return the logits of the last ``logits_to_keep`` positions (all when 0) and the cache.

    Keeping only the last positions avoids materialising ``[batch, length, vocab]`` logits when only the
    continuation or the next token is scored. With ``use_cache`` the model builds (or extends ``cache``) the
    key/value cache of generation.
    """
    name = cache_argument(model)
    kwargs: dict[str, Any] = {"use_cache": use_cache}
    if cache is not None:
        kwargs[name] = cache
    supports_keep = "logits_to_keep" in _parameters(model)
    if supports_keep and logits_to_keep:
        kwargs["logits_to_keep"] = logits_to_keep
    out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=positions, **kwargs)
    logits = out.logits if supports_keep or not logits_to_keep else out.logits[:, -logits_to_keep:]
    return logits, out.get(name)


# Fewest tokens worth a shared-prefix pass (below it, every row just runs its whole prompt).
MIN_SHARED_PREFIX = 8


def common_prefix_length(sequences: list[list[int]]) -> int:
    """Length of the longest token prefix that every sequence starts with."""
    shortest = min(len(seq) for seq in sequences)
    first = sequences[0]
    for position in range(shortest):
        token = first[position]
        if any(seq[position] != token for seq in sequences[1:]):
            return position
    return shortest


def prefill(
    model: torch.nn.Module, prompts: list[list[int]], pad_id: int, share_prefix: bool = True
) -> tuple[torch.Tensor, Any, torch.Tensor, torch.Tensor]:
    """Run a batch of prompts once, keeping the key/value cache: the last position's logits and what follows needs.

    Rows are left-padded so that every prompt ends at the right edge. With ``share_prefix``, the tokens that
    every prompt starts with (few-shot exemplars shared by all items) run once, in a batch of one, and their
    cache is repeated for every row; the rest of each prompt follows, left-padded after the shared part. The
    logits equal those of the unshared pass within float tolerance (positions and masks are the same).

    Returns:
        ``(logits [batch, 1, vocab], cache, attention_mask [batch, width], positions [batch, width])`` where
        ``width`` covers every cached position (shared prefix, padding, own tokens).
    """
    device = next(model.parameters()).device
    shared = common_prefix_length(prompts) if share_prefix and len(prompts) > 1 else 0
    shared = min(shared, min(len(prompt) for prompt in prompts) - 1)  # every row keeps a token of its own
    if shared < MIN_SHARED_PREFIX:
        input_ids, attention_mask = left_pad(prompts, pad_id, device)
        positions = position_ids(attention_mask)
        logits, cache = causal_lm_forward(model, input_ids, attention_mask, positions, 1, use_cache=True)
        return logits, cache, attention_mask, positions
    rows = len(prompts)
    prefix = torch.tensor([prompts[0][:shared]], dtype=torch.long, device=device)
    prefix_positions = torch.arange(shared, device=device)[None]
    _, cache = causal_lm_forward(model, prefix, torch.ones_like(prefix), prefix_positions, 1, use_cache=True)
    cache.batch_select_indices(torch.zeros(rows, dtype=torch.long, device=device))
    suffix_ids, suffix_mask = left_pad([prompt[shared:] for prompt in prompts], pad_id, device)
    attention_mask = torch.cat([suffix_mask.new_ones((rows, shared)), suffix_mask], dim=-1)
    suffix_positions = shared + position_ids(suffix_mask)
    logits, cache = causal_lm_forward(
        model, suffix_ids, attention_mask, suffix_positions, 1, use_cache=True, cache=cache
    )
    positions = torch.cat([prefix_positions.expand(rows, shared), suffix_positions], dim=-1)
    return logits, cache, attention_mask, positions

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

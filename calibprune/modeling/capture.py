"""Capture what a model feeds its first decoder block, and replay decoder blocks on those inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

# Keyword arguments that only matter for generation with a KV cache.
_DROPPED_KWARGS = ("past_key_value", "past_key_values", "cache", "layer_past", "use_cache", "output_attentions")


@dataclass
class BlockInputs:
    """One calibration batch as a decoder block sees it.

    Attributes:
        hidden: hidden states entering the block, ``[batch, seq, hidden]``.
        kwargs: the keyword arguments the model itself computed for its blocks (attention mask,
            position ids, rotary position embeddings...), reused unchanged for every block.
        token_mask: 1 for real tokens, 0 for padding, ``[batch, seq]``.
    """

    hidden: torch.Tensor
    kwargs: dict[str, Any] = field(default_factory=dict)
    token_mask: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> BlockInputs:
        """Move every tensor (also inside tuples of kwargs) to ``device``."""
        return BlockInputs(self.hidden.to(device), _to(self.kwargs, device), _to(self.token_mask, device))


def _to(value: Any, device: torch.device | str) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(_to(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    return value


class _Captured(Exception):
    """Raised by the capture hook to stop the forward pass after the first block's inputs are known."""


@torch.no_grad()
def capture_block_inputs(
    model: nn.Module, first_block: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> BlockInputs:
    """Run ``model`` up to ``first_block`` and return the block's inputs and the model-computed kwargs."""
    captured: dict[str, Any] = {}

    def hook(_module: nn.Module, args: tuple, kwargs: dict) -> None:
        captured["hidden"] = args[0] if args else kwargs.pop("hidden_states")
        captured["kwargs"] = {k: v for k, v in kwargs.items() if k not in _DROPPED_KWARGS and k != "hidden_states"}
        raise _Captured

    handle = first_block.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
    except _Captured:
        pass
    finally:
        handle.remove()
    if "hidden" not in captured:
        raise RuntimeError("the model's forward never reached its first decoder block")
    return BlockInputs(captured["hidden"], captured["kwargs"], attention_mask)


def run_block(block: nn.Module, inputs: BlockInputs) -> torch.Tensor:
    """Run one decoder block on captured inputs and return its output hidden states."""
    out = block(inputs.hidden, **inputs.kwargs)
    return out[0] if isinstance(out, (tuple, list)) else out

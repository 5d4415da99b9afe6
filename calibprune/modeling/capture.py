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
        padded: whether any position of ``token_mask`` is padding, known on the host from the batch before it
            reached the device (``True`` when unknown); statistics read the mask only when it is set.
    """

    hidden: torch.Tensor
    kwargs: dict[str, Any] = field(default_factory=dict)
    token_mask: torch.Tensor | None = None
    padded: bool = True

    @property
    def statistics_mask(self) -> torch.Tensor | None:
        """The mask statistics must apply: ``None`` when no position is padding (every row counts as it is)."""
        return self.token_mask if self.padded else None

    def to(self, device: torch.device | str) -> BlockInputs:
        """Move every tensor (also inside tuples of kwargs) to ``device``."""
        return BlockInputs(self.hidden.to(device), _to(self.kwargs, device), _to(self.token_mask, device), self.padded)


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
    model: nn.Module,
    first_block: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    padded: bool = True,
) -> BlockInputs:
    """Run ``model`` up to ``first_block`` and return the block's inputs and the model-computed kwargs.

    ``padded`` says whether ``attention_mask`` holds any padding, as known on the host (``True`` when unknown).
    """
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
    return BlockInputs(captured["hidden"], captured["kwargs"], attention_mask, padded)


def run_block(block: nn.Module, inputs: BlockInputs) -> torch.Tensor:
    """Run one decoder block on captured inputs and return its output hidden states."""
    out = block(inputs.hidden, **inputs.kwargs)
    return out[0] if isinstance(out, (tuple, list)) else out


class _InputsSeen(Exception):
    """Raised at the input of a block's last Linear layer: the rest of the block is not needed."""


def run_block_until(block: nn.Module, inputs: BlockInputs, last_layer: nn.Module) -> None:
    """Run a decoder block only as far as the input of ``last_layer`` (its forward pre-hooks run, it does not).

    A statistics pass needs every Linear layer's input but not the block's output: stopping before the last
    Linear (the MLP's down projection) saves its matrix product and everything after it.
    """

    def stop(_module: nn.Module, _args: tuple) -> None:
        raise _InputsSeen

    handle = last_layer.register_forward_pre_hook(stop)  # after the statistics hooks, so they run first
    try:
        run_block(block, inputs)
    except _InputsSeen:
        return
    finally:
        handle.remove()
    raise RuntimeError("the decoder block never called its last Linear layer")


def linear_call_order(
    block: nn.Module, inputs: BlockInputs, layers: dict[str, nn.Module]
) -> tuple[list[str], torch.Tensor]:
    """Run a decoder block and return the names of its Linear layers in the order it calls them, and its output."""
    order: list[str] = []
    handles = [
        layer.register_forward_pre_hook(lambda _m, _a, name=name: order.append(name)) for name, layer in layers.items()
    ]
    try:
        out = run_block(block, inputs)
    finally:
        for handle in handles:
            handle.remove()
    return order, out

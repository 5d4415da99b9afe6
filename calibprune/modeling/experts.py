"""Fused MoE experts (transformers 5.x): each expert's projection inputs, from the tokens routed to it.

An experts module holds one 3-D parameter per projection (``gate_up_proj`` or ``up_proj``, then ``down_proj``;
``[experts, out, in]``, or ``[experts, in, out]`` when ``is_transposed``) and is called as
``experts(hidden_states [tokens, hidden], top_k_index [tokens, k], top_k_weights)``. One forward pre-hook reads
the hidden states and the routing, and replays, expert by expert, what the module multiplies: the routed real
tokens for the first projection, and ``act(gate) * up`` of them for ``down_proj`` (before the routing weight,
which scales the output).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

FIRST_PROJECTIONS = ("gate_up_proj", "up_proj")


def _fused(module: nn.Module, name: str) -> nn.Parameter | None:
    parameter = getattr(module, name, None)
    return parameter if isinstance(parameter, nn.Parameter) and parameter.dim() == 3 else None


def is_fused_experts(module: nn.Module) -> bool:
    """Whether ``module`` is a fused experts module (3-D ``gate_up_proj``/``up_proj`` and ``down_proj``)."""
    first = any(_fused(module, name) is not None for name in FIRST_PROJECTIONS)
    return first and _fused(module, "down_proj") is not None


def expert_projections(module: nn.Module) -> dict[str, nn.Parameter]:
    """The fused projection parameters of an experts module, in forward order."""
    names = [n for n in FIRST_PROJECTIONS if _fused(module, n) is not None][:1] + ["down_proj"]
    return {name: _fused(module, name) for name in names}


def expert_biases(module: nn.Module) -> list[nn.Parameter]:
    """The per-expert bias parameters (``<projection>_bias``, ``[experts, out]``), never pruned."""
    found = (getattr(module, f"{name}_bias", None) for name in (*FIRST_PROJECTIONS, "down_proj"))
    return [p for p in found if isinstance(p, nn.Parameter)]


def _project(module: nn.Module, name: str, expert: int, rows: torch.Tensor) -> torch.Tensor:
    weight = getattr(module, name)[expert]
    out = rows @ weight if getattr(module, "is_transposed", False) else F.linear(rows, weight)
    bias = getattr(module, f"{name}_bias", None)
    return out if bias is None else out + bias[expert]


def routed_rows(top_k_index: torch.Tensor, expert: int, token_mask: torch.Tensor | None) -> torch.Tensor:
    """Boolean ``[tokens]``: the real tokens routed to ``expert`` (``top_k_index`` is ``[tokens, k]``)."""
    rows = (top_k_index.reshape(top_k_index.shape[0], -1) == expert).any(dim=-1)
    if token_mask is not None:
        rows &= token_mask.reshape(-1).to(device=rows.device, dtype=torch.bool)
    return rows


def expert_inputs(
    module: nn.Module, hidden: torch.Tensor, top_k_index: torch.Tensor, expert: int, token_mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``expert`` multiplies: its first projection's input rows and its ``down_proj`` input rows."""
    first = next(iter(expert_projections(module)))
    rows = hidden.reshape(-1, hidden.shape[-1])[routed_rows(top_k_index, expert, token_mask)]
    projected = _project(module, first, expert, rows)
    if first == "gate_up_proj":
        apply_gate = getattr(module, "_apply_gate", None)
        if apply_gate is not None:
            middle = apply_gate(projected)
        else:
            gate, up = projected.chunk(2, dim=-1)
            middle = module.act_fn(gate) * up
    else:
        middle = module.act_fn(projected)
    return rows, middle


class ExpertInputs:
    """The input hooks of one experts module's matrices, served by a single forward pre-hook.

    Args:
        module: the fused experts module.
    """

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self._entries: list[tuple[Any, Callable, Callable]] = []
        self._handle: torch.utils.hooks.RemovableHandle | None = None

    def register(self, prunable: Any, hook: Callable, token_mask: Callable[[], torch.Tensor | None]) -> _Handle:
        """Call ``hook(rows, None)`` with ``prunable``'s routed input rows on every forward of the module."""
        entry = (prunable, hook, token_mask)
        self._entries.append(entry)
        if self._handle is None:
            self._handle = self.module.register_forward_pre_hook(self._run, with_kwargs=True)
        return _Handle(self, entry)

    def _remove(self, entry: tuple) -> None:
        if entry in self._entries:
            self._entries.remove(entry)
        if not self._entries and self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _run(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        hidden = args[0] if args else kwargs["hidden_states"]
        top_k_index = args[1] if len(args) > 1 else kwargs["top_k_index"]
        mask = self._entries[0][2]()
        by_expert: dict[int, list[tuple]] = {}
        for entry in self._entries:
            by_expert.setdefault(entry[0].expert, []).append(entry)
        down = module.down_proj
        with torch.no_grad():
            for expert, entries in by_expert.items():
                rows, middle = expert_inputs(module, hidden, top_k_index, expert, mask)
                for prunable, hook, _ in entries:  # an expert no token reached gets empty rows: counted as 0 tokens
                    hook(middle if prunable.parameter is down else rows, None)


class _Handle:
    """Removes one entry of an :class:`ExpertInputs` (and its pre-hook with the last entry)."""

    def __init__(self, owner: ExpertInputs, entry: tuple) -> None:
        self.owner, self.entry = owner, entry

    def remove(self) -> None:
        self.owner._remove(self.entry)

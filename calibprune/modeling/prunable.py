"""The weight matrices of a decoder block that can be pruned, whatever holds them, seen as ``[out, in]``.

Three containers are known: ``nn.Linear`` (``[out, in]``), ``transformers``' ``Conv1D`` (GPT-2 family, stored
``[in, out]``) and fused MoE experts (one 3-D parameter per projection, ``[experts, out, in]``, each expert a
matrix of its own, fed only the tokens routed to it). Routers stay dense and 1-D parameters (norms, biases)
are not matrices. Any other parameter of two or more dimensions is an error: it would be skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from calibprune.modeling.experts import ExpertInputs, expert_biases, expert_projections, is_fused_experts

# Routers choose experts: pruning them changes routing, and recipes (llm-compressor's too) leave them dense.
ROUTER_NAMES = ("gate", "router", "shared_expert_gate")

InputHook = Callable[[torch.Tensor, "torch.Tensor | None"], None]


def _conv1d_class() -> type | None:
    try:
        from transformers.pytorch_utils import Conv1D
    except ImportError:  # pragma: no cover - transformers is a dependency
        return None
    return Conv1D


@dataclass(eq=False)
class PrunableWeight:
    """One weight matrix of a decoder block, with its inputs.

    Attributes:
        name: dotted name inside the block (``self_attn.q_proj``; experts: ``mlp.experts.down_proj.3``).
        module: the module whose forward reads the matrix (hooked for statistics).
        parameter: the parameter holding the matrix.
        kind: ``linear``, ``conv1d`` or ``expert``.
        expert: index of the expert in a fused parameter (``None`` otherwise).
        transposed: the parameter stores the matrix as ``[in, out]``.
    """

    name: str
    module: nn.Module
    parameter: nn.Parameter
    kind: str
    expert: int | None = None
    transposed: bool = False
    _inputs: ExpertInputs | None = field(default=None, repr=False)

    @property
    def weight(self) -> torch.Tensor:
        """The matrix as ``[out, in]``: a view of the parameter, so writing into it prunes the model."""
        data = self.parameter.data if self.expert is None else self.parameter.data[self.expert]
        return data.T if self.transposed else data

    @property
    def in_features(self) -> int:
        """Width of the matrix's input."""
        return self.weight.shape[1]

    def numel(self) -> int:
        """Number of weights of the matrix."""
        return self.weight.numel()

    def register_input_hook(self, hook: InputHook, token_mask: Callable[[], torch.Tensor | None]):
        """Call ``hook(inputs, mask)`` with what this matrix multiplies on every forward of its module.

        ``inputs`` is ``[..., in_features]`` and ``mask`` marks its real tokens (``token_mask()``, the module's
        current padding mask). An expert gets only its routed real tokens, ``[tokens, in_features]``, mask ``None``.

        Returns:
            the removable handle.
        """
        if self._inputs is None:
            return self.module.register_forward_pre_hook(lambda _m, args: hook(args[0], token_mask()))
        return self._inputs.register(self, hook, token_mask)

    def register_forward_pre_hook(self, hook: Callable[[Any, tuple], None]):
        """``hook(matrix, (inputs,))`` on every forward, as on an ``nn.Linear`` (an expert: its routed rows)."""
        if self._inputs is None:
            return self.module.register_forward_pre_hook(hook)
        return self._inputs.register(self, lambda rows, _mask: hook(self, (rows,)), lambda: None)


@dataclass
class BlockWeights:
    """What a decoder block holds: its prunable matrices and the weights that stay as they are, by reason.

    Attributes:
        prunable: the matrices, in module order.
        kept: weights not pruned, by reason (``router``, ``vectors (norms, biases)``).
        total: every parameter of the block.
        unknown: matrices of kinds calibprune does not know how to prune (only listed when not ``strict``).
    """

    prunable: list[PrunableWeight]
    kept: dict[str, int]
    total: int
    unknown: list[str] = field(default_factory=list)


UNKNOWN = "weights of unknown kinds"


def block_weights(block: nn.Module, where: str = "block", strict: bool = True) -> BlockWeights:
    """Every weight of a decoder block, sorted into prunable matrices and weights kept as they are.

    Args:
        block: the decoder block.
        where: the block, as error messages name it.
        strict: refuse a parameter of two or more dimensions calibprune does not know how to prune; ``False``:
            list it in ``unknown`` (``name (shape, in a Module)``) and count it under :data:`UNKNOWN`.

    Raises:
        ValueError: when ``strict``, for a parameter of two or more dimensions calibprune does not know how to prune.
    """
    conv1d = _conv1d_class()
    prunable: list[PrunableWeight] = []
    kept: dict[str, int] = {}
    unknown: list[str] = []
    covered: set[int] = set()
    for name, module in block.named_modules():
        if name.rsplit(".", 1)[-1] in ROUTER_NAMES or "Router" in type(module).__name__:
            for parameter in module.parameters():
                kept["router"] = kept.get("router", 0) + parameter.numel()
                covered.add(id(parameter))
        elif isinstance(module, nn.Linear):
            prunable.append(PrunableWeight(name, module, module.weight, "linear"))
            covered.add(id(module.weight))
        elif conv1d is not None and isinstance(module, conv1d):
            prunable.append(PrunableWeight(name, module, module.weight, "conv1d", transposed=True))
            covered.add(id(module.weight))
        elif is_fused_experts(module):
            inputs = ExpertInputs(module)
            for projection, parameter in expert_projections(module).items():
                for expert in range(parameter.shape[0]):
                    prunable.append(
                        PrunableWeight(
                            f"{name}.{projection}.{expert}",
                            module,
                            parameter,
                            "expert",
                            expert,
                            getattr(module, "is_transposed", False),
                            inputs,
                        )
                    )
                covered.add(id(parameter))
            for bias in expert_biases(module):
                kept["vectors (norms, biases)"] = kept.get("vectors (norms, biases)", 0) + bias.numel()
                covered.add(id(bias))
    total = 0
    for name, parameter in block.named_parameters():
        total += parameter.numel()
        if id(parameter) in covered:
            continue
        if parameter.dim() >= 2:
            described = f"{name} ({tuple(parameter.shape)}, in a {_owner(block, name)})"
            if strict:
                raise ValueError(
                    f"--model: {where} holds {described}, a weight calibprune does not know how to prune (known: "
                    "nn.Linear, transformers Conv1D, fused MoE experts); refusing to skip it silently"
                )
            unknown.append(described)
            kept[UNKNOWN] = kept.get(UNKNOWN, 0) + parameter.numel()
            continue
        kept["vectors (norms, biases)"] = kept.get("vectors (norms, biases)", 0) + parameter.numel()
    return BlockWeights(prunable, kept, total, unknown)


def _owner(block: nn.Module, parameter_name: str) -> str:
    module_name = parameter_name.rpartition(".")[0]
    return type(block.get_submodule(module_name)).__name__ if module_name else type(block).__name__

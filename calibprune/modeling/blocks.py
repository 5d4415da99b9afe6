"""Architecture-generic discovery of a causal LM's decoder blocks and their Linear layers."""

from __future__ import annotations

from torch import nn

# Where well-known architectures keep their stack of decoder blocks; any other model is searched.
KNOWN_BLOCK_PATHS = (
    "model.layers",  # Llama, Mistral, Qwen2, Gemma, Phi-3
    "model.decoder.layers",  # OPT
    "gpt_neox.layers",  # GPT-NeoX, Pythia
    "transformer.h",  # GPT-2 family, Falcon, Bloom
    "transformer.blocks",  # MPT
)


def _get(module: nn.Module, path: str) -> nn.Module | None:
    for name in path.split("."):
        module = getattr(module, name, None)
        if module is None:
            return None
    return module


def decoder_blocks(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """Return the dotted name and the ``ModuleList`` of a causal LM's decoder blocks.

    Raises:
        ValueError: if the model has no stack of identical blocks (not a decoder-only LM).
    """
    for path in KNOWN_BLOCK_PATHS:
        found = _get(model, path)
        if isinstance(found, nn.ModuleList) and len(found):
            return path, found
    expected = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) and len({type(m) for m in module}) == 1:
            if expected is None or len(module) == expected:
                return name, module
    raise ValueError(
        f"--model: {type(model).__name__} has no stack of decoder blocks; calibprune prunes decoder-only causal LMs"
    )


def linear_layers(block: nn.Module) -> dict[str, nn.Linear]:
    """All ``nn.Linear`` layers of a decoder block, by their name inside the block, in forward order.

    Pruning does not use this: :func:`calibprune.modeling.prunable.block_weights` also finds Conv1D and fused
    MoE experts, and refuses unknown weight kinds.
    """
    return {name: module for name, module in block.named_modules() if isinstance(module, nn.Linear)}

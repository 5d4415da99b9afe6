"""What a local model's ``config.json`` says about it (blocks, context, vocabulary), read without any weight."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from calibprune.errors import OptionError


def read_model_config(name_or_path: str) -> dict[str, Any] | None:
    """The ``config.json`` of a local model folder, the language model's own (``text_config``) on top; else ``None``.

    ``None`` for a hub id, the embedded model or an unreadable file: what it would tell is then checked once the
    model is loaded.
    """
    path = Path(name_or_path).expanduser() / "config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    text = config.get("text_config")  # multimodal configs nest the language model's
    return {**config, **text} if isinstance(text, dict) else config


def _positive(config: dict[str, Any] | None, *keys: str) -> int | None:
    for key in keys:
        value = (config or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def block_count(config: dict[str, Any] | None) -> int | None:
    """Decoder blocks (``num_hidden_layers``, or GPT-2's ``n_layer``), or ``None`` when the config does not say."""
    return _positive(config, "num_hidden_layers", "n_layer", "num_layers")


def context_length(config: dict[str, Any] | None) -> int | None:
    """The model's context in tokens (``max_position_embeddings``, or GPT-2's ``n_positions``), or ``None``."""
    return _positive(config, "max_position_embeddings", "n_positions")


def vocab_size(config: dict[str, Any] | None) -> int | None:
    """Token ids the model embeds, or ``None``."""
    return _positive(config, "vocab_size")


def check_layer_sparsity(layer_sparsity: list[float] | None, blocks: int | None) -> None:
    """Fail when an explicit per-block sparsity list does not have one ratio per decoder block.

    Called with ``config.json``'s block count before the model loads, and with the loaded model's blocks.

    Raises:
        OptionError: naming ``layer_sparsity``.
    """
    if layer_sparsity is None or blocks is None or len(layer_sparsity) == blocks:
        return
    raise OptionError(
        "layer_sparsity",
        f"{len(layer_sparsity)} ratios; the model has {blocks} decoder blocks",
        f"{blocks} ratios in [0, 1), one per block",
    )


def check_seqlen(parameter: str, seqlen: object, context: int | None) -> None:
    """Fail when a sequence length exceeds the model's context.

    Raises:
        OptionError: naming ``parameter``.
    """
    if context is not None and isinstance(seqlen, int) and seqlen > context:
        raise OptionError(
            parameter, f"{seqlen} exceeds the model's context of {context} tokens", f"1 to {context} tokens"
        )

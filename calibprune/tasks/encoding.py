"""How prompt text becomes token ids, the same way for calibration samples and evaluation prompts."""

from __future__ import annotations

from typing import Any


def bos_ids(tokenizer: Any) -> list[int]:
    """Return ``[bos_token_id]``, or ``[]`` for a tokenizer without a BOS token."""
    return [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]


def encode_text(tokenizer: Any, text: str, bos: bool = False) -> list[int]:
    """Tokenize ``text`` without the tokenizer's own special tokens, after one BOS when ``bos`` is set."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return (bos_ids(tokenizer) if bos else []) + list(ids)


def pad_id(tokenizer: Any) -> int:
    """Return the id written on padded positions: the pad token, else EOS, else 0 (masked out either way)."""
    for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return int(token_id)
    return 0

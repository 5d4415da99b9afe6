"""Batched greedy generation with left padding, a key/value cache and stop sequences."""

from __future__ import annotations

from typing import Any

import torch

from calibprune.evaluation.forward import causal_lm_forward, prefill
from calibprune.tasks.encoding import pad_id


def truncate_at_stop(text: str, stop_sequences: tuple[str, ...]) -> str:
    """Cut ``text`` at the earliest occurrence of any stop sequence."""
    cut = min((i for i in (text.find(s) for s in stop_sequences) if i >= 0), default=len(text))
    return text[:cut]


def eos_ids(model: torch.nn.Module, tokenizer: Any) -> set[int]:
    """Token ids that end generation: the tokenizer's EOS and those of the model's generation config."""
    ids = {tokenizer.eos_token_id}
    config_ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(config_ids if isinstance(config_ids, list) else [config_ids])
    return {i for i in ids if i is not None}


def _stopped(tokenizer: Any, tokens: list[int], stop_sequences: tuple[str, ...]) -> bool:
    text = tokenizer.decode(tokens, skip_special_tokens=True)
    return any(stop in text for stop in stop_sequences)


@torch.no_grad()
def greedy_generate(
    model: torch.nn.Module,
    tokenizer: Any,
    prompts: list[list[int]],
    max_new_tokens: int,
    stop_sequences: tuple[str, ...] = (),
    max_length: int | None = None,
    share_prefix: bool = True,
) -> list[str]:
    """Greedy continuations of a batch of prompts, each cut at its first stop sequence.

    Rows stop at EOS, at a stop sequence or after ``max_new_tokens``; finished rows leave the batch (their
    cache rows are dropped) so that the remaining ones run at the cost of a smaller batch.

    Args:
        model: a causal LM.
        tokenizer: its tokenizer (decodes the new tokens; its pad and EOS ids are used).
        prompts: token ids of each prompt, BOS included; longer prompts lose their first tokens to fit.
        max_new_tokens: most tokens generated per prompt.
        stop_sequences: strings that end a continuation (not included in the returned text).
        max_length: the model's context length.
        share_prefix: run the tokens that every prompt starts with once (see
            :func:`~calibprune.evaluation.forward.prefill`).

    Returns:
        The decoded continuation of every prompt, in the order of ``prompts``.
    """
    if max_length is not None:
        prompts = [prompt[-(max_length - max_new_tokens) :] for prompt in prompts]
    device = next(model.parameters()).device
    logits, cache, attention_mask, positions = prefill(model, prompts, pad_id(tokenizer), share_prefix)
    stop_ids = eos_ids(model, tokenizer)
    generated: list[list[int]] = [[] for _ in prompts]
    active = torch.arange(len(prompts), device=device)  # prompt index of every row still in the batch
    next_position = positions[:, -1:] + 1
    for step in range(max_new_tokens):
        tokens = logits[:, -1].argmax(-1)
        keep = []
        for row, (index, token) in enumerate(zip(active.tolist(), tokens.tolist(), strict=True)):
            if token in stop_ids:
                continue
            generated[index].append(token)
            if not (stop_sequences and _stopped(tokenizer, generated[index], stop_sequences)):
                keep.append(row)
        if not keep or step + 1 == max_new_tokens:
            break
        if len(keep) < len(active):
            rows = torch.tensor(keep, device=device)
            active, tokens, next_position = active[rows], tokens[rows], next_position[rows]
            attention_mask = attention_mask[rows]
            cache.batch_select_indices(rows)
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones((len(active), 1))], dim=-1)
        logits, cache = causal_lm_forward(
            model, tokens[:, None], attention_mask, next_position, 1, use_cache=True, cache=cache
        )
        next_position = next_position + 1
    texts = [tokenizer.decode(tokens, skip_special_tokens=True) for tokens in generated]
    return [truncate_at_stop(text, stop_sequences) for text in texts]

"""Reference one-shot pruning in plain PyTorch, written the straightforward way of the research code.

This is the yardstick calibprune is measured against, so it is deliberately simple and independent of
calibprune's engine and callbacks. It follows the published Wanda code (``prune_wanda``, ``prune_sparsegpt``,
``prune_magnitude``) and the SparseGPT solver:

* calibration samples go through the model one at a time (``[1, seqlen]``);
* statistics are running fp32 averages updated once per sample (Wanda's ``scaler_row``, SparseGPT's ``H``);
* per decoder block: one pass of the dense block with forward hooks on every Linear layer collects the
  statistics, every Linear layer is then pruned, and every sample is re-run through the pruned block to
  give the inputs of the next block.

One deliberate difference from the research code: decoder blocks are called with exactly the keyword
arguments the model computed for them (caught by a forward pre-hook on block 0), because transformers 5.x
blocks need ``position_embeddings`` and the research code, which passes only ``attention_mask`` and
``position_ids``, breaks there. Every token counts in the statistics (no padding is excluded).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn


# ---- model plumbing ---------------------------------------------------------------------------------------------
def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder blocks of a Llama-style (``model.layers``) or OPT (``model.decoder.layers``) causal LM."""
    inner = model.model
    return inner.decoder.layers if hasattr(inner, "decoder") else inner.layers


def find_linears(block: nn.Module) -> dict[str, nn.Linear]:
    """Every Linear layer of a block, by name."""
    return {name: module for name, module in block.named_modules() if isinstance(module, nn.Linear)}


class _ReachedFirstBlock(Exception):
    pass


@torch.no_grad()
def capture_first_block_inputs(model: nn.Module, input_ids: torch.Tensor) -> tuple[list, list]:
    """Run each sample alone up to block 0; return its hidden states and the keyword arguments of block 0."""
    hidden_states, block_kwargs = [], []

    def catch(_module: nn.Module, args: tuple, kwargs: dict) -> None:
        hidden_states.append(args[0] if args else kwargs["hidden_states"])
        block_kwargs.append({key: value for key, value in kwargs.items() if key != "hidden_states"})
        raise _ReachedFirstBlock

    handle = decoder_layers(model)[0].register_forward_pre_hook(catch, with_kwargs=True)
    try:
        for j in range(input_ids.shape[0]):
            try:
                model(input_ids[j : j + 1], use_cache=False)
            except _ReachedFirstBlock:
                pass
    finally:
        handle.remove()
    return hidden_states, block_kwargs


def run_block(block: nn.Module, hidden: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
    """One decoder block on one sample; blocks return a tensor or a tuple whose first item is the output."""
    out = block(hidden, **kwargs)
    return out[0] if isinstance(out, (tuple, list)) else out


def calibrate_and_prune_block(
    block: nn.Module,
    hidden: list[torch.Tensor],
    kwargs: list[dict[str, Any]],
    new_statistics: Callable[[nn.Linear], Any],
    prune_layer: Callable[[nn.Linear, Any], None],
) -> None:
    """Run every sample through the dense block with statistics hooks on every Linear layer, then prune them."""
    layers = find_linears(block)
    statistics = {name: new_statistics(layer) for name, layer in layers.items()}
    handles = [
        layer.register_forward_hook(lambda _m, args, _out, s=statistics[name]: s.add_batch(args[0]))
        for name, layer in layers.items()
    ]
    try:
        for j in range(len(hidden)):
            run_block(block, hidden[j], kwargs[j])
    finally:
        for handle in handles:
            handle.remove()
    for name, layer in layers.items():
        prune_layer(layer, statistics[name])


@torch.no_grad()
def prune_block_by_block(
    model: nn.Module,
    input_ids: torch.Tensor,
    new_statistics: Callable[[nn.Linear], Any],
    prune_layer: Callable[[nn.Linear, Any], None],
) -> None:
    """The sequential pipeline: per block, collect statistics on the dense block, prune, re-run the samples."""
    hidden, kwargs = capture_first_block_inputs(model, input_ids)
    for block in decoder_layers(model):
        calibrate_and_prune_block(block, hidden, kwargs, new_statistics, prune_layer)
        hidden = [run_block(block, hidden[j], kwargs[j]) for j in range(len(hidden))]


# ---- shared mask helpers ----------------------------------------------------------------------------------------
def n_m_mask(scores: torch.Tensor, prune_n: int, prune_m: int) -> torch.Tensor:
    """In every ``prune_m`` consecutive columns of each row, mark the ``prune_n`` lowest scores."""
    mask = torch.zeros_like(scores, dtype=torch.bool)
    for col in range(0, scores.shape[1], prune_m):
        group = scores[:, col : col + prune_m].float()
        mask.scatter_(1, col + torch.topk(group, prune_n, dim=1, largest=False)[1], True)
    return mask


# ---- Wanda ------------------------------------------------------------------------------------------------------
class WandaStatistics:
    """Running per-sample mean of the squared L2 norm of every input feature (``scaler_row``)."""

    def __init__(self, layer: nn.Linear) -> None:
        self.scaler_row = torch.zeros(layer.in_features, dtype=torch.float32, device=layer.weight.device)
        self.nsamples = 0

    def add_batch(self, inp: torch.Tensor) -> None:
        samples = inp.shape[0] if inp.dim() == 3 else 1
        tokens = inp.reshape(-1, inp.shape[-1]).float()
        self.scaler_row *= self.nsamples / (self.nsamples + samples)
        self.nsamples += samples
        self.scaler_row += torch.norm(tokens, p=2, dim=0) ** 2 / self.nsamples


def wanda_variant_mask(scores: torch.Tensor, sparsity_ratio: float) -> torch.Tensor:
    """Wanda's variant: per row, prune the smallest scores whose running sum stays within alpha of the row sum.

    alpha starts at 0.4 and is bisected in [0, 0.8] until the layer sparsity is within 0.001 of the target.
    """
    sorted_scores = torch.sort(scores, dim=-1, stable=True)[0]
    running_sums = torch.cumsum(sorted_scores, dim=1)
    row_sums = scores.sum(dim=1, keepdim=True)

    def mask_for(alpha: float) -> tuple[torch.Tensor, float]:
        count = (running_sums <= row_sums * alpha).sum(dim=1, keepdim=True)
        threshold = torch.gather(sorted_scores, 1, (count - 1).clamp(min=0))
        mask = (scores <= threshold) & (count > 0)  # a row whose smallest score exceeds the limit keeps all
        return mask, (mask.sum() / mask.numel()).item()

    alpha, low, high = 0.4, 0.0, 0.8
    mask, sparsity = mask_for(alpha)
    while abs(sparsity - sparsity_ratio) > 0.001 and high - low >= 0.001:
        if sparsity > sparsity_ratio:
            alpha, high = (alpha + low) / 2.0, alpha
        else:
            alpha, low = (alpha + high) / 2.0, alpha
        mask, sparsity = mask_for(alpha)
    return mask


def wanda_layer_mask(
    weight: torch.Tensor,
    scaler_row: torch.Tensor,
    sparsity_ratio: float,
    prune_n: int = 0,
    prune_m: int = 0,
    use_variant: bool = False,
) -> torch.Tensor:
    """Wanda mask of one layer: ``|W| * sqrt(scaler_row)``, per-row lowest, N:M groups, or the variant."""
    scores = weight.abs().float() * torch.sqrt(scaler_row.reshape(1, -1))
    if prune_n:
        return n_m_mask(scores, prune_n, prune_m)
    if use_variant:
        return wanda_variant_mask(scores, sparsity_ratio)
    mask = torch.zeros_like(scores, dtype=torch.bool)
    lowest = torch.sort(scores, dim=-1, stable=True)[1][:, : int(scores.shape[1] * sparsity_ratio)]
    return mask.scatter_(1, lowest, True)


def wanda_pruner(
    sparsity_ratio: float = 0.5, prune_n: int = 0, prune_m: int = 0, use_variant: bool = False
) -> Callable[[nn.Linear, WandaStatistics], None]:
    """What Wanda does to one layer once its statistics are in: zero the masked weights."""

    def prune_layer(layer: nn.Linear, stats: WandaStatistics) -> None:
        mask = wanda_layer_mask(layer.weight.data, stats.scaler_row, sparsity_ratio, prune_n, prune_m, use_variant)
        layer.weight.data[mask] = 0

    return prune_layer


def prune_wanda(
    model: nn.Module,
    input_ids: torch.Tensor,
    sparsity_ratio: float = 0.5,
    prune_n: int = 0,
    prune_m: int = 0,
    use_variant: bool = False,
) -> None:
    """Prune ``model`` in place with Wanda, calibrating on ``input_ids`` ``[nsamples, seqlen]``."""
    pruner = wanda_pruner(sparsity_ratio, prune_n, prune_m, use_variant)
    prune_block_by_block(model, input_ids, WandaStatistics, pruner)


# ---- SparseGPT --------------------------------------------------------------------------------------------------
class SparseGPTStatistics:
    """Running ``H = 2/n * sum_samples X^T X`` of one layer's input, updated once per sample."""

    def __init__(self, layer: nn.Linear) -> None:
        features = layer.in_features
        self.H = torch.zeros(features, features, dtype=torch.float32, device=layer.weight.device)
        self.nsamples = 0

    def add_batch(self, inp: torch.Tensor) -> None:
        samples = inp.shape[0] if inp.dim() == 3 else 1
        tokens = inp.reshape(-1, inp.shape[-1]).t().float()
        self.H *= self.nsamples / (self.nsamples + samples)
        self.nsamples += samples
        tokens = math.sqrt(2 / self.nsamples) * tokens
        self.H += tokens @ tokens.t()


def sparsegpt_solve(
    weight: torch.Tensor,
    H: torch.Tensor,
    sparsity_ratio: float,
    prune_n: int = 0,
    prune_m: int = 0,
    blocksize: int = 128,
    percdamp: float = 0.01,
) -> torch.Tensor:
    """SparseGPT on one weight ``[rows, columns]``: return the pruned, OBS-updated fp32 weight.

    Columns are visited left to right in blocks of ``blocksize``. The unstructured mask of a block is
    chosen when the block starts, from ``w^2 / [Hinv]_ii^2`` with ``Hinv`` the upper Cholesky factor of the
    damped inverse Hessian, as ``score <= the score at position int(numel * ratio)`` (so the research code's
    threshold also prunes the weight at that position and any ties). N:M groups are chosen when the
    solver reaches their first column. Pruning a column spreads its error over the later columns.
    """
    W = weight.clone().float()
    H = H.clone()
    columns = W.shape[1]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H += percdamp * torch.mean(torch.diag(H)) * torch.eye(columns, dtype=H.dtype, device=H.device)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)

    for start in range(0, columns, blocksize):
        end = min(start + blocksize, columns)
        block = W[:, start:end].clone()
        hinv_block = Hinv[start:end, start:end]
        diag = torch.diag(hinv_block)
        errors = torch.zeros_like(block)
        if prune_n:
            mask = torch.zeros_like(block, dtype=torch.bool)
        else:
            scores = block**2 / diag.reshape(1, -1) ** 2
            threshold = torch.sort(scores.flatten())[0][int(scores.numel() * sparsity_ratio)]
            mask = scores <= threshold
        for i in range(end - start):
            if prune_n and i % prune_m == 0:
                scores = block[:, i : i + prune_m] ** 2 / diag[i : i + prune_m].reshape(1, -1) ** 2
                mask.scatter_(1, i + torch.topk(scores, prune_n, dim=1, largest=False)[1], True)
            w = block[:, i]
            q = w.clone()
            q[mask[:, i]] = 0
            err = (w - q) / diag[i]
            block[:, i:] -= err.unsqueeze(1) @ hinv_block[i, i:].unsqueeze(0)
            block[:, i] = q
            errors[:, i] = err
        W[:, start:end] = block
        W[:, end:] -= errors @ Hinv[start:end, end:]
    return W


def sparsegpt_pruner(
    sparsity_ratio: float = 0.5, prune_n: int = 0, prune_m: int = 0, blocksize: int = 128, percdamp: float = 0.01
) -> Callable[[nn.Linear, SparseGPTStatistics], None]:
    """What SparseGPT does to one layer once its Hessian is in: replace the weight by the solver's."""

    def prune_layer(layer: nn.Linear, stats: SparseGPTStatistics) -> None:
        W = sparsegpt_solve(layer.weight.data, stats.H, sparsity_ratio, prune_n, prune_m, blocksize, percdamp)
        layer.weight.data = W.to(layer.weight.dtype)

    return prune_layer


def prune_sparsegpt(
    model: nn.Module,
    input_ids: torch.Tensor,
    sparsity_ratio: float = 0.5,
    prune_n: int = 0,
    prune_m: int = 0,
    blocksize: int = 128,
    percdamp: float = 0.01,
) -> None:
    """Prune ``model`` in place with SparseGPT, calibrating on ``input_ids`` ``[nsamples, seqlen]``."""
    pruner = sparsegpt_pruner(sparsity_ratio, prune_n, prune_m, blocksize, percdamp)
    prune_block_by_block(model, input_ids, SparseGPTStatistics, pruner)


# ---- magnitude --------------------------------------------------------------------------------------------------
def magnitude_layer_mask(weight: torch.Tensor, sparsity_ratio: float, prune_n: int = 0, prune_m: int = 0):
    """Mask of the lowest ``|W|``: the ``int(numel * ratio)`` lowest of the whole matrix, or N:M groups.

    The research code prunes ``|W| <= the value at position int(numel * ratio)``, which also takes every
    weight tied with it; on a model dequantised from 4-bit weights (few distinct values) that is up to
    0.07% more than asked. Here ties at the threshold are broken by position so the count is exact.
    """
    scores = weight.abs().float()
    if prune_n:
        return n_m_mask(scores, prune_n, prune_m)
    mask = torch.zeros(scores.numel(), dtype=torch.bool, device=scores.device)
    mask[torch.sort(scores.flatten(), stable=True)[1][: int(scores.numel() * sparsity_ratio)]] = True
    return mask.reshape(scores.shape)


@torch.no_grad()
def prune_magnitude(model: nn.Module, sparsity_ratio: float = 0.5, prune_n: int = 0, prune_m: int = 0) -> None:
    """Prune every Linear layer of every decoder block in place by weight magnitude (no calibration data)."""
    for block in decoder_layers(model):
        for layer in find_linears(block).values():
            layer.weight.data[magnitude_layer_mask(layer.weight.data, sparsity_ratio, prune_n, prune_m)] = 0

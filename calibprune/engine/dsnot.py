"""DSnoT (Zhang et al., ICLR 2024, "Dynamic Sparse No Training"): training-free refinement of a prune mask.

Starting from an initial mask (Wanda's, SparseGPT's saliency or magnitude), every output row repeatedly
swaps one pruned weight back in and one kept weight out, so as to shrink the expected reconstruction error
``sum_j (pruned W_ij) * E[x_j]`` of its output, until the error is within ``update_threshold`` or
``max_cycle_time`` swaps were tried. This follows the authors' ``prune_DSnoT`` (zyxxmu/DSnoT, ``lib/prune.py``),
vectorised over rows as theirs is, step for step:

* the weight regrown is taken from either end of the pruned weights sorted by ``W_ij E[x_j] / Var[x_j]^p``,
  the end that reduces the error's magnitude (its sign says which);
* unstructured: the weight pruned is taken from the kept weights ordered by their Wanda score (negative
  contributions from the weakest up, then positive ones from the strongest down), the end that reduces the error;
  N:M: it is the kept weight with the lowest initial score in the regrown weight's group of M;
* a row stops for good once its error is within the threshold (N:M: also once a swap would flip its sign).

One deliberate difference: a row also stops once its next swap would regrow a weight that is not pruned or
prune one that is not kept (its candidates on one side are used up: a narrow matrix, or many swaps), and a
stopped row's mask is left as it is. There the authors' code goes on writing the mask of stopped rows and
prunes kept weights, so the sparsity exceeds the ratio and N:M groups break (their pointers can also leave
their lists: an index error); wherever their swaps stay valid, the masks are the same.

The statistics are theirs: ``E[x_j]`` is the per-sequence sum (the sum over tokens divided by the number of
sequences) and ``Var[x_j]`` the token-weighted mean of each sequence's own variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from calibprune.engine.sparsity import SparsityPattern
from calibprune.engine.statistics import select_tokens

MOMENTS = 4  # rows of DSnoTStatistics.sum before the optional Hessian: sum x, sum x^2, deviations, sequences


class DSnoTStatistics:
    """fp32 running sums of the inputs of one layer for DSnoT, in one tensor :attr:`sum` (reduced as one).

    Rows of :attr:`sum`: 0 the sum of every feature over tokens, 1 the sum of its squares, 2 the sum of squared
    deviations from each sequence's own mean, 3 the number of sequences (in every column); then, when ``hessian``,
    ``X^T X`` (SparseGPT's Hessian, for the ``sparsegpt`` initial mask). A sequence is one row of a
    ``[batch, seq, features]`` input; a ``[tokens, features]`` input (an expert's routed tokens) counts as one.

    Args:
        features: number of input features of the layer.
        device: where the sums live.
        hessian: also accumulate ``X^T X``.
    """

    def __init__(self, features: int, device: torch.device | str = "cpu", hessian: bool = False) -> None:
        rows = MOMENTS + (features if hessian else 0)
        self.sum = torch.zeros(rows, features, dtype=torch.float32, device=device)
        self.tokens = torch.zeros((), dtype=torch.float64, device=device)

    def update(self, inputs: torch.Tensor, token_mask: torch.Tensor | None = None) -> None:
        """Add the calibration tokens of one batch."""
        features = inputs.shape[-1]
        x = inputs.reshape(-1, inputs.shape[-2], features) if inputs.dim() > 2 else inputs.reshape(1, -1, features)
        x = x.float()
        if token_mask is None:
            weight = torch.ones(x.shape[:2], dtype=torch.float32, device=x.device)
        else:
            weight = token_mask.reshape(x.shape[:2]).to(device=x.device, dtype=torch.float32)
        counts = weight.sum(dim=1, keepdim=True)
        weight = weight.unsqueeze(-1)
        sums = (x * weight).sum(dim=1)
        means = sums / counts.clamp(min=1)
        self.sum[0] += sums.sum(dim=0)
        self.sum[1] += (x.square() * weight).sum(dim=(0, 1))
        self.sum[2] += ((x - means.unsqueeze(1)).square() * weight).sum(dim=(0, 1))
        self.sum[3] += (counts > 0).sum()
        self.tokens += counts.sum().double()
        if self.sum.shape[0] > MOMENTS:
            rows = select_tokens(inputs, token_mask)
            self.sum[MOMENTS:].addmm_(rows.T, rows)

    def norms(self) -> torch.Tensor:
        """``||X_j||_2`` over all tokens seen (Wanda's statistic)."""
        return self.sum[1].sqrt()

    def mean(self) -> torch.Tensor:
        """Per-sequence sum of every feature: the sum over tokens divided by the number of sequences."""
        return self.sum[0] / self.sum[3].clamp(min=1)

    def variance(self) -> torch.Tensor:
        """Token-weighted mean over sequences of each sequence's (population) variance of every feature."""
        return self.sum[2] / self.tokens.clamp(min=1).float()

    def hessian(self) -> torch.Tensor:
        """``2 X^T X / tokens`` (only with ``hessian``)."""
        return self.sum[MOMENTS:] * (2.0 / self.tokens.clamp(min=1).float())


@dataclass(frozen=True)
class DSnoTSettings:
    """The authors' knobs, with their defaults.

    Attributes:
        max_cycle_time: swaps tried per row at most.
        update_threshold: a row stops once its reconstruction error is within this, in absolute value.
        pow_of_var_regrowing: power of the input variance dividing the regrowing score (0: none).
        without_same_sign: unstructured only: a swap may flip the sign of the error (N:M never lets it).
    """

    max_cycle_time: int = 50
    update_threshold: float = 0.1
    pow_of_var_regrowing: float = 1.0
    without_same_sign: bool = True


def sparsegpt_saliency(weight: torch.Tensor, hessian: torch.Tensor, percdamp: float = 0.01) -> torch.Tensor:
    """SparseGPT's saliency ``W^2 / [U]_jj^2`` of the dense weight, ``U`` the upper Cholesky factor of ``(H+damp)^-1``.

    DSnoT's ``sparsegpt`` initial mask: SparseGPT's pruning score, computed once for every column from the dense
    weight, with no OBS weight update (the authors' code prunes the original weights with the refined mask). The
    factor is computed as theirs is (Cholesky, ``cholesky_inverse``, Cholesky); one host synchronisation checks it.

    Raises:
        torch.linalg.LinAlgError: when the damped Hessian is not positive definite (as their code does).
    """
    w = weight.detach().float().clone()
    h = hessian.clone()
    dead = torch.diagonal(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    h.diagonal().add_(percdamp * torch.mean(torch.diagonal(h)))
    lower, info = torch.linalg.cholesky_ex(h)
    upper, info_inverse = torch.linalg.cholesky_ex(torch.cholesky_inverse(lower), upper=True)
    if int(torch.maximum(info, info_inverse)):
        raise torch.linalg.LinAlgError("DSnoT (initial sparsegpt): the damped Hessian is not positive definite")
    return w**2 / torch.diagonal(upper).reshape(1, -1) ** 2


def dsnot_mask(
    weight: torch.Tensor,
    initial_metric: torch.Tensor,
    wanda_metric: torch.Tensor,
    mean: torch.Tensor,
    variance: torch.Tensor,
    pattern: SparsityPattern,
    settings: DSnoTSettings,
) -> torch.Tensor:
    """DSnoT's refined prune mask (True = pruned) of one weight ``[out, in]``.

    Args:
        weight: the layer's weight.
        initial_metric: the initial method's scores ``[out, in]`` (lowest pruned first, per row or N:M group).
        wanda_metric: Wanda's scores ``|W| ||X_j||``, the pruning order among kept weights (unstructured).
        mean: :meth:`DSnoTStatistics.mean`, shape ``[in]``.
        variance: :meth:`DSnoTStatistics.variance`, shape ``[in]``.
        pattern: unstructured ratio (per row) or N:M groups.
        settings: the authors' knobs.
    """
    contribution = weight.detach().float() * mean.float().reshape(1, -1)
    initial = initial_metric.float()
    if pattern.structured:
        return _refine_n_m(contribution, initial.clone(), variance, pattern.n, pattern.m, settings)
    return _refine_unstructured(contribution, initial, wanda_metric.float(), variance, pattern.ratio, settings)


def _regrowing(contribution, prune_indices, keep_indices, variance, settings: DSnoTSettings):
    """Initial mask, signed reconstruction error per row and the order of the pruned weights for regrowing."""
    mask = torch.zeros_like(contribution, dtype=torch.bool).scatter_(1, prune_indices, True)
    metric = contribution.clone().scatter_(1, keep_indices, 0)
    error = metric.sum(dim=1, keepdim=True)
    if settings.pow_of_var_regrowing:
        metric /= torch.pow(variance.float().reshape(1, -1), settings.pow_of_var_regrowing)
    order = torch.sort(metric, dim=1, stable=True)[1]
    return mask, error, order


def _take(order: torch.Tensor, pointers: torch.Tensor, side: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The entry of ``order`` each row's pointer on ``side`` (0: from the start, 1: from the end) is at; advance it.

    Returns the entries and whether each pointer was still inside ``order`` (it is clamped to it).
    """
    position = pointers.gather(1, side)
    pointers.scatter_(1, side, position + 1 - 2 * side)
    inside = (position >= 0) & (position < order.shape[1])
    return order.gather(1, position.clamp(0, order.shape[1] - 1)), inside


def _swap(mask: torch.Tensor, prune: torch.Tensor, regrow: torch.Tensor, update: torch.Tensor) -> None:
    """Where ``update``, prune ``prune`` and regrow ``regrow``; leave every other row as it is."""
    mask.scatter_(1, prune, mask.gather(1, prune) | update)
    mask.scatter_(1, regrow, mask.gather(1, regrow) & ~update)


def _valid(mask: torch.Tensor, prune: torch.Tensor, regrow: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """Whether each row's swap regrows a pruned weight and prunes a kept one (see the module docstring)."""
    return inside & mask.gather(1, regrow) & ~mask.gather(1, prune)


def _pointers(rows: int, length: int, device: torch.device) -> torch.Tensor:
    return torch.tensor([[0, length - 1]], device=device).repeat(rows, 1)


def _refine_unstructured(contribution, initial, wanda, variance, ratio: float, settings: DSnoTSettings):
    rows, cols = contribution.shape
    pruned = int(cols * ratio)
    prune_indices, keep_indices = torch.sort(initial, dim=-1, stable=True)[1].split([pruned, cols - pruned], dim=1)
    mask, error, regrow_order = _regrowing(contribution, prune_indices, keep_indices, variance, settings)
    kept_by_wanda = torch.sort(wanda.scatter(1, prune_indices, float("inf")), dim=1, stable=True)[1][:, : cols - pruned]
    prune_order = kept_by_wanda.gather(1, _signed_order(contribution.gather(1, kept_by_wanda)))
    regrow_pointers = _pointers(rows, cols, contribution.device)
    prune_pointers = _pointers(rows, cols - pruned, contribution.device)
    sign = torch.sign(error)
    update = torch.ones_like(error, dtype=torch.bool)
    for _ in range(settings.max_cycle_time):
        regrow, regrow_inside = _take(regrow_order, regrow_pointers, (error > 0).long())
        regrow_value = contribution.gather(1, regrow)
        prune, prune_inside = _take(prune_order, prune_pointers, (error < 0).long())
        prune_value = contribution.gather(1, prune)
        update = update & (error.abs() > settings.update_threshold)
        if not settings.without_same_sign:
            update = update & (sign == torch.sign(error + prune_value - regrow_value))
        update = update & _valid(mask, prune, regrow, regrow_inside & prune_inside)
        _swap(mask, prune, regrow, update)
        error += torch.where(update, prune_value, torch.zeros_like(prune_value))
        error -= torch.where(update, regrow_value, torch.zeros_like(regrow_value))
    return mask


def _signed_order(values: torch.Tensor) -> torch.Tensor:
    """The authors' ``return_reorder_indice``: positions of the negative values in order, then the positive reversed.

    (Exact zeros fall into neither group; their positions are summed as the authors' are.)
    """
    rows, length = values.shape
    positions = torch.arange(length, device=values.device, dtype=torch.float64).repeat(rows, 1)
    inf = torch.full_like(positions, float("inf"))
    positive = torch.sort(torch.where(values > 0, positions, inf), dim=1)[0].flip(dims=[1])
    negative = torch.sort(torch.where(values < 0, positions, inf), dim=1)[0]
    positive[positive == float("inf")] = 0
    negative[negative == float("inf")] = 0
    return (positive + negative).to(torch.int64)


def _refine_n_m(contribution, initial, variance, n: int, m: int, settings: DSnoTSettings):
    rows, cols = contribution.shape
    order = torch.sort(initial.reshape(rows, cols // m, m), dim=-1, stable=True)[1]
    order = order + torch.arange(0, cols, m, device=order.device).reshape(1, -1, 1)
    prune_indices, keep_indices = (part.reshape(rows, -1) for part in order.split([n, m - n], dim=-1))
    mask, error, regrow_order = _regrowing(contribution, prune_indices, keep_indices, variance, settings)
    initial.scatter_(1, prune_indices, float("inf"))
    used = initial.max(dim=1, keepdim=True)[0] + 1
    regrow_pointers = _pointers(rows, cols, contribution.device)
    sign = torch.sign(error)
    update = torch.ones_like(error, dtype=torch.bool)
    group = torch.arange(m, device=contribution.device).reshape(1, -1)
    for _ in range(settings.max_cycle_time):
        regrow, inside = _take(regrow_order, regrow_pointers, (error > 0).long())
        regrow_value = contribution.gather(1, regrow)
        start = regrow - regrow % m
        prune = torch.topk(initial.gather(1, start + group), 1, dim=1, largest=False)[1] + start
        prune_value = contribution.gather(1, prune)
        after = error + prune_value - regrow_value
        update = update & (sign == torch.sign(after)) & (error.abs() > settings.update_threshold)
        update = update & _valid(mask, prune, regrow, inside)
        initial.scatter_(1, prune, used)
        _swap(mask, prune, regrow, update)
        error += torch.where(update, prune_value, torch.zeros_like(prune_value))
        error -= torch.where(update, regrow_value, torch.zeros_like(regrow_value))
    return mask

"""SparseGPT (Frantar & Alistarh, 2023): OBS-updated pruning with a damped inverse Hessian, column blocks."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import torch

from calibprune.engine.masks import matrix_mask
from calibprune.engine.sparsity import SparsityPattern

log = logging.getLogger(__name__)

SUB_BLOCK = 16  # columns updated one by one before a matrix product carries their errors to the rest of a block


def inverse_hessian_factor(hessian: torch.Tensor, percdamp: float = 0.01, retries: int = 5) -> torch.Tensor:
    """Upper Cholesky factor of ``(H + damp I)^-1``, with ``damp = percdamp * mean(diag H)``.

    A Hessian that is not positive definite after damping (near-singular calibration statistics) is
    retried with ten times the damping (1e-4 after none), up to ``retries`` times, with a warning each time.
    """
    diag = torch.diagonal(hessian)
    mean_diag = diag.mean().clamp(min=1e-8)
    eye = torch.eye(hessian.shape[0], dtype=hessian.dtype, device=hessian.device)
    damp = percdamp
    for attempt in range(retries + 1):
        factor, info = torch.linalg.cholesky_ex(hessian + damp * mean_diag * eye)
        if info == 0:
            inverse = torch.cholesky_inverse(factor)
            upper, info = torch.linalg.cholesky_ex(inverse, upper=True)
            if info == 0:
                return upper
        if attempt < retries:
            larger = damp * 10 if damp > 0 else 1e-4  # --percdamp 0 must still grow
            log.warning("SparseGPT: Cholesky failed with damping %.3g; retrying with %.3g", damp, larger)
            damp = larger
    raise torch.linalg.LinAlgError(f"SparseGPT: Hessian not positive definite even with damping {damp:.3g}")


def sparsegpt_prune(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    pattern: SparsityPattern,
    blocksize: int = 128,
    percdamp: float = 0.01,
    row_groups: Sequence[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prune ``weight`` [out, in] with SparseGPT and return the updated fp32 weight and its prune mask.

    Args:
        weight: the layer weight (or several layers' weights stacked by rows when they share an input).
        hessian: ``2 X^T X / tokens`` of the layer input, ``[in, in]``.
        pattern: unstructured ratio (chosen per block of ``blocksize`` columns, as in SparseGPT) or N:M.
        blocksize: columns processed together (lazy batch updates).
        percdamp: damping as a fraction of the mean Hessian diagonal.
        row_groups: row counts of the stacked layers, so that unstructured masks are chosen per layer
            exactly as if each were pruned alone; ``None`` for a single layer.
    """
    W = weight.detach().clone().float()
    H = hessian.detach().clone().float()
    rows, columns = W.shape
    groups = list(row_groups) if row_groups is not None else [rows]
    dead = torch.diagonal(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    Hinv = inverse_hessian_factor(H, percdamp)
    mask = torch.zeros_like(W, dtype=torch.bool)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        W1 = W[:, i1:i2].clone()
        Hinv1 = Hinv[i1:i2, i1:i2]
        d = torch.diagonal(Hinv1)
        mask1 = torch.zeros_like(W1, dtype=torch.bool)
        if not pattern.structured:
            scores = W1.square() / d.reshape(1, -1).square()
            mask1 = torch.cat([matrix_mask(part, pattern.ratio) for part in scores.split(groups, dim=0)])
        Err1 = torch.zeros_like(W1)
        _obs_columns(W1, Hinv1, d, mask1, Err1, pattern)
        W[:, i1:i2] = W1.masked_fill_(mask1, 0)
        mask[:, i1:i2] = mask1
        if i2 < columns:
            W[:, i2:].addmm_(Err1, Hinv[i1:i2, i2:], alpha=-1)
    return W.masked_fill_(mask, 0), mask


def _obs_columns(
    W1: torch.Tensor,
    Hinv1: torch.Tensor,
    d: torch.Tensor,
    mask1: torch.Tensor,
    Err1: torch.Tensor,
    pattern: SparsityPattern,
) -> None:
    """Prune one block of columns in place, column by column, recording each column's error in ``Err1``.

    OBS step: a pruned weight's error ``(w - 0) / d`` spreads to the later columns of the block (a kept one has
    none); the update sets the column itself to ``w - (w / d) d``, zero where pruned (made exact by the caller).
    The spread is lazy at a second level, as SparseGPT's blocks are at the first: column by column inside
    sub-blocks of about 16 columns, then onto the rest of the block by one matrix product per sub-block.
    """
    columns = W1.shape[1]
    step = pattern.m * max(1, SUB_BLOCK // pattern.m) if pattern.structured else SUB_BLOCK  # whole N:M groups
    with _one_cpu_thread(W1.device):
        for j1 in range(0, columns, step):
            j2 = min(j1 + step, columns)
            for i in range(j1, j2):
                if pattern.structured and i % pattern.m == 0:
                    scores = W1[:, i : i + pattern.m].square() / d[i : i + pattern.m].reshape(1, -1).square()
                    idx = torch.topk(scores, pattern.n, dim=1, largest=False)[1]
                    mask1.scatter_(1, i + idx, True)
                err = torch.where(mask1[:, i], W1[:, i] / d[i], 0.0)
                W1[:, i:j2].addr_(err, Hinv1[i, i:j2], alpha=-1)
                Err1[:, i] = err
            if j2 < columns:
                W1[:, j2:].addmm_(Err1[:, j1:j2], Hinv1[j1:j2, j2:], alpha=-1)


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """Run the small per-column CPU ops (and the sub-block products) on one thread.

    Parallel regions cost them more than they save, and stall badly (milliseconds for a microsecond product)
    when the cores are shared with another process; the results are the same on any number of threads.
    """
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)

"""SparseGPT (Frantar & Alistarh, 2023): OBS-updated pruning with a damped inverse Hessian, column blocks.

The solver runs without a host synchronisation (no value is read back from the device): the damped factor
comes from ``torch.linalg.cholesky_ex``, whose ``info`` is returned as a tensor for the caller to check once.
:func:`sparsegpt_prune` is the synchronising entry point that checks it and retries with more damping.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import torch

from calibprune.engine.sparsity import SparsityPattern

log = logging.getLogger(__name__)

SUB_BLOCK = 16  # columns solved together before a matrix product carries their errors to the rest of a block
SOLVE_ELEMENTS = 1 << 24  # bound on the rows x sub-block x sub-block triangular systems built at once


def inverse_hessian_factor(hessian: torch.Tensor, percdamp: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """Upper Cholesky factor of ``(H + damp I)^-1``, with ``damp = percdamp * mean(diag H)``, and its status.

    ``(L L^T)^-1 = L^-T L^-1`` by a triangular solve: ``torch.cholesky_inverse`` checks its input for
    singularity, which reads a value back from the device.

    Returns:
        The factor and ``info``, an int32 scalar tensor on the device: 0 when both factorisations succeeded,
        else positive (the factor is then meaningless). Nothing is read back to the host.
    """
    damped = hessian.clone()
    damped.diagonal().add_(percdamp * torch.diagonal(hessian).mean().clamp(min=1e-8))
    factor, info = torch.linalg.cholesky_ex(damped)
    del damped
    eye = torch.eye(hessian.shape[0], dtype=hessian.dtype, device=hessian.device)
    inverse_factor = torch.linalg.solve_triangular(factor, eye, upper=False)
    del factor, eye
    upper, info_inverse = torch.linalg.cholesky_ex(inverse_factor.T @ inverse_factor, upper=True)
    return upper, torch.maximum(info, info_inverse)


def sparsegpt_prune(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    pattern: SparsityPattern,
    blocksize: int = 128,
    percdamp: float = 0.01,
    row_groups: Sequence[int] | None = None,
    retries: int = 5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`sparsegpt_solve`, checked: a Hessian not positive definite after damping is retried.

    Each retry has ten times the damping (1e-4 after none), up to ``retries`` times, with a warning each
    time. One host synchronisation per attempt (the check of ``info``).

    Raises:
        torch.linalg.LinAlgError: when even the largest damping leaves the Hessian not positive definite.
    """
    damp = percdamp
    for attempt in range(retries + 1):
        pruned, mask, info = sparsegpt_solve(weight, hessian, pattern, blocksize, damp, row_groups)
        if int(info) == 0:
            return pruned, mask
        if attempt < retries:
            larger = damp * 10 if damp > 0 else 1e-4  # --percdamp 0 must still grow
            log.warning("SparseGPT: Cholesky failed with damping %.3g; retrying with %.3g", damp, larger)
            damp = larger
    raise torch.linalg.LinAlgError(f"SparseGPT: Hessian not positive definite even with damping {damp:.3g}")


def sparsegpt_solve(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    pattern: SparsityPattern,
    blocksize: int = 128,
    percdamp: float = 0.01,
    row_groups: Sequence[int] | None = None,
    sub_block: int = SUB_BLOCK,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prune ``weight`` [out, in] with SparseGPT, without a host synchronisation.

    Args:
        weight: the layer weight (or several layers' weights stacked by rows when they share an input).
        hessian: ``2 X^T X / tokens`` of the layer input, ``[in, in]``.
        pattern: unstructured ratio (chosen per block of ``blocksize`` columns, as in SparseGPT) or N:M.
        blocksize: columns processed together (lazy batch updates).
        percdamp: damping as a fraction of the mean Hessian diagonal.
        row_groups: row counts of the stacked layers, so that unstructured masks are chosen per layer
            exactly as if each were pruned alone; ``None`` for a single layer.
        sub_block: columns whose updates one batched triangular solve does (rounded to whole N:M groups).

    Returns:
        The updated weight (fp32, float64 with a float64 Hessian, on the Hessian's device; masked entries
        zero), its prune mask, and ``info`` (int32 scalar tensor): nonzero when the damped Hessian was not
        positive definite, in which case the weight is returned unchanged with an empty mask. The caller
        must check ``info == 0``.
    """
    dtype = torch.float64 if hessian.dtype == torch.float64 else torch.float32  # float64 for tests
    W = weight.detach().to(hessian.device, dtype, copy=True)
    H = hessian.detach().to(dtype)
    rows, columns = W.shape
    groups = list(row_groups) if row_groups is not None else [rows]
    dead = torch.diagonal(H) == 0
    H = H.clone()
    H.diagonal().masked_fill_(dead, 1)
    W.masked_fill_(dead, 0)
    Hinv, info = inverse_hessian_factor(H, percdamp)
    del H
    mask = torch.zeros_like(W, dtype=torch.bool)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        W1 = W[:, i1:i2].clone()
        Hinv1 = Hinv[i1:i2, i1:i2]
        mask1 = torch.zeros_like(W1, dtype=torch.bool)
        if not pattern.structured:
            scores = W1.square() / torch.diagonal(Hinv1).reshape(1, -1).square()
            mask1 = torch.cat([_lowest_share(part, pattern.ratio) for part in scores.split(groups, dim=0)])
        with _one_cpu_thread(W.device):
            Err1 = _obs_block(W1, Hinv1, mask1, pattern, sub_block)
        W[:, i1:i2] = W1.masked_fill_(mask1, 0)
        mask[:, i1:i2] = mask1
        if i2 < columns:
            W[:, i2:].addmm_(Err1, Hinv[i1:i2, i2:], alpha=-1)
    ok = info == 0
    unchanged = weight.detach().to(W.device, dtype)
    return torch.where(ok, W.masked_fill_(mask, 0), unchanged, out=W), mask.logical_and_(ok), info


def _lowest_share(scores: torch.Tensor, ratio: float) -> torch.Tensor:
    """Mark the ``int(numel * ratio)`` lowest scores of the matrix; ties at the threshold to the first entries.

    The same entries as :func:`calibprune.engine.masks.matrix_mask`, with no host synchronisation.
    """
    flat = scores.reshape(-1)
    k = int(flat.numel() * ratio)
    if k <= 0:
        return torch.zeros_like(scores, dtype=torch.bool)
    threshold = torch.kthvalue(flat, k).values
    below = flat < threshold
    ties = flat == threshold
    missing = k - below.sum()
    return (below | (ties & (ties.cumsum(0) <= missing))).view_as(scores)


def _obs_block(
    W1: torch.Tensor, Hinv1: torch.Tensor, mask1: torch.Tensor, pattern: SparsityPattern, sub_block: int
) -> torch.Tensor:
    """Prune one block of columns in place and return each column's OBS error ``Err1`` (rows x block).

    SparseGPT's column loop: ``err = mask * w_i / d_i; W1[:, i:] -= err * Hinv1[i, i:]``. Once the masks of
    some columns are known, the errors ``E`` of each row ``r`` over those columns ``S`` are fixed by the
    triangular system ``E[r, S] Hinv1[S, S] = W1[r, S]`` (the weight before these columns' updates; zero
    error where kept), solved for all rows at once (:func:`_masked_errors`); one matrix product then applies
    the updates. Unstructured masks are known for the whole block, so sub-blocks of ``sub_block`` columns
    (lazy at a second level, as the blocks are at the first) bound the size of the systems; N:M masks are
    chosen from the updated weights of each group of M columns, so each group is solved in turn.
    """
    columns = W1.shape[1]
    Err1 = torch.zeros_like(W1)
    step = pattern.m * max(1, sub_block // pattern.m) if pattern.structured else sub_block  # whole N:M groups
    for j1 in range(0, columns, step):
        j2 = min(j1 + step, columns)
        group = pattern.m if pattern.structured else j2 - j1
        for g1 in range(j1, j2, group):
            g2 = min(g1 + group, j2)
            if pattern.structured:
                d = torch.diagonal(Hinv1)[g1:g2]
                scores = W1[:, g1:g2].square() / d.reshape(1, -1).square()
                idx = torch.topk(scores, pattern.n, dim=1, largest=False)[1]
                mask1[:, g1:g2].scatter_(1, idx, True)
            Err1[:, g1:g2] = _masked_errors(W1[:, g1:g2], Hinv1[g1:g2, g1:g2], mask1[:, g1:g2])
            W1[:, g1:j2].addmm_(Err1[:, g1:g2], Hinv1[g1:g2, g1:j2], alpha=-1)
        if j2 < columns:
            W1[:, j2:].addmm_(Err1[:, j1:j2], Hinv1[j1:j2, j2:], alpha=-1)
    return Err1


def _masked_errors(W: torch.Tensor, U: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Solve ``E[r] A_r = W[r] * mask[r]`` for every row ``r``, ``A_r`` = ``U``'s pruned columns, unit elsewhere.

    ``U`` is upper triangular; a kept column ``i`` of ``A_r`` is the unit vector ``e_i``, so ``E[r, i] = 0``
    and the pruned columns see only each other: ``E[r, S] U[S, S] = W[r, S]``. Rows are solved in chunks of
    at most :data:`SOLVE_ELEMENTS` matrix entries.
    """
    rows, size = W.shape
    eye = torch.eye(size, dtype=U.dtype, device=U.device)
    chunk = max(1, SOLVE_ELEMENTS // (size * size))
    parts = []
    for r1 in range(0, rows, chunk):
        m = mask[r1 : r1 + chunk]
        systems = torch.where(m.unsqueeze(1), U, eye)
        rhs = (W[r1 : r1 + chunk] * m).unsqueeze(1)
        parts.append(torch.linalg.solve_triangular(systems, rhs, upper=True, left=False).squeeze(1))
    return parts[0] if len(parts) == 1 else torch.cat(parts)


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """Run the small CPU ops of the column blocks on one thread.

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

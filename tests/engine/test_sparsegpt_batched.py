"""The batched SparseGPT solver against the column-by-column loop it replaced (kept here as the reference)."""

import pytest
import torch

from calibprune.engine.masks import matrix_mask
from calibprune.engine.sparsegpt import sparsegpt_solve
from calibprune.engine.sparsity import SparsityPattern


def column_loop_sparsegpt(weight, hessian, pattern, blocksize=128, percdamp=0.01, row_groups=None, sub_block=16):
    """calibprune's solver before the batched one (commit 4c1e0a2), in the Hessian's dtype.

    IST-DASLab's ``fasterprune`` loop (``err = (w - q) / d; W1[:, i:] -= err * Hinv1[i, i:]``) with this
    project's choices: exactly ``int(ratio * numel)`` per block, masks per stacked layer, and the column
    updates lazy at a second level (column by column inside sub-blocks, then one product for the block's rest).
    """
    W, H = weight.clone().to(hessian.dtype), hessian.clone()
    rows, columns = W.shape
    groups = list(row_groups) if row_groups is not None else [rows]
    dead = torch.diagonal(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damped = H + percdamp * torch.diagonal(H).mean() * torch.eye(columns, dtype=H.dtype)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(damped)), upper=True)
    mask = torch.zeros_like(W, dtype=torch.bool)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        W1, Hinv1 = W[:, i1:i2].clone(), Hinv[i1:i2, i1:i2]
        d = torch.diagonal(Hinv1)
        mask1 = torch.zeros_like(W1, dtype=torch.bool)
        if not pattern.structured:
            scores = W1.square() / d.reshape(1, -1).square()
            mask1 = torch.cat([matrix_mask(part, pattern.ratio) for part in scores.split(groups, dim=0)])
        Err1 = torch.zeros_like(W1)
        step = pattern.m * max(1, sub_block // pattern.m) if pattern.structured else sub_block
        for j1 in range(0, i2 - i1, step):
            j2 = min(j1 + step, i2 - i1)
            for i in range(j1, j2):
                if pattern.structured and i % pattern.m == 0:
                    scores = W1[:, i : i + pattern.m].square() / d[i : i + pattern.m].reshape(1, -1).square()
                    mask1.scatter_(1, i + torch.topk(scores, pattern.n, dim=1, largest=False)[1], True)
                err = torch.where(mask1[:, i], W1[:, i] / d[i], 0.0)
                W1[:, i:j2].addr_(err, Hinv1[i, i:j2], alpha=-1)
                Err1[:, i] = err
            W1[:, j2:].addmm_(Err1[:, j1:j2], Hinv1[j1:j2, j2:], alpha=-1)
        W[:, i1:i2] = W1.masked_fill_(mask1, 0)
        mask[:, i1:i2] = mask1
        W[:, i2:].addmm_(Err1, Hinv[i1:i2, i2:], alpha=-1)
    return W.masked_fill_(mask, 0), mask


def _problem(seed, rows, cols, tokens=None):
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(rows, cols, generator=g, dtype=torch.float64)
    x = torch.randn(tokens or 2 * cols, cols, generator=g, dtype=torch.float64) * torch.linspace(0.2, 2.0, cols)
    x[:, 1] += 0.9 * x[:, 0]  # correlated inputs: large off-diagonal Hessian entries
    return weight, 2 * x.T @ x / x.shape[0]


CASES = [  # rows, columns, blocksize (not always dividing the columns), row groups
    (12, 40, 16, None),
    (33, 70, 32, [20, 13]),
    (64, 300, 128, [32, 16, 16]),
    (7, 24, 128, None),
]


@pytest.mark.parametrize("sparsity_type", ["unstructured", "2:4", "4:8"])
@pytest.mark.parametrize(("rows", "cols", "blocksize", "row_groups"), CASES)
@pytest.mark.parametrize("sub_block", [16, 5, 128])
def test_batched_solver_equals_the_column_loop_in_float64(sparsity_type, rows, cols, blocksize, row_groups, sub_block):
    weight, hessian = _problem(rows + cols, rows, cols)
    pattern = SparsityPattern.parse(sparsity_type, 0.4)
    expected, expected_mask = column_loop_sparsegpt(weight, hessian, pattern, blocksize, row_groups=row_groups)
    got, mask, info = sparsegpt_solve(weight, hessian, pattern, blocksize, row_groups=row_groups, sub_block=sub_block)
    assert got.dtype == torch.float64 and int(info) == 0
    assert torch.equal(mask, expected_mask)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("sparsity_type", ["unstructured", "2:4"])
def test_float32_stays_within_float_tolerance_of_the_column_loop(sparsity_type):
    weight, hessian = _problem(7, 48, 256)
    pattern = SparsityPattern.parse(sparsity_type, 0.5)
    expected, expected_mask = column_loop_sparsegpt(weight.float(), hessian.float(), pattern)
    got, mask, _ = sparsegpt_solve(weight.float(), hessian.float(), pattern)
    assert got.dtype == torch.float32
    assert (mask == expected_mask).float().mean() > 0.999
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-3)


def test_failed_factorisation_is_reported_and_leaves_the_weight_unchanged():
    weight = torch.randn(4, 8, dtype=torch.float64)
    got, mask, info = sparsegpt_solve(weight, -torch.eye(8, dtype=torch.float64), SparsityPattern(0.5))
    assert int(info) > 0
    assert torch.equal(got, weight) and not mask.any()


class _Synchronised(Exception):
    pass


def test_the_solver_reads_nothing_back_from_the_device(monkeypatch):
    """Every call that would wait for a GPU (value read back to the host) raises inside the solver."""

    def refuse(*_args, **_kwargs):
        raise _Synchronised

    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__int__", "__float__", "__index__", "nonzero"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    monkeypatch.setattr(torch, "nonzero", refuse)
    monkeypatch.setattr(torch, "equal", refuse)
    weight, hessian = _problem(8, 10, 40)
    for sparsity_type in ("unstructured", "2:4"):
        sparsegpt_solve(weight.float(), hessian.float(), SparsityPattern.parse(sparsity_type, 0.5), 16)

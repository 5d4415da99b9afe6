import logging

import pytest
import torch

from calibprune.engine.sparsegpt import sparsegpt_prune
from calibprune.engine.sparsity import SparsityPattern


def _problem(seed: int = 0, rows: int = 12, cols: int = 40, tokens: int = 200):
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(rows, cols, generator=g)
    x = torch.randn(tokens, cols, generator=g) * torch.linspace(0.2, 2.0, cols)
    return weight, 2 * x.T @ x / tokens


def direct_sparsegpt(weight, hessian, pattern, blocksize, percdamp=0.01):
    """SparseGPT written out in float64 with explicit inverses instead of the Cholesky trick.

    Once columns ``< i`` are fixed, the inverse Hessian of the remaining problem is ``inv(H[i:, i:])``;
    pruning column ``i`` moves the other columns by the optimal (OBS) correction, and the score of a weight
    is ``w^2 / [inv(H[i:, i:])]_00``. Unstructured masks take exactly the lowest ``int(ratio * numel)`` of a
    block, chosen when the block starts; N:M groups are chosen when their first column is reached.
    """
    W, cols = weight.double().clone(), weight.shape[1]
    H = hessian.double() + percdamp * hessian.double().diagonal().mean() * torch.eye(cols, dtype=torch.float64)
    inverses = [torch.linalg.inv(H[i:, i:]) for i in range(cols)]
    diag = torch.tensor([inv[0, 0] for inv in inverses], dtype=torch.float64)
    mask = torch.zeros_like(W, dtype=torch.bool)
    for start in range(0, cols, blocksize):
        end = min(start + blocksize, cols)
        if not pattern.structured:
            scores = (W[:, start:end] ** 2 / diag[start:end]).flatten()
            chosen = torch.zeros_like(scores, dtype=torch.bool)
            chosen[torch.argsort(scores)[: int(scores.numel() * pattern.ratio)]] = True
            mask[:, start:end] = chosen.reshape(-1, end - start)
        for i in range(start, end):
            if pattern.structured and (i - start) % pattern.m == 0:
                scores = W[:, i : i + pattern.m] ** 2 / diag[i : i + pattern.m]
                mask.scatter_(1, i + torch.topk(scores, pattern.n, dim=1, largest=False)[1], True)
            error = torch.where(mask[:, i], W[:, i], torch.zeros_like(W[:, i]))
            W[:, i:] -= torch.outer(error / inverses[i][0, 0], inverses[i][0])
    return W.masked_fill(mask, 0), mask


@pytest.mark.parametrize("sparsity_type", ["unstructured", "2:4"])
@pytest.mark.parametrize("blocksize", [16, 128])
def test_solver_equals_a_direct_reimplementation(sparsity_type, blocksize):
    weight, hessian = _problem()
    pattern = SparsityPattern.parse(sparsity_type, 0.5)
    ours, mask = sparsegpt_prune(weight, hessian, pattern, blocksize=blocksize)
    expected, expected_mask = direct_sparsegpt(weight, hessian, pattern, blocksize)
    assert torch.equal(mask, expected_mask)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-4, atol=1e-4)
    assert torch.equal(ours == 0, mask)


@pytest.mark.parametrize("ratio", [0.3, 0.5, 0.7])
def test_unstructured_counts_are_exact_in_every_block(ratio):
    weight, hessian = _problem(1, rows=10, cols=40)
    _, mask = sparsegpt_prune(weight, hessian, SparsityPattern(ratio), blocksize=16)
    counts = [int(mask[:, start : start + 16].sum()) for start in range(0, 40, 16)]
    assert counts == [int(10 * 16 * ratio), int(10 * 16 * ratio), int(10 * 8 * ratio)]


@pytest.mark.parametrize(("n", "m"), [(2, 4), (4, 8)])
def test_n_m_groups_hold_exactly_n_zeros(n, m):
    weight, hessian = _problem(2)
    pruned, mask = sparsegpt_prune(weight, hessian, SparsityPattern.parse(f"{n}:{m}"), blocksize=16)
    assert ((pruned == 0).reshape(12, -1, m).sum(dim=-1) == n).all()
    assert torch.equal(pruned == 0, mask)


@pytest.mark.parametrize("sparsity_type", ["unstructured", "2:4"])
def test_stacked_rows_with_row_groups_equal_solving_each_alone(sparsity_type):
    weight, hessian = _problem(3, rows=14)
    pattern = SparsityPattern.parse(sparsity_type, 0.3 if sparsity_type == "unstructured" else 0.5)
    parts = weight.split([8, 2, 4])
    stacked, stacked_mask = sparsegpt_prune(weight, hessian, pattern, blocksize=16, row_groups=[8, 2, 4])
    for part, got, got_mask in zip(parts, stacked.split([8, 2, 4]), stacked_mask.split([8, 2, 4]), strict=True):
        alone, alone_mask = sparsegpt_prune(part, hessian, pattern, blocksize=16)
        assert torch.equal(got_mask, alone_mask)
        torch.testing.assert_close(got, alone)


def test_dead_inputs_are_zeroed_without_failing():
    weight, hessian = _problem(4)
    hessian[5, :] = hessian[:, 5] = 0
    pruned, mask = sparsegpt_prune(weight, hessian, SparsityPattern(0.5), blocksize=16)
    assert (pruned[:, 5] == 0).all() and torch.isfinite(pruned).all()


def test_cholesky_failure_is_retried_with_more_damping(caplog):
    # A numerically indefinite Hessian (as fp32 accumulation of a rank-deficient X^T X can give):
    # 1% damping is not enough, 10% is.
    q = torch.linalg.qr(torch.randn(16, 16, generator=torch.Generator().manual_seed(5)))[0]
    eigenvalues = torch.ones(16)
    eigenvalues[0] = -0.05
    hessian = q @ torch.diag(eigenvalues) @ q.T
    weight, _ = _problem(5, rows=6, cols=16)
    with caplog.at_level(logging.WARNING, logger="calibprune.engine.sparsegpt"):
        pruned, mask = sparsegpt_prune(weight, hessian, SparsityPattern(0.5), blocksize=16)
    assert any("Cholesky failed" in record.message for record in caplog.records)
    assert torch.isfinite(pruned).all() and int(mask.sum()) == 48


def test_singular_hessian_without_damping_is_retried_with_some(caplog):
    x = torch.randint(-3, 4, (32, 8), generator=torch.Generator().manual_seed(6)).float()
    x[:, 1] = x[:, 0]  # two identical inputs: X^T X exactly singular
    with caplog.at_level(logging.WARNING, logger="calibprune.engine.sparsegpt"):
        pruned, mask = sparsegpt_prune(torch.randn(4, 8), x.T @ x, SparsityPattern(0.5), percdamp=0.0)
    assert "retrying with 0.0001" in caplog.text
    assert torch.isfinite(pruned).all() and int(mask.sum()) == 16


def test_hessian_beyond_repair_is_a_clear_error():
    hessian = -torch.eye(8)
    with pytest.raises(torch.linalg.LinAlgError, match="not positive definite"):
        sparsegpt_prune(torch.randn(4, 8), hessian, SparsityPattern(0.5))

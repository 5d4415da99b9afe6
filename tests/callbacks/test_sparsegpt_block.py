"""SparseGPT's ``prune_block``: every group solved without a check, then one check of all factorisations."""

import logging

import torch
from torch import nn

from calibprune.callbacks import SparseGPT
from calibprune.engine.sparsegpt import sparsegpt_prune
from calibprune.engine.sparsity import SparsityPattern
from calibprune.engine.statistics import HessianAccumulator
from calibprune.modeling.prunable import PrunableWeight


def _accumulator(hessian: torch.Tensor) -> HessianAccumulator:
    accumulator = HessianAccumulator(hessian.shape[0])
    accumulator.sum.copy_(hessian / 2)  # hessian() is 2 X^T X / tokens
    accumulator.tokens.fill_(1)
    return accumulator


def _layer(name: str, rows: int, cols: int, seed: int) -> PrunableWeight:
    linear = nn.Linear(cols, rows, bias=False)
    linear.weight.data = torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))
    return PrunableWeight(name, linear, linear.weight, "linear")


def test_a_group_whose_factorisation_failed_is_solved_again_with_more_damping(caplog):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 16, generator=g)
    good = 2 * x.T @ x / 64
    q = torch.linalg.qr(torch.randn(16, 16, generator=g))[0]
    eigenvalues = torch.ones(16)
    eigenvalues[0] = -0.05  # indefinite: 1% damping is not enough, 10% is
    bad = q @ torch.diag(eigenvalues) @ q.T
    layers = {"q": _layer("q", 6, 16, 1), "k": _layer("k", 4, 16, 2), "o": _layer("o", 6, 16, 3)}
    dense = {name: layer.weight.clone() for name, layer in layers.items()}
    shared, alone = _accumulator(good), _accumulator(bad)
    method = SparseGPT(0.5, blocksize=8)
    method._active_pattern = SparsityPattern(0.5)
    with caplog.at_level(logging.WARNING, logger="calibprune.engine.sparsegpt"):
        method.prune_block(layers, {"q": shared, "k": shared, "o": alone})
    assert "Cholesky failed with damping 0.01; retrying with 0.1" in caplog.text
    stacked, _ = sparsegpt_prune(torch.cat([dense["q"], dense["k"]]), good, SparsityPattern(0.5), 8, row_groups=[6, 4])
    expected = {"o": sparsegpt_prune(dense["o"], bad, SparsityPattern(0.5), 8)[0]}
    expected["q"], expected["k"] = stacked.split([6, 4])
    for name, layer in layers.items():
        torch.testing.assert_close(layer.weight, expected[name])
        assert int((layer.weight == 0).sum()) == layer.weight.numel() // 2

"""RIA scores and masks against the authors' ``prune_ria`` (tests/authors_reference.py) on identical inputs."""

import pytest
import torch

from calibprune.engine.ria import ria_mask, ria_scores
from calibprune.engine.sparsity import SparsityPattern
from calibprune.engine.statistics import SquaredNormAccumulator
from tests import authors_reference as authors


def _layer(seed: int = 0, rows: int = 16, cols: int = 64, sequences: int = 4, tokens: int = 12):
    """A weight, our input norms and the authors' ``scaler_row`` of the same activations, sequence by sequence."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(rows, cols, generator=g)
    inputs = torch.randn(sequences, tokens, cols, generator=g) * torch.rand(cols, generator=g) * 3
    ours = SquaredNormAccumulator(cols)
    ours.update(inputs)
    wrapped = authors.WrappedGPT(torch.nn.Linear(cols, rows, bias=False))
    for sequence in inputs:
        wrapped.add_batch(sequence.unsqueeze(0))
    return weight, ours.norms(), wrapped.scaler_row


def test_scores_are_the_relative_importance_times_a_power_of_the_input_norm():
    weight, norms, _ = _layer()
    w = weight.abs()
    expected = (w / w.sum(dim=0, keepdim=True) + w / w.sum(dim=1, keepdim=True)) * norms.sqrt()
    torch.testing.assert_close(ria_scores(weight.bfloat16(), norms, 0.5), expected, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(ria_scores(weight, norms, 0.5), expected)
    torch.testing.assert_close(ria_scores(weight, norms, 1.0), expected * norms.sqrt())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unstructured_mask_is_the_authors_but_their_one_extra_weight(seed):
    """Their threshold ``scores <= sorted[int(numel * ratio)]`` prunes one weight more than the ratio: the next one."""
    weight, norms, scaler_row = _layer(seed)
    ours = ria_mask(weight, norms, SparsityPattern(0.5))
    theirs = authors.ria_mask(weight, scaler_row, 0.5)
    assert int(ours.sum()) == weight.numel() // 2
    extra = theirs & ~ours
    assert not (ours & ~theirs).any() and int(extra.sum()) == 1
    scores = ria_scores(weight, norms)
    assert scores[extra].item() == scores[~ours].min().item()  # the lowest score we keep


@pytest.mark.parametrize("alpha", [0.5, 1.0, 0.0])
def test_per_outneuron_mask_equals_the_authors(alpha):
    weight, norms, scaler_row = _layer(3)
    ours = ria_mask(weight, norms, SparsityPattern(0.5), alpha, per_row=True)
    assert torch.equal(ours, authors.ria_mask(weight, scaler_row, 0.5, a=alpha, per_outneuron=True))
    assert ours.sum(dim=1).tolist() == [32] * 16


@pytest.mark.parametrize("sparsity_type", ["2:4", "4:8", "1:4"])
def test_n_m_mask_equals_the_authors(sparsity_type):
    weight, norms, scaler_row = _layer(4)
    pattern = SparsityPattern.parse(sparsity_type, 0.5)
    ours = ria_mask(weight, norms, pattern)
    assert torch.equal(ours, authors.ria_mask(weight, scaler_row, pattern.ratio, pattern.n, pattern.m))
    assert (ours.reshape(16, -1, pattern.m).sum(dim=-1) == pattern.n).all()


def test_the_whole_matrix_is_compared_not_each_row():
    weight, norms, _ = _layer(5)
    weight[0] *= 100  # one row of large weights: relative to its row it is average, to its columns it dominates
    ours = ria_mask(weight, norms, SparsityPattern(0.5))
    assert int(ours[0].sum()) < 32 < int(ours.sum(dim=1).max())

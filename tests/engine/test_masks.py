import pytest
import torch

from calibprune.engine.magnitude import magnitude_mask
from calibprune.engine.masks import matrix_mask, n_m_mask, row_mask
from calibprune.engine.sparsity import SparsityPattern


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 0.7])
def test_row_mask_prunes_exactly_the_lowest_of_every_row(ratio):
    scores = torch.rand(7, 30, generator=torch.Generator().manual_seed(0))
    mask = row_mask(scores, ratio)
    k = int(30 * ratio)
    assert mask.sum(dim=1).tolist() == [k] * 7
    if 0 < k < 30:
        assert (scores.masked_fill(~mask, -1).amax(dim=1) < scores.masked_fill(mask, 2).amin(dim=1)).all()


def test_row_mask_breaks_ties_by_column_order():
    mask = row_mask(torch.ones(3, 8), 0.5)
    assert mask.sum(dim=1).tolist() == [4, 4, 4]
    assert mask[:, :4].all() and not mask[:, 4:].any()


@pytest.mark.parametrize("ratio", [0.25, 0.5, 0.9])
def test_matrix_mask_prunes_exactly_the_lowest_of_the_matrix(ratio):
    scores = torch.rand(9, 14, generator=torch.Generator().manual_seed(1))
    mask = matrix_mask(scores, ratio)
    assert int(mask.sum()) == int(scores.numel() * ratio)
    assert scores[mask].max() < scores[~mask].min()


def test_matrix_mask_with_ties_prunes_exactly_k():
    scores = torch.tensor([[1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0]])
    mask = matrix_mask(scores, 0.5)
    assert int(mask.sum()) == 4
    assert mask[0, 1] and mask[1, 2]  # the two strictly lowest always go


@pytest.mark.parametrize(("n", "m"), [(2, 4), (4, 8), (1, 4)])
def test_n_m_mask_prunes_n_lowest_of_every_group(n, m):
    scores = torch.rand(5, 32, generator=torch.Generator().manual_seed(2))
    mask = n_m_mask(scores, n, m)
    groups, kept = mask.reshape(5, -1, m), scores.reshape(5, -1, m)
    assert (groups.sum(dim=-1) == n).all()
    assert (kept.masked_fill(~groups, -1).amax(-1) < kept.masked_fill(groups, 2).amin(-1)).all()


def test_n_m_mask_with_ties_prunes_exactly_n():
    mask = n_m_mask(torch.zeros(4, 16), 2, 4)
    assert (mask.reshape(4, 4, 4).sum(dim=-1) == 2).all()


def test_n_m_mask_rejects_a_width_not_divisible_by_m():
    with pytest.raises(ValueError, match="M=4 does not divide the 10 columns"):
        n_m_mask(torch.rand(2, 10), 2, 4)


def test_magnitude_mask_is_per_matrix_or_per_group():
    weight = torch.randn(6, 16, generator=torch.Generator().manual_seed(3)).bfloat16()
    unstructured = magnitude_mask(weight, SparsityPattern.parse("unstructured", 0.5))
    assert int(unstructured.sum()) == 48
    assert weight.float().abs()[unstructured].max() <= weight.float().abs()[~unstructured].min()
    structured = magnitude_mask(weight, SparsityPattern.parse("2:4"))
    assert (structured.reshape(6, 4, 4).sum(dim=-1) == 2).all()


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.5, 0.7, 0.99])
def test_selection_equals_the_first_k_of_a_stable_sort_ties_included(ratio):
    generator = torch.Generator().manual_seed(0)
    for trial in range(60):
        rows, cols = torch.randint(1, 40, (2,), generator=generator).tolist()
        if trial % 2:  # many ties, signed zeros among them
            scores = torch.randint(0, 4, (rows, cols), generator=generator).float()
            scores[scores == 0] = -0.0 if trial % 4 == 1 else 0.0
        else:
            scores = torch.randn(rows, cols, generator=generator)
        k = int(cols * ratio)
        expected = torch.zeros_like(scores, dtype=torch.bool)
        expected.scatter_(1, torch.sort(scores, dim=-1, stable=True)[1][:, :k], True)
        assert torch.equal(row_mask(scores, ratio), expected)
        k = int(scores.numel() * ratio)
        expected = torch.zeros(scores.numel(), dtype=torch.bool)
        expected[torch.sort(scores.flatten(), stable=True)[1][:k]] = True
        assert torch.equal(matrix_mask(scores, ratio), expected.view_as(scores))

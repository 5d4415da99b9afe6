"""OWL's maths: outlier ratios and the block sparsities they give (mean exactly the target, spread 2 lambda)."""

import pytest
import torch

from calibprune.engine.owl import outlier_ratio, owl_sparsities


def test_outlier_ratio_counts_scores_above_m_times_the_block_mean():
    a, b = torch.tensor([[1.0, 1.0], [1.0, 13.0]]), torch.tensor([1.0, 1.0, 1.0, 20.0])
    # mean of all eight scores is 5; above 2 * 5 = 10: 13 and 20
    assert outlier_ratio([a, b], 2.0) == 2 / 8
    assert outlier_ratio([a, b], 5.0) == 0.0


def test_block_sparsities_follow_the_authors_mapping():
    ratios = [0.01, 0.03, 0.02, 0.05]
    sparsities = owl_sparsities(ratios, 0.7, 0.08)
    d = torch.tensor(ratios, dtype=torch.float64)
    spread = (d - d.min()) / (d.max() - d.min()) * 2 * 0.08
    expected = 1 - (spread - spread.mean() + (1 - 0.7))  # density 1 - S + n_l - mean(n), as in their code
    assert sparsities == pytest.approx(expected.tolist(), abs=1e-15)
    assert abs(sum(sparsities) / len(sparsities) - 0.7) < 1e-12
    assert max(sparsities) - min(sparsities) == pytest.approx(0.16)
    assert sparsities.index(min(sparsities)) == 3  # the block with most outliers is pruned least


def test_equal_outlier_ratios_give_uniform_sparsity_and_bad_lambda_is_refused():
    assert owl_sparsities([0.02, 0.02], 0.5, 0.08) == [0.5, 0.5]
    with pytest.raises(ValueError, match="owl_lambda: 0.6 gives block sparsities"):
        owl_sparsities([0.0, 1.0, 0.5], 0.7, 0.6)

"""Ranking maths against hand-worked and brute-force values."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from calibprune.advisor.ranking import (
    best_probability,
    kendall,
    pearson,
    percentile_interval,
    rank_average,
    ranks,
    spearman,
    top_k_hit,
)


def test_ranks_average_ties():
    assert ranks([3.0, 1.0, 2.0, 1.0]) == [4.0, 1.5, 3.0, 1.5]


def test_spearman_without_ties_is_the_textbook_formula():
    x = [0.3, 1.2, -0.5, 4.0, 2.2, 0.9]
    y = [1.0, 0.8, -2.0, 3.0, 5.0, 0.1]
    rx, ry = ranks(x), ranks(y)
    n = len(x)
    expected = 1 - 6 * sum((a - b) ** 2 for a, b in zip(rx, ry, strict=False)) / (n * (n * n - 1))
    assert spearman(x, y) == pytest.approx(expected)
    assert spearman(x, x) == pytest.approx(1.0)
    assert spearman(x, [-v for v in x]) == pytest.approx(-1.0)


def _kendall_tau_b_brute(x, y):
    pairs = list(itertools.combinations(range(len(x)), 2))
    s = sum(
        math.copysign(1, x[i] - x[j]) * math.copysign(1, y[i] - y[j]) for i, j in pairs if x[i] != x[j] and y[i] != y[j]
    )
    n0 = len(pairs)
    n1 = sum(1 for i, j in pairs if x[i] == x[j])
    n2 = sum(1 for i, j in pairs if y[i] == y[j])
    return s / math.sqrt((n0 - n1) * (n0 - n2))


@pytest.mark.parametrize("seed", range(5))
def test_kendall_tau_b_matches_its_definition_with_ties(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 4, (9,), generator=g).tolist()
    y = torch.randint(0, 4, (9,), generator=g).tolist()
    assert kendall(x, y) == pytest.approx(_kendall_tau_b_brute(x, y))


def test_pearson_constant_side_is_nan():
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError):
        pearson([1], [1])


def test_top_k_hit():
    truth = [5.0, 1.0, 3.0, 4.0]
    assert top_k_hit([0.1, 0.2, 0.3, 0.4], truth, 2)
    assert not top_k_hit([0.1, 0.9, 0.3, 0.4], truth, 3)
    assert top_k_hit([0.1, 0.9, 0.3, 0.4], truth, 4)


def test_rank_average_and_best_probability():
    combined = rank_average({"a": [1.0, 2.0, 3.0], "b": [30.0, 10.0, 20.0]}, {"a": 3.0, "b": 1.0})
    assert combined == pytest.approx([(3 * 1 + 3) / 4, (3 * 2 + 1) / 4, (3 * 3 + 2) / 4])
    draws = torch.tensor([[0.1, 0.2], [0.3, 0.2], [0.0, 0.5], [0.4, 0.1]])
    assert best_probability(draws).tolist() == [0.5, 0.5]


def test_percentile_interval_drops_nan():
    low, high = percentile_interval([float("nan"), *range(101)])
    assert (low, high) == pytest.approx((2.5, 97.5))

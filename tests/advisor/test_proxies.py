"""Each proxy's maths against a direct (loop or numpy-free brute-force) computation."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from calibprune.advisor.proxies.coverage import coverage_distance, effective_rank
from calibprune.advisor.proxies.lexical import moving_type_token_ratio, real_tokens, zipf_exponent
from calibprune.advisor.proxies.likelihood import min_k_percent, token_log_probs
from calibprune.advisor.proxies.reconstruction import relative_error
from calibprune.advisor.proxies.statistics_distance import log_norm_distance, mean_distance, normalised_log_norms


def test_relative_error_skips_padding():
    g = torch.Generator().manual_seed(0)
    dense, pruned = torch.randn(2, 5, 3, generator=g), torch.randn(2, 5, 3, generator=g)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    got = relative_error(dense, pruned, mask)
    for row in range(2):
        keep = mask[row].bool()
        d, p = dense[row][keep], pruned[row][keep]
        assert got[row] == pytest.approx(float(((p - d) ** 2).sum() / (d**2).sum()), rel=1e-5)
    assert relative_error(dense, dense).tolist() == [0.0, 0.0]


def test_log_norm_distance_is_scale_blind_and_matches_direct():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(40, 6, generator=g) + 0.1
    y = torch.rand(25, 6, generator=g) + 0.1
    a = normalised_log_norms(x.square().sum(0), 40)
    b = normalised_log_norms(y.square().sum(0), 25)
    direct_a = [math.log(math.sqrt(float((x[:, j] ** 2).mean()))) for j in range(6)]
    direct_b = [math.log(math.sqrt(float((y[:, j] ** 2).mean()))) for j in range(6)]
    ca = [v - sum(direct_a) / 6 for v in direct_a]
    cb = [v - sum(direct_b) / 6 for v in direct_b]
    expected = math.sqrt(sum((u - v) ** 2 for u, v in zip(ca, cb, strict=False)) / 6)
    assert log_norm_distance(a, b) == pytest.approx(expected, rel=1e-6)
    scaled = normalised_log_norms((7 * x).square().sum(0), 40)
    assert log_norm_distance(a, scaled) == pytest.approx(0.0, abs=1e-6)  # fp32 sums
    stats = {"l": (x.square().sum(0), 40.0), "m": (x.square().sum(0), 40.0)}
    other = {"l": (y.square().sum(0), 25.0), "m": ((7 * x).square().sum(0), 40.0)}
    assert mean_distance(stats, other) == pytest.approx(expected / 2, rel=1e-6)
    with pytest.raises(ValueError):
        mean_distance(stats, {"z": other["l"]})


def test_coverage_distance_is_the_nearest_neighbour_by_brute_force():
    g = torch.Generator().manual_seed(2)
    cand, target = torch.randn(7, 4, generator=g), torch.randn(5, 4, generator=g)
    got = coverage_distance(cand, target, chunk=2)
    for i in range(5):
        best = max(float(torch.dot(target[i], c) / (target[i].norm() * c.norm())) for c in cand)
        assert got[i] == pytest.approx(1 - best, abs=1e-6)
    assert coverage_distance(target, target).abs().max() < 1e-6


def test_effective_rank():
    basis = torch.eye(3)
    points = torch.cat([basis, -basis])  # centred, three equal singular values
    assert effective_rank(points) == pytest.approx(3.0)
    line = torch.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    assert effective_rank(line) == pytest.approx(1.0, abs=1e-6)


def test_moving_type_token_ratio_brute_force():
    tokens = [1, 2, 1, 3, 3, 4, 1, 5, 2, 2]
    window = 4
    windows = [tokens[i : i + window] for i in range(len(tokens) - window + 1)]
    expected = sum(len(set(w)) / window for w in windows) / len(windows)
    assert moving_type_token_ratio(tokens, window) == pytest.approx(expected)
    assert moving_type_token_ratio([1, 1, 2], window) == pytest.approx(2 / 3)
    assert moving_type_token_ratio([], window) == 0.0


def test_real_tokens_and_zipf_exponent():
    ids = torch.tensor([[5, 6, 7], [8, 9, 0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    assert real_tokens(ids, mask) == [5, 6, 7, 8]
    # Frequencies exactly 1000 / r^1.5 for ranks 1..8.
    tokens = [t for r in range(1, 9) for t in [r] * round(1000 / r**1.5)]
    freq = sorted(Counter(tokens).values(), reverse=True)
    x = [math.log(r) for r in range(1, 9)]
    y = [math.log(f) for f in freq]
    mx, my = sum(x) / 8, sum(y) / 8
    slope = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=False)) / sum((a - mx) ** 2 for a in x)
    assert zipf_exponent(tokens) == pytest.approx(-slope)
    assert zipf_exponent(tokens) == pytest.approx(1.5, abs=0.01)
    assert math.isnan(zipf_exponent([3, 3]))


def test_token_log_probs_and_min_k():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 4, 6, generator=g)
    ids = torch.randint(0, 6, (2, 4), generator=g)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    got = token_log_probs(logits, ids, mask)
    expected = []
    for b in range(2):
        for t in range(1, 4):
            if mask[b, t] and mask[b, t - 1]:
                expected.append(float(torch.log_softmax(logits[b, t - 1], -1)[ids[b, t]]))
    assert got.tolist() == pytest.approx(expected, rel=1e-5)
    values = torch.tensor([-1.0, -5.0, -2.0, -0.5, -3.0])
    assert min_k_percent(values, 0.4) == pytest.approx(-4.0)
    assert min_k_percent(values, 0.1) == pytest.approx(-5.0)  # at least one token
    with pytest.raises(ValueError, match="--min_k"):
        min_k_percent(values, 0.0)

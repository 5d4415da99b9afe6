"""The study's statistics against direct computation and published table values (scipy is not a dependency)."""

import math
import statistics

import numpy as np
import pytest

from calibprune.study import stats

# Student-t quantiles t_{0.975, df} (scipy.stats.t.ppf(0.975, df); the same in any printed t table).
T975 = {
    1: 12.706204736174705,
    2: 4.302652729911275,
    3: 3.182446305284263,
    4: 2.7764451051977987,
    10: 2.2281388519649385,
    30: 2.0422724563012373,
}


def t_pdf(x, df):
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))


def integrated_cdf(t, df, steps=20_000):
    """0.5 + the integral of the density from 0 to t (Simpson's rule)."""
    h = t / steps
    total = t_pdf(0, df) + t_pdf(t, df) + sum((4 if i % 2 else 2) * t_pdf(i * h, df) for i in range(1, steps))
    return 0.5 + total * h / 3


@pytest.mark.parametrize(("df", "expected"), sorted(T975.items()))
def test_t_quantile_matches_the_table(df, expected):
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, rel=1e-10)
    assert stats.t_quantile(0.025, df) == pytest.approx(-expected, rel=1e-10)


@pytest.mark.parametrize("df", [1, 2, 3.5, 7, 40])
@pytest.mark.parametrize("t", [0.3, 1.0, 2.5, 6.0])
def test_t_cdf_is_the_integral_of_the_density(t, df):
    assert stats.t_cdf(t, df) == pytest.approx(integrated_cdf(t, df), abs=1e-9)
    assert stats.t_cdf(-t, df) == pytest.approx(1 - integrated_cdf(t, df), abs=1e-9)


def test_t_quantile_tends_to_the_normal_quantile():
    assert stats.t_quantile(0.975, 1e7) == pytest.approx(1.959963984540054, rel=1e-6)


def test_betainc_closed_forms():
    # I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1 - x)^b
    for x in (0.1, 0.5, 0.9):
        assert stats.betainc(1, 1, x) == pytest.approx(x, abs=1e-14)
        assert stats.betainc(3.0, 1, x) == pytest.approx(x**3, abs=1e-14)
        assert stats.betainc(1, 2.5, x) == pytest.approx(1 - (1 - x) ** 2.5, abs=1e-14)


def test_t_interval_is_mean_plus_minus_t_times_standard_error():
    values = [0.41, 0.44, 0.40]
    interval = stats.t_interval(values)
    half = T975[2] * statistics.stdev(values) / math.sqrt(3)
    assert interval.mean == pytest.approx(statistics.fmean(values))
    assert (interval.low, interval.high) == pytest.approx((interval.mean - half, interval.mean + half))
    assert interval.half_width == pytest.approx(half)
    single = stats.t_interval([0.5])
    assert single.low is None and single.half_width is None


def test_paired_t_test_by_hand():
    a, b = [20.0, 22.0, 21.0, 23.0], [18.0, 19.5, 18.1, 20.0]
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    t = statistics.fmean(diffs) / (statistics.stdev(diffs) / 2)
    result = stats.paired_t_test(a, b)
    assert result.difference == pytest.approx(statistics.fmean(diffs))
    assert result.p_value == pytest.approx(2 * (1 - stats.t_cdf(t, 3)))
    assert result.p_value == pytest.approx(2 * (1 - integrated_cdf(t, 3)), abs=1e-8)
    assert stats.paired_t_test([1.0, 2.0], [1.0, 2.0]).p_value == 1.0


def test_welch_t_test_by_hand():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    va, vb = statistics.variance(a) / 4, statistics.variance(b) / 3
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    t = (2.5 - 4.0) / math.sqrt(va + vb)
    assert stats.welch_t_test(a, b).p_value == pytest.approx(2 * stats.t_cdf(t, df))


def test_mcnemar_exact_counts_discordant_pairs():
    a = [1] * 10 + [0] * 2 + [1] * 5 + [0] * 3  # 10 right only for a, 2 only for b, 8 concordant
    b = [0] * 10 + [1] * 2 + [1] * 5 + [0] * 3
    result = stats.mcnemar_exact(a, b)
    assert result.p_value == pytest.approx(2 * (1 + 12 + 66) / 2**12)  # 2 * P(X <= 2), X ~ Bin(12, 1/2)
    assert result.difference == pytest.approx(8 / 20)
    assert stats.mcnemar_exact([1, 0], [1, 0]).p_value == 1.0
    assert stats.mcnemar_exact([1] * 3, [0] * 3).p_value == pytest.approx(0.25)
    with pytest.raises(ValueError, match="0/1"):
        stats.mcnemar_exact([0.5], [1])


def test_holm_adjustment():
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm([]) == []


def test_paired_bootstrap_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(1)
    b = rng.normal(3.0, 1.0, 2000)
    a = b + rng.normal(0.05, 0.5, 2000)
    result = stats.paired_bootstrap(a.tolist(), b.tolist(), resamples=4000)
    diffs = a - b
    se = diffs.std(ddof=1) / math.sqrt(len(diffs))
    assert result.difference == pytest.approx(diffs.mean())
    assert result.low == pytest.approx(diffs.mean() - 1.96 * se, abs=0.2 * se)
    assert result.high == pytest.approx(diffs.mean() + 1.96 * se, abs=0.2 * se)
    z = diffs.mean() / se
    normal_p = math.erfc(z / math.sqrt(2))
    assert result.p_value == pytest.approx(normal_p, abs=0.01 + 0.3 * normal_p)


def test_paired_bootstrap_null_and_seed():
    same = [0.0, 1.0, 1.0, 0.0, 1.0]
    assert stats.paired_bootstrap(same, same).p_value == 1.0
    shifted = stats.paired_bootstrap([x + 1 for x in range(50)], list(range(50)), resamples=999)
    assert shifted.p_value == pytest.approx(1 / 1000) and shifted.low == shifted.high == 1.0
    a, b = [0.1, 0.5, 0.3, 0.9], [0.2, 0.1, 0.3, 0.4]
    assert stats.paired_bootstrap(a, b, seed=3) == stats.paired_bootstrap(a, b, seed=3)


def test_stratified_bootstrap_averages_task_means():
    a = [[1.0, 1.0, 0.0, 1.0], [0.0, 1.0]]
    b = [[0.0, 1.0, 0.0, 1.0], [0.0, 0.0]]
    result = stats.paired_bootstrap(a, b)
    assert result.difference == pytest.approx((0.25 + 0.5) / 2) and result.n == 6
    with pytest.raises(ValueError, match="same non-empty items"):
        stats.paired_bootstrap([[1.0], [1.0]], [[1.0]])

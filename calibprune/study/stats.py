"""Statistics of a study, computed exactly without scipy: t-intervals, paired tests, Holm's correction.

- :func:`t_interval`: mean and Student-t confidence interval of the mean (over seeds).
- :func:`paired_t_test`, :func:`welch_t_test`: two calibration sets compared over seeds.
- :func:`paired_bootstrap`: two models compared on the same test items (per-window NLL, per-item correctness),
  optionally stratified (items resampled within each task, e.g. for an average over tasks).
- :func:`mcnemar_exact`: two models' 0/1 correctness on the same items (exact binomial test on discordant pairs).
- :func:`holm`: Holm's step-down adjustment of a family of p-values (family-wise error rate).

The Student-t distribution function uses the regularized incomplete beta function (continued fraction,
Numerical Recipes' ``betacf``), accurate to about 1e-12; its quantiles are found by bisection.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_EPS = 1e-15
_TINY = 1e-300


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)``."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc: x must be in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Distribution function of Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"t_cdf: df must be positive, got {df}")
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t: the ``t`` with ``t_cdf(t, df) == p`` (bisection to machine precision)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile: p must be in (0, 1), got {p}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low <= 1e-13 * max(1.0, high):
            break
    return 0.5 * (low + high)


def two_sided_t_p(t: float, df: float) -> float:
    """Two-sided p-value of a t statistic."""
    return min(1.0, 2.0 * t_cdf(-abs(t), df))


@dataclass(frozen=True)
class Interval:
    """A mean and its confidence interval.

    Attributes:
        mean: the sample mean.
        low: lower bound (``None`` with fewer than two values).
        high: upper bound (``None`` with fewer than two values).
        confidence: the interval's level, e.g. 0.95.
        n: number of values.
    """

    mean: float
    low: float | None
    high: float | None
    confidence: float
    n: int

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (the ``±`` of tables)."""
        return None if self.high is None else self.high - self.mean


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Student-t interval for the mean: ``mean ± t_{(1+c)/2, n-1} · s / sqrt(n)``, ``s`` the sample std (ddof=1)."""
    n = len(values)
    if n == 0:
        raise ValueError("t_interval: no values")
    mean = statistics.fmean(values)
    if n < 2:
        return Interval(mean, None, None, confidence, n)
    half = t_quantile((1.0 + confidence) / 2.0, n - 1) * statistics.stdev(values) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, confidence, n)


@dataclass(frozen=True)
class TestResult:
    """A two-sided test of ``mean(a) - mean(b) == 0``.

    Attributes:
        test: the test's name.
        difference: the observed difference of means, ``a - b``.
        p_value: two-sided p-value.
        low: lower bound of the confidence interval of the difference (``None`` where the test gives none).
        high: upper bound.
        n: items (or seeds) compared.
    """

    test: str
    difference: float
    p_value: float
    low: float | None = None
    high: float | None = None
    n: int = 0


def paired_t_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> TestResult:
    """Paired t-test of ``a[i] - b[i]`` (e.g. two calibration sets drawn with the same seeds)."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"paired_t_test: two sequences of the same length >= 2 expected, got {len(a)}, {len(b)}")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    mean, sd, n = statistics.fmean(diffs), statistics.stdev(diffs), len(diffs)
    if sd == 0.0:
        return TestResult("paired t", mean, 1.0 if mean == 0.0 else 0.0, mean, mean, n)
    se = sd / math.sqrt(n)
    half = t_quantile((1.0 + confidence) / 2.0, n - 1) * se
    return TestResult("paired t", mean, two_sided_t_p(mean / se, n - 1), mean - half, mean + half, n)


def welch_t_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> TestResult:
    """Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom) for unpaired samples."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"welch_t_test: two samples of >= 2 values expected, got {len(a)}, {len(b)}")
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    mean = statistics.fmean(a) - statistics.fmean(b)
    if va + vb == 0.0:
        return TestResult("Welch t", mean, 1.0 if mean == 0.0 else 0.0, mean, mean, len(a) + len(b))
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = t_quantile((1.0 + confidence) / 2.0, df) * se
    return TestResult("Welch t", mean, two_sided_t_p(mean / se, df), mean - half, mean + half, len(a) + len(b))


def binomial_cdf(k: int, n: int, p: float = 0.5) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, p)``, summed exactly."""
    return float(sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(0, k + 1)))


def mcnemar_exact(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """McNemar's exact test on 0/1 correctness of two models on the same items.

    With ``n01`` items right only for ``b`` and ``n10`` right only for ``a``, the p-value is
    ``min(1, 2 · P(X <= min(n01, n10)))`` for ``X ~ Binomial(n01 + n10, 1/2)``.
    """
    if len(a) != len(b):
        raise ValueError(f"mcnemar_exact: the same items expected, got {len(a)} and {len(b)}")
    if any(v not in (0, 1) for v in (*a, *b)):
        raise ValueError("mcnemar_exact: 0/1 values expected")
    n10 = sum(1 for x, y in zip(a, b, strict=True) if x == 1 and y == 0)
    n01 = sum(1 for x, y in zip(a, b, strict=True) if x == 0 and y == 1)
    discordant = n10 + n01
    p = 1.0 if discordant == 0 else min(1.0, 2.0 * binomial_cdf(min(n01, n10), discordant))
    return TestResult("McNemar exact", (n10 - n01) / len(a) if len(a) else 0.0, p, n=len(a))


def paired_bootstrap(
    a: Sequence[float] | Sequence[Sequence[float]],
    b: Sequence[float] | Sequence[Sequence[float]],
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> TestResult:
    """Paired bootstrap of ``mean(a) - mean(b)`` over the same test items.

    Items are resampled with replacement, the same indices for ``a`` and ``b``. Given lists of lists (strata,
    e.g. one per task), items are resampled within each stratum and the statistic is the mean over strata of
    the per-stratum mean differences (the difference of an average over tasks). The interval is the
    percentile interval; the two-sided p-value is ``(1 + #{|d* - d| >= |d|}) / (B + 1)``, the bootstrap
    distribution ``d*`` shifted to the null hypothesis of no difference.
    """
    strata_a = [a] if not a or not isinstance(a[0], Sequence) else a
    strata_b = [b] if not b or not isinstance(b[0], Sequence) else b
    mismatched = any(len(x) != len(y) or not x for x, y in zip(strata_a, strata_b, strict=False))
    if len(strata_a) != len(strata_b) or mismatched:
        raise ValueError("paired_bootstrap: the same non-empty items expected for both models")
    rng = np.random.default_rng(seed)
    observed, boot = 0.0, np.zeros(resamples)
    for xs, ys in zip(strata_a, strata_b, strict=True):
        diffs = np.asarray(xs, dtype=float) - np.asarray(ys, dtype=float)
        observed += diffs.mean() / len(strata_a)
        index = rng.integers(0, len(diffs), size=(resamples, len(diffs)))
        boot += diffs[index].mean(axis=1) / len(strata_a)
    extreme = int(np.sum(np.abs(boot - observed) >= abs(observed) - 1e-12 * max(1.0, abs(observed))))
    p = 1.0 if observed == 0.0 else (1 + extreme) / (resamples + 1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [tail, 1.0 - tail])
    return TestResult(
        "paired bootstrap", float(observed), min(1.0, p), float(low), float(high), sum(len(x) for x in strata_a)
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (in the input order): ``max_{j<=i} min(1, (m - j) · p_(j))``."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted

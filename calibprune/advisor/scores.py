"""From raw measures to proxy scores (lower: better), per target and overall, with paired bootstrap draws."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from calibprune.advisor.measure import CandidateMeasures, TargetState, statistics_distance
from calibprune.advisor.ranking import rank_average

# Proxies that compare a candidate with the target's data; the others score the candidate alone.
TARGET_PROXIES = ("reconstruction", "statistics", "coverage")
ALONE_PROXIES = ("diversity", "lexical", "likelihood")
PROXIES = TARGET_PROXIES + ALONE_PROXIES
# Proxies whose scores are combined by rank averaging in the ``combined`` proxy.
COMBINED = ("reconstruction", "statistics")
ALL_PROXIES = (*PROXIES, "combined")
# The measuring parts of the advisor each proxy needs, besides loading the model, the targets and the samples.
PROXY_PARTS = {
    "reconstruction": ("capture", "prune_probe"),
    "statistics": ("capture", "dense_pass"),
    "coverage": ("capture", "dense_pass"),
    "diversity": ("capture", "dense_pass"),
    "lexical": ("lexical",),
    "likelihood": ("likelihood",),
    "combined": ("capture", "dense_pass", "prune_probe"),
}
MEASURING_PARTS = ("lexical", "capture", "dense_pass", "prune_probe", "likelihood")


def parts_for(proxies: tuple[str, ...] | list[str]) -> frozenset[str]:
    """The measuring parts the given proxies need."""
    return frozenset(part for proxy in proxies for part in PROXY_PARTS[proxy])


def measurable(parts: frozenset[str]) -> tuple[str, ...]:
    """The proxies that the measured ``parts`` give, in the order of :data:`ALL_PROXIES`."""
    return tuple(p for p in ALL_PROXIES if set(PROXY_PARTS[p]) <= parts)


DESCRIPTIONS = {
    "reconstruction": "relative error of the target's hidden states after the first blocks pruned with the candidate",
    "statistics": "RMS distance of centred log Wanda input norms, candidate vs target, over the probed layers",
    "coverage": "mean cosine distance from each target activation to its nearest candidate activation (COLA)",
    "diversity": "minus the effective rank of the candidate's activations (COLA's diversity)",
    "lexical": "minus the moving type-token ratio of the candidate's tokens (ZipCal's lexical diversity)",
    "likelihood": "minus the Min-K% token log-probability of the candidate under the dense model (Ji et al.)",
    "combined": f"mean rank of {' and '.join(COMBINED)}",
}


def _row_weights(rows: torch.Tensor | None, count: int) -> torch.Tensor:
    """How many times each target sequence is drawn (all once when ``rows`` is None)."""
    return torch.ones(count) if rows is None else torch.bincount(rows, minlength=count).float()


def target_score(
    proxy: str, measures: CandidateMeasures, state: TargetState, rows: torch.Tensor | None = None
) -> float:
    """One target-aware proxy of one candidate on one target, over the target sequences ``rows`` (repeats count)."""
    name = state.target.name
    if proxy == "reconstruction":
        values = measures.reconstruction[name]
        weights = _row_weights(rows, values.numel())
        return float((values * weights).sum() / weights.sum())
    if proxy == "statistics":
        return statistics_distance(measures, state, None if rows is None else rows.tolist())
    if proxy == "coverage":
        distances = measures.coverage[name]
        weights = _row_weights(rows, state.sequences)[state.token_rows]
        return float((distances * weights).sum() / weights.sum().clamp_min(1e-12))
    raise ValueError(f"--proxy: {proxy!r} is not a target proxy ({', '.join(TARGET_PROXIES)})")


def alone_score(proxy: str, measures: CandidateMeasures) -> float:
    """A proxy that scores the candidate alone (lower: better)."""
    value = {"diversity": measures.diversity, "lexical": measures.lexical, "likelihood": measures.min_k}[proxy]
    return -value


def overall(per_target: list[float]) -> float:
    """Targets combined: the geometric mean of positive scores (each target counts in proportion), else the mean."""
    if all(v > 0 for v in per_target):
        return math.exp(sum(math.log(v) for v in per_target) / len(per_target))
    return sum(per_target) / len(per_target)


ScoreTable = dict[str, list[float]]  # proxy -> one overall score per candidate


def score_table(
    measures: list[CandidateMeasures],
    states: list[TargetState],
    rows: dict[str, torch.Tensor] | None = None,
    proxies: tuple[str, ...] = ALL_PROXIES,
) -> tuple[ScoreTable, dict[str, ScoreTable]]:
    """The overall score of ``proxies`` per candidate, and per target, for one draw of target rows."""
    by_target: dict[str, ScoreTable] = {state.target.name: {} for state in states}
    table: ScoreTable = {}
    for proxy in (p for p in TARGET_PROXIES if p in proxies):
        for state in states:
            draw = None if rows is None else rows[state.target.name]
            by_target[state.target.name][proxy] = [target_score(proxy, m, state, draw) for m in measures]
        table[proxy] = [overall([by_target[s.target.name][proxy][i] for s in states]) for i in range(len(measures))]
    for proxy in (p for p in ALONE_PROXIES if p in proxies):
        table[proxy] = [alone_score(proxy, m) for m in measures]
        for state in states:
            by_target[state.target.name][proxy] = table[proxy]
    if "combined" in proxies:
        table["combined"] = rank_average({p: table[p] for p in COMBINED})
        for state in states:
            scores = by_target[state.target.name]
            scores["combined"] = rank_average({p: scores[p] for p in COMBINED})
    return table, by_target


def bootstrap(
    measures: list[CandidateMeasures],
    states: list[TargetState],
    draws: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    proxies: tuple[str, ...] = ALL_PROXIES,
) -> list[ScoreTable]:
    """Score tables of ``draws`` paired resamplings (with replacement) of every target's sequences."""
    generator = torch.Generator().manual_seed(seed)
    tables = []
    for draw in range(draws):
        rows = {s.target.name: torch.randint(0, s.sequences, (s.sequences,), generator=generator) for s in states}
        tables.append(score_table(measures, states, rows, proxies)[0])
        if progress is not None:
            progress(draw)
    return tables

"""DSnoT statistics and masks against the authors' ``prune_DSnoT`` (tests/authors_reference.py) on identical inputs."""

import pytest
import torch

from calibprune.engine.dsnot import DSnoTSettings, DSnoTStatistics, dsnot_mask, sparsegpt_saliency
from calibprune.engine.masks import n_m_mask, row_mask
from calibprune.engine.sparsity import SparsityPattern
from calibprune.engine.wanda import wanda_scores
from tests import authors_reference as authors

ROWS, COLS, SEQUENCES, TOKENS = 16, 256, 4, 24


def _inputs(seed: int):
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(ROWS, COLS, generator=g) * 0.05
    shift = torch.randn(COLS, generator=g)  # features with a mean: the expected error is not zero
    inputs = torch.randn(SEQUENCES, TOKENS, COLS, generator=g) * (torch.rand(COLS, generator=g) + 0.2) + shift
    return weight, inputs


def _statistics(weight, inputs, initial):
    ours = DSnoTStatistics(COLS, hessian=initial == "sparsegpt")
    ours.update(inputs)
    wrapped = authors.WrappedGPT(torch.nn.Linear(COLS, ROWS, bias=False), initial_method=initial)
    for sequence in inputs:
        wrapped.add_batch(sequence.unsqueeze(0))
    return ours, wrapped


def _ours(weight, stats, initial, pattern, settings: DSnoTSettings | None = None):
    wanda = wanda_scores(weight, stats.norms())
    metric = {
        "wanda": lambda: wanda,
        "magnitude": weight.abs,
        "sparsegpt": lambda: sparsegpt_saliency(weight, stats.hessian()),
    }
    settings = settings or DSnoTSettings()
    return dsnot_mask(weight, metric[initial](), wanda, stats.mean(), stats.variance(), pattern, settings)


def test_statistics_are_the_authors():
    weight, inputs = _inputs(0)
    ours, wrapped = _statistics(weight, inputs, "sparsegpt")
    torch.testing.assert_close(ours.mean(), wrapped.sum_metric_row)
    torch.testing.assert_close(ours.variance(), wrapped.var.flatten())
    torch.testing.assert_close(ours.norms() ** 2 / SEQUENCES, wrapped.scaler_row)
    torch.testing.assert_close(ours.hessian() * TOKENS, wrapped.H)  # theirs per sequence, ours per token


def test_padding_and_batching_do_not_change_the_statistics():
    _, inputs = _inputs(1)
    whole = DSnoTStatistics(COLS)
    whole.update(inputs)
    padded = DSnoTStatistics(COLS)
    extra = torch.randn(SEQUENCES, 5, COLS) * 50
    mask = torch.cat([torch.ones(SEQUENCES, TOKENS), torch.zeros(SEQUENCES, 5)], dim=1)
    padded.update(torch.cat([inputs, extra], dim=1)[:2], mask[:2])
    padded.update(torch.cat([inputs, extra], dim=1)[2:], mask[2:])
    padded.update(torch.zeros(1, 7, COLS), torch.zeros(1, 7))  # a sequence of padding only is no sequence
    torch.testing.assert_close(padded.sum, whole.sum)
    assert float(padded.tokens) == float(whole.tokens) == SEQUENCES * TOKENS


@pytest.mark.parametrize("initial", ["wanda", "sparsegpt", "magnitude"])
@pytest.mark.parametrize("sparsity_type", ["unstructured", "2:4", "4:8"])
@pytest.mark.parametrize("seed", [0, 1])
def test_masks_equal_the_authors(initial, sparsity_type, seed):
    weight, inputs = _inputs(seed)
    stats, wrapped = _statistics(weight, inputs, initial)
    pattern = SparsityPattern.parse(sparsity_type, 0.5)
    ours = _ours(weight, stats, initial, pattern)
    theirs = authors.dsnot_mask(
        authors.dsnot_args(0.5, initial), "self_attn.q_proj", weight, wrapped, pattern.n, pattern.m
    )
    assert torch.equal(ours, theirs)
    wanda = wanda_scores(weight, stats.norms())
    initial_mask = n_m_mask(wanda, pattern.n, pattern.m) if pattern.structured else row_mask(wanda, 0.5)
    if initial == "wanda":
        assert int((ours != initial_mask).any(dim=1).sum()) >= ROWS // 2  # most rows swapped weights
    if pattern.structured:
        assert (ours.reshape(ROWS, -1, pattern.m).sum(dim=-1) == pattern.n).all()
    else:
        assert ours.sum(dim=1).tolist() == [COLS // 2] * ROWS


@pytest.mark.parametrize(
    "settings",
    [
        DSnoTSettings(without_same_sign=False),
        DSnoTSettings(max_cycle_time=5, update_threshold=0.01),
        DSnoTSettings(pow_of_var_regrowing=0.0),
        DSnoTSettings(pow_of_var_regrowing=2.0, update_threshold=1.0),
        DSnoTSettings(max_cycle_time=0),
    ],
)
@pytest.mark.parametrize("sparsity_type", ["unstructured", "2:4"])
def test_masks_equal_the_authors_with_other_settings(settings, sparsity_type):
    weight, inputs = _inputs(2)
    stats, wrapped = _statistics(weight, inputs, "wanda")
    pattern = SparsityPattern.parse(sparsity_type, 0.5)
    args = authors.dsnot_args(
        0.5,
        "wanda",
        max_cycle_time=settings.max_cycle_time,
        update_threshold=settings.update_threshold,
        pow_of_var_regrowing=settings.pow_of_var_regrowing,
        without_same_sign=settings.without_same_sign,
    )
    theirs = authors.dsnot_mask(args, "self_attn.o_proj", weight, wrapped, pattern.n, pattern.m)
    assert torch.equal(_ours(weight, stats, "wanda", pattern, settings), theirs)


def test_a_row_stops_once_its_error_is_within_the_threshold():
    weight, inputs = _inputs(3)
    stats, _ = _statistics(weight, inputs, "wanda")
    wanda = wanda_scores(weight, stats.norms())
    initial = row_mask(wanda, 0.5)
    huge = DSnoTSettings(update_threshold=1e9)
    assert torch.equal(
        dsnot_mask(weight, wanda, wanda, stats.mean(), stats.variance(), SparsityPattern(0.5), huge), initial
    )


@pytest.mark.parametrize("sparsity_type", ["unstructured", "4:8", "2:4"])
def test_narrow_matrices_keep_the_ratio_and_the_groups_where_the_authors_do_not(sparsity_type):
    """32 columns and 16 swaps: the candidates on one side run out; a row then stops (theirs prunes kept weights)."""
    g = torch.Generator().manual_seed(7)
    weight = torch.randn(64, 32, generator=g)
    inputs = torch.randn(2, 16, 32, generator=g) + 3  # large positive means: every row's error is far off
    stats, wrapped = DSnoTStatistics(32), authors.WrappedGPT(torch.nn.Linear(32, 64, bias=False))
    stats.update(inputs)
    for sequence in inputs:
        wrapped.add_batch(sequence.unsqueeze(0))
    pattern = SparsityPattern.parse(sparsity_type, 0.5)
    ours = _ours(weight, stats, "wanda", pattern, DSnoTSettings(max_cycle_time=16))
    if pattern.structured:
        assert (ours.reshape(64, -1, pattern.m).sum(dim=-1) == pattern.n).all()
    else:
        assert ours.sum(dim=1).tolist() == [16] * 64
    args = authors.dsnot_args(max_cycle_time=16)
    theirs = authors.dsnot_mask(args, "self_attn.q_proj", weight, wrapped, pattern.n, pattern.m)
    assert int(theirs.sum()) > int(ours.sum())
    if not pattern.structured:
        with pytest.raises(RuntimeError, match="out of bounds"):  # 50 swaps: their pointers leave the lists
            authors.dsnot_mask(authors.dsnot_args(), "self_attn.q_proj", weight, wrapped, pattern.n, pattern.m)

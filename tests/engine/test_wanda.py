import pytest
import torch

from benchmarks.reference import wanda_layer_mask
from benchmarks.reference import wanda_variant_mask as reference_variant
from calibprune.engine.sparsity import SparsityPattern
from calibprune.engine.wanda import wanda_mask, wanda_scores, wanda_variant_mask


def _layer(seed: int = 0, rows: int = 12, cols: int = 64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, cols, generator=g), torch.rand(cols, generator=g) * 10


def test_scores_are_abs_weight_times_input_norm_in_fp32():
    weight, scaler_row = _layer()
    scores = wanda_scores(weight.bfloat16(), scaler_row.sqrt())
    assert scores.dtype == torch.float32
    torch.testing.assert_close(scores, weight.bfloat16().float().abs() * scaler_row.sqrt())


@pytest.mark.parametrize("sparsity_type", ["unstructured", "2:4", "4:8"])
def test_masks_equal_the_reference(sparsity_type):
    weight, scaler_row = _layer(1)
    pattern = SparsityPattern.parse(sparsity_type, 0.5)
    ours = wanda_mask(weight, scaler_row.sqrt(), pattern)
    assert torch.equal(ours, wanda_layer_mask(weight, scaler_row, 0.5, pattern.n, pattern.m))
    if pattern.structured:
        assert (ours.reshape(12, -1, pattern.m).sum(dim=-1) == pattern.n).all()
    else:
        assert ours.sum(dim=1).tolist() == [32] * 12


@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.7])
def test_variant_hits_the_ratio_within_0_001_and_matches_a_direct_bisection(ratio):
    weight, scaler_row = _layer(2, rows=64, cols=256)
    scores = wanda_scores(weight, scaler_row.sqrt())
    ours = wanda_variant_mask(scores, ratio)
    assert abs(ours.float().mean().item() - ratio) <= 0.001
    assert torch.equal(ours, reference_variant(scores, ratio))
    assert torch.equal(wanda_mask(weight, scaler_row.sqrt(), SparsityPattern(ratio), use_variant=True), ours)


def test_variant_prunes_per_row_thresholds_not_a_fixed_count():
    weight, scaler_row = _layer(3, rows=64, cols=256)
    weight[:32] *= torch.linspace(0.01, 1, 256)  # skewed rows: many small scores
    mask = wanda_variant_mask(wanda_scores(weight, scaler_row.sqrt()), 0.5)
    per_row = mask.sum(dim=1)
    assert per_row.min() < per_row.max()

import torch

from calibprune.engine.statistics import HessianAccumulator, SquaredNormAccumulator, select_tokens


def _batch(seed: int = 0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(3, 5, 8, generator=g).to(dtype)
    token_mask = torch.ones(3, 5, dtype=torch.long)
    token_mask[0, 3:] = 0
    token_mask[2, 1:] = 0
    return inputs, token_mask


def test_select_tokens_drops_masked_positions_and_keeps_all_without_a_mask():
    inputs, token_mask = _batch()
    assert select_tokens(inputs, token_mask).shape == (int(token_mask.sum()), 8)
    assert torch.equal(select_tokens(inputs, None), inputs.reshape(15, 8))


def test_squared_norms_equal_a_direct_sum_over_real_tokens():
    inputs, token_mask = _batch()
    acc = SquaredNormAccumulator(8)
    acc.update(inputs[:2], token_mask[:2])
    acc.update(inputs[2:], token_mask[2:])
    kept = inputs[token_mask.bool()]
    torch.testing.assert_close(acc.sum, (kept**2).sum(dim=0))
    torch.testing.assert_close(acc.norms(), kept.norm(dim=0))
    assert int(acc.tokens) == int(token_mask.sum())


def test_masked_tokens_never_enter_the_statistics():
    inputs, token_mask = _batch()
    poisoned = inputs.masked_fill(~token_mask.bool().unsqueeze(-1), 1e6)
    for cls in (SquaredNormAccumulator, HessianAccumulator):
        clean, dirty = cls(8), cls(8)
        clean.update(inputs, token_mask)
        dirty.update(poisoned, token_mask)
        assert torch.equal(clean.sum, dirty.sum)


def test_hessian_equals_two_xtx_over_tokens_across_batches():
    inputs, token_mask = _batch(1)
    acc = HessianAccumulator(8)
    for i in range(3):
        acc.update(inputs[i : i + 1], token_mask[i : i + 1])
    kept = inputs[token_mask.bool()].double()
    torch.testing.assert_close(acc.sum.double(), kept.T @ kept, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(acc.hessian().double(), 2 * kept.T @ kept / kept.shape[0], rtol=1e-5, atol=1e-5)


def test_statistics_are_fp32_for_bf16_inputs():
    inputs, token_mask = _batch(2, torch.bfloat16)
    norms, hessian = SquaredNormAccumulator(8), HessianAccumulator(8)
    norms.update(inputs, token_mask)
    hessian.update(inputs, token_mask)
    assert norms.sum.dtype == hessian.sum.dtype == torch.float32
    kept = inputs[token_mask.bool()].float()
    torch.testing.assert_close(norms.sum, (kept**2).sum(dim=0))
    torch.testing.assert_close(hessian.sum, kept.T @ kept)

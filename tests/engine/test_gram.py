"""``X^T X`` at a chosen input precision: exact by default, bf16-rounded on request, same numbers on any device."""

import logging

import pytest
import torch

from calibprune.callbacks import SparseGPT
from calibprune.engine import gram
from calibprune.engine.gram import GramProduct
from calibprune.engine.statistics import HessianAccumulator
from calibprune.errors import OptionError


def _rows(features: int = 300, tokens: int = 64, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(tokens, features, generator=torch.Generator().manual_seed(0)).to(dtype)


def test_float32_products_are_the_plain_fp32_product():
    rows = _rows()
    acc = HessianAccumulator(rows.shape[1])
    acc.update(rows)
    expected = torch.zeros_like(acc.sum).addmm_(rows.T, rows)
    torch.testing.assert_close(acc.sum, expected, rtol=1e-6, atol=1e-5)


def test_bfloat16_precision_equals_the_exact_product_of_bf16_rounded_inputs():
    rows = _rows()
    rounded = rows.bfloat16()
    acc, of_rounded = HessianAccumulator(rows.shape[1], precision="bfloat16"), HessianAccumulator(rows.shape[1])
    acc.update(rows)
    of_rounded.update(rounded)  # a bf16 model's activations, exact in fp32
    assert torch.equal(acc.sum, of_rounded.sum)
    assert not torch.equal(acc.sum, HessianAccumulator(rows.shape[1]).sum.addmm_(rows.T, rows))  # it does round
    exact = rounded.double().T @ rounded.double()
    torch.testing.assert_close(acc.sum.double(), exact, rtol=1e-6, atol=1e-4)


def test_half_kernel_adds_every_chunk_once_with_fp32_output(monkeypatch):
    """The GPU path, on the CPU: ``torch.mm(..., out_dtype=float32)`` in row chunks bounded in size."""
    calls = []
    plain_mm = torch.mm

    def mm(a, b, out_dtype=None):
        calls.append((a.dtype, out_dtype, a.shape[0]))
        return plain_mm(a.float(), b.float())

    monkeypatch.setattr(torch, "mm", mm)
    monkeypatch.setattr(gram, "CHUNK_ELEMENTS", 40 * 300)
    rows = _rows(dtype=torch.bfloat16)
    product = GramProduct("float32", "cpu")
    product.half_kernel = True
    operand = product.operand(rows)
    assert operand.dtype == torch.bfloat16  # kept: exact in fp32, no upcast copy
    target = torch.zeros(300, 300)
    product.add(target, operand.T, operand)
    assert [c[0] for c in calls] == [torch.bfloat16] * len(calls) and {c[1] for c in calls} == {torch.float32}
    assert sum(c[2] for c in calls) == 300 and max(c[2] for c in calls) == 40
    torch.testing.assert_close(target, rows.float().T @ rows.float(), rtol=1e-6, atol=1e-4)


def test_half_kernel_missing_falls_back_to_fp32_without_counting_twice(caplog):
    rows = _rows(dtype=torch.bfloat16)
    product = GramProduct("float32", "cpu")
    product.half_kernel = True  # the CPU has no fp32-output half kernel: the first chunk fails
    target = torch.zeros(300, 300)
    with caplog.at_level(logging.WARNING):
        product.add(target, rows.T, rows)
    assert not product.half_kernel and "upcasting" in caplog.text
    torch.testing.assert_close(target, rows.float().T @ rows.float(), rtol=1e-6, atol=1e-4)


def test_unknown_precision_is_an_option_error_naming_it():
    with pytest.raises(OptionError, match=r"^hessian_precision: unknown 'float16'; accepted: float32, bfloat16"):
        SparseGPT(0.5, hessian_precision="float16")
    assert SparseGPT(0.5, hessian_precision="bfloat16").hessian_precision == "bfloat16"

"""``A^T B`` products added into fp32 sums, at a chosen precision of the inputs (SparseGPT's ``X^T X``).

Two precisions:

- ``float32`` (the default, exact): the inputs as they come. bf16 or fp16 activations (a model run in its own
  half dtype) are exact in fp32 and so are their products (8- or 11-bit significands multiply into at most 22
  bits); on a CUDA device they are multiplied by the half-precision tensor-core kernel with fp32 accumulation
  and fp32 output (``torch.mm(..., out_dtype=torch.float32)``), the same numbers as upcasting them first, up to
  the order of the fp32 sums, several times faster than fp32 matrix products.
- ``bfloat16`` (opt-in): fp32 inputs are first rounded to bf16, then multiplied exactly as above: a GPU runs the
  products on its tensor cores; a CPU rounds the same way and multiplies in fp32, so both devices compute the
  same Hessian (on a CPU it is no faster).

The sums stay fp32 in both.
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)

GRAM_PRECISIONS = ("float32", "bfloat16")
HALF_DTYPES = (torch.bfloat16, torch.float16)
CHUNK_ELEMENTS = 1 << 25  # bound on the fp32 product block made at once by the half kernel (128 MiB)


class GramProduct:
    """Adds ``left @ right`` into an fp32 sum, with the inputs at ``precision``.

    Args:
        precision: ``float32`` or ``bfloat16`` (see the module's docstring).
        device: where the sums live; the half-precision kernel is used on CUDA devices only.
    """

    def __init__(self, precision: str = "float32", device: torch.device | str = "cpu") -> None:
        if precision not in GRAM_PRECISIONS:
            raise ValueError(f"precision {precision!r}: accepted {', '.join(GRAM_PRECISIONS)}")
        self.precision = precision
        self.half_kernel = torch.device(device).type == "cuda"

    def operand(self, rows: torch.Tensor) -> torch.Tensor:
        """The rows as the products read them: half dtypes kept, fp32 rounded to bf16 when asked."""
        if self.precision == "bfloat16":
            rows = rows.to(torch.bfloat16)
        if rows.dtype in HALF_DTYPES and self.half_kernel:
            return rows
        return rows.float()

    def add(self, target: torch.Tensor, left: torch.Tensor, right: torch.Tensor) -> None:
        """``target += left @ right`` (``target`` fp32; ``left``, ``right`` from :meth:`operand`)."""
        if left.dtype == torch.float32:
            target.addmm_(left, right)
            return
        chunk = max(1, CHUNK_ELEMENTS // max(1, right.shape[1]))
        for start in range(0, left.shape[0], chunk):
            block = left[start : start + chunk]
            if self.half_kernel:
                try:
                    target[start : start + chunk].add_(torch.mm(block, right, out_dtype=torch.float32))
                    continue
                except (RuntimeError, NotImplementedError) as err:  # a torch without the fp32-output kernel
                    log.warning("half-precision products with fp32 output unavailable (%s); upcasting", err)
                    self.half_kernel = False
            target[start : start + chunk].addmm_(block.float(), right.float())

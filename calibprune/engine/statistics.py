"""fp32 accumulators of layer-input statistics over calibration tokens, blind to padded positions."""

from __future__ import annotations

import torch

from calibprune.engine.gram import GramProduct


def select_tokens(
    inputs: torch.Tensor, token_mask: torch.Tensor | None, dtype: torch.dtype | None = torch.float32
) -> torch.Tensor:
    """Flatten ``[..., features]`` inputs to ``[tokens, features]`` rows, dropping masked-out tokens.

    Callers that know on the host that a batch has no padding pass ``None``: the rows are then taken as they
    are, with no look at the mask (on a GPU, finding out from the mask would wait for the device).

    Args:
        inputs: activations entering a Linear layer, ``[batch, seq, features]`` or ``[tokens, features]``.
        token_mask: 1 for real tokens, 0 for padding, shaped like ``inputs`` without the feature axis;
            ``None`` keeps every position.
        dtype: the rows' dtype (fp32 by default); ``None`` keeps the inputs'.
    """
    rows = inputs.reshape(-1, inputs.shape[-1])
    if token_mask is not None:
        rows = rows[token_mask.reshape(-1).to(device=rows.device, dtype=torch.bool)]
    return rows if dtype is None else rows.to(dtype)


class SquaredNormAccumulator:
    """Running sum of squared input features ``sum_t x_tj^2`` and the token count (Wanda's ``||X_j||^2``).

    Args:
        features: number of input features of the layer.
        device: where the fp32 sums live.
    """

    def __init__(self, features: int, device: torch.device | str = "cpu") -> None:
        self.sum = torch.zeros(features, dtype=torch.float32, device=device)
        self.tokens = torch.zeros((), dtype=torch.float64, device=device)

    def update(self, inputs: torch.Tensor, token_mask: torch.Tensor | None = None) -> None:
        """Add the calibration tokens of one batch."""
        rows = select_tokens(inputs, token_mask)
        self.sum += rows.square().sum(dim=0)
        self.tokens += rows.shape[0]

    def norms(self) -> torch.Tensor:
        """The L2 norm of every input feature over all tokens seen."""
        return self.sum.sqrt()


class HessianAccumulator:
    """Running ``X^T X`` over calibration tokens (fp32) and the token count (SparseGPT's Hessian).

    ``X^T X`` is symmetric, so for wide inputs only the row panels from the diagonal rightwards are
    computed, about 3/4 of the products; the rest is mirrored when :attr:`sum` is read. Every entry is
    the same dot product over the same tokens as in one full ``X^T X``, so the sums are bit-identical.

    Args:
        features: number of input features of the layer.
        device: where the fp32 sums live.
        precision: of the inputs in the products, ``float32`` (exact; bf16/fp16 activations use the GPU's
            half-precision kernel with fp32 output, exactly) or ``bfloat16`` (opt-in, rounded):
            :mod:`calibprune.engine.gram`.
    """

    PANEL_MIN_FEATURES = 256  # narrower inputs: one product (splitting costs more than it saves)

    def __init__(self, features: int, device: torch.device | str = "cpu", precision: str = "float32") -> None:
        self._sum = torch.zeros(features, features, dtype=torch.float32, device=device)
        self._product = GramProduct(precision, device)
        self._mirrored = True
        self.tokens = torch.zeros((), dtype=torch.float64, device=device)
        half = features // 2 if features >= self.PANEL_MIN_FEATURES else features
        self._edges = sorted({0, half, features})

    @property
    def sum(self) -> torch.Tensor:
        """``sum_t x_t^T x_t`` over the tokens seen, ``[features, features]``."""
        if not self._mirrored:
            for start, end in zip(self._edges, self._edges[1:], strict=False):
                self._sum[end:, start:end] = self._sum[start:end, end:].T
            self._mirrored = True
        return self._sum

    @sum.setter
    def sum(self, value: torch.Tensor) -> None:
        self._sum = value
        self._mirrored = True

    def update(self, inputs: torch.Tensor, token_mask: torch.Tensor | None = None) -> None:
        """Add the calibration tokens of one batch."""
        rows = self._product.operand(select_tokens(inputs, token_mask, dtype=None))
        if len(self._edges) == 2:
            self._product.add(self._sum, rows.T, rows)
        else:
            for start, end in zip(self._edges, self._edges[1:], strict=False):
                self._product.add(self._sum[start:end, start:], rows[:, start:end].T, rows[:, start:])
            self._mirrored = False
        self.tokens += rows.shape[0]

    def hessian(self) -> torch.Tensor:
        """``2 X^T X / tokens``, the layer-wise reconstruction Hessian (scale does not change the solution)."""
        return self.sum * (2.0 / self.tokens.clamp(min=1.0))  # on the device: no wait for the token count

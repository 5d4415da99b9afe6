"""fp32 accumulators of layer-input statistics over calibration tokens, blind to padded positions."""

from __future__ import annotations

import torch


def select_tokens(inputs: torch.Tensor, token_mask: torch.Tensor | None) -> torch.Tensor:
    """Flatten ``[..., features]`` inputs to ``[tokens, features]`` fp32 rows, dropping masked-out tokens.

    Args:
        inputs: activations entering a Linear layer, ``[batch, seq, features]`` or ``[tokens, features]``.
        token_mask: 1 for real tokens, 0 for padding, shaped like ``inputs`` without the feature axis;
            ``None`` keeps every position.
    """
    rows = inputs.reshape(-1, inputs.shape[-1])
    if token_mask is not None:
        rows = rows[token_mask.reshape(-1).to(device=rows.device, dtype=torch.bool)]
    return rows.float()


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

    Args:
        features: number of input features of the layer.
        device: where the fp32 sums live.
    """

    def __init__(self, features: int, device: torch.device | str = "cpu") -> None:
        self.sum = torch.zeros(features, features, dtype=torch.float32, device=device)
        self.tokens = torch.zeros((), dtype=torch.float64, device=device)

    def update(self, inputs: torch.Tensor, token_mask: torch.Tensor | None = None) -> None:
        """Add the calibration tokens of one batch."""
        rows = select_tokens(inputs, token_mask)
        self.sum.addmm_(rows.T, rows)
        self.tokens += rows.shape[0]

    def hessian(self) -> torch.Tensor:
        """``2 X^T X / tokens``, the layer-wise reconstruction Hessian (scale does not change the solution)."""
        return self.sum * (2.0 / max(float(self.tokens), 1.0))

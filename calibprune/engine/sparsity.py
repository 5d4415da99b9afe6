"""Sparsity patterns: unstructured ratios and N:M groups."""

from __future__ import annotations

from dataclasses import dataclass

from calibprune.errors import OptionError

_TYPES = "unstructured or N:M with integers 0 < N < M (e.g. 2:4, 4:8)"


@dataclass(frozen=True)
class SparsityPattern:
    """What fraction of weights to prune, and how they are grouped.

    Args:
        ratio: fraction of weights pruned, in [0, 1). For N:M it is N / M.
        n: weights pruned in each group of ``m`` consecutive input weights of a row (0 for unstructured).
        m: group size for N:M sparsity (0 for unstructured).
    """

    ratio: float
    n: int = 0
    m: int = 0

    @property
    def structured(self) -> bool:
        """Whether this is an N:M pattern."""
        return self.m > 0

    @classmethod
    def parse(cls, sparsity_type: str = "unstructured", sparsity_ratio: float = 0.5) -> SparsityPattern:
        """Build a pattern from the seed repo's ``--sparsity_type`` and ``--sparsity_ratio``.

        ``N:M`` follows the Wanda/SparseGPT code: in every group of M consecutive input weights of an
        output row, the N lowest-scoring weights are pruned (so 2:4 and 4:8 are 50% sparse).

        Raises:
            OptionError: naming ``sparsity_ratio`` or ``sparsity_type``, for any value outside the accepted ones.
        """
        if (
            isinstance(sparsity_ratio, bool)
            or not isinstance(sparsity_ratio, (int, float))
            or not 0.0 <= float(sparsity_ratio) < 1.0
        ):
            raise OptionError("sparsity_ratio", f"must be in [0, 1), got {sparsity_ratio!r}")
        if sparsity_type == "unstructured":
            return cls(ratio=float(sparsity_ratio))
        parts = str(sparsity_type).split(":")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise OptionError("sparsity_type", f"unknown pattern {sparsity_type!r}", _TYPES)
        n, m = int(parts[0]), int(parts[1])
        if not 0 < n < m:
            raise OptionError("sparsity_type", f"N:M needs 0 < N < M, got {sparsity_type!r}", _TYPES)
        return cls(ratio=n / m, n=n, m=m)

    def check_width(self, in_features: int, layer_name: str) -> None:
        """Raise a clear error when an N:M group size does not divide a layer's input width.

        Raises:
            OptionError: naming ``sparsity_type``.
        """
        if self.structured and in_features % self.m:
            raise OptionError(
                "sparsity_type",
                f"{self.n}:{self.m}: M={self.m} does not divide the input width {in_features} of {layer_name}",
                "an M that divides every matrix's input width, or unstructured",
            )

    def __str__(self) -> str:
        return f"{self.n}:{self.m}" if self.structured else f"unstructured {self.ratio:g}"


def resolve_pattern(sparsity_type: str, sparsity_ratio: float | None) -> SparsityPattern:
    """The sparsity pattern of ``sparsity_type`` and ``sparsity_ratio`` (``None``: not given).

    Unstructured sparsity defaults to 0.5. ``N:M`` fixes the ratio to N/M: an explicit ratio must agree with it
    (``sparsity_ratio=0.5, sparsity_type="2:4"``, the seed's habit, does), any other is an error.

    Raises:
        OptionError: naming ``sparsity_ratio`` or ``sparsity_type``.
    """
    if sparsity_type == "unstructured":
        return SparsityPattern.parse(sparsity_type, 0.5 if sparsity_ratio is None else sparsity_ratio)
    structured = SparsityPattern.parse(sparsity_type, 0.0)
    if sparsity_ratio is not None:
        SparsityPattern.parse("unstructured", sparsity_ratio)  # a ratio outside [0, 1) is reported as such first
        if abs(float(sparsity_ratio) - structured.ratio) > 1e-9:
            raise OptionError(
                "sparsity_ratio",
                f"{sparsity_ratio:g} contradicts sparsity_type {sparsity_type} (which prunes {structured.ratio:g})",
                f"{structured.ratio:g}, or leave sparsity_ratio out",
                mentions=("sparsity_type", "sparsity_ratio"),
            )
    return structured

"""Non-uniform sparsity across decoder blocks: an explicit per-block list, or OWL's outlier-weighted ratios."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from calibprune.engine.owl import outlier_ratio, owl_sparsities
from calibprune.engine.sparsity import SparsityPattern
from calibprune.engine.wanda import wanda_scores
from calibprune.errors import OptionError
from calibprune.modeling.config_file import check_layer_sparsity
from calibprune.modeling.dense_pass import dense_pass
from calibprune.modeling.plan import PruningPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerSparsityOptions:
    """The options of :class:`~calibprune.callbacks.base.PruningMethod` that set the blocks' ratios, as one value.

    Documented (and defaulted) where they are declared, on ``PruningMethod``; checked here, when built.

    Attributes:
        layer_sparsity: one ratio per decoder block, in [0, 1), or ``None``.
        owl: OWL's outlier-weighted ratios.
        owl_m: OWL's outlier threshold M.
        owl_lambda: OWL's lambda.
    """

    layer_sparsity: list[float] | None
    owl: bool
    owl_m: float
    owl_lambda: float

    def __post_init__(self) -> None:
        """Refuse values that cannot work, whatever the sparsity pattern (each error names its parameter)."""
        layer_sparsity, owl_m, owl_lambda = self.layer_sparsity, self.owl_m, self.owl_lambda
        if layer_sparsity is not None and self.owl:
            raise OptionError("layer_sparsity", "owl also sets the blocks' ratios; choose one", mentions=("owl",))
        if isinstance(owl_m, bool) or not isinstance(owl_m, (int, float)) or not 0 < owl_m < math.inf:
            raise OptionError("owl_m", f"must be a finite number > 0, got {owl_m!r}", "e.g. 3 to 10 (the paper's 5)")
        if isinstance(owl_lambda, bool) or not isinstance(owl_lambda, (int, float)) or not 0 <= owl_lambda < 1:
            raise OptionError(
                "owl_lambda", f"must be in [0, 1), got {owl_lambda!r}", "e.g. 0.02 to 0.2 (the paper's 0.08)"
            )
        if layer_sparsity is None:
            return
        if not layer_sparsity:
            raise OptionError("layer_sparsity", "empty list", "one ratio in [0, 1) per decoder block")
        for index, value in enumerate(layer_sparsity):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise OptionError("layer_sparsity", f"ratio {index} is {value!r}", "ratios in [0, 1), one per block")


class LayerSparsity:
    """Each decoder block's sparsity ratio: uniform, from an explicit ``layer_sparsity`` list, or from OWL.

    Args:
        pattern: the method's pattern (its ratio is the target mean).
        explicit_ratio: whether ``sparsity_ratio`` was given (then it must equal an explicit list's mean).
        options: the per-block list or OWL's settings.
    """

    def __init__(self, pattern: SparsityPattern, explicit_ratio: bool, options: LayerSparsityOptions) -> None:
        _check(pattern, explicit_ratio, options)
        self.pattern = pattern
        layer_sparsity = options.layer_sparsity
        self.explicit = None if layer_sparsity is None else [float(v) for v in layer_sparsity]
        self.owl, self.owl_m, self.owl_lambda = options.owl, float(options.owl_m), float(options.owl_lambda)
        self.ratios: list[float] | None = None
        self.outlier_ratios: list[float] | None = None

    def options(self) -> dict[str, Any]:
        """The settings (part of a resumable run's fingerprint)."""
        return {"layer_sparsity": self.explicit, "owl": self.owl, "owl_m": self.owl_m, "owl_lambda": self.owl_lambda}

    def prepare(self, pipeline: Any, plan: PruningPlan, count_padding: bool) -> None:
        """Fix every block's ratio before the first block is pruned (OWL: one pass over the dense model)."""
        blocks = len(plan.names)
        if self.explicit is not None:
            check_layer_sparsity(self.explicit, blocks)
            self.ratios = list(self.explicit)
        elif self.owl:

            def block_outliers(index, layers, norms) -> float:
                scores = [wanda_scores(p.weight, norms[name]) for name, p in layers.items()]
                return outlier_ratio(scores, self.owl_m)

            self.outlier_ratios = dense_pass(pipeline, plan, block_outliers, count_padding)
            self.ratios = owl_sparsities(self.outlier_ratios, self.pattern.ratio, self.owl_lambda)
            log.info(
                "OWL (M=%g, lambda=%g): outlier ratios %s -> block sparsities %s (mean %.4f)",
                self.owl_m,
                self.owl_lambda,
                _fmt(self.outlier_ratios),
                _fmt(self.ratios),
                sum(self.ratios) / blocks,
            )
        else:
            self.ratios = None

    def pattern_of(self, index: int) -> SparsityPattern:
        """Block ``index``'s pattern."""
        if self.ratios is None:
            return self.pattern
        return SparsityPattern(ratio=self.ratios[index])

    def report(self) -> dict[str, Any]:
        """What goes into the sparsity report: the block ratios (and OWL's outlier ratios)."""
        if self.ratios is None:
            return {}
        entry: dict[str, Any] = {"block_sparsity": list(self.ratios)}
        if self.outlier_ratios is not None:
            entry["owl"] = {"M": self.owl_m, "lambda": self.owl_lambda, "outlier_ratios": list(self.outlier_ratios)}
        return entry


def _check(pattern: SparsityPattern, explicit_ratio: bool, options: LayerSparsityOptions) -> None:
    """Refuse options the sparsity pattern rules out (each error names its parameter)."""
    layer_sparsity = options.layer_sparsity
    if (layer_sparsity is not None or options.owl) and pattern.structured:
        name = "owl" if options.owl else "layer_sparsity"
        raise OptionError(
            name,
            f"OWL and per-block ratios need unstructured sparsity, not sparsity_type {pattern}",
            mentions=("sparsity_type",),
        )
    if layer_sparsity is None:
        return
    mean = sum(layer_sparsity) / len(layer_sparsity)
    if explicit_ratio and abs(mean - pattern.ratio) > 1e-6:
        raise OptionError(
            "layer_sparsity",
            f"(mean {mean:g}) contradicts sparsity_ratio {pattern.ratio:g}",
            "leave sparsity_ratio out",
            mentions=("sparsity_ratio",),
        )


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"

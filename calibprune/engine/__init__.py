"""Pure tensor maths of pruning: statistics, scores, masks and the SparseGPT solver (no Lightning here)."""

from calibprune.engine.magnitude import magnitude_mask
from calibprune.engine.masks import matrix_mask, n_m_mask, row_mask
from calibprune.engine.owl import outlier_ratio, owl_sparsities
from calibprune.engine.sparsegpt import sparsegpt_prune
from calibprune.engine.sparsity import SparsityPattern
from calibprune.engine.statistics import HessianAccumulator, SquaredNormAccumulator, select_tokens
from calibprune.engine.wanda import wanda_mask, wanda_scores, wanda_variant_mask

__all__ = [
    "HessianAccumulator",
    "SparsityPattern",
    "SquaredNormAccumulator",
    "magnitude_mask",
    "matrix_mask",
    "n_m_mask",
    "outlier_ratio",
    "owl_sparsities",
    "row_mask",
    "select_tokens",
    "sparsegpt_prune",
    "wanda_mask",
    "wanda_scores",
    "wanda_variant_mask",
]

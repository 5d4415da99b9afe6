"""Calibration studies: a grid of pruning runs (calibration sets x methods x sizes x seeds), evaluated once each.

Entry points: ``calibprune study --config <study.yaml>`` (or ``python -m calibprune.study run --config ...``),
``--shard i/n`` to split the grid, ``python -m calibprune.study report <output_dir>`` to merge shards.
"""

from calibprune.study.cells import Cell, Shard, expand_cells
from calibprune.study.config import load_spec, spec_from_dict
from calibprune.study.spec import CalibrationEntry, EvaluationSpec, GridSpec, MethodEntry, ModelEntry, StudySpec

__all__ = [
    "CalibrationEntry",
    "Cell",
    "EvaluationSpec",
    "GridSpec",
    "MethodEntry",
    "ModelEntry",
    "Shard",
    "StudySpec",
    "expand_cells",
    "load_spec",
    "spec_from_dict",
]

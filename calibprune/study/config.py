"""Read a study from YAML (or from the ``study.json`` kept beside its results)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from calibprune.study.spec import (
    AnalysisSpec,
    CalibrationEntry,
    EvaluationSpec,
    GridSpec,
    MethodEntry,
    ModelEntry,
    ScanEntry,
    StudySpec,
)

# Keys of a LightningCLI config that a study file may carry but the study does not use.
IGNORED_KEYS = frozenset({"seed_everything", "trainer", "data", "method", "config"})


def _build(cls: type, data: Any, where: str) -> Any:
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {data!r}")
    try:
        return cls(**data)
    except TypeError as err:
        raise ValueError(f"{where}: {err}") from None


def spec_from_dict(data: dict[str, Any]) -> StudySpec:
    """Build a :class:`StudySpec` from plain data (YAML or JSON), with errors naming the offending key."""
    data = {k: v for k, v in data.items() if k not in IGNORED_KEYS}
    unknown = set(data) - {"model", "grid", "evaluation", "data_dir", "output_dir", "name", "analysis"}
    if unknown:
        raise ValueError(f"study: unknown keys {sorted(unknown)}")
    grid = dict(data.get("grid") or {})
    grid["calibration"] = [_build(CalibrationEntry, e, "grid.calibration") for e in grid.get("calibration") or []]
    if "methods" in grid:
        grid["methods"] = [_build(MethodEntry, e, "grid.methods") for e in grid["methods"] or []]
    grid["scans"] = [_build(ScanEntry, e, "grid.scans") for e in grid.get("scans") or []]
    for axis in ("nsamples", "seqlen", "seeds"):
        if isinstance(grid.get(axis), int):  # a single value stands for a one-value axis
            grid[axis] = [grid[axis]]
    return StudySpec(
        model=_build(ModelEntry, data.get("model") or {}, "model"),
        grid=_build(GridSpec, grid, "grid"),
        evaluation=_build(EvaluationSpec, data.get("evaluation") or {}, "evaluation"),
        analysis=_build(AnalysisSpec, data.get("analysis") or {}, "analysis"),
        **{k: data[k] for k in ("data_dir", "output_dir", "name") if k in data},
    ).validate()


def load_spec(path: str | Path, **overrides: Any) -> StudySpec:
    """Read a study YAML file; ``overrides`` replace top-level keys (e.g. ``output_dir``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--config: study file {str(path)!r} does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    return spec_from_dict(data)

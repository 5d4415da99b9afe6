"""Checks of a ``calibprune study`` that need no model: run before the dense model loads or anything is written."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.datamodules.evaluation import EvaluationDataModule
from calibprune.evaluation.options import renamed_flags
from calibprune.study.spec import StudySpec

_EVALUATION_FLAGS = {
    f"--{name}": f"--evaluation.{name}"
    for name in ("tasks", "seqlen", "batch_size", "limit", "num_fewshot", "max_new_tokens")
}


def check_study(spec: StudySpec) -> None:
    """Fail before any work on a grid that repeats a cell, or on values a cell would fail on after the dense run.

    Checks every calibration set (sources, weights, format and options, as ``prune`` builds them), every method,
    every evaluation task and setting, and the grid's lists for repeated values (a repeated source or seed would
    prune the same cell twice and lose a column of the tables).

    Raises:
        ValueError: naming the option (``--grid.seeds``, ``--grid.calibration``, ``--evaluation.tasks``...).
    """
    grid = spec.grid
    for flag, values in (
        ("--grid.nsamples", grid.nsamples),
        ("--grid.seqlen", grid.seqlen),
        ("--grid.seeds", grid.seeds),
    ):
        repeated = _repeated(values)
        if repeated is not None:
            raise ValueError(f"{flag} lists {repeated!r} twice; accepted: distinct values")
    calibrations = [(tuple(e.sources), e.weights, e.format, sorted(e.options.items())) for e in grid.calibration]
    for entry, key in zip(grid.calibration, calibrations, strict=True):
        repeated = _repeated(entry.sources)
        if repeated is not None:
            raise ValueError(
                f"--grid.calibration: source {repeated!r} is listed twice in {entry.label!r}; "
                "accepted: distinct sources (use weights for a mixture's shares)"
            )
        if calibrations.count(key) > 1:
            raise ValueError(
                f"--grid.calibration: {list(entry.sources)} ({entry.format}) is listed twice; "
                "accepted: distinct calibration sets"
            )
        try:
            CalibrationDataModule(
                calibration=list(entry.sources),
                weights=entry.weights,
                format=entry.format,
                data_dir=spec.data_dir,
                nsamples=grid.nsamples[0],
                seqlen=grid.seqlen[0],
                **entry.options,
            )
        except TypeError as err:
            raise ValueError(f"--grid.calibration ({entry.label}): {err}") from None
        except ValueError as err:
            raise ValueError(f"--grid.calibration ({entry.label}): {err}") from None
    methods = [repr(asdict(method) | {"name": None}) for method in grid.methods]
    repeated = _repeated(methods)
    if repeated is not None:
        raise ValueError(f"--grid.methods lists {repeated} twice; accepted: distinct methods")
    spec.validate()
    evaluation = spec.evaluation
    with renamed_flags(_EVALUATION_FLAGS):
        EvaluationDataModule.from_options(list(evaluation.tasks), evaluation.options(spec.data_dir))
    unknown = sorted(set(evaluation.limits) - set(evaluation.tasks))
    if unknown:
        raise ValueError(
            f"--evaluation.limits: {', '.join(unknown)} not in --evaluation.tasks; accepted: "
            f"{', '.join(evaluation.tasks)}"
        )


def _repeated(values: list[Any]) -> Any | None:
    seen: list[Any] = []
    for value in values:
        if value in seen:
            return value
        seen.append(value)
    return None

"""Checks of a ``calibprune study`` that need no model: run before the dense model loads or anything is written."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from calibprune.errors import OptionError
from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.study.preflight import check_grid
from calibprune.study.spec import StudySpec


def check_study(spec: StudySpec) -> None:
    """Fail before any work on a grid that repeats a cell, or on values a cell would fail on after the dense run.

    Checks the grid's lists for repeated values (a repeated source or seed would prune the same cell twice and lose
    a column of the tables), the whole grid from its files (:func:`~calibprune.study.preflight.check_grid`: every
    method, every cell's calibration set, contexts, sets that mean the same mixture), every evaluation task and
    setting.

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
    methods = [repr(asdict(method) | {"name": None}) for method in grid.methods]
    repeated = _repeated(methods)
    if repeated is not None:
        raise ValueError(f"--grid.methods lists {repeated} twice; accepted: distinct methods")
    check_grid(spec)
    evaluation = spec.evaluation
    try:
        EvaluationDataModule.from_options(list(evaluation.tasks), evaluation.options(spec.data_dir))
    except OptionError as err:
        raise err.within("evaluation") from None
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
